using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.OpenApi;
using Berth.Api.Patch;
using Berth.Controllers.GarbageCollector;
using static Berth.Controllers.Tests.GarbageCollector.GcHarness;
using Collector = Berth.Controllers.GarbageCollector.GarbageCollector;

namespace Berth.Controllers.Tests.GarbageCollector;

/// <summary>
/// The graph builder's bookkeeping and the collector's patches and orphaning (upstream TestProcessEvent,
/// TestDependentsRace, TestDeleteOwnerRefPatch, TestUnblockOwnerReference, TestOrphanDependentsFailure), plus the
/// transitions that start orphaning and foreground deletion.
/// </summary>
public sealed class GraphAndPatchTests
{
    private static readonly Dictionary<string, (GraphEventType Type, string Uid, string[] Owners)[]> s_processEventScenarios = new()
    {
        ["test1"] = [(GraphEventType.Add, "1", []), (GraphEventType.Add, "2", ["1"]), (GraphEventType.Add, "3", ["1", "2"])],
        ["test2"] =
        [
            (GraphEventType.Add, "1", []), (GraphEventType.Add, "2", ["1"]), (GraphEventType.Add, "3", ["1", "2"]),
            (GraphEventType.Add, "4", ["2"]), (GraphEventType.Delete, "2", ["doesn't matter"]),
        ],
        ["test3"] =
        [
            (GraphEventType.Add, "1", []), (GraphEventType.Add, "2", ["1"]), (GraphEventType.Add, "3", ["1", "2"]),
            (GraphEventType.Add, "4", ["3"]), (GraphEventType.Update, "2", ["4"]),
        ],
        ["reverse test2"] =
        [
            (GraphEventType.Add, "4", ["2"]), (GraphEventType.Add, "3", ["1", "2"]), (GraphEventType.Add, "2", ["1"]),
            (GraphEventType.Add, "1", []), (GraphEventType.Delete, "2", ["doesn't matter"]),
        ],
    };

    public static TheoryData<string> ProcessEventScenarios => [.. s_processEventScenarios.Keys];

    /// <summary>Upstream TestProcessEvent: owners and dependents stay consistent after every event.</summary>
    [Theory]
    [MemberData(nameof(ProcessEventScenarios))]
    public async Task ProcessEvent_KeepsOwnersAndDependentsConsistent(string scenario)
    {
        await using var harness = new GcHarness();
        foreach (var (type, uid, owners) in s_processEventScenarios[scenario])
        {
            var meta = new ObjectMeta { Uid = uid, OwnerReferences = [.. owners.Select(o => new OwnerReference { Uid = o })] };
            harness.ProcessEvent(new GraphEvent(type, "v1", "Pod", meta));
            harness.VerifyGraphInvariants();
        }
    }

    /// <summary>Upstream TestDependentsRace: dependents change while an orphaning worker reads them.</summary>
    [Fact]
    public async Task Dependents_ChangedWhileOrphaning_DoNotRace()
    {
        await using var harness = new GcHarness();
        harness.ProcessEvent(AddEvent(Id("v1", "ConfigMap", "ns1", "owner", "owner")));
        const int Updates = 100;
        var ownerRef = new List<OwnerReference> { new() { Uid = "owner" } };
        var graphChanges = Task.Run(() =>
        {
            for (var i = 0; i < Updates; i++)
            {
                var dependent = new GraphNode(Id("v1", "Pod", "ns1", "p" + i, "p" + i), ownerRef);
                harness.Gc.Graph.AddDependentToOwners(dependent, ownerRef);
                harness.Gc.Graph.RemoveDependentFromOwners(dependent, ownerRef);
            }
        });
        var orphaning = Task.Run(async () =>
        {
            Assert.True(harness.Gc.Graph.TryGetNode("owner", out var node));
            for (var i = 0; i < Updates; i++)
            {
                harness.Gc.AttemptToOrphan.Add(node);
                await harness.ProcessAttemptToOrphanAsync(1);
            }
        });

        await Task.WhenAll(graphChanges, orphaning);
    }

