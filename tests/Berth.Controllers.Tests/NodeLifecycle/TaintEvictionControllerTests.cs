using Berth.Api.Models;
using Berth.Controllers.NodeLifecycle;

namespace Berth.Controllers.Tests.NodeLifecycle;

/// <summary>
/// Ported from upstream pkg/controller/tainteviction/taint_eviction_test.go (TestCreatePod, TestUpdatePod,
/// TestCreateNode, TestUpdateNode) against the real API server, with the fake clock driving tolerationSeconds.
/// "Deleted" means the pod got the DisruptionTarget condition and a deletionTimestamp (no kubelet finishes it).
/// </summary>
public sealed class TaintEvictionControllerTests
{
    private const string Key = "default/pod1";

    /// <param name="Toleration">(taint index tolerated, tolerationSeconds; null = forever)</param>
    public sealed record Case(int[] NodeTaints, bool Bound, (int Index, long? Seconds)[] Tolerations, bool ExpectDelete, int? DeleteAfterSeconds = null);

    private static readonly Dictionary<string, Case> s_createPod = new()
    {
        ["not scheduled - ignore"] = new([], Bound: false, [], ExpectDelete: false),
        ["scheduled on untainted Node"] = new([], Bound: true, [], ExpectDelete: false),
        ["schedule on tainted Node"] = new([1], Bound: true, [], ExpectDelete: true),
        ["schedule on tainted Node with finite toleration"] = new([1], Bound: true, [(1, 100)], ExpectDelete: false, DeleteAfterSeconds: 100),
        ["schedule on tainted Node with infinite toleration"] = new([1], Bound: true, [(1, null)], ExpectDelete: false),
        ["schedule on tainted Node with infinite invalid toleration"] = new([1], Bound: true, [(2, null)], ExpectDelete: true),
    };

    public static TheoryData<string> CreatePodCases => [.. s_createPod.Keys];

