using Berth.Api.Models;
using Berth.Controllers.NodeLifecycle;

namespace Berth.Controllers.Tests.NodeLifecycle;

/// <summary>
/// Ported from upstream pkg/controller/nodelifecycle/node_lifecycle_controller_test.go against the real API server:
/// TestMonitorNodeHealthUpdateStatus, TestMonitorNodeHealthUpdateNodeAndPodStatusWithLease, TestApplyNoExecuteTaints,
/// TestTaintsNodeByCondition, TestNodeEventGeneration and the zone states of TestMonitorNodeHealth. Node creation
/// times come from the server, so upstream's dates become offsets from the node's creationTimestamp.
/// </summary>
public sealed class NodeLifecycleControllerTests
{
    // Upstream's test grace periods.
    private static readonly NodeLifecycleOptions s_options = new()
    {
        NodeMonitorGracePeriod = TimeSpan.FromSeconds(50),
        NodeStartupGracePeriod = TimeSpan.FromSeconds(60),
    };

    // Upstream's node creation in 2012 and fakeNow in 2015.
    private static readonly TimeSpan s_longAgo = TimeSpan.FromDays(3 * 365);

    public enum Status
    {
        None,
        Ready,
        ReadyAndDiskPressure,
    }

    public enum After
    {
        // Nothing posted after timeToPass.
        Silent,

        // The same conditions posted again with a heartbeat timeToPass later.
        Heartbeat,
    }

    public enum Expect
    {
        // The controller wrote nothing.
        Unchanged,

        // Ready, MemoryPressure, DiskPressure, PIDPressure: Unknown/NodeStatusNeverUpdated.
        NeverPosted,

        // Ready: Unknown/NodeStatusUnknown; the others Unknown/NodeStatusNeverUpdated.
        StoppedPosting,
    }

    public sealed record HealthCase(bool CreatedLongAgo, Status Initial, bool LeaseAtStart, TimeSpan TimeToPass, After After,
        bool LeaseRenewed, Expect Expected, bool PodMarkedNotReady);

    private static readonly TimeSpan s_hour = TimeSpan.FromHours(1);

    private static readonly Dictionary<string, HealthCase> s_healthCases = new()
    {
        // TestMonitorNodeHealthUpdateStatus
        ["Node created long time ago, without status: Unknown status posted"] =
            new(true, Status.None, false, TimeSpan.Zero, After.Silent, false, Expect.NeverPosted, false),
        ["Node created recently, without status: no action (startup grace period)"] =
            new(false, Status.None, false, TimeSpan.Zero, After.Silent, false, Expect.Unchanged, false),
        ["Node created long time ago, status updated by kubelet exceeds grace period: Unknown status posted"] =
            new(true, Status.Ready, false, s_hour, After.Silent, false, Expect.StoppedPosting, true),
        ["Node created long time ago, status updated recently: no action"] =
            new(true, Status.Ready, false, TimeSpan.Zero, After.Silent, false, Expect.Unchanged, false),
        // TestMonitorNodeHealthUpdateNodeAndPodStatusWithLease
        ["Node created recently, without status. Node lease is missing."] =
            new(false, Status.None, false, TimeSpan.Zero, After.Silent, false, Expect.Unchanged, false),
        ["Node created recently, without status. Node lease is renewed recently."] =
            new(false, Status.None, true, TimeSpan.Zero, After.Silent, false, Expect.Unchanged, false),
        ["Node created long time ago, without status. Node lease is missing."] =
            new(true, Status.None, false, TimeSpan.Zero, After.Silent, false, Expect.NeverPosted, false),
        ["Node created long time ago, without status. Node lease is renewed recently."] =
            new(true, Status.None, true, s_hour, After.Silent, true, Expect.Unchanged, false),
        ["Node created long time ago, without status. Node lease is expired."] =
            new(true, Status.None, true, s_hour, After.Silent, false, Expect.NeverPosted, false),
        ["Node created long time ago, with status updated by kubelet exceeds grace period. Node lease is renewed."] =
            new(true, Status.ReadyAndDiskPressure, true, s_hour, After.Silent, true, Expect.Unchanged, false),
        ["Node created long time ago, with status updated by kubelet recently. Node lease is expired."] =
            new(true, Status.ReadyAndDiskPressure, true, s_hour, After.Heartbeat, false, Expect.Unchanged, false),
        ["Node created long time ago, with status updated by kubelet exceeds grace period. Node lease is also expired."] =
            new(true, Status.Ready, true, s_hour, After.Silent, false, Expect.StoppedPosting, true),
    };