    /// <summary>Upstream TestDeleteOwnerRefPatch, applied by Berth's strategic merge patch with the Pod schema.</summary>
    [Fact]
    public void DeleteOwnerRefPatch_RemovesTheNamedReferences()
    {
        var original = JsonNode.Parse("""{"metadata":{"uid":"100","ownerReferences":[{"uid":"1"},{"uid":"2"},{"uid":"3"}]}}""")!;

        var patched = StrategicMergePatch.Apply(original, (JsonObject)JsonNode.Parse(Collector.DeleteOwnerRefStrategicMergePatch("100", ["2", "3"]))!, PodSchema());

        Assert.Equal("""{"metadata":{"uid":"100","ownerReferences":[{"uid":"1"}]}}""", patched.ToJsonString());
    }

    /// <summary>Upstream TestUnblockOwnerReference.</summary>
    [Fact]
    public void UnblockOwnerReferencesPatch_SetsBlockOwnerDeletionFalse()
    {
        var original = JsonNode.Parse("""{"metadata":{"uid":"100","ownerReferences":[{"uid":"1","blockOwnerDeletion":true},{"uid":"2","blockOwnerDeletion":false},{"uid":"3"}]}}""")!;
        var node = new GraphNode(Id("v1", "Pod", "ns1", "p", "100"),
            [new OwnerReference { Uid = "1", BlockOwnerDeletion = true }, new OwnerReference { Uid = "2", BlockOwnerDeletion = false }, new OwnerReference { Uid = "3" }]);

        var patched = StrategicMergePatch.Apply(original, (JsonObject)JsonNode.Parse(Collector.UnblockOwnerReferencesStrategicMergePatch(node))!, PodSchema());

        var references = patched["metadata"]!["ownerReferences"]!.AsArray().Select(r => (r!["uid"]!.GetValue<string>(), r["blockOwnerDeletion"]?.GetValue<bool>()));
        Assert.Equal([("1", false), ("2", false), ("3", (bool?)null)], references);
    }

    /// <summary>Upstream TestOrphanDependentsFailure: a conflict patching a dependent fails the orphaning.</summary>
    [Fact]
    public async Task OrphanDependents_PatchConflict_Fails()
    {
        await using var harness = new GcHarness();
        var pod = Id("v1", "Pod", "ns1", "pod", "");
        harness.Client.Failures["patch /v1, Resource=pods ns=ns1 name=pod"] = 409;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            harness.Gc.OrphanDependentsAsync(new ObjectIdentity("", "", "", "", ""), [new GraphNode(pod)], CancellationToken.None));