    /// <summary>TestCreatePod: the node's taints are known first, then the pod appears.</summary>
    [Theory]
    [MemberData(nameof(CreatePodCases))]
    public async Task PodCreated_OnNodeWithNoExecuteTaints(string description)
    {
        var c = s_createPod[description];
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new TaintEvictionController(cluster.Informers, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var now = await StartClockAsync(cluster);
        await cluster.CreateNodeAsync("node1", [.. c.NodeTaints.Select(i => NoExecuteTaint(i, now))]);
        await controller.SyncNodeAsync("node1", CancellationToken.None);

        await cluster.CreatePodAsync("pod1", c.Bound ? "node1" : null, Tolerations(c.Tolerations));
        await controller.SyncPodAsync(Key, CancellationToken.None);

        await AssertOutcomeAsync(cluster, controller, c, now, description);
    }

    /// <summary>TestCreateNode: the pod is there first, then the node's taints become known.</summary>
    [Theory]
    [InlineData("Creating Node matching already assigned Pod", new int[0], false, false)]
    [InlineData("Creating tainted Node matching already assigned Pod", new[] { 1 }, false, true)]
    [InlineData("Creating tainted Node matching already assigned tolerating Pod", new[] { 1 }, true, false)]
    public async Task NodeCreated_WithPodAlreadyAssigned(string description, int[] taints, bool tolerating, bool expectDelete)
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new TaintEvictionController(cluster.Informers, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var now = await StartClockAsync(cluster);
        await cluster.CreatePodAsync("pod1", "node1", tolerating ? Tolerations([(1, null)]) : null);

        await cluster.CreateNodeAsync("node1", [.. taints.Select(i => NoExecuteTaint(i, now))]);
        await controller.SyncNodeAsync("node1", CancellationToken.None);

        await AssertOutcomeAsync(cluster, controller, new Case(taints, true, [], expectDelete), now, description);
    }

    private static readonly Dictionary<string, (Case Case, int[] OldTaints)> s_updateNode = new()
    {
        ["Added taint, expect node patched and deleted"] = (new([1], true, [], ExpectDelete: true), []),
        ["Added tolerated taint"] = (new([1], true, [(1, 100)], ExpectDelete: false, DeleteAfterSeconds: 100), []),
        ["Only one added taint tolerated"] = (new([1, 2], true, [(1, 100)], ExpectDelete: true), []),
        ["Taint removed"] = (new([], true, [(1, 1)], ExpectDelete: false), [1]),
        ["Pod with multiple tolerations are evicted when first one runs out"] =
            (new([1, 2], true, [(1, 1), (2, 100)], ExpectDelete: false, DeleteAfterSeconds: 1), []),
    };

    public static TheoryData<string> UpdateNodeCases => [.. s_updateNode.Keys];

    /// <summary>TestUpdateNode: the node's NoExecute taints change under a pod.</summary>
    [Theory]
    [MemberData(nameof(UpdateNodeCases))]
    public async Task NodeTaintsUpdated_UnderAPod(string description)
    {
        var (c, oldTaints) = s_updateNode[description];
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new TaintEvictionController(cluster.Informers, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var now = await StartClockAsync(cluster);
        await cluster.CreateNodeAsync("node1", [.. oldTaints.Select(i => NoExecuteTaint(i, now))]);
        await cluster.CreatePodAsync("pod1", "node1", Tolerations(c.Tolerations));
        await controller.SyncNodeAsync("node1", CancellationToken.None);

        await cluster.SetNodeTaintsAsync("node1", [.. c.NodeTaints.Select(i => NoExecuteTaint(i, now))]);
        await controller.SyncNodeAsync("node1", CancellationToken.None);

        await AssertOutcomeAsync(cluster, controller, c, now, description);
        if (oldTaints.Length > 0 && c.NodeTaints.Length == 0)
        {
            // The eviction scheduled for the old taint was cancelled, and said so; its time passing deletes nothing.
            cluster.Time.Advance(TimeSpan.FromSeconds(2));
            await controller.EvictionsIdleAsync();
            Assert.Null((await cluster.Client.GetAsync<Pod>("default", "pod1")).Metadata!.DeletionTimestamp);
            await controller.FlushEventsAsync();
            var cancelled = Assert.Single(await cluster.EventsAsync("TaintManagerEviction"));
            Assert.Equal(("Normal", "Cancelling deletion of Pod default/pod1"), (cancelled.Type, cancelled.Message));
        }
    }

    /// <summary>TestUpdatePod: tolerations change on a pod of a tainted node.</summary>
    [Theory]
    [InlineData("removing toleration", 100L, null, true)]
    [InlineData("lengthening toleration shouldn't work", 1L, 100L, false)]
    public async Task PodTolerationsUpdated_OnTaintedNode(string description, long oldSeconds, long? newSeconds, bool expectDeleteAtOnce)
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new TaintEvictionController(cluster.Informers, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var now = await StartClockAsync(cluster);
        await cluster.CreateNodeAsync("node1", NoExecuteTaint(1, now));
        await controller.SyncNodeAsync("node1", CancellationToken.None);
        await cluster.CreatePodAsync("pod1", "node1", Tolerations([(1, oldSeconds)]));
        await controller.SyncPodAsync(Key, CancellationToken.None);
        Assert.Equal(now + TimeSpan.FromSeconds(oldSeconds), controller.ScheduledEviction(Key)!.FireAt);

        // Some time passes before the update, as it does between upstream's two events.
        cluster.Time.Advance(TimeSpan.FromMilliseconds(500));
        // Pod tolerations may only be added to upstream; Berth's API lets a test rewrite them to drive the controller.
        var pod = await cluster.Client.GetAsync<Pod>("default", "pod1");
        pod.Spec!.Tolerations = newSeconds is { } s ? Tolerations([(1, s)]) : [];
        await cluster.SyncedAsync(await cluster.Client.UpdateAsync(pod));
        await controller.SyncPodAsync(Key, CancellationToken.None);

        if (expectDeleteAtOnce)
        {
            await AssertEvictedAsync(cluster, controller, description);
        }
        else
        {
            // The earlier deadline stands.
            Assert.Equal(now + TimeSpan.FromSeconds(oldSeconds), controller.ScheduledEviction(Key)!.FireAt);
            cluster.Time.Advance(TimeSpan.FromSeconds(oldSeconds) - TimeSpan.FromMilliseconds(500));
            await AssertEvictedAsync(cluster, controller, description);
        }
    }

    [Fact]
    public async Task PodDeleted_ScheduledEvictionCancelled()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new TaintEvictionController(cluster.Informers, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var now = await StartClockAsync(cluster);
        await cluster.CreateNodeAsync("node1", NoExecuteTaint(1, now));
        await controller.SyncNodeAsync("node1", CancellationToken.None);
        await cluster.CreatePodAsync("pod1", "node1", Tolerations([(1, 100)]));
        await controller.SyncPodAsync(Key, CancellationToken.None);
        Assert.True(controller.Evicting(Key));

        await cluster.Client.DeleteAsync<Pod>("default", "pod1", new DeleteOptions { GracePeriodSeconds = 0 });
        await cluster.GoneFromCacheAsync<Pod>("default", "pod1");
        await controller.SyncPodAsync(Key, CancellationToken.None);

        Assert.False(controller.Evicting(Key));
    }

    private static async Task AssertOutcomeAsync(LifecycleCluster cluster, TaintEvictionController controller, Case c, DateTimeOffset now, string description)
    {
        if (c.ExpectDelete)
        {
            await AssertEvictedAsync(cluster, controller, description);
            return;
        }
        await controller.EvictionsIdleAsync();
        Assert.Null((await cluster.Client.GetAsync<Pod>("default", "pod1")).Metadata!.DeletionTimestamp);
        if (c.DeleteAfterSeconds is not { } seconds)
        {
            Assert.False(controller.Evicting(Key), description);
            return;
        }
        Assert.Equal(now + TimeSpan.FromSeconds(seconds), controller.ScheduledEviction(Key)!.FireAt);
        cluster.Time.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1));
        await controller.EvictionsIdleAsync();
        Assert.Null((await cluster.Client.GetAsync<Pod>("default", "pod1")).Metadata!.DeletionTimestamp);
        cluster.Time.Advance(TimeSpan.FromMilliseconds(1));
        await AssertEvictedAsync(cluster, controller, description);
    }

