using Berth.Api.Models;
using Berth.Controllers.Framework;
using Berth.Controllers.ReplicaSets;
using static Berth.Controllers.Tests.ReplicaSets.ReplicaSetHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.ReplicaSets;

// Ported from kubernetes pkg/controller/replicaset/replica_set_test.go: syncs driven one at a time (no workers), with
// upstream's FakePodControl where pod creation has to fail or must not happen, against the real API server.
public sealed class ReplicaSetSyncTests(ReplicaSetApiFixture fixture) : IClassFixture<ReplicaSetApiFixture>
{
    private static readonly Dictionary<string, string> s_labels = new() { ["foo"] = "bar" };

    // TestSyncReplicaSetCreateFailures: 100 replicas under a limit of 10 creates make 1+2+4+8 calls, not 100.
    [Fact]
    public async Task Sync_CreatesFailBeyondLimit_SlowStartStopsAndReportsReplicaFailure()
    {
        var ns = await fixture.NamespaceAsync();
        var podControl = new FakePodControl { CreateLimit = 10 };
        await using var harness = await StartAsync(fixture.Client, run: false, podControl: podControl);
        var rs = await CreateReplicaSetAsync(harness, NewReplicaSet(ns, "foobar", 100, s_labels));
        var key = $"{ns}/foobar";

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => harness.Controller.SyncAsync(key, CancellationToken.None));

