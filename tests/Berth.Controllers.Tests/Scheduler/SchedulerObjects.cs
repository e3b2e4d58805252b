using Berth.Api.Models;
using Berth.Controllers.Scheduler;

namespace Berth.Controllers.Tests.Scheduler;

/// <summary>Pods and nodes shaped like upstream's st.MakePod() / st.MakeNode() wrappers.</summary>
internal static class SchedulerObjects
{
    public static Pod Pod(
        string name = "p",
        List<Toleration>? tolerations = null,
        Dictionary<string, string>? selector = null,
        List<NodeSelectorTerm>? terms = null,
        string? node = null,
        Dictionary<string, string>? labels = null) => new()
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new ObjectMeta { Name = name, Namespace = "default", Labels = labels },
            Spec = new PodSpec
            {
                NodeName = node,
                Containers = [new Container { Name = "c" }],
                Tolerations = tolerations,
                NodeSelector = selector,
                Affinity = terms is null ? null : new Affinity { NodeAffinity = new NodeAffinity { RequiredDuringSchedulingIgnoredDuringExecution = new NodeSelector { NodeSelectorTerms = terms } } },
            },
        };

    /// <summary>A pod with one container per request list (st.MakePod().Req(...)); none at all for a pod without containers.</summary>
    public static Pod Requests(params Dictionary<string, string>[] containers) => new()
    {
        Metadata = new ObjectMeta { Name = "r" + Guid.NewGuid().ToString("N")[..8], Namespace = "default" },
        Spec = new PodSpec { Containers = [.. containers.Select((r, i) => new Container { Name = "c" + i, Resources = new ResourceRequirements { Requests = r } })] },
    };

    public static Pod WithInit(Pod pod, bool sidecar, params Dictionary<string, string>[] containers)
    {
        pod.Spec!.InitContainers = [.. containers.Select((r, i) => new Container
        {
            Name = "i" + i,
            RestartPolicy = sidecar ? "Always" : null,
            Resources = new ResourceRequirements { Requests = r },
        })];
        return pod;
    }

    public static Dictionary<string, string> Res(string? cpu = null, string? memory = null, params (string Name, string Value)[] more)
    {
        var list = new Dictionary<string, string>();
        if (cpu is not null)
        {
            list["cpu"] = cpu;
        }
        if (memory is not null)
        {
            list["memory"] = memory;
        }
        foreach (var (name, value) in more)
        {
            list[name] = value;
        }
        return list;
    }

    /// <summary>A pod holding host ports written "PROTOCOL/IP/PORT" (nodeports test's newPod).</summary>
    public static Pod Ports(params string[] hostPorts) => new()
    {
        Metadata = new ObjectMeta { Name = "ports" + Guid.NewGuid().ToString("N")[..8], Namespace = "default" },
        Spec = new PodSpec
        {
            Containers =
            [
                new Container
                {
                    Name = "c",
                    Ports = [.. hostPorts.Select(p => p.Split('/')).Select(p => new ContainerPort { Protocol = p[0], HostIP = p[1], HostPort = int.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture) })],
                },
            ],
        },
    };

    public static Node Node(
        string name,
        bool unschedulable = false,
        List<Taint>? taints = null,
        Dictionary<string, string>? labels = null,
        string? ready = "True",
        Dictionary<string, string>? allocatable = null,
        params (string Type, string Status)[] conditions) => new()
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new ObjectMeta { Name = name, Labels = labels },
            Spec = new NodeSpec { Unschedulable = unschedulable ? true : null, Taints = taints },
            Status = new NodeStatus
            {
                Conditions = [.. Conditions(ready, conditions)],
                Allocatable = allocatable ?? new() { ["cpu"] = "4", ["memory"] = "8Gi", ["pods"] = "110" },
            },
        };

    private static IEnumerable<NodeCondition> Conditions(string? ready, (string Type, string Status)[] others)
    {
        if (ready is not null)
        {
            yield return new NodeCondition { Type = "Ready", Status = ready };
        }
        foreach (var (type, status) in others)
        {
            yield return new NodeCondition { Type = type, Status = status };
        }
    }

    public static NodeInfo Info(Node node, params Pod[] pods)
    {
        var info = new NodeInfo(node.Metadata!.Name!);
        info.SetNode(node);
        foreach (var pod in pods)
        {
            info.AddPod(PodInfo.From(pod));
        }
        return info;
    }

    /// <summary>A node and the pods bound to it, for theory data (the cache types are internal).</summary>
    public static (Node? Node, Pod[] Pods) N(Node node, params Pod[] pods) => (node, pods);

    /// <summary>The nodes as the cache holds them; a null node is one known only from its pods.</summary>
    public static NodeInfo[] Infos(IEnumerable<(Node? Node, Pod[] Pods)> nodes) =>
        [.. nodes.Select(n => n.Node is null ? new NodeInfo("ghost") : Info(n.Node, n.Pods))];

    public static Toleration Tol(string? key, string? op, string? value, string? effect) => new() { Key = key, Operator = op, Value = value, Effect = effect };

    public static Taint Taint(string key, string? value, string effect) => new() { Key = key, Value = value, Effect = effect };

    public static NodeSelectorRequirement Req(string key, string op, params string[] values) =>
        new() { Key = key, Operator = op, Values = values.Length == 0 ? null : [.. values] };

    public static NodeSelectorTerm Term(params NodeSelectorRequirement[] requirements) => new() { MatchExpressions = [.. requirements] };

    /// <summary>The filter's reasons joined by ", ", or null when the pod fits.</summary>
    public static string? Reasons(Pod pod, NodeInfo node) =>
        NodeChoice.Filter(pod, PodInfo.From(pod), node) is { } result ? string.Join(", ", result.Reasons) : null;
}
