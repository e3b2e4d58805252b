using Berth.Api.Models;
using Berth.Controllers.Scheduler;
using static Berth.Controllers.Tests.Scheduler.SchedulerObjects;

namespace Berth.Controllers.Tests.Scheduler;

public sealed class NodeChoiceScoreTests
{
    private static readonly Dictionary<string, string> s_cpuAndMemory1 = Res("1000", "2000");
    private static readonly Dictionary<string, string> s_cpuAndMemory2 = Res("2000", "3000");

    // noderesources least_allocated_test.go TestLeastAllocatedScoringStrategy (default cpu/memory weights), one row per node.
    public static TheoryData<string, Pod, (Node? Node, Pod[] Pods), long> LeastAllocatedCases => new()
    {
        { "nothing scheduled, nothing requested: node1", Requests(), N(Capacity("node1", "4000", "10000")), 100 },
        { "nothing scheduled, resources requested, differently sized nodes: node1", Requests(s_cpuAndMemory1, s_cpuAndMemory2), N(Capacity("node1", "4000", "10000")), 37 },
        { "nothing scheduled, resources requested, differently sized nodes: node2", Requests(s_cpuAndMemory1, s_cpuAndMemory2), N(Capacity("node2", "6000", "10000")), 50 },
        { "no resources requested, pods scheduled: node1", Requests(), N(Capacity("node1", "4000", "10000"), Requests(), Requests()), 100 },
        {
            "no resources requested, pods scheduled with resources: node1",
            Requests(), N(Capacity("node1", "10000", "20000"), Requests(Res("3000", "0")), Requests(Res("3000", "0"))), 70
        },
        {
            "no resources requested, pods scheduled with resources: node2",
            Requests(), N(Capacity("node2", "10000", "20000"), Requests(Res("3000", "0")), Requests(Res("3000", "5000"))), 57
        },
        {
            "resources requested, pods scheduled with resources: node1",
            Requests(s_cpuAndMemory1, s_cpuAndMemory2), N(Capacity("node1", "10000", "20000"), Requests(Res("3000", "0"))), 57
        },
        {
            "resources requested, pods scheduled with resources: node2",
            Requests(s_cpuAndMemory1, s_cpuAndMemory2), N(Capacity("node2", "10000", "20000"), Requests(Res("3000", "5000"))), 45
        },
        {
            "resources requested, pods scheduled with resources, differently sized nodes: node2",
            Requests(s_cpuAndMemory1, s_cpuAndMemory2), N(Capacity("node2", "10000", "50000"), Requests(Res("3000", "5000"))), 60
        },
        { "requested resources exceed node capacity: node1", Requests(Res("3000", "0")), N(Capacity("node1", "4000", "10000"), Requests(Res("3000", "0"))), 50 },
        { "requested resources exceed node capacity: node2", Requests(Res("3000", "0")), N(Capacity("node2", "4000", "10000"), Requests(Res("3000", "5000"))), 25 },
        { "zero node resources, pods scheduled with resources", Requests(), N(Capacity("node1", null, null), Requests(Res("3000", "0"))), 0 },
        { "a container without requests counts 100m cpu and 200Mi memory", Requests(Res()), N(Capacity("node1", "1", "400Mi")), (90 + 50) / 2 },
    };

    [Theory]
    [MemberData(nameof(LeastAllocatedCases))]
    public void LeastAllocated_Table(string name, Pod pod, (Node? Node, Pod[] Pods) on, long expected)
    {
        var node = SchedulerObjects.Info(on.Node!, on.Pods);
        Assert.True(expected == NodeChoice.LeastAllocated(PodInfo.From(pod), node), $"{name}: got {NodeChoice.LeastAllocated(PodInfo.From(pod), node)}");
    }

