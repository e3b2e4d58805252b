namespace Berth.Storage.Sqlite;

/// <summary>Opens the embedded, durable SQLite implementation of <see cref="IStore"/>.</summary>
public static class SqliteStore
{
    /// <summary>
    /// Opens (creating if needed) the store in the database file <paramref name="path"/>. Only one process may
    /// have a given file open; a second open fails with <see cref="IOException"/>. An acknowledged write is
    /// durable (WAL, <c>synchronous=FULL</c>); the revision continues across restarts.
    /// </summary>
    public static Task<IStore> OpenAsync(string path, SqliteStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IStore>(SqliteKvStore.Open(path, options ?? new SqliteStoreOptions()));
    }
}
