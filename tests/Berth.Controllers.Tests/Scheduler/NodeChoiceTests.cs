using Berth.Api.Models;
using Berth.Controllers.Scheduler;
using static Berth.Controllers.Tests.Scheduler.SchedulerObjects;

namespace Berth.Controllers.Tests.Scheduler;

public sealed class NodeChoiceTests
{
    // pkg/scheduler/framework/plugins: nodeunschedulable TestNodeUnschedulable, tainttoleration TestTaintTolerationFilter,
    // nodeaffinity TestNodeAffinity (the nodeSelector and required-term cases), in filter order.
    public static TheoryData<string, Pod, Node, string?> FilterCases => new()
    {
        { "schedulable node", Pod(), Node("n"), null },
        { "unschedulable node", Pod(), Node("n", unschedulable: true), "node(s) were unschedulable" },
        {
            "unschedulable node, pod tolerates the unschedulable taint",
            Pod(tolerations: [Tol("node.kubernetes.io/unschedulable", "Exists", null, "NoSchedule")]), Node("n", unschedulable: true), null
        },
        {
            "a pod having no tolerations can't be scheduled onto a node with nonempty taints",
            Pod(), Node("n", taints: [Taint("dedicated", "user1", "NoSchedule")]), "node(s) had untolerated taint {dedicated: user1}"
        },
        {
            "a pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
            Pod(tolerations: [Tol("dedicated", "Equal", "user1", "NoSchedule")]), Node("n", taints: [Taint("dedicated", "user1", "NoSchedule")]), null
        },
        {
            "a pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
            Pod(tolerations: [Tol("dedicated", "Equal", "user2", "NoSchedule")]), Node("n", taints: [Taint("dedicated", "user1", "NoSchedule")]),
            "node(s) had untolerated taint {dedicated: user1}"
        },
        {
            "a toleration with operator Exists tolerates the taint",
            Pod(tolerations: [Tol("foo", "Exists", null, "NoSchedule")]), Node("n", taints: [Taint("foo", "bar", "NoSchedule")]), null
        },
        {
            "multiple tolerations, multiple taints, all tolerated",
            Pod(tolerations: [Tol("dedicated", "Equal", "user2", "NoSchedule"), Tol("foo", "Exists", null, "NoSchedule")]),
            Node("n", taints: [Taint("dedicated", "user2", "NoSchedule"), Taint("foo", "bar", "NoSchedule")]), null
        },
        {
            "key and value match but the (non-empty) effect doesn't",
            Pod(tolerations: [Tol("foo", "Equal", "bar", "PreferNoSchedule")]), Node("n", taints: [Taint("foo", "bar", "NoSchedule")]),
            "node(s) had untolerated taint {foo: bar}"
        },
        {
            "key and value match, toleration effect empty, taint NoSchedule",
            Pod(tolerations: [Tol("foo", "Equal", "bar", null)]), Node("n", taints: [Taint("foo", "bar", "NoSchedule")]), null
        },
        {
            "untolerated PreferNoSchedule taint does not filter",
            Pod(tolerations: [Tol("dedicated", "Equal", "user2", "NoSchedule")]), Node("n", taints: [Taint("dedicated", "user1", "PreferNoSchedule")]), null
        },
        {
            "the pod has no toleration, but the effect of taint on node is PreferNoSchedule",
            Pod(), Node("n", taints: [Taint("dedicated", "user1", "PreferNoSchedule")]), null
        },
        { "NoExecute taint filters", Pod(), Node("n", taints: [Taint("gpu", "", "NoExecute")]), "node(s) had untolerated taint {gpu: }" },
        { "Ready=False node carries the not-ready taint", Pod(), Node("n", ready: "False"), "node(s) had untolerated taint {node.kubernetes.io/not-ready: }" },
        { "node without a Ready condition carries the not-ready taint", Pod(), Node("n", ready: null), "node(s) had untolerated taint {node.kubernetes.io/not-ready: }" },
        { "Ready=Unknown node carries the unreachable taint", Pod(), Node("n", ready: "Unknown"), "node(s) had untolerated taint {node.kubernetes.io/unreachable: }" },
        {
            "a pod tolerating not-ready may go to a not-ready node",
            Pod(tolerations: [Tol("node.kubernetes.io/not-ready", "Exists", null, null)]), Node("n", ready: "False"), null
        },
        {
            "MemoryPressure=True carries the memory-pressure taint", Pod(), Node("n", conditions: [("MemoryPressure", "True")]),
            "node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }"
        },
        { "MemoryPressure=False carries no taint", Pod(), Node("n", conditions: [("MemoryPressure", "False")]), null },
        {
            "DiskPressure=True carries the disk-pressure taint", Pod(), Node("n", conditions: [("DiskPressure", "True")]),
            "node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }"
        },
        {
            "PIDPressure=True carries the pid-pressure taint", Pod(), Node("n", conditions: [("PIDPressure", "True")]),
            "node(s) had untolerated taint {node.kubernetes.io/pid-pressure: }"
        },
        {
            "NetworkUnavailable=True carries the network-unavailable taint", Pod(), Node("n", conditions: [("NetworkUnavailable", "True")]),
            "node(s) had untolerated taint {node.kubernetes.io/network-unavailable: }"
        },
        {
            "a spec taint comes before the derived condition taint", Pod(), Node("n", taints: [Taint("x", "y", "NoSchedule")], ready: "False"),
            "node(s) had untolerated taint {x: y}"
        },
        {
            "the lifecycle controller's own not-ready taint is not doubled",
            Pod(tolerations: [Tol("node.kubernetes.io/not-ready", "Exists", null, "NoSchedule")]),
            Node("n", taints: [Taint("node.kubernetes.io/not-ready", null, "NoSchedule")], ready: "False"), null
        },
        { "unschedulable is checked before taints", Pod(), Node("n", unschedulable: true, ready: "False"), "node(s) were unschedulable" },
        { "nodeSelector matches", Pod(selector: new() { ["disk"] = "ssd" }), Node("n", labels: new() { ["disk"] = "ssd", ["x"] = "y" }), null },
        { "nodeSelector value differs", Pod(selector: new() { ["disk"] = "ssd" }), Node("n", labels: new() { ["disk"] = "hdd" }), "node(s) didn't match Pod's node affinity/selector" },
        { "nodeSelector label missing", Pod(selector: new() { ["disk"] = "ssd" }), Node("n"), "node(s) didn't match Pod's node affinity/selector" },
        {
            "taints are checked before the selector",
            Pod(selector: new() { ["disk"] = "ssd" }), Node("n", taints: [Taint("a", "b", "NoSchedule")]), "node(s) had untolerated taint {a: b}"
        },
        { "required term In matches", Pod(terms: [Term(Req("zone", "In", "a", "b"))]), Node("n", labels: new() { ["zone"] = "b" }), null },
        { "required term NotIn, label absent", Pod(terms: [Term(Req("zone", "NotIn", "a"))]), Node("n"), null },
        { "required term NotIn, label matches", Pod(terms: [Term(Req("zone", "NotIn", "a"))]), Node("n", labels: new() { ["zone"] = "a" }), "node(s) didn't match Pod's node affinity/selector" },
        { "required term Exists", Pod(terms: [Term(Req("gpu", "Exists"))]), Node("n", labels: new() { ["gpu"] = "" }), null },
        { "required term DoesNotExist", Pod(terms: [Term(Req("gpu", "DoesNotExist"))]), Node("n", labels: new() { ["gpu"] = "" }), "node(s) didn't match Pod's node affinity/selector" },
        { "required term Gt", Pod(terms: [Term(Req("cores", "Gt", "4"))]), Node("n", labels: new() { ["cores"] = "8" }), null },
        { "required term Lt fails", Pod(terms: [Term(Req("cores", "Lt", "4"))]), Node("n", labels: new() { ["cores"] = "8" }), "node(s) didn't match Pod's node affinity/selector" },
        { "required term Gt with a non-number", Pod(terms: [Term(Req("cores", "Gt", "4"))]), Node("n", labels: new() { ["cores"] = "many" }), "node(s) didn't match Pod's node affinity/selector" },
        {
            "terms are ORed",
            Pod(terms: [Term(Req("zone", "In", "x")), Term(Req("zone", "In", "a"))]), Node("n", labels: new() { ["zone"] = "a" }), null
        },
        {
            "requirements in a term are ANDed",
            Pod(terms: [Term(Req("zone", "In", "a"), Req("disk", "In", "ssd"))]), Node("n", labels: new() { ["zone"] = "a" }),
            "node(s) didn't match Pod's node affinity/selector"
        },
        { "an empty term matches nothing", Pod(terms: [new NodeSelectorTerm()]), Node("n"), "node(s) didn't match Pod's node affinity/selector" },
        { "matchFields metadata.name In", Pod(terms: [new NodeSelectorTerm { MatchFields = [Req("metadata.name", "In", "n")] }]), Node("n"), null },
        {
            "matchFields metadata.name In another node",
            Pod(terms: [new NodeSelectorTerm { MatchFields = [Req("metadata.name", "In", "m")] }]), Node("n"), "node(s) didn't match Pod's node affinity/selector"
        },
    };