    // noderesources balanced_allocation_test.go TestNodeResourcesBalancedAllocation (cpu and memory), one row per node.
    public static TheoryData<string, Pod, (Node? Node, Pod[] Pods), long> BalancedAllocationCases => new()
    {
        { "nothing scheduled, resources requested, differently sized nodes: node1", CpuAndMemory(), N(Capacity("node1", "4000m", "10000")), 87 },
        { "nothing scheduled, resources requested, differently sized nodes: node2", CpuAndMemory(), N(Capacity("node2", "6000m", "10000")), 100 },
        { "resources requested, pods scheduled with resources: node1", CpuAndMemory(), N(Capacity("node1", "10000m", "20000"), CpuOnly()), 82 },
        { "resources requested, pods scheduled with resources: node2", CpuAndMemory(), N(Capacity("node2", "10000m", "20000"), CpuAndMemory()), 95 },
        { "resources requested, pods scheduled with resources, differently sized nodes: node2", CpuAndMemory(), N(Capacity("node2", "10000m", "50000"), CpuAndMemory()), 80 },
        { "requested resources at node capacity: node1", CpuOnly(), N(Capacity("node1", "6000m", "10000"), CpuOnly()), 50 },
        { "requested resources at node capacity: node2", CpuOnly(), N(Capacity("node2", "6000m", "10000"), CpuAndMemory()), 75 },
    };

    [Theory]
    [MemberData(nameof(BalancedAllocationCases))]
    public void BalancedAllocation_Table(string name, Pod pod, (Node? Node, Pod[] Pods) on, long expected)
    {
        var node = SchedulerObjects.Info(on.Node!, on.Pods);
        Assert.True(expected == NodeChoice.BalancedAllocation(PodInfo.From(pod), node), $"{name}: got {NodeChoice.BalancedAllocation(PodInfo.From(pod), node)}");
    }

    // Which feasible node wins: the keys in order (PreferNoSchedule taints, preferred affinity, same-owner pods,
    // resource score, pods, name).
    public static TheoryData<string, Pod, (Node? Node, Pod[] Pods)[], string> RankingCases => new()
    {
        {
            "the node with fewest pods of the same ReplicaSet wins",
            Owned("new", "rs-1"), [N(Node("a"), Owned("a1", "rs-1")), N(Node("b"), Owned("b1", "rs-1")), N(Node("c"))], "c"
        },
        {
            "other owners' pods do not count as replicas",
            Owned("new", "rs-1"), [N(Node("a"), Owned("a1", "rs-2"), Owned("a2", "rs-2")), N(Node("b"), Owned("b1", "rs-1"))], "a"
        },
        {
            "terminating replicas do not count",
            Owned("new", "rs-1"), [N(Node("a"), Terminating(Owned("a1", "rs-1"))), N(Node("b"), Owned("b1", "rs-1"))], "a"
        },
        {
            "pods selected by the same Service count as the same workload",
            Pod("new", labels: new() { ["app"] = "web" }), [N(Node("a"), Pod("a1", labels: new() { ["app"] = "web", ["x"] = "y" })), N(Node("b"), Pod("b1"), Pod("b2"))], "b"
        },
        {
            "with equal spreading the least requested node wins",
            Owned("new", "rs-1"), [N(Node("a"), Requests(Res("2", "4Gi"))), N(Node("b"), Requests(Res("1", "2Gi")))], "b"
        },
        {
            "an untolerated PreferNoSchedule taint is avoided even by the emptier node",
            Pod(), [N(Node("a", taints: [Taint("k", "v", "PreferNoSchedule")])), N(Node("b"), Pod("b1"), Pod("b2"))], "b"
        },
        {
            "a tolerated PreferNoSchedule taint is not",
            Pod(tolerations: [Tol("k", "Exists", null, "PreferNoSchedule")]), [N(Node("a", taints: [Taint("k", "v", "PreferNoSchedule")])), N(Node("b"), Pod("b1"))], "a"
        },
        {
            "a NoSchedule toleration does not tolerate PreferNoSchedule",
            Pod(tolerations: [Tol("k", "Exists", null, "NoSchedule")]), [N(Node("a", taints: [Taint("k", "v", "PreferNoSchedule")])), N(Node("b"), Pod("b1"))], "b"
        },
        { "the heavier preferred node affinity wins", Preferring(Pod(), ("zone", "x", 10), ("disk", "ssd", 30)), [N(Node("a", labels: new() { ["zone"] = "x" })), N(Node("b", labels: new() { ["disk"] = "ssd" }))], "b" },
    };

    [Theory]
    [MemberData(nameof(RankingCases))]
    public void Choose_Ranking_Table(string name, Pod pod, (Node? Node, Pod[] Pods)[] nodes, string expected)
    {
        var spread = SpreadSelector.For(pod, [Service("web", new() { ["app"] = "web" }), Service("headless", null)]);

        var (chosen, _) = NodeChoice.Choose(pod, PodInfo.From(pod), Infos(nodes), spread);

        Assert.True(expected == chosen, $"{name}: chose {chosen}");
    }

