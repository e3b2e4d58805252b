using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Storage;
using static Berth.Client.Tests.KubeClientTests;

namespace Berth.Client.Tests;

public sealed class InformerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Start_ExistingObjects_SyncsWithAdds()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(ConfigMap("one"));
        await client.CreateAsync(ConfigMap("two"));
        await using var informer = new Informer<ConfigMap>(client, "default");
        var added = new ConcurrentQueue<string>();
        informer.OnAdd(c => added.Enqueue(c.Metadata!.Name!));

        await informer.StartAsync(CancellationToken.None);
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        Assert.True(informer.HasSynced);
        // WaitForSync returns after the initial adds have been handled.
        Assert.Equal(["one", "two"], added.Order());
        Assert.Equal(["one", "two"], informer.List().Select(c => c.Metadata!.Name!).Order());
        Assert.NotNull(informer.Get("default", "two"));
        Assert.Null(informer.Get("default", "three"));
    }

    [Fact]
    public async Task Watch_Changes_UpdateCacheAndCallHandlersInOrder()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await using var informer = new Informer<ConfigMap>(client, "default");
        var seen = new BlockingCollection<string>();
        informer.OnAdd(c => seen.Add("add " + c.Metadata!.Name));
        informer.OnUpdate((old, now) => seen.Add($"update {old.Data?.GetValueOrDefault("k") ?? "-"}->{now.Data!["k"]}"));
        informer.OnDelete(c => seen.Add("delete " + c.Metadata!.Name));
        await informer.StartAsync(CancellationToken.None);
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        await client.CreateAsync(ConfigMap("live"));
        await client.PatchAsync<ConfigMap>("default", "live", PatchType.Merge, """{"data":{"k":"1"}}""");
        await client.DeleteAsync<ConfigMap>("default", "live");

        Assert.Equal(["add live", "update -->1", "delete live"], Take(seen, 3));
        Assert.Null(informer.Get("default", "live"));
    }

    [Fact]
    public async Task Watch_ExpiredResourceVersion_Relists()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(new Namespace { Metadata = new ObjectMeta { Name = "inf" } });
        var relists = new ConcurrentQueue<string>();
        // One-second watches: each ends and is resumed from the informer's last resourceVersion.
        await using var informer = new Informer<ConfigMap>(client, "inf", new ListOptions(TimeoutSeconds: 1), relists.Enqueue);
        var added = new BlockingCollection<string>();
        informer.OnAdd(c => added.Add(c.Metadata!.Name!));
        await informer.StartAsync(CancellationToken.None);
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        // Writes elsewhere move the store past the informer's resourceVersion; compacting them away makes it expire.
        await client.CreateAsync(ConfigMap("elsewhere"));
        var store = server.Service<IStore>();
        await store.CompactAsync(store.CurrentRevision);
        var deadline = DateTime.UtcNow + s_wait;
        while (informer.ListCount < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(informer.ListCount >= 2, "the informer did not relist after its resourceVersion was compacted");
        Assert.Contains(relists, l => l.Contains("expired; relisting", StringComparison.Ordinal));
        var fresh = ConfigMap("after");
        fresh.Metadata!.Namespace = "inf";
        await client.CreateAsync(fresh);
        Assert.Equal(["after"], Take(added, 1));
    }

    [Fact]
    public async Task Replace_AfterMissedEvents_SynthesizesAddUpdateDelete()
    {
        // A client nobody answers: the informer's own list/watch never succeeds, so only Replace feeds it.
        using var client = new KubeClient(new KubeClientOptions { Server = new Uri("https://127.0.0.1:1"), Token = "t" });
        await using var informer = new Informer<ConfigMap>(client, "default");
        var seen = new BlockingCollection<string>();
        informer.OnAdd(c => seen.Add("add " + c.Metadata!.Name));
        informer.OnUpdate((old, now) => seen.Add($"update {now.Metadata!.Name} {old.Metadata!.ResourceVersion}->{now.Metadata.ResourceVersion}"));
        informer.OnDelete(c => seen.Add("delete " + c.Metadata!.Name));
        await informer.StartAsync(CancellationToken.None);

        informer.Replace([Versioned("kept", "1"), Versioned("changed", "2"), Versioned("gone", "3")], "3");
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);
        informer.Replace([Versioned("kept", "1"), Versioned("changed", "5"), Versioned("new", "6")], "6");

        Assert.Equal(["add kept", "add changed", "add gone", "update changed 2->5", "add new", "delete gone"], Take(seen, 6));
        Assert.Equal(["changed", "kept", "new"], informer.List().Select(c => c.Metadata!.Name!).Order());
    }

    [Fact]
    public async Task Resync_EveryPeriod_DeliversUpdateWithTheSameObjectForEachCachedObject()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(ConfigMap("one"));
        await client.CreateAsync(ConfigMap("two"));
        await using var informer = new Informer<ConfigMap>(client, "default") { ResyncPeriod = TimeSpan.FromMilliseconds(100) };
        var resynced = new BlockingCollection<string>();
        var changed = 0;
        informer.OnUpdate((old, now) =>
        {
            if (ReferenceEquals(old, now))
            {
                resynced.Add(now.Metadata!.Name!);
            }
            else
            {
                Interlocked.Increment(ref changed);
            }
        });
        await informer.StartAsync(CancellationToken.None);
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        // Two rounds: the resync repeats, and covers every cached object each time.
        Assert.Equal(["one", "one", "two", "two"], Take(resynced, 4).Order());
        Assert.Same(informer.Get("default", "one"), informer.List("default").Single(c => c.Metadata!.Name == "one"));
        Assert.Equal(0, Volatile.Read(ref changed));
    }

    [Fact]
    public async Task Index_FollowsAddsUpdatesAndDeletes_FromTheApiServer()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(Labelled("a", "x"));
        await client.CreateAsync(Labelled("b", "y"));
        await using var informer = new Informer<ConfigMap>(client, "default");
        informer.AddIndex("app", c => c.Metadata?.Labels?.TryGetValue("app", out var app) == true ? [app] : []);
        var events = new BlockingCollection<string>();
        informer.OnUpdate((_, now) => events.Add("update " + now.Metadata!.Name));
        informer.OnDelete(c => events.Add("delete " + c.Metadata!.Name));
        await informer.StartAsync(CancellationToken.None);
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        Assert.Equal(["a"], Names(informer.ByIndex("app", "x")));
        Assert.Equal(["b"], Names(informer.ByIndex("app", "y")));

        await client.PatchAsync<ConfigMap>("default", "a", PatchType.Merge, """{"metadata":{"labels":{"app":"y"}}}""");
        Assert.Equal(["update a"], Take(events, 1));
        Assert.Empty(informer.ByIndex("app", "x"));
        Assert.Equal(["a", "b"], Names(informer.ByIndex("app", "y")));

        await client.PatchAsync<ConfigMap>("default", "b", PatchType.Merge, """{"metadata":{"labels":{"app":null}}}""");
        Assert.Equal(["update b"], Take(events, 1));
        Assert.Equal(["a"], Names(informer.ByIndex("app", "y")));

        await client.DeleteAsync<ConfigMap>("default", "a");
        Assert.Equal(["delete a"], Take(events, 1));
        Assert.Empty(informer.ByIndex("app", "y"));
        Assert.Equal(["b"], Names(informer.ByIndex(Informer<ConfigMap>.NamespaceIndex, "default")));
    }

    [Fact]
    public async Task List_ByNamespace_UsesTheBuiltInNamespaceIndex()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        foreach (var ns in new[] { "red", "blue" })
        {
            await client.CreateAsync(new Namespace { Metadata = new ObjectMeta { Name = ns } });
        }
        await client.CreateAsync(InNamespace("r1", "red"));
        await client.CreateAsync(InNamespace("r2", "red"));
        await client.CreateAsync(InNamespace("b1", "blue"));
        await using var informer = new Informer<ConfigMap>(client);
        await informer.StartAsync(CancellationToken.None);
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        Assert.Equal(["r1", "r2"], Names(informer.List("red")));
        Assert.Equal(["b1"], Names(informer.List("blue")));
        Assert.Empty(informer.List("green"));
        Assert.Equal(["b1", "r1", "r2"], Names(informer.List(null).Where(c => c.Metadata!.Namespace is "red" or "blue").ToList()));
        Assert.Equal(informer.List().Count, informer.List(null).Count);
    }

    [Fact]
    public async Task Index_Replace_DropsObjectsMissingFromTheRelist()
    {
        using var client = new KubeClient(new KubeClientOptions { Server = new Uri("https://127.0.0.1:1"), Token = "t" });
        await using var informer = new Informer<ConfigMap>(client, "default");
        informer.AddIndex("name", c => [c.Metadata!.Name!]);
        await informer.StartAsync(CancellationToken.None);

        informer.Replace([Versioned("kept", "1"), Versioned("gone", "2")], "2");
        informer.Replace([Versioned("kept", "3")], "3");

        Assert.Empty(informer.ByIndex("name", "gone"));
        Assert.Equal("3", Assert.Single(informer.ByIndex("name", "kept")).Metadata!.ResourceVersion);
        Assert.Equal(["kept"], Names(informer.List("default")));
    }

    [Fact]
    public async Task AddIndex_AfterStartOrTwice_AndByIndex_UnknownIndex_Throw()
    {
        using var client = new KubeClient(new KubeClientOptions { Server = new Uri("https://127.0.0.1:1"), Token = "t" });
        await using var informer = new Informer<ConfigMap>(client, "default");

        var conflict = Assert.Throws<InvalidOperationException>(() => informer.AddIndex(Informer<ConfigMap>.NamespaceIndex, _ => []));
        Assert.Equal("indexer conflict: namespace", conflict.Message);
        var unknown = Assert.Throws<InvalidOperationException>(() => informer.ByIndex("missing", "x"));
        Assert.Equal("Index with name missing does not exist", unknown.Message);

        await informer.StartAsync(CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => informer.AddIndex("late", _ => []));
    }

    private static ConfigMap Labelled(string name, string app)
    {
        var map = ConfigMap(name);
        map.Metadata!.Labels = new Dictionary<string, string> { ["app"] = app };
        return map;
    }

    private static ConfigMap InNamespace(string name, string ns)
    {
        var map = ConfigMap(name);
        map.Metadata!.Namespace = ns;
        return map;
    }

    private static List<string> Names(IEnumerable<ConfigMap> maps) => [.. maps.Select(c => c.Metadata!.Name!).Order()];

    private static ConfigMap Versioned(string name, string resourceVersion)
    {
        var map = ConfigMap(name);
        map.Metadata!.Namespace = "default";
        map.Metadata.ResourceVersion = resourceVersion;
        return map;
    }

    private static List<string> Take(BlockingCollection<string> source, int count)
    {
        var taken = new List<string>();
        using var timeout = new CancellationTokenSource(s_wait);
        while (taken.Count < count && source.TryTake(out var item, Timeout.Infinite, timeout.Token))
        {
            taken.Add(item);
        }
        return taken;
    }
}
