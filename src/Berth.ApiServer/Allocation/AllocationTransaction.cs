namespace Berth.ApiServer.Allocation;

/// <summary>
/// What to do once a write that allocated has landed or failed (upstream's callbackTransaction): on commit,
/// release what the old object held and the new one does not; on revert, release what was taken for it.
/// </summary>
public sealed class AllocationTransaction
{
    private readonly List<Func<CancellationToken, Task>> _onCommit = [];
    private readonly List<Func<CancellationToken, Task>> _onRevert = [];

    /// <summary>Dry-run writes allocate nothing, so there is nothing to undo or release.</summary>
    public void OnCommit(Func<CancellationToken, Task> action, bool dryRun = false)
    {
        if (!dryRun)
        {
            _onCommit.Add(action);
        }
    }

    public void OnRevert(Func<CancellationToken, Task> action, bool dryRun = false)
    {
        if (!dryRun)
        {
            _onRevert.Add(action);
        }
    }

    public Task CommitAsync(CancellationToken ct) => RunAsync(_onCommit, ct);

    public Task RevertAsync(CancellationToken ct) => RunAsync(_onRevert, ct);

    private async Task RunAsync(List<Func<CancellationToken, Task>> actions, CancellationToken ct)
    {
        // Either outcome ends the transaction: copy, then forget both lists, so nothing runs twice.
        var pending = actions.ToList();
        _onCommit.Clear();
        _onRevert.Clear();
        foreach (var action in pending)
        {
            await action(ct).ConfigureAwait(false);
        }
    }
}
