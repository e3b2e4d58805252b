using Berth.Storage;
using Berth.Storage.Sqlite;

namespace Berth.ApiServer.Tests.Allocation;

/// <summary>A real SQLite store in a per-test directory that is removed even when the test fails.</summary>
internal sealed class TempStore : IAsyncDisposable
{
    private TempStore(string dir, IStore store)
    {
        Directory = dir;
        Store = store;
    }

    public string Directory { get; }

    public IStore Store { get; private set; }

    public static async Task<TempStore> OpenAsync()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("berth-alloc-").FullName;
        return new TempStore(dir, await Open(dir));
    }

    /// <summary>Closes the store and opens the same file again, as an API server restart does.</summary>
    public async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = await Open(Directory);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the directory is unique to this test.
        }
    }

    private static Task<IStore> Open(string dir) =>
        SqliteStore.OpenAsync(Path.Combine(dir, "state.db"), new SqliteStoreOptions { CompactionInterval = null });
}
