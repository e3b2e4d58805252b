using System.Text;
using Berth.Storage.Sqlite;

namespace Berth.Storage.Tests.Sqlite;

/// <summary>SQLite-specific behaviour: revision origin, single-process lock, slow watchers, compaction policy.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<IStore> OpenAsync(int watchBufferSize = 1024) =>
        SqliteStore.OpenAsync(_dir.Database, new SqliteStoreOptions { CompactionInterval = null, WatchBufferSize = watchBufferSize });

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task OpenAsync_EmptyStore_StartsAtRevisionOneAndFirstWriteGetsTwo()
    {
        await using IStore store = await OpenAsync();

        Assert.Equal(1, store.CurrentRevision);
        Assert.Equal(0, store.CompactedRevision);
        Assert.Equal(2, await store.CreateAsync("/a", Bytes("1")));
    }

    [Fact]
    public async Task OpenAsync_FileAlreadyOpen_ThrowsIOException()
    {
        await using IStore store = await OpenAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => OpenAsync());
    }

    [Fact]
    public async Task OpenAsync_AfterCompaction_KeepsCompactedRevision()
    {
        long target;
        await using (IStore store = await OpenAsync())
        {
            target = await store.CreateAsync("/a", Bytes("1"));
            await store.CompactAsync(target);
        }

        await using IStore reopened = await OpenAsync();

        Assert.Equal(target, reopened.CompactedRevision);
        await Assert.ThrowsAsync<CompactedException>(async () =>
        {
            await foreach (WatchEvent _ in reopened.WatchAsync("/", target - 1))
            {
            }
        });
    }

    [Fact]
    public async Task WatchAsync_SlowWatcherOverflowsBuffer_CatchesUpFromHistoryWithoutGapsAndWritersNeverWait()
    {
        await using IStore store = await OpenAsync(watchBufferSize: 4);
        long start = store.CurrentRevision;
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(60));
        await using IAsyncEnumerator<WatchEvent> watch = store.WatchAsync("/s/", start, cts.Token).GetAsyncEnumerator(cts.Token);
        ValueTask<bool> first = watch.MoveNextAsync();
        List<long> written = [await store.CreateAsync("/s/0", Bytes("0"))];
        Assert.True(await first);
        List<long> seen = [watch.Current.ModRevision];

        // The watcher reads nothing while 200 writes complete: its buffer of 4 overflows.
        for (int i = 1; i < 200; i++)
        {
            written.Add(await store.CreateAsync($"/s/{i}", Bytes("x")));
        }

        Assert.Equal(0, ((SqliteKvStore)store).WatcherCount);
        while (seen.Count < written.Count)
        {
            Assert.True(await watch.MoveNextAsync());
            seen.Add(watch.Current.ModRevision);
        }

        Assert.Equal(written, seen);
        ValueTask<bool> next = watch.MoveNextAsync();
        long live = await store.CreateAsync("/s/live", Bytes("y"));
        Assert.True(await next);
        Assert.Equal(live, watch.Current.ModRevision);
        Assert.Equal(1, ((SqliteKvStore)store).WatcherCount);
    }

    [Fact]
    public async Task WatchAsync_LaggedWatcherHistoryCompacted_ThrowsCompacted()
    {
        await using IStore store = await OpenAsync(watchBufferSize: 4);
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(60));
        await using IAsyncEnumerator<WatchEvent> watch = store.WatchAsync("/s/", store.CurrentRevision, cts.Token).GetAsyncEnumerator(cts.Token);
        ValueTask<bool> first = watch.MoveNextAsync();
        await store.CreateAsync("/s/0", Bytes("0"));
        Assert.True(await first);
        for (int i = 1; i < 20; i++)
        {
            await store.CreateAsync($"/s/{i}", Bytes("x"));
        }

        await store.CompactAsync(store.CurrentRevision);

        await Assert.ThrowsAsync<CompactedException>(async () =>
        {
            while (await watch.MoveNextAsync())
            {
            }
        });
    }

    [Fact]
    public async Task WatchAsync_CompactedDuringCatchUp_ThrowsCompacted()
    {
        await using IStore store = await OpenAsync();
        long start = store.CurrentRevision;
        for (int i = 0; i < 1200; i++)
        {
            await store.CreateAsync($"/h/{i}", Bytes("x"));
        }

        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(60));
        await using IAsyncEnumerator<WatchEvent> watch = store.WatchAsync("/h/", start, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());

        // Catch-up reads history in pages; the next page finds its starting point compacted away.
        await store.CompactAsync(store.CurrentRevision);

        int delivered = 1;
        await Assert.ThrowsAsync<CompactedException>(async () =>
        {
            while (await watch.MoveNextAsync())
            {
                delivered++;
            }
        });
        Assert.InRange(delivered, 1, 1199);
    }

    [Fact]
    public async Task RunCompactionTickAsync_TwoTicks_CompactsToRevisionSeenByPreviousTick()
    {
        await using IStore store = await OpenAsync();
        SqliteKvStore sqlite = (SqliteKvStore)store;
        long seenAtFirstTick = await store.CreateAsync("/a", Bytes("1"));

        await sqlite.RunCompactionTickAsync();
        Assert.Equal(0, store.CompactedRevision);
        long later = await store.CreateAsync("/b", Bytes("2"));
        await sqlite.RunCompactionTickAsync();

        Assert.Equal(seenAtFirstTick, store.CompactedRevision);
        // Revisions newer than the previous tick stay watchable.
        await using IAsyncEnumerator<WatchEvent> watch = store.WatchAsync("/", seenAtFirstTick).GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(later, watch.Current.ModRevision);
    }

    [Fact]
    public async Task CreateAsync_CancelledBeforeQueued_DoesNotWrite()
    {
        await using IStore store = await OpenAsync();
        using CancellationTokenSource cts = new();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CreateAsync("/a", Bytes("1"), cts.Token));

        Assert.Null(await store.GetAsync("/a"));
        Assert.Equal(1, store.CurrentRevision);
    }
}