        Assert.Equal(15, podControl.CreateCallCount);
        Assert.Equal("not creating pod, limit 10 already reached (create call 11)", error.Message);
        // The 90 never-created pods are no longer expected; the 10 created ones still are.
        Assert.Equal((10L, 0L), harness.Controller.Expectations.Get(key));
        var status = (await harness.Client.GetAsync<ReplicaSet>(ns, "foobar")).Status!;
        var condition = Assert.Single(status.Conditions!);
        Assert.Equal(("ReplicaFailure", "True", "FailedCreate"), (condition.Type, condition.Status, condition.Reason));
        Assert.Equal(error.Message, condition.Message);
        Assert.Equal(rs.Metadata!.Generation, status.ObservedGeneration);
        Assert.Equal(0, status.Replicas ?? 0);
    }

    // TestSyncReplicaSetDormancy's core: until the informer shows the expected creations, a sync does not create again.
    [Fact]
    public async Task Sync_ExpectationsUnmet_DoesNotCreateAgain()
    {
        var ns = await fixture.NamespaceAsync();
        var podControl = new FakePodControl();
        await using var harness = await StartAsync(fixture.Client, run: false, podControl: podControl);
        await CreateReplicaSetAsync(harness, NewReplicaSet(ns, "foobar", 2, s_labels));
        var key = $"{ns}/foobar";

        await harness.Controller.SyncAsync(key, CancellationToken.None);
        await harness.Controller.SyncAsync(key, CancellationToken.None);

        Assert.Equal(2, podControl.CreateCallCount);
        Assert.False(harness.Controller.Expectations.Satisfied(key));
    }

    [Fact]
    public async Task Sync_BurstReplicas_CapsCreatesPerSync()
    {
        var ns = await fixture.NamespaceAsync();
        var podControl = new FakePodControl();
        await using var harness = await StartAsync(fixture.Client, run: false, podControl: podControl, burstReplicas: 10);
        await CreateReplicaSetAsync(harness, NewReplicaSet(ns, "foobar", 25, s_labels));

        await harness.Controller.SyncAsync($"{ns}/foobar", CancellationToken.None);

        Assert.Equal(10, podControl.CreateCallCount);
        Assert.Equal((10L, 0L), harness.Controller.Expectations.Get($"{ns}/foobar"));
    }

    // TestDeleteControllerAndExpectations.
    [Fact]
    public async Task Delete_ReplicaSet_ForgetsExpectations_AndLaterSyncsDoNothing()
    {
        var ns = await fixture.NamespaceAsync();
        var podControl = new FakePodControl();
        await using var harness = await StartAsync(fixture.Client, run: false, podControl: podControl);
        await CreateReplicaSetAsync(harness, NewReplicaSet(ns, "foobar", 1, s_labels));
        var key = $"{ns}/foobar";

        // This sets expectations for the ReplicaSet.
        await harness.Controller.SyncAsync(key, CancellationToken.None);
        Assert.Equal(1, podControl.CreateCallCount);
        Assert.NotNull(harness.Controller.Expectations.Get(key));

        await harness.Client.DeleteAsync<ReplicaSet>(ns, "foobar");
        await UntilAsync(() => harness.ReplicaSets.Get(ns, "foobar") is null, "the informer to drop the ReplicaSet");
        await harness.Controller.SyncAsync(key, CancellationToken.None);

        Assert.Null(harness.Controller.Expectations.Get(key));
        await harness.Controller.SyncAsync(key, CancellationToken.None);
        Assert.Equal(1, podControl.CreateCallCount);
        Assert.Empty(podControl.Deleted);
    }

    // TestOverlappingRSs: a pod with a controller reference wakes only that ReplicaSet, however many select it.
    [Fact]
    public async Task AddPod_WithControllerRef_QueuesOnlyItsReplicaSet()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false, podControl: new FakePodControl());
        var sets = new List<ReplicaSet>();
        foreach (var j in Enumerable.Range(1, 9).OrderBy(_ => Random.Shared.Next()))
        {
            sets.Add(await harness.Client.CreateAsync(NewReplicaSet(ns, $"rs{j}", 1, s_labels)));
        }
        // The informer hands out the adds after caching them: take every queued ReplicaSet until all nine were seen.
        await DrainAsync(harness.Controller.Queue, sets.Select(s => $"{ns}/{s.Metadata!.Name}"));
        var owner = sets.Single(s => s.Metadata!.Name == "rs4");
        var pod = NewPod(ns, "pod", s_labels);
        pod.Metadata!.OwnerReferences = [OwnerRefs.NewControllerRef(owner, "apps/v1", "ReplicaSet")];

        await harness.Client.CreateAsync(pod);

        using var timeout = new CancellationTokenSource(Wait);
        Assert.Equal($"{ns}/rs4", await harness.Controller.Queue.GetAsync(timeout.Token));
        Assert.Equal(0, harness.Controller.Queue.Count);
    }

    // TestPodControllerLookup: orphans are matched by namespace and a non-empty selector.
    [Fact]
    public async Task GetPodReplicaSets_MatchesNamespaceAndSelector()
    {
        var ns = await fixture.NamespaceAsync();
        var otherNs = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false, podControl: new FakePodControl());
        await harness.Client.CreateAsync(NewReplicaSet(otherNs, "foo", 1, s_labels));
        await harness.Client.CreateAsync(NewReplicaSet(ns, "bar", 1, s_labels));
        await harness.Client.CreateAsync(NewReplicaSet(ns, "other", 1, new() { ["foo"] = "baz" }));
        await UntilAsync(() => harness.ReplicaSets.List(null).Count(r => r.Metadata!.Namespace == ns || r.Metadata.Namespace == otherNs) == 3, "the informer");

        // Pods without labels match no ReplicaSet.
        Assert.Empty(harness.Controller.GetPodReplicaSets(NewPod(ns, "foo1", [])));
        // Matching labels in a namespace without a matching ReplicaSet.
        var elsewhere = await fixture.NamespaceAsync();
        Assert.Empty(harness.Controller.GetPodReplicaSets(NewPod(elsewhere, "foo2", s_labels)));
        // Matching namespace and labels.
        Assert.Equal(["bar"], harness.Controller.GetPodReplicaSets(NewPod(ns, "foo3", s_labels)).Select(r => r.Metadata!.Name));
    }

    // TestRelatedPodsLookup: the pods of every ReplicaSet with the same controller, each once.
    [Fact]
    public async Task GetIndirectlyRelatedPods_PodsOfSiblingReplicaSets()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false, podControl: new FakePodControl());
        var deployment = new Berth.Api.Models.Deployment { Metadata = new ObjectMeta { Name = "foo", Namespace = ns, Uid = Guid.NewGuid().ToString() } };
        var someRs = NewReplicaSet(ns, "foo1", 1, new() { ["foo"] = "bar" });
        var relatedRs = NewReplicaSet(ns, "foo2", 1, new() { ["foo"] = "baz" });
        var unrelatedRs = NewReplicaSet(ns, "bar1", 1, new() { ["foo"] = "quux" });
        someRs.Metadata!.OwnerReferences = [OwnerRefs.NewControllerRef(deployment, "apps/v1", "Deployment")];
        relatedRs.Metadata!.OwnerReferences = [OwnerRefs.NewControllerRef(deployment, "apps/v1", "Deployment")];
        foreach (var rs in new[] { someRs, relatedRs, unrelatedRs })
        {
            await harness.Client.CreateAsync(rs);
        }
        await harness.Client.CreateAsync(NewPod(ns, "pod1", new() { ["foo"] = "bar" }));
        await harness.Client.CreateAsync(NewPod(ns, "pod2", new() { ["foo"] = "bar" }));
        await harness.Client.CreateAsync(NewPod(ns, "pod3", new() { ["foo"] = "baz" }));
        await harness.Client.CreateAsync(NewPod(ns, "pod4", new() { ["foo"] = "quux" }));
        await UntilAsync(() => harness.Pods.List(ns).Count == 4 && harness.ReplicaSets.List(ns).Count == 3, "the informers");

        var related = harness.Controller.GetIndirectlyRelatedPods(harness.ReplicaSets.Get(ns, "foo1")!);

        Assert.Equal(["pod1", "pod2", "pod3"], related.Select(p => p.Metadata!.Name).Order());
        Assert.Empty(harness.Controller.GetIndirectlyRelatedPods(harness.ReplicaSets.Get(ns, "bar1")!));
    }

    private static async Task<ReplicaSet> CreateReplicaSetAsync(ReplicaSetHarness harness, ReplicaSet rs)
    {
        var created = await harness.Client.CreateAsync(rs);
        await UntilAsync(() => harness.ReplicaSets.Get(rs.Metadata!.Namespace, rs.Metadata.Name!) is not null, "the informer to see the ReplicaSet");
        return created;
    }

    private static async Task DrainAsync(WorkQueue queue, IEnumerable<string> expected)
    {
        var missing = expected.ToHashSet();
        using var timeout = new CancellationTokenSource(Wait);
        while (missing.Count > 0 || queue.Count > 0)
        {
            var key = await queue.GetAsync(timeout.Token);
            missing.Remove(key!);
            queue.Done(key!);
        }
    }
}
