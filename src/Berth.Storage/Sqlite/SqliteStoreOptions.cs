namespace Berth.Storage.Sqlite;

/// <summary>Tuning for <see cref="SqliteStore"/>. The defaults suit an API server.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>Most writes committed in one transaction (one fsync) by group commit.</summary>
    public int MaxBatchSize { get; init; } = 256;

    /// <summary>Read connections kept open for gets, lists and watch catch-up.</summary>
    public int ReadConnections { get; init; } = 4;

    /// <summary>Events buffered per live watcher before it is detached and made to catch up from history.</summary>
    public int WatchBufferSize { get; init; } = 1024;

    /// <summary>
    /// How often history is compacted automatically; <see langword="null"/> disables it. Each run compacts to
    /// the revision observed by the previous run, so every revision stays watchable for at least one interval,
    /// the policy of the Kubernetes API server's compactor (apiserver/pkg/storage/etcd3/compact.go, 5 minutes).
    /// </summary>
    public TimeSpan? CompactionInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock driving automatic compaction.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