    [Theory]
    [MemberData(nameof(FilterCases))]
    public void Filter_Table(string name, Pod pod, Node node, string? expected)
    {
        Assert.True(expected == Reasons(pod, Info(node)), $"{name}: got {Reasons(pod, Info(node)) ?? "fits"}");
    }

    // nodeports node_ports_test.go TestNodePorts: the wanted pod's ports against a node holding one pod's ports.
    public static TheoryData<string, Pod, Pod, bool> NodePortsCases => new()
    {
        { "no host ports", Ports(), Ports(), true },
        { "other port", Ports("UDP/127.0.0.1/8080"), Ports("UDP/127.0.0.1/9090"), true },
        { "same udp port", Ports("UDP/127.0.0.1/8080"), Ports("UDP/127.0.0.1/8080"), false },
        { "same tcp port", Ports("TCP/127.0.0.1/8080"), Ports("TCP/127.0.0.1/8080"), false },
        { "different host ip", Ports("TCP/127.0.0.1/8080"), Ports("TCP/127.0.0.2/8080"), true },
        { "different protocol", Ports("UDP/127.0.0.1/8080"), Ports("TCP/127.0.0.1/8080"), true },
        { "second udp port conflict", Ports("UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"), Ports("UDP/127.0.0.1/8080"), false },
        { "first tcp port conflict", Ports("TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"), Ports("TCP/127.0.0.1/8001", "UDP/127.0.0.1/8081"), false },
        { "first tcp port conflict due to 0.0.0.0 hostIP", Ports("TCP/0.0.0.0/8001"), Ports("TCP/127.0.0.1/8001"), false },
        { "TCP hostPort conflict due to 0.0.0.0 hostIP", Ports("TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"), Ports("TCP/127.0.0.1/8001"), false },
        { "second tcp port conflict to 0.0.0.0 hostIP", Ports("TCP/127.0.0.1/8001"), Ports("TCP/0.0.0.0/8001"), false },
        { "second different protocol", Ports("UDP/127.0.0.1/8001"), Ports("TCP/0.0.0.0/8001"), true },
        { "UDP hostPort conflict due to 0.0.0.0 hostIP", Ports("UDP/127.0.0.1/8001"), Ports("TCP/0.0.0.0/8001", "UDP/0.0.0.0/8001"), false },
        { "an empty host IP and protocol mean 0.0.0.0 and TCP", Ports("//8001"), Ports("TCP/127.0.0.1/8001"), false },
        { "non-sidecar initContainer using hostPort", InitPorts(sidecar: false), Ports("TCP/0.0.0.0/8001"), true },
        { "TCP hostPort conflict from sidecar initContainer", InitPorts(sidecar: true), Ports("TCP/0.0.0.0/8001"), false },
    };