    public static TheoryData<string> HealthCases => [.. s_healthCases.Keys];

    [Theory]
    [MemberData(nameof(HealthCases))]
    public async Task MonitorNodeHealth_UpstreamStatusAndLeaseCases(string description)
    {
        var c = s_healthCases[description];
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var node = await cluster.CreateNodeAsync("node0");
        var created = node.Metadata!.CreationTimestamp!.Value;
        var fakeNow = created + (c.CreatedLongAgo ? s_longAgo : TimeSpan.Zero);
        cluster.Time.SetUtcNow(fakeNow);
        if (c.Initial != Status.None)
        {
            node = await cluster.SetNodeConditionsAsync("node0", Conditions(c.Initial, fakeNow, fakeNow));
        }
        if (c.LeaseAtStart)
        {
            await cluster.SetLeaseAsync("node0", fakeNow);
        }
        await cluster.CreatePodAsync("pod0", "node0");

        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        if (c.TimeToPass > TimeSpan.Zero)
        {
            cluster.Time.Advance(c.TimeToPass);
            if (c.After == After.Heartbeat)
            {
                node = await cluster.SetNodeConditionsAsync("node0", Conditions(c.Initial, fakeNow + c.TimeToPass, fakeNow));
            }
            if (c.LeaseRenewed)
            {
                await cluster.SetLeaseAsync("node0", fakeNow + c.TimeToPass);
            }
            await cluster.SyncNodesAsync();
            await controller.MonitorNodeHealthAsync(CancellationToken.None);
        }

        var after = await cluster.Client.GetAsync<Node>(null, "node0");
        var at = fakeNow + c.TimeToPass;
        switch (c.Expected)
        {
            case Expect.Unchanged:
                Assert.Equal(node.Metadata!.ResourceVersion, after.Metadata!.ResourceVersion);
                break;
            case Expect.NeverPosted:
                AssertConditions(
                [
                    ("Ready", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", created, at),
                    ("MemoryPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", created, at),
                    ("DiskPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", created, at),
                    ("PIDPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", created, at),
                ], after);
                break;
            case Expect.StoppedPosting:
                AssertConditions(
                [
                    ("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", fakeNow, at),
                    // Never posted by the kubelet: dated at the node's creation.
                    ("MemoryPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", created, at),
                    ("DiskPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", created, at),
                    ("PIDPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", created, at),
                ], after);
                break;
        }
        var pod = await cluster.Client.GetAsync<Pod>("default", "pod0");
        Assert.Equal(c.PodMarkedNotReady ? "False" : "True", Assert.Single(pod.Status!.Conditions!, p => p.Type == "Ready").Status);
    }

    [Fact]
    public async Task MonitorNodeHealth_NodeStopsPosting_RecordsNodeNotReadyAndMarksPodsNotReady()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var node = await cluster.CreateNodeAsync("node0");
        var fakeNow = node.Metadata!.CreationTimestamp!.Value + s_longAgo;
        cluster.Time.SetUtcNow(fakeNow);
        await cluster.SetNodeConditionsAsync("node0", Conditions(Status.Ready, fakeNow, fakeNow));
        var pod = await cluster.CreatePodAsync("pod0", "node0");
        await controller.MonitorNodeHealthAsync(CancellationToken.None);

        cluster.Time.Advance(TimeSpan.FromMinutes(1));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await controller.FlushEventsAsync();

        var registered = Assert.Single(await cluster.EventsAsync("RegisteredNode"));
        Assert.Equal(("Normal", "Node node0 event: Registered Node node0 in Controller", "Node", node.Metadata.Uid, "node-controller"),
            (registered.Type, registered.Message, registered.InvolvedObject!.Kind, registered.InvolvedObject.Uid, registered.Source!.Component));
        var events = await cluster.EventsAsync("NodeNotReady");
        var nodeEvent = Assert.Single(events, e => e.InvolvedObject!.Kind == "Node");
        Assert.Equal(("Normal", "Node node0 status is now: NodeNotReady", node.Metadata.Uid), (nodeEvent.Type, nodeEvent.Message, nodeEvent.InvolvedObject!.Uid));
        var podEvent = Assert.Single(events, e => e.InvolvedObject!.Kind == "Pod");
        Assert.Equal(("Warning", "Node is not ready", pod.Metadata!.Uid), (podEvent.Type, podEvent.Message, podEvent.InvolvedObject!.Uid));
        var ready = Assert.Single((await cluster.Client.GetAsync<Pod>("default", "pod0")).Status!.Conditions!, p => p.Type == "Ready");
        Assert.Equal(("False", fakeNow + TimeSpan.FromMinutes(1)), (ready.Status, ready.LastTransitionTime));
    }