    // helper.DefaultSelector: Services selecting the pod (a Service without a selector selects nothing) and its
    // ReplicaSet / ReplicationController / StatefulSet controller.
    public static TheoryData<string, Pod, Service[], string?> SelectorCases => new()
    {
        { "a bare pod nothing selects", Pod(labels: new() { ["app"] = "web" }), [], null },
        { "a Service without a selector selects nothing", Pod(labels: new() { ["app"] = "web" }), [Service("s", null)], null },
        { "a Service whose selector does not match", Pod(labels: new() { ["app"] = "web" }), [Service("s", new() { ["app"] = "db" })], null },
        { "a Service selecting the pod", Pod(labels: new() { ["app"] = "web" }), [Service("s", new() { ["app"] = "web" })], "default, -, app=web" },
        {
            "two Services' selectors are merged",
            Pod(labels: new() { ["app"] = "web", ["tier"] = "front" }), [Service("s", new() { ["app"] = "web" }), Service("t", new() { ["tier"] = "front" })],
            "default, -, app=web,tier=front"
        },
        { "a ReplicaSet-controlled pod", Owned("p", "rs-1"), [], "default, rs-1, -" },
        { "a ReplicaSet-controlled pod behind a Service", Owned("p", "rs-1", new() { ["app"] = "web" }), [Service("s", new() { ["app"] = "web" })], "default, rs-1, app=web" },
        { "a StatefulSet-controlled pod", Owned("p", "ss-1", kind: "StatefulSet"), [], "default, ss-1, -" },
        { "a ReplicationController-controlled pod", Owned("p", "rc-1", kind: "ReplicationController", apiVersion: "v1"), [], "default, rc-1, -" },
        { "a Job's pod is not spread by its owner", Owned("p", "job-1", kind: "Job", apiVersion: "batch/v1"), [], null },
    };

    [Theory]
    [MemberData(nameof(SelectorCases))]
    public void SpreadSelector_For_Table(string name, Pod pod, Service[] services, string? expected)
    {
        var selector = SpreadSelector.For(pod, services);

        var text = selector is null ? null
            : $"{selector.Namespace}, {selector.ControllerUid ?? "-"}, {(selector.Labels is null ? "-" : string.Join(",", selector.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")))}";
        Assert.True(expected == text, $"{name}: got {text}");
    }

    private static Node Capacity(string name, string? cpu, string? memory)
    {
        var allocatable = new Dictionary<string, string>();
        if (cpu is not null)
        {
            allocatable["cpu"] = cpu;
        }
        if (memory is not null)
        {
            allocatable["memory"] = memory;
        }
        return Node(name, allocatable: allocatable);
    }

    private static Pod CpuAndMemory() => Requests(Res("1000m", "2000"), Res("2000m", "3000"));

    private static Pod CpuOnly() => Requests(Res("1000m", "0"), Res("2000m", "0"));

    private static Pod Owned(string name, string uid, Dictionary<string, string>? labels = null, string kind = "ReplicaSet", string apiVersion = "apps/v1")
    {
        var pod = Pod(name, labels: labels);
        pod.Metadata!.OwnerReferences = [new OwnerReference { ApiVersion = apiVersion, Kind = kind, Name = uid, Uid = uid, Controller = true }];
        return pod;
    }

    private static Pod Terminating(Pod pod)
    {
        pod.Metadata!.DeletionTimestamp = DateTimeOffset.UnixEpoch;
        return pod;
    }

    private static Pod Preferring(Pod pod, params (string Key, string Value, int Weight)[] preferences)
    {
        pod.Spec!.Affinity = new Affinity
        {
            NodeAffinity = new NodeAffinity
            {
                PreferredDuringSchedulingIgnoredDuringExecution =
                    [.. preferences.Select(p => new PreferredSchedulingTerm { Weight = p.Weight, Preference = Term(Req(p.Key, "In", p.Value)) })],
            },
        };
        return pod;
    }

    private static Service Service(string name, Dictionary<string, string>? selector) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default" },
        Spec = new ServiceSpec { Selector = selector },
    };
}