    [Theory]
    [MemberData(nameof(NodePortsCases))]
    public void NodePorts_Table(string name, Pod pod, Pod existing, bool fits)
    {
        var result = NodeChoice.Filter(pod, PodInfo.From(pod), Info(Node("n"), existing));

        Assert.True(fits == result is null, name);
        if (result is { } rejected)
        {
            Assert.Equal(["node(s) didn't have free ports for the requested pod ports"], rejected.Reasons);
            Assert.True(rejected.Resolvable, name);
        }
    }

    // noderesources fit_test.go TestEnoughRequests / TestNotEnoughRequests / TestStorageRequests. The node has
    // allocatable cpu 10m, memory 20, pods 32, example.com/aaa 5, ephemeral-storage 20, hugepages-2Mi 5 (makeAllocatableResources),
    // or pods 1 for the "Too many pods" cases; it already runs the one existing pod.
    public static TheoryData<string, Pod, Pod, long, string?> FitCases => new()
    {
        { "no resources requested always fits", Requests(), Requests(Res("10m", "20")), 32, null },
        { "too many resources fails", Requests(Res("1m", "1")), Requests(Res("10m", "20")), 32, "Insufficient cpu, Insufficient memory" },
        {
            "too many resources fails due to init container cpu",
            WithInit(Requests(Res("1m", "1")), false, Res("3m", "1")), Requests(Res("8m", "19")), 32, "Insufficient cpu"
        },
        {
            "too many resources fails due to highest init container cpu",
            WithInit(Requests(Res("1m", "1")), false, Res("3m", "1"), Res("2m", "1")), Requests(Res("8m", "19")), 32, "Insufficient cpu"
        },
        {
            "too many resources fails due to init container memory",
            WithInit(Requests(Res("1m", "1")), false, Res("1m", "3")), Requests(Res("9m", "19")), 32, "Insufficient memory"
        },
        {
            "too many resources fails due to highest init container memory",
            WithInit(Requests(Res("1m", "1")), false, Res("1m", "3"), Res("1m", "2")), Requests(Res("9m", "19")), 32, "Insufficient memory"
        },
        {
            "init container fits because it's the max, not sum, of containers and init containers",
            WithInit(Requests(Res("1m", "1")), false, Res("1m", "1")), Requests(Res("9m", "19")), 32, null
        },
        {
            "multiple init containers fit because it's the max, not sum, of containers and init containers",
            WithInit(Requests(Res("1m", "1")), false, Res("1m", "1"), Res("1m", "1")), Requests(Res("9m", "19")), 32, null
        },
        { "both resources fit", Requests(Res("1m", "1")), Requests(Res("5m", "5")), 32, null },
        { "one resource memory fits", Requests(Res("2m", "1")), Requests(Res("9m", "5")), 32, "Insufficient cpu" },
        { "one resource cpu fits", Requests(Res("1m", "2")), Requests(Res("5m", "19")), 32, "Insufficient memory" },
        { "equal edge case", Requests(Res("5m", "1")), Requests(Res("5m", "19")), 32, null },
        { "equal edge case for init container", WithInit(Requests(Res("4m", "1")), false, Res("5m", "1")), Requests(Res("5m", "19")), 32, null },
        { "extended resource fits", Requests(Res(null, null, ("example.com/aaa", "1"))), Requests(Res()), 32, null },
        {
            "extended resource capacity enforced",
            Requests(Res("1m", "1", ("example.com/aaa", "10"))), Requests(Res("0", "0", ("example.com/aaa", "0"))), 32, "Insufficient example.com/aaa"
        },
        {
            "extended resource allocatable enforced for multiple containers",
            Requests(Res("1m", "1", ("example.com/aaa", "3")), Res("1m", "1", ("example.com/aaa", "3"))),
            Requests(Res("0", "0", ("example.com/aaa", "2"))), 32, "Insufficient example.com/aaa"
        },
        {
            "extended resource allocatable admits multiple init containers",
            WithInit(Requests(), false, Res("1m", "1", ("example.com/aaa", "3")), Res("1m", "1", ("example.com/aaa", "3"))),
            Requests(Res("0", "0", ("example.com/aaa", "2"))), 32, null
        },
        {
            "extended resource allocatable enforced for unknown resource",
            Requests(Res("1m", "1", ("example.com/bbb", "1"))), Requests(Res("0", "0")), 32, "Insufficient example.com/bbb"
        },
        {
            "kubernetes.io resource capacity enforced",
            Requests(Res("1m", "1", ("kubernetes.io/something", "10"))), Requests(Res("0", "0")), 32, "Insufficient kubernetes.io/something"
        },
        {
            "hugepages resource capacity enforced",
            Requests(Res("1m", "1", ("hugepages-2Mi", "10"))), Requests(Res("0", "0", ("hugepages-2Mi", "0"))), 32, "Insufficient hugepages-2Mi"
        },
        { "resources + pod overhead fits", Overhead(Requests(Res("1m", "1")), Res("3m", "13")), Requests(Res("5m", "5")), 32, null },
        { "requests + overhead does not fit for memory", Overhead(Requests(Res("1m", "1")), Res("1m", "15")), Requests(Res("5m", "5")), 32, "Insufficient memory" },
        {
            "sidecar init containers add to the containers' requests",
            WithInit(Requests(Res("3m", "1")), true, Res("3m", "1")), Requests(Res("5m", "5")), 32, "Insufficient cpu"
        },
        { "storage ephemeral local storage request exceeds allocatable", Requests(Res(null, null, ("ephemeral-storage", "25"))), Requests(Res("2m", "2")), 32, "Insufficient ephemeral-storage" },
        { "storage ephemeral local storage request fits", Requests(Res(null, null, ("ephemeral-storage", "10"))), Requests(Res("2m", "2")), 32, null },
        { "even without specified resources predicate fails when there's no space for additional pod", Requests(), Requests(Res("10m", "20")), 1, "Too many pods" },
        { "even if both resources fit predicate fails when there's no space for additional pod", Requests(Res("1m", "1")), Requests(Res("5m", "5")), 1, "Too many pods" },
        { "even for equal edge case predicate fails when there's no space for additional pod", Requests(Res("5m", "1")), Requests(Res("5m", "19")), 1, "Too many pods" },
        { "too many pods and too little cpu are both reported", Requests(Res("6m")), Requests(Res("5m", "19")), 1, "Too many pods, Insufficient cpu" },
    };

