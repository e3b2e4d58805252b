using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Controllers.GarbageCollector;
using static Berth.Controllers.Tests.GarbageCollector.GcHarness;
using Collector = Berth.Controllers.GarbageCollector.GarbageCollector;

namespace Berth.Controllers.Tests.GarbageCollector;

/// <summary>
/// attemptToDeleteItem (upstream TestAttemptToDeleteItem and the branches of garbagecollector.go it exercises): the
/// live object and each owner are read from the API server, then the item is deleted (with the propagation policy
/// upstream picks), patched to drop dangling or waiting references, or left alone.
/// </summary>
public sealed class AttemptToDeleteItemTests
{
    private static readonly ObjectIdentity s_pod = Id("v1", "Pod", "ns1", "ToBeDeletedPod", "456");
    private static readonly ObjectIdentity s_owner1 = Id("apps/v1", "ReplicaSet", "ns1", "owner1", "123");
    private static readonly ObjectIdentity s_owner2 = Id("apps/v1", "ReplicaSet", "ns1", "owner2", "789");
    private static readonly DateTimeOffset s_deleting = DateTimeOffset.Parse("2024-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private const string GetPod = "get /v1, Resource=pods ns=ns1 name=ToBeDeletedPod";
    private const string GetOwner1 = "get apps/v1, Resource=replicasets ns=ns1 name=owner1";
    private const string GetOwner2 = "get apps/v1, Resource=replicasets ns=ns1 name=owner2";
    private const string DeletePod = "delete /v1, Resource=pods ns=ns1 name=ToBeDeletedPod";
    private const string PatchPod = "patch /v1, Resource=pods ns=ns1 name=ToBeDeletedPod";

    private sealed record Case(
        Action<FakeGarbageCollectorClient> Setup,
        string[] Actions,
        string? Write,
        string? WriteBody,
        bool WithDependent = false,
        ObjectIdentity? Item = null);

    private static readonly Dictionary<string, Case> s_cases = new()
    {
        // Upstream TestAttemptToDeleteItem: the only owner is gone.
        ["owner absent: deleted in the background"] = new(
            c => c.Create(s_pod, s_owner1),
            [GetPod, GetOwner1, DeletePod],
            DeletePod, """{"preconditions":{"resourceVersion":"1","uid":"456"},"propagationPolicy":"Background"}"""),
        ["owner replaced by another object of its name (uid mismatch): deleted"] = new(
            c =>
            {
                c.Create(s_pod, s_owner1);
                c.Create(s_owner1 with { Uid = "another" });
            },
            [GetPod, GetOwner1, DeletePod],
            DeletePod, """{"preconditions":{"resourceVersion":"1","uid":"456"},"propagationPolicy":"Background"}"""),
        ["owner present: left alone"] = new(
            c =>
            {
                c.Create(s_pod, s_owner1);
                c.Create(s_owner1);
            },
            [GetPod, GetOwner1],
            null, null),
        ["one owner absent, one present: the dangling reference is patched away"] = new(
            c =>
            {
                c.Create(s_pod, s_owner1, s_owner2);
                c.Create(s_owner2);
            },
            [GetPod, GetOwner1, GetOwner2, PatchPod],
            PatchPod, """{"metadata":{"uid":"456","ownerReferences":[{"$patch":"delete","uid":"123"}]}}"""),
        ["one owner waiting for its dependents, one present: the waiting reference is patched away"] = new(
            c =>
            {
                c.Create(s_pod, s_owner1, s_owner2);
                c.Create(s_owner1, new ObjectMeta { DeletionTimestamp = s_deleting, Finalizers = ["foregroundDeletion"] });
                c.Create(s_owner2);
            },
            [GetPod, GetOwner1, GetOwner2, PatchPod],
            PatchPod, """{"metadata":{"uid":"456","ownerReferences":[{"$patch":"delete","uid":"123"}]}}"""),
        ["only owner waiting for its dependents, item has dependents: deleted in the foreground"] = new(
            c =>
            {
                c.Create(s_pod, s_owner1);
                c.Create(s_owner1, new ObjectMeta { DeletionTimestamp = s_deleting, Finalizers = ["foregroundDeletion"] });
            },
            [GetPod, GetOwner1, DeletePod],
            DeletePod, """{"preconditions":{"resourceVersion":"1","uid":"456"},"propagationPolicy":"Foreground"}""",
            WithDependent: true),
        ["only owner waiting for its dependents, item without dependents: deleted in the background"] = new(
            c =>
            {
                c.Create(s_pod, s_owner1);
                c.Create(s_owner1, new ObjectMeta { DeletionTimestamp = s_deleting, Finalizers = ["foregroundDeletion"] });
            },
            [GetPod, GetOwner1, DeletePod],
            DeletePod, """{"preconditions":{"resourceVersion":"1","uid":"456"},"propagationPolicy":"Background"}"""),
        ["owner absent, item has the orphan finalizer: deleted orphaning"] = new(
            c => c.Create(s_pod, new ObjectMeta { Finalizers = ["orphan"], OwnerReferences = [FakeGarbageCollectorClient.Reference(s_owner1)] }),
            [GetPod, GetOwner1, DeletePod],
            DeletePod, """{"preconditions":{"resourceVersion":"1","uid":"456"},"propagationPolicy":"Orphan"}"""),
        ["owner absent, item has the foregroundDeletion finalizer: deleted in the foreground"] = new(
            c => c.Create(s_pod, new ObjectMeta { Finalizers = ["foregroundDeletion"], OwnerReferences = [FakeGarbageCollectorClient.Reference(s_owner1)] }),
            [GetPod, GetOwner1, DeletePod],
            DeletePod, """{"preconditions":{"resourceVersion":"1","uid":"456"},"propagationPolicy":"Foreground"}"""),
        ["item without owners: left alone"] = new(
            c => c.Create(s_pod),
            [GetPod],
            null, null),
        ["namespaced item with a cluster-scoped owner (Lease of a Node) gone: deleted"] = new(
            c => c.Create(Id("coordination.k8s.io/v1", "Lease", "kube-node-lease", "n1", "lease1"), Id("v1", "Node", "", "n1", "node1")),
            [
                "get coordination.k8s.io/v1, Resource=leases ns=kube-node-lease name=n1",
                "get /v1, Resource=nodes name=n1",
                "delete coordination.k8s.io/v1, Resource=leases ns=kube-node-lease name=n1",
            ],
            "delete coordination.k8s.io/v1, Resource=leases ns=kube-node-lease name=n1",
            """{"preconditions":{"resourceVersion":"1","uid":"lease1"},"propagationPolicy":"Background"}""",
            Item: Id("coordination.k8s.io/v1", "Lease", "kube-node-lease", "n1", "lease1")),
    };

    public static TheoryData<string> Cases => [.. s_cases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AttemptToDeleteItem_ActsAsUpstream(string name)
    {
        var test = s_cases[name];
        await using var harness = new GcHarness();
        test.Setup(harness.Client);
        // Owners are left out of the node: attemptToDeleteItem reads them from the live object.
        var item = new GraphNode(test.Item ?? s_pod);
        if (test.WithDependent)
        {
            item.AddDependent(new GraphNode(Id("v1", "ConfigMap", "ns1", "dependent", "dep1")));
        }

        var outcome = await harness.Gc.AttemptToDeleteItemAsync(item, CancellationToken.None);

        Assert.Equal(Collector.Outcome.Done, outcome);
        Assert.Equal(test.Actions, harness.Client.TakeActions());
        var writes = harness.Client.TakeWrites();
        if (test.Write is null)
        {
            Assert.Empty(writes);
            return;
        }
        var write = Assert.Single(writes);
        Assert.Equal(test.Write, write.Action);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(test.WriteBody!), JsonNode.Parse(write.Body)), write.Body);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AttemptToDeleteItem_ItemGoneOrReplaced_EnqueuesAVirtualDeleteEvent(bool replaced)
    {
        await using var harness = new GcHarness();
        if (replaced)
        {
            harness.Client.Create(s_pod with { Uid = "another" }, s_owner1);
        }

        var outcome = await harness.Gc.AttemptToDeleteItemAsync(new GraphNode(s_pod), CancellationToken.None);

        Assert.Equal(Collector.Outcome.EnqueuedVirtualDeleteEvent, outcome);
        Assert.Equal([GetPod], harness.Client.TakeActions());
        var change = Assert.Single(harness.Gc.Graph.PendingChanges);
        Assert.Equal((GraphEventType.Delete, true, "456", "ToBeDeletedPod"), (change.Type, change.Virtual, change.Object.Uid, change.Object.Name));
    }

    [Fact]
    public async Task AttemptToDeleteItem_ClusterScopedItemNamingANamespacedOwner_IsNotRetried()
    {
        await using var harness = new GcHarness();
        var node = Id("v1", "Node", "", "n1", "node1");
        harness.Client.Create(node, s_pod);

        await Assert.ThrowsAsync<NamespacedOwnerOfClusterScopedObjectException>(() => harness.Gc.AttemptToDeleteItemAsync(new GraphNode(node), CancellationToken.None));

        Assert.Equal(["get /v1, Resource=nodes name=n1"], harness.Client.TakeActions());
    }

    [Fact]
    public async Task AttemptToDeleteItem_OwnerOfAKindBerthDoesNotServe_IsARestMappingError()
    {
        await using var harness = new GcHarness();
        harness.Client.Create(s_pod, Id("batch/v1", "Job", "ns1", "job", "job1"));

        var error = await Assert.ThrowsAsync<RestMappingException>(() => harness.Gc.AttemptToDeleteItemAsync(new GraphNode(s_pod), CancellationToken.None));

        Assert.Equal("unable to get REST mapping for Job/batch/v1.", error.Message);
        Assert.Equal([GetPod], harness.Client.TakeActions());
    }

    [Fact]
    public async Task AttemptToDeleteItem_BeingDeletedWithoutForeground_DoesNothing()
    {
        await using var harness = new GcHarness();
        harness.Client.Create(s_pod, s_owner1);

        var outcome = await harness.Gc.AttemptToDeleteItemAsync(new GraphNode(s_pod, beingDeleted: true), CancellationToken.None);

        Assert.Equal(Collector.Outcome.Done, outcome);
        Assert.Empty(harness.Client.TakeActions());
    }

    /// <summary>Upstream TestAbsentOwnerCache (ReplicaSets for its ReplicationControllers): a cache of two owners.</summary>
    [Fact]
    public async Task AbsentOwnerCache_RemembersAbsentOwners_LeastRecentlyUsedEvicted()
    {
        await using var harness = new GcHarness(absentOwnerCacheSize: 2);
        var rc1 = Id("apps/v1", "ReplicaSet", "ns1", "rc1", "1");
        var rc2 = Id("apps/v1", "ReplicaSet", "ns1", "rc2", "2");
        var rc3 = Id("apps/v1", "ReplicaSet", "ns1", "rc3", "3");
        var rc1Pod1 = Id("v1", "Pod", "ns1", "rc1Pod1", "456");
        var rc1Pod2 = Id("v1", "Pod", "ns1", "rc1Pod2", "457");
        var rc2Pod1 = Id("v1", "Pod", "ns1", "rc2Pod1", "458");
        var rc3Pod1 = Id("v1", "Pod", "ns1", "rc3Pod1", "459");
        harness.Client.Create(rc1Pod1, new ObjectMeta { OwnerReferences = [Controlled(rc1, true)] });
        harness.Client.Create(rc1Pod2, new ObjectMeta { OwnerReferences = [Controlled(rc1, false)] });
        harness.Client.Create(rc2Pod1, rc2);
        harness.Client.Create(rc3Pod1, rc3);

        await harness.Gc.AttemptToDeleteItemAsync(new GraphNode(rc1Pod1), CancellationToken.None);
        await harness.Gc.AttemptToDeleteItemAsync(new GraphNode(rc2Pod1), CancellationToken.None);
        // rc1 is cached: no request for it, and it becomes the most recently used.
        await harness.Gc.AttemptToDeleteItemAsync(new GraphNode(rc1Pod2), CancellationToken.None);
        // rc2 is evicted.
        await harness.Gc.AttemptToDeleteItemAsync(new GraphNode(rc3Pod1), CancellationToken.None);

        Assert.True(harness.Gc.AbsentOwnerCache.Has(rc1));
        Assert.False(harness.Gc.AbsentOwnerCache.Has(rc2));
        Assert.True(harness.Gc.AbsentOwnerCache.Has(rc3));
        Assert.Single(harness.Client.TakeActions(), a => a == "get apps/v1, Resource=replicasets ns=ns1 name=rc1");
    }

    private static OwnerReference Controlled(ObjectIdentity owner, bool controller)
    {
        var reference = FakeGarbageCollectorClient.Reference(owner);
        reference.Controller = controller;
        return reference;
    }
}