    private static async Task AssertEvictedAsync(LifecycleCluster cluster, TaintEvictionController controller, string description)
    {
        await controller.EvictionsIdleAsync();
        var pod = await cluster.Client.GetAsync<Pod>("default", "pod1");
        Assert.True(pod.Metadata!.DeletionTimestamp is not null, $"{description}: pod not deleted");
        var condition = Assert.Single(pod.Status!.Conditions!, x => x.Type == "DisruptionTarget");
        Assert.Equal(("True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint"),
            (condition.Status, condition.Reason, condition.Message));
        await controller.FlushEventsAsync();
        var marked = Assert.Single(await cluster.EventsAsync("TaintManagerEviction"), e => e.Message!.StartsWith("Marking", StringComparison.Ordinal));
        Assert.Equal(("Normal", "Marking for deletion Pod default/pod1", "taint-eviction-controller", "Pod", "pod1"),
            (marked.Type, marked.Message, marked.Source!.Component, marked.InvolvedObject!.Kind, marked.InvolvedObject.Name));
    }

    // The controllers' clock at a whole second, so times survive the API's second precision.
    private static async Task<DateTimeOffset> StartClockAsync(LifecycleCluster cluster)
    {
        var ns = await cluster.Client.GetAsync<Namespace>(null, "default");
        var now = ns.Metadata!.CreationTimestamp!.Value + TimeSpan.FromDays(1);
        cluster.Time.SetUtcNow(now);
        return now;
    }

    // upstream createNoExecuteTaint.
    private static Taint NoExecuteTaint(int index, DateTimeOffset now) =>
        new() { Key = $"testTaint{index}", Value = $"test{index}", Effect = "NoExecute", TimeAdded = now };

    // upstream addToleration.
    private static List<Toleration> Tolerations((int Index, long? Seconds)[] tolerations) =>
        [.. tolerations.Select(t => new Toleration { Key = $"testTaint{t.Index}", Value = $"test{t.Index}", Effect = "NoExecute", TolerationSeconds = t.Seconds })];
}
