namespace Berth.Storage.Sqlite;

internal enum WriteKind
{
    Create,
    Update,
    Delete,
    Compact,
}

/// <summary>A queued write; it is its own completion source to save an allocation.</summary>
internal sealed class WriteOp : TaskCompletionSource<long>
{
    private const int Queued = 0;
    private const int Taken = 1;
    private const int Cancelled = 2;

    private int _state;

    public WriteOp(WriteKind kind, string key, byte[]? value, long revision)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Kind = kind;
        Key = key;
        Value = value;
        Revision = revision;
    }

    public WriteKind Kind { get; }

    public string Key { get; }

    public byte[]? Value { get; }

    /// <summary>The expected mod-revision (0 = any), or the compaction target.</summary>
    public long Revision { get; }

    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>Claims the op for the writer; false if it was cancelled while queued.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    /// <summary>Cancels the op only if the writer has not claimed it, so a committed write is never
    /// reported as cancelled.</summary>
    public void Cancel(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
        {
            TrySetCanceled(cancellationToken);
        }
    }
}
