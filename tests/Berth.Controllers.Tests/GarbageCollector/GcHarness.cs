using Berth.Api.Models;
using Berth.Controllers.Framework;
using Berth.Controllers.GarbageCollector;
using Collector = Berth.Controllers.GarbageCollector.GarbageCollector;

namespace Berth.Controllers.Tests.GarbageCollector;

/// <summary>
/// A collector over <see cref="FakeGarbageCollectorClient"/>, stepped by hand as upstream's garbagecollector_test.go
/// does: queues that retry at once (its trackingWorkqueue treats AddRateLimited as Add), events collected as
/// record.FakeRecorder prints them with IncludeObject.
/// </summary>
internal sealed class GcHarness : IAsyncDisposable
{
    public GcHarness(int absentOwnerCacheSize = 100)
    {
        Gc = new Collector(Client, TimeProvider.System, _ => { }, new NoDelay(), (involved, type, reason, message) =>
        {
            lock (Events)
            {
                Events.Add($"{type} {reason} {message} involvedObject{{kind={involved.Kind},apiVersion={involved.ApiVersion}}}");
            }
        }, absentOwnerCacheSize);
    }

    public FakeGarbageCollectorClient Client { get; } = new();

    public List<string> Events { get; } = [];

    public Collector Gc { get; }

    public static ObjectIdentity Id(string apiVersion, string kind, string ns, string name, string uid) => new(apiVersion, kind, ns, name, uid);

    public static GraphEvent AddEvent(ObjectIdentity identity, params ObjectIdentity[] owners) =>
        new(GraphEventType.Add, identity.ApiVersion, identity.Kind, Meta(identity, owners));

    public static GraphEvent UpdateEvent(ObjectIdentity identity, params ObjectIdentity[] owners) =>
        new(GraphEventType.Update, identity.ApiVersion, identity.Kind, Meta(identity, owners));

    public static GraphEvent DeleteEvent(ObjectIdentity identity, params ObjectIdentity[] owners) =>
        new(GraphEventType.Delete, identity.ApiVersion, identity.Kind, Meta(identity, owners));

    public static GraphEvent VirtualDeleteEvent(ObjectIdentity identity) => DeleteEvent(identity) with { Virtual = true };

    public static ObjectMeta Meta(ObjectIdentity identity, params ObjectIdentity[] owners) => new()
    {
        Namespace = identity.Namespace.Length > 0 ? identity.Namespace : null,
        Name = identity.Name,
        Uid = identity.Uid,
        OwnerReferences = owners.Length == 0 ? null : [.. owners.Select(FakeGarbageCollectorClient.Reference)],
    };

    /// <summary>processEvent: the graph must have nothing pending, then takes <paramref name="change"/> at once.</summary>
    public void ProcessEvent(GraphEvent change)
    {
        Assert.Empty(Gc.Graph.PendingChanges);
        Gc.Graph.Enqueue(change);
        Assert.True(Gc.Graph.ProcessNext());
    }

