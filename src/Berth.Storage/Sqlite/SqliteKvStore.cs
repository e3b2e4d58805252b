using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Berth.Storage.Sqlite;

/// <summary>
/// <see cref="IStore"/> on one SQLite file. One writer thread owns the only write connection and commits
/// queued writes in batches (group commit: one transaction and one fsync for everything that queued up during
/// the previous commit); reads use a small pool of read-only connections; committed events go to the
/// in-memory <see cref="Watch.WatchBroadcaster"/> after each commit, in revision order.
/// </summary>
internal sealed partial class SqliteKvStore : IStore
{
    private readonly SqliteStoreOptions _options;
    private readonly FileStream _lockFile;
    private readonly SqliteConnection _writer;
    private readonly SqliteReaderPool _readers;
    private readonly Watch.WatchBroadcaster _broadcaster;
    private readonly BlockingCollection<WriteOp> _queue = new(new ConcurrentQueue<WriteOp>());
    private readonly Thread _writerThread;
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer? _compactionTimer;
    private long _revision;
    private long _compactedRevision;
    private long _lastObservedRevision;
    private int _disposed;

    private SqliteKvStore(SqliteStoreOptions options, FileStream lockFile, SqliteConnection writer, string readConnectionString, long revision, long compactedRevision)
    {
        _options = options;
        _lockFile = lockFile;
        _writer = writer;
        _revision = revision;
        _compactedRevision = compactedRevision;
        _readers = new SqliteReaderPool(readConnectionString, options.ReadConnections);
        _broadcaster = new Watch.WatchBroadcaster(revision);
        PrepareWriterCommands();
        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "berth-sqlite-writer" };
        _writerThread.Start();
        if (options.CompactionInterval is { } interval && interval > TimeSpan.Zero)
        {
            _compactionTimer = options.TimeProvider.CreateTimer(
                static state => _ = ((SqliteKvStore)state!).RunCompactionTickAsync(), this, interval, interval);
        }
    }

    public long CurrentRevision => Volatile.Read(ref _revision);

    public long CompactedRevision => Volatile.Read(ref _compactedRevision);

    internal int WatcherCount => _broadcaster.Count;

    public static SqliteKvStore Open(string path, SqliteStoreOptions options)
    {
        string fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);

        // SQLite's own locks allow a second writer process, but revisions are assigned in memory: keep the
        // file to one process. FileShare.None takes an flock that the kernel drops if the process dies.
        FileStream lockFile = new(fullPath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        SqliteConnection? writer = null;
        try
        {
            writer = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = fullPath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
            }.ToString());
            writer.Open();
            Execute(writer, "PRAGMA journal_mode=WAL");
            // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss, not just
            // a process crash (NORMAL would only survive the latter).
            Execute(writer, "PRAGMA synchronous=FULL");
            Execute(writer, "BEGIN IMMEDIATE;" + SqliteSchema.Create + "COMMIT;");

            using SqliteCommand meta = writer.CreateCommand();
            meta.CommandText = SqliteSchema.SelectMeta;
            long revision;
            long compacted;
            using (SqliteDataReader reader = meta.ExecuteReader())
            {
                reader.Read();
                if (reader.GetInt64(0) != SqliteSchema.Version)
                {
                    throw new InvalidDataException($"{fullPath}: unsupported schema version {reader.GetInt64(0)}");
                }

                revision = reader.GetInt64(1);
                compacted = reader.GetInt64(2);
            }

            string readConnectionString = new SqliteConnectionStringBuilder
            {
                DataSource = fullPath,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
            }.ToString();
            return new SqliteKvStore(options, lockFile, writer, readConnectionString, revision, compacted);
        }
        catch
        {
            writer?.Dispose();
            lockFile.Dispose();
            throw;
        }
    }

    public Task<long> GetRevisionAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        // Every write goes through this instance (the lock file guarantees it), so memory is authoritative.
        return Task.FromResult(CurrentRevision);
    }

    public async Task<StoreItem?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfDisposed();
        SqliteReader reader = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return reader.Get(key);
        }
        finally
        {
            _readers.Return(reader);
        }
    }

    public async Task<StoreList> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        SqliteReader reader = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return reader.List(prefix);
        }
        finally
        {
            _readers.Return(reader);
        }
    }

    public Task<long> CreateAsync(string key, byte[] value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return EnqueueAsync(new WriteOp(WriteKind.Create, key, value, 0), cancellationToken);
    }

    public Task<long> UpdateAsync(string key, byte[] value, long expectedModRevision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedModRevision);
        return EnqueueAsync(new WriteOp(WriteKind.Update, key, value, expectedModRevision), cancellationToken);
    }

    public Task<long> DeleteAsync(string key, long expectedModRevision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedModRevision);
        return EnqueueAsync(new WriteOp(WriteKind.Delete, key, null, expectedModRevision), cancellationToken);
    }

    public Task CompactAsync(long revision, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(revision, CurrentRevision);
        return EnqueueAsync(new WriteOp(WriteKind.Compact, string.Empty, null, revision), cancellationToken);
    }

    /// <summary>One automatic compaction step: compact to the revision seen by the previous step, so that
    /// history always covers at least one <see cref="SqliteStoreOptions.CompactionInterval"/>.</summary>
    internal async Task RunCompactionTickAsync()
    {
        long target = Interlocked.Exchange(ref _lastObservedRevision, CurrentRevision);
        if (target <= CompactedRevision || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        try
        {
            await CompactAsync(target).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort (disposal, I/O): history is kept a little longer and the next tick retries.
        }
    }

    private Task<long> EnqueueAsync(WriteOp op, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<long>(cancellationToken);
        }

        ThrowIfDisposed();
        if (cancellationToken.CanBeCanceled)
        {
            op.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((WriteOp)state!).Cancel(token), op);
        }

        try
        {
            _queue.Add(op, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            op.Registration.Dispose();
            throw new ObjectDisposedException(nameof(SqliteKvStore));
        }

        return op.Task;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _compactionTimer?.Dispose();
        // Queued writes still commit; then the writer thread exits.
        _queue.CompleteAdding();
        await _writerDone.Task.ConfigureAwait(false);
        _broadcaster.Complete(new ObjectDisposedException(nameof(SqliteKvStore)));
        _readers.Dispose();
        DisposeWriterCommands();
        _writer.Dispose();
        _queue.Dispose();
        await _lockFile.DisposeAsync().ConfigureAwait(false);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
