using Berth.Storage.Sqlite;

namespace Berth.Storage.Tests.Sqlite;

public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly TempDirectory _dir = new();

    protected override Task<IStore> OpenStoreAsync() =>
        SqliteStore.OpenAsync(_dir.Database, new SqliteStoreOptions { CompactionInterval = null });

    public override async Task DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            _dir.Dispose();
        }
    }
}