    public void ProcessPendingGraphChanges(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(Gc.Graph.ProcessNext(), $"expected at least {count} pending changes, got {i}");
        }
    }

    public async Task ProcessAttemptToDeleteAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(await Gc.ProcessNextAsync(Gc.AttemptToDelete, CancellationToken.None), $"expected at least {count} items to delete, got {i}");
        }
    }

    public async Task ProcessAttemptToOrphanAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(await Gc.ProcessNextAsync(Gc.AttemptToOrphan, CancellationToken.None), $"expected at least {count} items to orphan, got {i}");
        }
    }

    /// <summary>Upstream verifyGraphInvariants: owners and dependents agree both ways.</summary>
    public void VerifyGraphInvariants()
    {
        var nodes = Gc.Graph.Nodes.ToDictionary(n => n.Identity.Uid);
        foreach (var node in nodes.Values)
        {
            foreach (var dependent in node.GetDependents())
            {
                Assert.True(dependent.Owners.Any(o => o.Uid == node.Identity.Uid),
                    $"node {node.Identity} has node {dependent.Identity} as a dependent, but it's not present in the latter node's owners list");
            }
            foreach (var owner in node.Owners)
            {
                if (nodes.TryGetValue(owner.Uid!, out var ownerNode))
                {
                    Assert.True(ownerNode.GetDependents().Contains(node),
                        $"node {node.Identity} has node {ownerNode.Identity} as an owner, but it's not present in the latter node's dependents list");
                }
            }
        }
    }

    /// <summary>Upstream assertState: what the collector did since the last check, and where it stands.</summary>
    public async Task AssertStateAsync(State expected)
    {
        List<string> events;
        lock (Events)
        {
            events = [.. Events];
            Events.Clear();
        }
        Assert.Equal(expected.Events ?? [], events);
        Assert.Equal(expected.ClientActions ?? [], Client.TakeActions());
        Client.TakeWrites();

        Assert.Equal(
            (expected.GraphNodes ?? []).Select(Describe).Order(StringComparer.Ordinal),
            Gc.Graph.Nodes.Select(n => Describe(new ExpectedNode(n.Identity, !n.IsObserved, [.. n.Owners.Select(o => ObjectIdentity.Of(o, ""))])))
                .Order(StringComparer.Ordinal));
        Assert.Equal((expected.PendingGraphChanges ?? []).Select(Describe), Gc.Graph.PendingChanges.Select(Describe));
        // Queued nodes are compared as upstream does: identity and whether the node was virtual.
        Assert.Equal((expected.PendingAttemptToDelete ?? []).Select(n => $"{n.Identity}{(n.IsVirtual ? " virtual" : "")}"),
            (await Gc.AttemptToDelete.PendingAsync()).Select(n => $"{n.Identity}{(n.IsObserved ? "" : " virtual")}"));
        Assert.Equal((expected.PendingAttemptToOrphan ?? []).Select(i => i.ToString()),
            (await Gc.AttemptToOrphan.PendingAsync()).Select(n => n.Identity.ToString()));
        foreach (var absent in expected.AbsentOwnerCache ?? [])
        {
            Assert.True(Gc.AbsentOwnerCache.Has(absent), $"expected absent owner {absent} was not in the absentOwnerCache");
        }
        Assert.Equal((expected.AbsentOwnerCache ?? []).Count, Gc.AbsentOwnerCache.Count);
    }

    public async ValueTask DisposeAsync() => await Gc.DisposeAsync();

    private static string Describe(ExpectedNode node) =>
        $"{node.Identity}{(node.IsVirtual ? " virtual" : "")} owners=[{string.Join(", ", node.Owners.Select(o => o.ToString()))}]";

    private static string Describe(GraphEvent change) =>
        $"{change.Type}{(change.Virtual ? " virtual" : "")} {new ObjectIdentity(change.ApiVersion, change.Kind, change.Object.Namespace ?? "", change.Object.Name ?? "", change.Object.Uid ?? "")}";

    private sealed class NoDelay : IRateLimiter
    {
        public TimeSpan When(string key) => TimeSpan.Zero;

        public void Forget(string key)
        {
        }

        public int NumRequeues(string key) => 0;
    }
}

/// <summary>A node as upstream's tests write it: makeNode(identity, virtual, withOwners(...)) (owners by coordinates).</summary>
internal sealed record ExpectedNode(ObjectIdentity Identity, bool IsVirtual, IReadOnlyList<ObjectIdentity> Owners)
{
    public static ExpectedNode Node(ObjectIdentity identity, params ObjectIdentity[] owners) => new(identity, false, [.. owners.Select(o => o with { Namespace = "" })]);

    public static ExpectedNode Virtual(ObjectIdentity identity) => new(identity, true, []);
}

internal sealed record State(
    IReadOnlyList<string>? Events = null,
    IReadOnlyList<string>? ClientActions = null,
    IReadOnlyList<ExpectedNode>? GraphNodes = null,
    IReadOnlyList<GraphEvent>? PendingGraphChanges = null,
    IReadOnlyList<ExpectedNode>? PendingAttemptToDelete = null,
    IReadOnlyList<ObjectIdentity>? PendingAttemptToOrphan = null,
    IReadOnlyList<ObjectIdentity>? AbsentOwnerCache = null);