    [Theory]
    [MemberData(nameof(FitCases))]
    public void NodeResourcesFit_Table(string name, Pod pod, Pod existing, long pods, string? expected)
    {
        var node = Node("n", allocatable: new()
        {
            ["cpu"] = "10m", ["memory"] = "20", ["pods"] = pods.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["example.com/aaa"] = "5", ["ephemeral-storage"] = "20", ["hugepages-2Mi"] = "5",
        });

        var result = NodeChoice.Filter(pod, PodInfo.From(pod), Info(node, existing));

        Assert.True(expected == (result is { } r ? string.Join(", ", r.Reasons) : null), $"{name}: got {(result is { } g ? string.Join(", ", g.Reasons) : "fits")}");
        Assert.True(result is null || result.Value.Resolvable, name);
    }

    // Each plugin's status code: UnschedulableAndUnresolvable filters cannot be helped by preemption.
    public static TheoryData<string, Pod, Node, bool> ResolvableCases => new()
    {
        { "NodeUnschedulable", Pod(), Node("n", unschedulable: true), false },
        { "TaintToleration", Pod(), Node("n", taints: [Taint("a", "b", "NoSchedule")]), false },
        { "NodeAffinity", Pod(selector: new() { ["a"] = "b" }), Node("n"), false },
        { "NodeResourcesFit", Requests(Res("5")), Node("n"), true },
    };