    [Fact]
    public async Task PodBoundToNotReadyNode_IsMarkedNotReadyByThePodWorker()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var node = await cluster.CreateNodeAsync("node0");
        var fakeNow = node.Metadata!.CreationTimestamp!.Value + s_longAgo;
        cluster.Time.SetUtcNow(fakeNow);
        await cluster.SetNodeConditionsAsync("node0", new NodeCondition { Type = "Ready", Status = "False", LastHeartbeatTime = fakeNow, LastTransitionTime = fakeNow });
        await controller.MonitorNodeHealthAsync(CancellationToken.None);

        await cluster.CreatePodAsync("late", "node0");
        await controller.SyncPodAsync("default/late", CancellationToken.None);

        var ready = Assert.Single((await cluster.Client.GetAsync<Pod>("default", "late")).Status!.Conditions!, p => p.Type == "Ready");
        Assert.Equal("False", ready.Status);
    }

    /// <summary>TestApplyNoExecuteTaints.</summary>
    [Fact]
    public async Task NoExecuteTaints_FollowReadyCondition()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var created = (await cluster.CreateNodeAsync("node0")).Metadata!.CreationTimestamp!.Value;
        await cluster.CreateNodeAsync("node1");
        await cluster.CreateNodeAsync("node2");
        await cluster.CreateNodeAsync("node3");
        // Upstream: nodes created 2012, conditions from 2015 and 2016, fakeNow 2017.
        var fakeNow = created + TimeSpan.FromDays(5 * 365);
        var old = created + TimeSpan.FromDays(3 * 365);
        cluster.Time.SetUtcNow(fakeNow);
        // Unreachable NoExecute should be applied to node0, not-ready NoExecute to node2; node1 stays healthy so the
        // zone is not fully disrupted.
        await cluster.SetNodeConditionsAsync("node0", Ready("Unknown", old, old));
        await cluster.SetNodeConditionsAsync("node1", Ready("True", fakeNow, fakeNow));
        await cluster.SetNodeConditionsAsync("node2", Ready("False", old, old));
        await cluster.SetNodeConditionsAsync("node3", Ready("True", created + TimeSpan.FromDays(4 * 365), created + TimeSpan.FromDays(4 * 365)));
        await cluster.CreatePodAsync("pod0", "node0");

        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await controller.DoNoExecuteTaintingPassAsync(CancellationToken.None);

        Assert.Equal([(Taints.NodeUnreachable, "NoExecute", fakeNow)], await TaintsOf(cluster, "node0"));
        Assert.Empty(await TaintsOf(cluster, "node1"));
        Assert.Equal([(Taints.NodeNotReady, "NoExecute", fakeNow)], await TaintsOf(cluster, "node2"));

        // node2 healthy again: its taint goes.
        await cluster.SyncNodesAsync();
        await cluster.SetNodeConditionsAsync("node2", Ready("True", fakeNow + TimeSpan.FromMinutes(10), fakeNow));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await controller.DoNoExecuteTaintingPassAsync(CancellationToken.None);
        Assert.Empty(await TaintsOf(cluster, "node2"));

        // node3 goes NotReady, but its Ready condition is gone by the time the tainting pass runs: no taint.
        await cluster.SetNodeConditionsAsync("node3", Ready("False", fakeNow + TimeSpan.FromMinutes(10), fakeNow));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await cluster.SetNodeConditionsAsync("node3", new NodeCondition
        {
            Type = "MemoryPressure",
            Status = "Unknown",
            LastHeartbeatTime = fakeNow + TimeSpan.FromMinutes(10),
            LastTransitionTime = fakeNow,
        });
        await controller.DoNoExecuteTaintingPassAsync(CancellationToken.None);
        Assert.Empty(await TaintsOf(cluster, "node3"));
    }

    [Fact]
    public async Task NodeStopsHeartbeating_AnotherNodeReady_TaintedUnreachableOnTheNextPass_AndUntaintedWhenBack()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var created = (await cluster.CreateNodeAsync("node0")).Metadata!.CreationTimestamp!.Value;
        await cluster.CreateNodeAsync("node1");
        var time1 = created + s_longAgo;
        cluster.Time.SetUtcNow(time1);
        await cluster.SetNodeConditionsAsync("node0", Ready("True", time1, time1));
        await cluster.SetNodeConditionsAsync("node1", Ready("True", time1, time1));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await controller.DoNoExecuteTaintingPassAsync(CancellationToken.None);
        Assert.Empty(await TaintsOf(cluster, "node0"));

        // Only node1 keeps posting; node0 is marked Unknown past the grace period, and tainted once the next
        // monitor pass observes Unknown (v1.32 decides on the condition as observed before the pass).
        var time2 = time1 + s_options.NodeMonitorGracePeriod + TimeSpan.FromSeconds(1);
        cluster.Time.SetUtcNow(time2);
        await cluster.SetNodeConditionsAsync("node1", Ready("True", time2, time1));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await cluster.SyncNodesAsync();
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await controller.DoNoExecuteTaintingPassAsync(CancellationToken.None);
        Assert.Equal([(Taints.NodeUnreachable, "NoExecute", time2)], await TaintsOf(cluster, "node0"));
        Assert.Empty(await TaintsOf(cluster, "node1"));

        // node0 posts Ready again: the taint goes.
        await cluster.SetNodeConditionsAsync("node0", Ready("True", time2, time2));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await controller.DoNoExecuteTaintingPassAsync(CancellationToken.None);
        Assert.Empty(await TaintsOf(cluster, "node0"));
    }

    [Fact]
    public async Task OnlyNodeStopsHeartbeating_FullDisruption_NoNoExecuteTaint()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var created = (await cluster.CreateNodeAsync("node0")).Metadata!.CreationTimestamp!.Value;
        var time1 = created + s_longAgo;
        cluster.Time.SetUtcNow(time1);
        await cluster.SetNodeConditionsAsync("node0", Ready("True", time1, time1));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);

        cluster.Time.Advance(TimeSpan.FromMinutes(5));
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await cluster.SyncNodesAsync();
        await controller.MonitorNodeHealthAsync(CancellationToken.None);
        await controller.DoNoExecuteTaintingPassAsync(CancellationToken.None);

        Assert.Equal("Unknown", (await cluster.Client.GetAsync<Node>(null, "node0")).Status!.Conditions!.Single(c => c.Type == "Ready").Status);
        Assert.Empty(await TaintsOf(cluster, "node0"));
        Assert.Contains("node-lifecycle-controller: Controller detected that all Nodes are not-Ready. Entering master disruption mode", cluster.Logs);
    }

    /// <summary>TestTaintsNodeByCondition, run in order on one node so stale condition taints must go too.</summary>
    [Fact]
    public async Task NoScheduleTaints_FollowConditions()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var created = (await cluster.CreateNodeAsync("node0")).Metadata!.CreationTimestamp!.Value;
        var t = created + s_longAgo;
        cluster.Time.SetUtcNow(t + TimeSpan.FromDays(365));
        var table = new (string Name, NodeCondition[] Conditions, string[] ExpectedTaints)[]
        {
            ("NetworkUnavailable is true", [Ready("True", t, t), Condition("NetworkUnavailable", "True", t)], [Taints.NodeNetworkUnavailable]),
            ("NetworkUnavailable is true", [Ready("True", t, t), Condition("NetworkUnavailable", "True", t)], [Taints.NodeNetworkUnavailable]),
            ("Ready is false", [Ready("False", t, t)], [Taints.NodeNotReady]),
            ("Ready is unknown", [Ready("Unknown", t, t)], [Taints.NodeUnreachable]),
            ("MemoryPressure, DiskPressure and PIDPressure are true",
                [Ready("True", t, t), Condition("MemoryPressure", "True", t), Condition("DiskPressure", "True", t), Condition("PIDPressure", "True", t)],
                [Taints.NodeMemoryPressure, Taints.NodeDiskPressure, Taints.NodePIDPressure]),
        };

        foreach (var (name, conditions, expected) in table)
        {
            await cluster.SetNodeConditionsAsync("node0", conditions);
            await controller.DoNoScheduleTaintingPassAsync("node0", CancellationToken.None);

            var taints = (await cluster.Client.GetAsync<Node>(null, "node0")).Spec!.Taints ?? [];
            Assert.True(taints.All(x => x.Effect == "NoSchedule"), name);
            Assert.Equal(expected.Order(StringComparer.Ordinal), taints.Select(x => x.Key!).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task NoScheduleTaints_UnschedulableNode_GetsUnschedulableTaint()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var controller = new NodeLifecycleController(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        await cluster.CreateNodeAsync("node0");
        var node = await cluster.Client.GetAsync<Node>(null, "node0");
        node.Spec!.Unschedulable = true;
        await cluster.SyncedAsync(await cluster.Client.UpdateAsync(node));

        await controller.DoNoScheduleTaintingPassAsync("node0", CancellationToken.None);

        var taint = Assert.Single((await cluster.Client.GetAsync<Node>(null, "node0")).Spec!.Taints!);
        Assert.Equal((Taints.NodeUnschedulable, "NoSchedule"), (taint.Key, taint.Effect));
    }

    public static TheoryData<string[], int, string> ZoneCases => new()
    {
        { ["True"], 0, "Normal" },
        { ["Unknown"], 1, "FullDisruption" },
        // A node without a Ready condition counts as not Ready.
        { [""], 1, "FullDisruption" },
        { ["Unknown", "Unknown", "Unknown", "True"], 3, "PartialDisruption" },
        // Upstream: one node failed, leading to the number of unhealthy nodes to exceed the threshold.
        { ["Unknown", "Unknown", "Unknown", "True", "True"], 3, "PartialDisruption" },
        { ["Unknown", "Unknown", "True", "True"], 2, "Normal" },
        { ["Unknown", "Unknown", "Unknown", "True", "True", "True"], 3, "Normal" },
        { ["False", "Unknown"], 2, "FullDisruption" },
    };

    [Theory]
    [MemberData(nameof(ZoneCases))]
    public void ComputeZoneState_UpstreamThresholds(string[] readyStatuses, int notReady, string state)
    {
        var conditions = readyStatuses.Select(s => s.Length == 0 ? null : new NodeCondition { Type = "Ready", Status = s }).ToList();

        var (actualNotReady, actualState) = NodeLifecycleController.ComputeZoneState(conditions);

        Assert.Equal((notReady, state), (actualNotReady, actualState.ToString()));
    }

    private static NodeCondition[] Conditions(Status status, DateTimeOffset heartbeat, DateTimeOffset transition) => status switch
    {
        Status.Ready => [Ready("True", heartbeat, transition)],
        Status.ReadyAndDiskPressure => [Ready("True", heartbeat, transition), Condition("DiskPressure", "False", heartbeat, transition)],
        _ => [],
    };

    private static NodeCondition Ready(string status, DateTimeOffset heartbeat, DateTimeOffset transition) =>
        Condition("Ready", status, heartbeat, transition);

    private static NodeCondition Condition(string type, string status, DateTimeOffset heartbeat, DateTimeOffset? transition = null) =>
        new() { Type = type, Status = status, LastHeartbeatTime = heartbeat, LastTransitionTime = transition ?? heartbeat };

    private static void AssertConditions(
        List<(string Type, string Status, string Reason, string Message, DateTimeOffset Heartbeat, DateTimeOffset Transition)> expected, Node node) =>
        Assert.Equal(expected, node.Status!.Conditions!.Select(c => (c.Type!, c.Status!, c.Reason!, c.Message!, c.LastHeartbeatTime!.Value, c.LastTransitionTime!.Value)));

    private static async Task<List<(string, string, DateTimeOffset)>> TaintsOf(LifecycleCluster cluster, string node) =>
        [.. ((await cluster.Client.GetAsync<Node>(null, node)).Spec!.Taints ?? []).Select(t => (t.Key!, t.Effect!, t.TimeAdded!.Value))];
}