        Assert.Equal("failed to orphan dependents of owner [/, namespace: , name: , uid: ], got errors: " +
            "orphaning [v1/Pod, namespace: ns1, name: pod, uid: ] failed, the server answered 409", error.Message);
    }

    [Fact]
    public async Task OrphanFinalizer_OnDeletion_PatchesEveryDependent_ThenRemovesTheFinalizer()
    {
        await using var harness = new GcHarness();
        var owner = Id("apps/v1", "ReplicaSet", "ns1", "rs", "rs1");
        var pod1 = Id("v1", "Pod", "ns1", "p1", "pod1");
        harness.Client.Create(owner, new ObjectMeta { DeletionTimestamp = DateTimeOffset.UnixEpoch, Finalizers = ["orphan", "example.com/keep"], ResourceVersion = "7" });
        harness.Client.Create(pod1, owner);
        harness.ProcessEvent(AddEvent(owner));
        harness.ProcessEvent(AddEvent(pod1, owner));

        harness.ProcessEvent(UpdateEvent(owner) with { Object = Deleting(owner, "orphan", "example.com/keep"), OldObject = Meta(owner) });
        await harness.AssertStateAsync(new State(
            GraphNodes: [ExpectedNode.Node(owner), ExpectedNode.Node(pod1, owner)],
            PendingAttemptToOrphan: [owner]));
        await harness.ProcessAttemptToOrphanAsync(1);

        Assert.Equal(
        [
            ("patch /v1, Resource=pods ns=ns1 name=p1", """{"metadata":{"uid":"pod1","ownerReferences":[{"$patch":"delete","uid":"rs1"}]}}"""),
            ("patch apps/v1, Resource=replicasets ns=ns1 name=rs", """{"metadata":{"resourceVersion":"7","finalizers":["example.com/keep"]}}"""),
        ], harness.Client.TakeWrites());
    }

    [Fact]
    public async Task ForegroundDeletion_DeletesBlockingDependents_ThenRemovesTheOwnersFinalizer()
    {
        await using var harness = new GcHarness();
        var owner = Id("apps/v1", "ReplicaSet", "ns1", "rs", "rs1");
        var pod1 = Id("v1", "Pod", "ns1", "p1", "pod1");
        var deleting = new ObjectMeta { DeletionTimestamp = DateTimeOffset.UnixEpoch, Finalizers = ["foregroundDeletion"], ResourceVersion = "9" };
        harness.Client.Create(owner, deleting);
        harness.Client.Create(pod1, new ObjectMeta { OwnerReferences = [Blocking(owner)] });
        harness.ProcessEvent(AddEvent(owner));
        var pod1Meta = Meta(pod1);
        pod1Meta.OwnerReferences = [Blocking(owner)];
        harness.ProcessEvent(AddEvent(pod1) with { Object = pod1Meta });

        harness.ProcessEvent(UpdateEvent(owner) with { Object = Deleting(owner, "foregroundDeletion"), OldObject = Meta(owner) });
        await harness.AssertStateAsync(new State(
            GraphNodes: [ExpectedNode.Node(owner), ExpectedNode.Node(pod1, owner)],
            PendingAttemptToDelete: [ExpectedNode.Node(pod1), ExpectedNode.Node(owner)]));
        // The dependent goes first (its only owner waits for it, and it has no dependents: background).
        await harness.ProcessAttemptToDeleteAsync(1);
        Assert.Equal(
            ["get /v1, Resource=pods ns=ns1 name=p1", "get apps/v1, Resource=replicasets ns=ns1 name=rs", "delete /v1, Resource=pods ns=ns1 name=p1"],
            harness.Client.TakeActions());
        // The owner still has a blocking dependent in the graph: it queues it again and keeps its finalizer.
        await harness.ProcessAttemptToDeleteAsync(1);
        Assert.Equal(["get apps/v1, Resource=replicasets ns=ns1 name=rs"], harness.Client.TakeActions());
        // The dependent's deletion is observed: the owner is queued and drops its finalizer.
        harness.ProcessEvent(DeleteEvent(pod1));
        await harness.ProcessAttemptToDeleteAsync(2);

        Assert.Equal(
        [
            "get /v1, Resource=pods ns=ns1 name=p1",
            "get apps/v1, Resource=replicasets ns=ns1 name=rs",
            "get apps/v1, Resource=replicasets ns=ns1 name=rs",
            "patch apps/v1, Resource=replicasets ns=ns1 name=rs",
        ], harness.Client.TakeActions());
        Assert.Equal("""{"metadata":{"resourceVersion":"9","finalizers":null}}""", harness.Client.TakeWrites().Last().Body);
    }

    private static ObjectMeta Deleting(ObjectIdentity identity, params string[] finalizers)
    {
        var meta = Meta(identity);
        meta.DeletionTimestamp = DateTimeOffset.UnixEpoch;
        meta.Finalizers = [.. finalizers];
        return meta;
    }

    private static OwnerReference Blocking(ObjectIdentity owner)
    {
        var reference = FakeGarbageCollectorClient.Reference(owner);
        reference.BlockOwnerDeletion = true;
        return reference;
    }

    private static OpenApiPatchSchema PodSchema() =>
        OpenApiPatchSchema.ForDefinition(OpenApiComponents.Schemas, OpenApiComponents.DefinitionName(typeof(Pod)));
}