    [Theory]
    [MemberData(nameof(ResolvableCases))]
    public void Filter_StatusCode_Table(string name, Pod pod, Node node, bool resolvable)
    {
        var result = NodeChoice.Filter(pod, PodInfo.From(pod), Info(node));

        Assert.NotNull(result);
        Assert.True(resolvable == result.Value.Resolvable, name);
    }

    // FitError.Error with the default preemption PostFilter message (schedule_one_test.go and preemption_test.go shapes).
    public static TheoryData<string, Pod, (Node? Node, Pod[] Pods)[], string?, string?> ChooseCases => new()
    {
        { "no nodes", Pod(), [], null, "no nodes available to schedule pods" },
        { "a node known only from its pods is no candidate", Pod(), [(null, [])], null, "no nodes available to schedule pods" },
        { "one ready node", Pod(), [N(Node("a"))], "a", null },
        { "fewest pods wins", Pod(), [N(Node("a"), Pod("x"), Pod("y")), N(Node("b"), Pod("z")), N(Node("c"))], "c", null },
        { "ties go to the first name", Pod(), [N(Node("c"), Pod("x")), N(Node("b"), Pod("y")), N(Node("a"), Pod("z"))], "a", null },
        { "a busy node beats a filtered one", Pod(), [N(Node("a", ready: "False")), N(Node("b"), Pod("x"), Pod("y"))], "b", null },
        {
            "one unschedulable node", Pod(), [N(Node("a", unschedulable: true))], null,
            "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        },
        {
            "reasons are counted and sorted",
            Pod(selector: new() { ["disk"] = "ssd" }),
            [N(Node("a", taints: [Taint("dedicated", "gpu", "NoSchedule")])), N(Node("b")), N(Node("c", labels: new() { ["disk"] = "hdd" }))], null,
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. "
                + "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        },
        {
            "same count sorts by reason text",
            Pod(), [N(Node("a", ready: "False")), N(Node("b", unschedulable: true)), N(Node("c", taints: [Taint("x", "y", "NoExecute")]))], null,
            "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {x: y}, "
                + "1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        },
        {
            "an unreachable node and a full one: sorted byte-wise, and only the full one is a preemption candidate",
            Requests(Res("3")), [N(Node("a", ready: "Unknown")), N(Node("b"), Requests(Res("2")))], null,
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. "
                + "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
        },
        {
            "every node short of cpu and memory",
            Requests(Res("5", "9Gi")), [N(Node("a")), N(Node("b")), N(Node("c"))], null,
            "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory. "
                + "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
        },
        {
            "host port taken",
            Ports("TCP/0.0.0.0/80"), [N(Node("a"), Ports("TCP/0.0.0.0/80"))], null,
            "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. "
                + "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        },
        {
            "no room for another pod",
            Pod(), [N(Node("a", allocatable: new() { ["pods"] = "1" }), Pod("x"))], null,
            "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        },
        {
            "preemptionPolicy Never",
            PreemptNever(Requests(Res("5"))), [N(Node("a"))], null,
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
        },
        {
            "lower-priority pods whose eviction would still not make room: the node keeps its reason",
            Prioritized(Requests(Res("5")), 10), [N(Node("a"), Prioritized(Requests(Res("1")), 0))], null,
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu."
        },
    };

    [Theory]
    [MemberData(nameof(ChooseCases))]
    public void Choose_Table(string name, Pod pod, (Node? Node, Pod[] Pods)[] nodes, string? node, string? message)
    {
        var (chosen, why) = NodeChoice.Choose(pod, PodInfo.From(pod), Infos(nodes), spread: null);

        Assert.True(node == chosen, $"{name}: chose {chosen}");
        Assert.Equal(message, why);
    }

    private static Pod InitPorts(bool sidecar) => new()
    {
        Metadata = new ObjectMeta { Name = "init", Namespace = "default" },
        Spec = new PodSpec
        {
            InitContainers = [new Container { Name = "i", RestartPolicy = sidecar ? "Always" : null, Ports = [new ContainerPort { ContainerPortNumber = 8001, HostPort = 8001, Protocol = "TCP" }] }],
            Containers = [new Container { Name = "c" }],
        },
    };

    private static Pod Overhead(Pod pod, Dictionary<string, string> overhead)
    {
        pod.Spec!.Overhead = overhead;
        return pod;
    }

    private static Pod PreemptNever(Pod pod)
    {
        pod.Spec!.PreemptionPolicy = "Never";
        return pod;
    }

    private static Pod Prioritized(Pod pod, int priority)
    {
        pod.Spec!.Priority = priority;
        return pod;
    }
}
