using System.Text;

namespace Berth.Storage.Tests;

/// <summary>
/// The behaviour every <see cref="IStore"/> backend must have. A backend subclasses this and supplies
/// <see cref="OpenStoreAsync"/>; tests only assume revisions relative to what they observe, so a backend
/// may start from a non-empty revision.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(60);

    protected IStore Store { get; private set; } = null!;

    /// <summary>Opens the backend on the storage of this test instance; called again by the reopen test
    /// after the previous instance was disposed, and must then see the same data.</summary>
    protected abstract Task<IStore> OpenStoreAsync();

    public virtual async Task InitializeAsync() => Store = await OpenStoreAsync();

    public virtual async Task DisposeAsync() => await Store.DisposeAsync();

    protected static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    protected static string Text(ReadOnlyMemory<byte> b) => Encoding.UTF8.GetString(b.Span);

    /// <summary>Fails instead of hanging when an expected event never comes (not a timing assertion).</summary>
    protected static CancellationTokenSource HangGuard() => new(s_hangGuard);

    protected static async Task<List<WatchEvent>> TakeAsync(IAsyncEnumerator<WatchEvent> watch, int count)
    {
        List<WatchEvent> events = [];
        while (events.Count < count)
        {
            Assert.True(await watch.MoveNextAsync(), $"watch ended after {events.Count} of {count} events");
            events.Add(watch.Current);
        }

        return events;
    }

    [Fact]
    public async Task Create_NewKey_GetReturnsItemAtCreateRevision()
    {
        long before = await Store.GetRevisionAsync();

        long rev = await Store.CreateAsync("/registry/services/default/web", Bytes("v1"));

        Assert.True(rev > before);
        StoreItem? item = await Store.GetAsync("/registry/services/default/web");
        Assert.NotNull(item);
        Assert.Equal("/registry/services/default/web", item.Key);
        Assert.Equal("v1", Text(item.Value));
        Assert.Equal(rev, item.CreateRevision);
        Assert.Equal(rev, item.ModRevision);
        Assert.Equal(rev, await Store.GetRevisionAsync());
        Assert.Equal(rev, Store.CurrentRevision);
    }

    [Fact]
    public async Task Create_ExistingKey_ThrowsKeyExistsAndTakesNoRevision()
    {
        long rev = await Store.CreateAsync("/k/a", Bytes("v1"));

        KeyExistsException ex = await Assert.ThrowsAsync<KeyExistsException>(() => Store.CreateAsync("/k/a", Bytes("v2")));

        Assert.Equal("/k/a", ex.Key);
        Assert.Equal(rev, await Store.GetRevisionAsync());
        Assert.Equal("v1", Text((await Store.GetAsync("/k/a"))!.Value));
    }

    [Fact]
    public async Task Get_MissingKey_ReturnsNull()
    {
        Assert.Null(await Store.GetAsync("/k/missing"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Update_ExpectedOrAnyRevision_KeepsCreateRevisionAndBumpsModRevision(bool unconditional)
    {
        long created = await Store.CreateAsync("/k/a", Bytes("v1"));

        long updated = await Store.UpdateAsync("/k/a", Bytes("v2"), unconditional ? 0 : created);

        Assert.True(updated > created);
        StoreItem item = (await Store.GetAsync("/k/a"))!;
        Assert.Equal("v2", Text(item.Value));
        Assert.Equal(created, item.CreateRevision);
        Assert.Equal(updated, item.ModRevision);
    }

    [Fact]
    public async Task Update_StaleRevision_ThrowsConflictCarryingCurrentItem()
    {
        long created = await Store.CreateAsync("/k/a", Bytes("v1"));
        long updated = await Store.UpdateAsync("/k/a", Bytes("v2"), created);

        ConflictException ex = await Assert.ThrowsAsync<ConflictException>(() => Store.UpdateAsync("/k/a", Bytes("v3"), created));

        Assert.Equal(created, ex.ExpectedModRevision);
        Assert.Equal(updated, ex.Current.ModRevision);
        Assert.Equal("v2", Text(ex.Current.Value));
        Assert.Equal(updated, await Store.GetRevisionAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public async Task Update_MissingKey_ThrowsNotFound(long expected)
    {
        StoreKeyNotFoundException ex = await Assert.ThrowsAsync<StoreKeyNotFoundException>(() => Store.UpdateAsync("/k/missing", Bytes("v"), expected));

        Assert.Equal("/k/missing", ex.Key);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Delete_ExpectedOrAnyRevision_RemovesKey(bool unconditional)
    {
        long created = await Store.CreateAsync("/k/a", Bytes("v1"));

        long deleted = await Store.DeleteAsync("/k/a", unconditional ? 0 : created);

        Assert.True(deleted > created);
        Assert.Null(await Store.GetAsync("/k/a"));
        Assert.Equal(deleted, await Store.GetRevisionAsync());
    }

    [Fact]
    public async Task Delete_StaleRevision_ThrowsConflictAndKeepsKey()
    {
        long created = await Store.CreateAsync("/k/a", Bytes("v1"));
        long updated = await Store.UpdateAsync("/k/a", Bytes("v2"), created);

        ConflictException ex = await Assert.ThrowsAsync<ConflictException>(() => Store.DeleteAsync("/k/a", created));

        Assert.Equal(updated, ex.Current.ModRevision);
        Assert.NotNull(await Store.GetAsync("/k/a"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public async Task Delete_MissingKey_ThrowsNotFound(long expected)
    {
        await Assert.ThrowsAsync<StoreKeyNotFoundException>(() => Store.DeleteAsync("/k/missing", expected));
    }

    [Fact]
    public async Task Create_AfterDelete_StartsNewLifeWithNewCreateRevision()
    {
        long first = await Store.CreateAsync("/k/a", Bytes("v1"));
        await Store.DeleteAsync("/k/a", 0);

        long second = await Store.CreateAsync("/k/a", Bytes("v2"));

        StoreItem item = (await Store.GetAsync("/k/a"))!;
        Assert.True(second > first);
        Assert.Equal(second, item.CreateRevision);
        Assert.Equal(second, item.ModRevision);
    }

    [Fact]
    public async Task Writes_DifferentKeys_ShareOneStrictlyIncreasingRevision()
    {
        List<long> revisions =
        [
            await Store.CreateAsync("/a/1", Bytes("x")),
            await Store.CreateAsync("/b/1", Bytes("x")),
            await Store.UpdateAsync("/a/1", Bytes("y"), 0),
            await Store.DeleteAsync("/b/1", 0),
            await Store.CreateAsync("/c/1", Bytes("x")),
        ];

        for (int i = 1; i < revisions.Count; i++)
        {
            Assert.Equal(revisions[i - 1] + 1, revisions[i]);
        }
    }

    [Theory]
    [InlineData("/registry/services/", new[] { "/registry/services/default/a", "/registry/services/default/b", "/registry/services/kube-system/dns" })]
    [InlineData("/registry/services/default/", new[] { "/registry/services/default/a", "/registry/services/default/b" })]
    [InlineData("/registry/servicesX/", new[] { "/registry/servicesX/default/z" })]
    [InlineData("/registry/pods/", new string[0])]
    public async Task List_Prefix_ReturnsOnlyKeysUnderPrefixSortedByKey(string prefix, string[] expected)
    {
        // Inserted out of order, with neighbours on both sides of every prefix boundary.
        foreach (string key in new[]
        {
            "/registry/services/kube-system/dns", "/registry/servicesX/default/z", "/registry/services/default/b",
            "/registry/services", "/registry/service/default/x", "/registry/services/default/a", "/registry/services0",
        })
        {
            await Store.CreateAsync(key, Bytes(key));
        }

        StoreList list = await Store.ListAsync(prefix);

        Assert.Equal(expected, list.Items.Select(i => i.Key));
        Assert.All(list.Items, i => Assert.Equal(i.Key, Text(i.Value)));
    }

    [Fact]
    public async Task List_AfterWrites_RevisionIsStoreRevision()
    {
        await Store.CreateAsync("/l/a", Bytes("1"));
        long last = await Store.CreateAsync("/other/b", Bytes("2"));

        StoreList list = await Store.ListAsync("/l/");

        Assert.Single(list.Items);
        Assert.Equal(last, list.Revision);
    }

    [Fact]
    public async Task Watch_FromPastRevision_ReplaysHistoryThenDeliversLive()
    {
        long start = await Store.GetRevisionAsync();
        long c = await Store.CreateAsync("/w/a", Bytes("v1"));
        long u = await Store.UpdateAsync("/w/a", Bytes("v2"), c);
        using CancellationTokenSource cts = HangGuard();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/", start, cts.Token).GetAsyncEnumerator(cts.Token);

        List<WatchEvent> replayed = await TakeAsync(watch, 2);
        long d = await Store.DeleteAsync("/w/a", u);
        long c2 = await Store.CreateAsync("/w/b", Bytes("b1"));
        List<WatchEvent> live = await TakeAsync(watch, 2);

        Assert.Equal([c, u, d, c2], replayed.Concat(live).Select(e => e.ModRevision));
        Assert.Equal([true, false, false, true], replayed.Concat(live).Select(e => e.IsCreate));
        Assert.Equal([WatchEventType.Put, WatchEventType.Put, WatchEventType.Delete, WatchEventType.Put], replayed.Concat(live).Select(e => e.Type));
    }

    [Fact]
    public async Task Watch_UpdateAndDelete_CarryPreviousValue()
    {
        long start = await Store.GetRevisionAsync();
        long c = await Store.CreateAsync("/w/a", Bytes("v1"));
        long u = await Store.UpdateAsync("/w/a", Bytes("v2"), c);
        long d = await Store.DeleteAsync("/w/a", u);
        using CancellationTokenSource cts = HangGuard();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/", start, cts.Token).GetAsyncEnumerator(cts.Token);

        List<WatchEvent> events = await TakeAsync(watch, 3);

        Assert.Equal(("v1", ""), (Text(events[0].Value), Text(events[0].PrevValue)));
        Assert.Equal(("v2", "v1"), (Text(events[1].Value), Text(events[1].PrevValue)));
        Assert.Equal(WatchEventType.Delete, events[2].Type);
        Assert.Equal(("v2", "v2"), (Text(events[2].Value), Text(events[2].PrevValue)));
        Assert.Equal(d, events[2].ModRevision);
        Assert.Equal(c, events[2].CreateRevision);
        Assert.Equal("/w/a", events[2].Key);
    }

    [Fact]
    public async Task Watch_Prefix_SkipsKeysOutsidePrefixInHistoryAndLive()
    {
        long start = await Store.GetRevisionAsync();
        await Store.CreateAsync("/w/svc/a", Bytes("1"));
        await Store.CreateAsync("/w/svcX/a", Bytes("2"));
        long inside = await Store.CreateAsync("/w/svc/b", Bytes("3"));
        using CancellationTokenSource cts = HangGuard();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/svc/", start, cts.Token).GetAsyncEnumerator(cts.Token);

        List<WatchEvent> replayed = await TakeAsync(watch, 2);
        await Store.CreateAsync("/w/svcX/b", Bytes("4"));
        await Store.CreateAsync("/w/sv", Bytes("5"));
        long liveInside = await Store.CreateAsync("/w/svc/c", Bytes("6"));
        List<WatchEvent> live = await TakeAsync(watch, 1);

        Assert.Equal(["/w/svc/a", "/w/svc/b", "/w/svc/c"], replayed.Concat(live).Select(e => e.Key));
        Assert.Equal(inside, replayed[1].ModRevision);
        Assert.Equal(liveInside, live[0].ModRevision);
    }

    [Fact]
    public async Task Watch_FromListRevision_DeliversOnlyLaterChanges()
    {
        await Store.CreateAsync("/w/a", Bytes("1"));
        StoreList list = await Store.ListAsync("/w/");
        using CancellationTokenSource cts = HangGuard();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/", list.Revision, cts.Token).GetAsyncEnumerator(cts.Token);

        long next = await Store.CreateAsync("/w/b", Bytes("2"));

        Assert.Equal(next, (await TakeAsync(watch, 1))[0].ModRevision);
    }

    [Fact]
    public async Task Watch_FromFutureRevision_StartsAfterIt()
    {
        long now = await Store.GetRevisionAsync();
        using CancellationTokenSource cts = HangGuard();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/", now + 2, cts.Token).GetAsyncEnumerator(cts.Token);

        await Store.CreateAsync("/w/1", Bytes("1"));
        await Store.CreateAsync("/w/2", Bytes("2"));
        long third = await Store.CreateAsync("/w/3", Bytes("3"));

        WatchEvent e = (await TakeAsync(watch, 1))[0];
        Assert.Equal(("/w/3", third), (e.Key, e.ModRevision));
    }

    [Fact]
    public async Task Watch_Cancelled_StopsEnumeration()
    {
        using CancellationTokenSource cts = new();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/", await Store.GetRevisionAsync(), cts.Token).GetAsyncEnumerator(cts.Token);
        ValueTask<bool> pending = watch.MoveNextAsync();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
    }

    [Fact]
    public async Task Watch_FromCompactedRevision_ThrowsCompacted()
    {
        long start = await Store.GetRevisionAsync();
        long c = await Store.CreateAsync("/w/a", Bytes("1"));
        await Store.UpdateAsync("/w/a", Bytes("2"), c);
        long target = await Store.CreateAsync("/w/b", Bytes("3"));
        await Store.CompactAsync(target);
        using CancellationTokenSource cts = HangGuard();

        CompactedException ex = await Assert.ThrowsAsync<CompactedException>(async () =>
        {
            await foreach (WatchEvent _ in Store.WatchAsync("/w/", start, cts.Token))
            {
            }
        });

        Assert.Equal(start, ex.RequestedRevision);
        Assert.True(Store.CompactedRevision >= target);
    }

    [Fact]
    public async Task Watch_FromCompactedRevisionItself_Works()
    {
        long target = await Store.CreateAsync("/w/a", Bytes("1"));
        await Store.CompactAsync(target);
        using CancellationTokenSource cts = HangGuard();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/", target, cts.Token).GetAsyncEnumerator(cts.Token);

        long next = await Store.UpdateAsync("/w/a", Bytes("2"), target);

        Assert.Equal(next, (await TakeAsync(watch, 1))[0].ModRevision);
    }

    [Fact]
    public async Task Compact_ToCurrentRevision_KeepsCurrentValuesAndRevision()
    {
        long a = await Store.CreateAsync("/c/a", Bytes("a1"));
        await Store.UpdateAsync("/c/a", Bytes("a2"), a);
        long b = await Store.CreateAsync("/c/b", Bytes("b1"));
        long gone = await Store.CreateAsync("/c/gone", Bytes("x"));
        long now = await Store.DeleteAsync("/c/gone", gone);

        await Store.CompactAsync(now);

        StoreList list = await Store.ListAsync("/c/");
        Assert.Equal(["/c/a", "/c/b"], list.Items.Select(i => i.Key));
        Assert.Equal(["a2", "b1"], list.Items.Select(i => Text(i.Value)));
        Assert.Equal(b, list.Items[1].ModRevision);
        Assert.Equal(now, list.Revision);
        Assert.Equal(now + 1, await Store.CreateAsync("/c/new", Bytes("n")));
    }

    [Fact]
    public async Task Compact_FutureRevision_ThrowsArgumentOutOfRange()
    {
        long now = await Store.GetRevisionAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.CompactAsync(now + 10));
    }

    [Fact]
    public async Task ConcurrentWriters_WithConcurrentWatchers_EveryWatcherSeesEveryEventOnceInOrder()
    {
        const int Writers = 8;
        const int KeysPerWriter = 100; // a create and an update each: 200 writes per writer
        const int Total = Writers * KeysPerWriter * 2;
        long start = await Store.GetRevisionAsync();
        using CancellationTokenSource cts = HangGuard();

        // Some watchers are live before the writes; others start during them from `start`, so their
        // history catch-up races the writers.
        Task<List<WatchEvent>> Collect() => Task.Run(async () =>
        {
            List<WatchEvent> seen = new(Total);
            await foreach (WatchEvent e in Store.WatchAsync("/cc/", start, cts.Token))
            {
                seen.Add(e);
                if (seen.Count == Total)
                {
                    break;
                }
            }

            return seen;
        });
        List<Task<List<WatchEvent>>> watchers = [Collect(), Collect(), Collect()];

        Dictionary<string, long>[] acknowledged = new Dictionary<string, long>[Writers];
        Task[] writers = new Task[Writers];
        for (int w = 0; w < Writers; w++)
        {
            int writer = w;
            acknowledged[w] = [];
            writers[w] = Task.Run(async () =>
            {
                for (int k = 0; k < KeysPerWriter; k++)
                {
                    string key = $"/cc/{writer}/{k}";
                    acknowledged[writer][key + "#c"] = await Store.CreateAsync(key, Bytes($"{key}=0"));
                    if (k == KeysPerWriter / 2 && writer == 0)
                    {
                        watchers.Add(Collect());
                        watchers.Add(Collect());
                    }
                }

                for (int k = 0; k < KeysPerWriter; k++)
                {
                    string key = $"/cc/{writer}/{k}";
                    acknowledged[writer][key] = await Store.UpdateAsync(key, Bytes($"{key}=1"), acknowledged[writer][key + "#c"]);
                }
            });
        }

        await Task.WhenAll(writers);
        List<long> all = acknowledged.SelectMany(d => d.Values).Order().ToList();
        Assert.Equal(Total, all.Distinct().Count());

        foreach (Task<List<WatchEvent>> watcher in watchers.ToArray())
        {
            List<WatchEvent> seen = await watcher;
            Assert.Equal(all, seen.Select(e => e.ModRevision));
        }

        StoreList list = await Store.ListAsync("/cc/");
        Assert.Equal(Writers * KeysPerWriter, list.Items.Count);
        foreach (StoreItem item in list.Items)
        {
            Dictionary<string, long> mine = acknowledged[int.Parse(item.Key.Split('/')[2], System.Globalization.CultureInfo.InvariantCulture)];
            Assert.Equal(mine[item.Key], item.ModRevision);
            Assert.Equal(mine[item.Key + "#c"], item.CreateRevision);
            Assert.Equal($"{item.Key}=1", Text(item.Value));
        }
    }

    [Fact]
    public async Task GuaranteedUpdateAsync_ConcurrentIncrements_NoneLost()
    {
        await Store.CreateAsync("/g/counter", Bytes("0"));

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 25; i++)
            {
                await Store.GuaranteedUpdateAsync("/g/counter", item => Bytes((int.Parse(Text(item.Value), System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        })));

        Assert.Equal("200", Text((await Store.GetAsync("/g/counter"))!.Value));
    }

    [Fact]
    public async Task GuaranteedUpdateAsync_UpdateReturnsNull_WritesNothing()
    {
        long created = await Store.CreateAsync("/g/a", Bytes("1"));

        StoreItem item = await Store.GuaranteedUpdateAsync("/g/a", _ => null);

        Assert.Equal(created, item.ModRevision);
        Assert.Equal(created, await Store.GetRevisionAsync());
        await Assert.ThrowsAsync<StoreKeyNotFoundException>(() => Store.GuaranteedUpdateAsync("/g/missing", _ => Bytes("x")));
    }

    [Fact]
    public async Task Reopen_AfterDispose_KeepsDataAndContinuesRevision()
    {
        long c = await Store.CreateAsync("/r/a", Bytes("1"));
        long last = await Store.UpdateAsync("/r/a", Bytes("2"), c);
        await Store.DisposeAsync();

        Store = await OpenStoreAsync();

        StoreItem item = (await Store.GetAsync("/r/a"))!;
        Assert.Equal(("2", c, last), (Text(item.Value), item.CreateRevision, item.ModRevision));
        Assert.Equal(last, await Store.GetRevisionAsync());
        Assert.Equal(last + 1, await Store.CreateAsync("/r/b", Bytes("3")));
        using CancellationTokenSource cts = HangGuard();
        await using IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/r/", c - 1, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.Equal([c, last, last + 1], (await TakeAsync(watch, 3)).Select(e => e.ModRevision));
    }

    [Fact]
    public async Task Dispose_WithOpenWatch_EndsWatchWithObjectDisposed()
    {
        using CancellationTokenSource cts = HangGuard();
        IAsyncEnumerator<WatchEvent> watch = Store.WatchAsync("/w/", await Store.GetRevisionAsync(), cts.Token).GetAsyncEnumerator(cts.Token);
        ValueTask<bool> pending = watch.MoveNextAsync();

        await Store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await pending);
        await watch.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.CreateAsync("/w/x", Bytes("1")));
    }
}
