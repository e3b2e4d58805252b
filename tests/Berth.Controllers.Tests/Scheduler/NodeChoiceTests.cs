using Berth.Api.Models;
using Berth.Controllers.Scheduler;

namespace Berth.Controllers.Tests.Scheduler;

public sealed class NodeChoiceTests
{
    // k8s.io/api/core/v1 toleration_test.go TestTolerationToleratesTaint.
    public static TheoryData<string, Toleration, Taint, bool> TolerationCases => new()
    {
        { "same key and effect, Exists, taint without value", Tol("foo", "Exists", null, "NoSchedule"), Taint("foo", null, "NoSchedule"), true },
        { "same key and effect, Exists, taint with value", Tol("foo", "Exists", null, "NoSchedule"), Taint("foo", "bar", "NoSchedule"), true },
        { "same effect, different key, Exists", Tol("foo", "Exists", null, "NoSchedule"), Taint("bar", "baz", "NoSchedule"), false },
        { "same key, effect and value, Equal", Tol("foo", "Equal", "bar", "NoSchedule"), Taint("foo", "bar", "NoSchedule"), true },
        { "same key and effect, different value, Equal", Tol("foo", "Equal", "bar", "NoSchedule"), Taint("foo", "baz", "NoSchedule"), false },
        { "same key and value, different effect", Tol("foo", "Equal", "bar", "NoSchedule"), Taint("foo", "bar", "NoExecute"), false },
        { "empty operator means Equal", Tol("foo", null, "bar", "NoSchedule"), Taint("foo", "bar", "NoSchedule"), true },
        { "empty key with Exists tolerates every key", Tol(null, "Exists", null, "NoSchedule"), Taint("any", "thing", "NoSchedule"), true },
        { "empty effect matches every effect", Tol("foo", "Equal", "bar", null), Taint("foo", "bar", "NoExecute"), true },
        { "unknown operator tolerates nothing", Tol("foo", "Lt", "bar", "NoSchedule"), Taint("foo", "bar", "NoSchedule"), false },
    };

    [Theory]
    [MemberData(nameof(TolerationCases))]
    public void ToleratesTaint_Table(string name, Toleration toleration, Taint taint, bool expected)
    {
        Assert.True(expected == NodeChoice.ToleratesTaint(toleration, taint), name);
    }

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
        { "NoExecute taint filters", Pod(), Node("n", taints: [Taint("gpu", "", "NoExecute")]), "node(s) had untolerated taint {gpu: }" },
        { "Ready=False node carries the not-ready taint", Pod(), Node("n", ready: "False"), "node(s) had untolerated taint {node.kubernetes.io/not-ready: }" },
        { "node without a Ready condition carries the not-ready taint", Pod(), Node("n", ready: null), "node(s) had untolerated taint {node.kubernetes.io/not-ready: }" },
        { "Ready=Unknown node carries the unreachable taint", Pod(), Node("n", ready: "Unknown"), "node(s) had untolerated taint {node.kubernetes.io/unreachable: }" },
        {
            "a pod tolerating not-ready may go to a not-ready node",
            Pod(tolerations: [Tol("node.kubernetes.io/not-ready", "Exists", null, null)]), Node("n", ready: "False"), null
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
        Assert.True(expected == NodeChoice.Filter(pod, node), $"{name}: got {NodeChoice.Filter(pod, node) ?? "fits"}");
    }

    // FitError.Error with the default preemption PostFilter message (schedule_one_test.go / types_test.go formats).
    public static TheoryData<string, Pod, Node[], Dictionary<string, int>, string?, string?> ChooseCases => new()
    {
        { "no nodes", Pod(), [], [], null, "no nodes available to schedule pods" },
        { "one ready node", Pod(), [Node("a")], [], "a", null },
        { "fewest pods wins", Pod(), [Node("a"), Node("b"), Node("c")], new() { ["a"] = 2, ["b"] = 1 }, "c", null },
        { "ties go to the first name", Pod(), [Node("c"), Node("b"), Node("a")], new() { ["a"] = 1, ["b"] = 1, ["c"] = 1 }, "a", null },
        { "a busy node beats a filtered one", Pod(), [Node("a", ready: "False"), Node("b")], new() { ["b"] = 5 }, "b", null },
        {
            "one unschedulable node", Pod(), [Node("a", unschedulable: true)], [], null,
            "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        },
        {
            "reasons are counted and sorted",
            Pod(selector: new() { ["disk"] = "ssd" }),
            [Node("a", taints: [Taint("dedicated", "gpu", "NoSchedule")]), Node("b"), Node("c", labels: new() { ["disk"] = "hdd" })], [], null,
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. "
                + "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        },
        {
            "same count sorts by reason text",
            Pod(), [Node("a", ready: "False"), Node("b", unschedulable: true), Node("c", taints: [Taint("x", "y", "NoExecute")])], [], null,
            "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {x: y}, "
                + "1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        },
    };

    [Theory]
    [MemberData(nameof(ChooseCases))]
    public void Choose_Table(string name, Pod pod, Node[] nodes, Dictionary<string, int> podsPerNode, string? node, string? reason)
    {
        var (chosen, why) = NodeChoice.Choose(pod, nodes, podsPerNode);

        Assert.True(node == chosen, $"{name}: chose {chosen}");
        Assert.Equal(reason, why);
    }

    private static Toleration Tol(string? key, string? op, string? value, string? effect) =>
        new() { Key = key, Operator = op, Value = value, Effect = effect };

    private static Taint Taint(string key, string? value, string effect) => new() { Key = key, Value = value, Effect = effect };

    private static NodeSelectorRequirement Req(string key, string op, params string[] values) =>
        new() { Key = key, Operator = op, Values = values.Length == 0 ? null : [.. values] };

    private static NodeSelectorTerm Term(params NodeSelectorRequirement[] requirements) => new() { MatchExpressions = [.. requirements] };

    private static Pod Pod(List<Toleration>? tolerations = null, Dictionary<string, string>? selector = null, List<NodeSelectorTerm>? terms = null) => new()
    {
        Metadata = new ObjectMeta { Name = "p", Namespace = "default" },
        Spec = new PodSpec
        {
            Containers = [new Container { Name = "c" }],
            Tolerations = tolerations,
            NodeSelector = selector,
            Affinity = terms is null ? null : new Affinity { NodeAffinity = new NodeAffinity { RequiredDuringSchedulingIgnoredDuringExecution = new NodeSelector { NodeSelectorTerms = terms } } },
        },
    };

    internal static Node Node(string name, bool unschedulable = false, List<Taint>? taints = null, Dictionary<string, string>? labels = null, string? ready = "True") => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new ObjectMeta { Name = name, Labels = labels },
        Spec = new NodeSpec { Unschedulable = unschedulable ? true : null, Taints = taints },
        Status = new NodeStatus { Conditions = ready is null ? null : [new NodeCondition { Type = "Ready", Status = ready }] },
    };
}
