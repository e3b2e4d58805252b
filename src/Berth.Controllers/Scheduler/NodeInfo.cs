using Berth.Api.Models;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// What the scheduler keeps of a pod (upstream framework.PodInfo, stripped to what the filters and scores read),
/// computed once per pod change rather than per scheduling attempt.
/// </summary>
internal sealed record PodInfo(
    string Key,
    string Namespace,
    string? ControllerUid,
    IReadOnlyDictionary<string, string> Labels,
    bool Terminating,
    int Priority,
    Resources Requests,
    long NonZeroMilliCpu,
    long NonZeroMemory,
    IReadOnlyList<HostPort> HostPorts)
{
    private static readonly Dictionary<string, string> s_noLabels = [];

    public static PodInfo From(Pod pod)
    {
        var nonZero = Resources.PodRequests(pod.Spec, nonMissing: true);
        return new PodInfo(
            KeyOf(pod),
            pod.Metadata?.Namespace ?? "",
            ControllerUidOf(pod),
            pod.Metadata?.Labels ?? s_noLabels,
            pod.Metadata?.DeletionTimestamp is not null,
            pod.Spec?.Priority ?? 0,
            Resources.PodRequests(pod.Spec),
            nonZero.MilliCpu,
            nonZero.Memory,
            HostPort.Of(pod.Spec));
    }

    public static string KeyOf(Pod pod) => (pod.Metadata?.Namespace ?? "") + "/" + pod.Metadata?.Name;

    public static string? ControllerUidOf(Pod pod)
    {
        foreach (var owner in pod.Metadata?.OwnerReferences ?? [])
        {
            if (owner.Controller == true)
            {
                return owner.Uid;
            }
        }
        return null;
    }
}

/// <summary>A host port a pod holds, sanitized as upstream's HostPortInfo does (no IP = 0.0.0.0, no protocol = TCP).</summary>
internal readonly record struct HostPort(string Ip, string Protocol, int Port)
{
    public const string AnyIp = "0.0.0.0";

    /// <summary>schedutil.GetHostPorts: ports with a hostPort of the containers and of restartable (sidecar) init containers.</summary>
    public static IReadOnlyList<HostPort> Of(PodSpec? spec)
    {
        List<HostPort>? ports = null;
        foreach (var container in (spec?.InitContainers ?? []).Where(c => c.RestartPolicy == "Always").Concat(spec?.Containers ?? []))
        {
            foreach (var port in container.Ports ?? [])
            {
                if (port.HostPort is > 0)
                {
                    (ports ??= []).Add(new HostPort(
                        string.IsNullOrEmpty(port.HostIP) ? AnyIp : port.HostIP,
                        string.IsNullOrEmpty(port.Protocol) ? "TCP" : port.Protocol,
                        port.HostPort.Value));
                }
            }
        }
        return ports ?? (IReadOnlyList<HostPort>)[];
    }
}

/// <summary>
/// One node and the pods on it, bound or assumed (upstream framework.NodeInfo): the totals the filters and scores
/// read are kept up to date as pods come and go. <see cref="Node"/> is null while pods name a node the node informer
/// has not shown (such a node is not a candidate).
/// </summary>
internal sealed class NodeInfo(string name)
{
    private readonly Dictionary<string, PodInfo> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<HostPort, int> _usedPorts = [];

    public string Name { get; } = name;

    public Node? Node { get; private set; }

    public Resources Allocatable { get; private set; } = new();

    public IReadOnlyCollection<PodInfo> Pods => _pods.Values;

    public Resources Requested { get; } = new();

    public long NonZeroMilliCpu { get; private set; }

    public long NonZeroMemory { get; private set; }

    public void SetNode(Node? node)
    {
        Node = node;
        var allocatable = new Resources();
        allocatable.Add(node?.Status?.Allocatable);
        Allocatable = allocatable;
    }

    public void AddPod(PodInfo pod)
    {
        RemovePod(pod.Key);
        _pods[pod.Key] = pod;
        Requested.Add(pod.Requests);
        NonZeroMilliCpu += pod.NonZeroMilliCpu;
        NonZeroMemory += pod.NonZeroMemory;
        foreach (var port in pod.HostPorts)
        {
            _usedPorts[port] = _usedPorts.GetValueOrDefault(port) + 1;
        }
    }

    public bool RemovePod(string key)
    {
        if (!_pods.Remove(key, out var pod))
        {
            return false;
        }
        Requested.Subtract(pod.Requests);
        NonZeroMilliCpu -= pod.NonZeroMilliCpu;
        NonZeroMemory -= pod.NonZeroMemory;
        foreach (var port in pod.HostPorts)
        {
            if (_usedPorts[port] == 1)
            {
                _usedPorts.Remove(port);
            }
            else
            {
                _usedPorts[port]--;
            }
        }
        return true;
    }

    /// <summary>
    /// HostPortInfo.CheckConflict: a wanted port on 0.0.0.0 conflicts with the same protocol and port on any IP;
    /// on a specific IP, with that IP or 0.0.0.0.
    /// </summary>
    public bool PortConflicts(HostPort wanted)
    {
        if (wanted.Ip == HostPort.AnyIp)
        {
            return _usedPorts.Keys.Any(used => used.Port == wanted.Port && used.Protocol == wanted.Protocol);
        }
        return _usedPorts.ContainsKey(wanted) || _usedPorts.ContainsKey(wanted with { Ip = HostPort.AnyIp });
    }

    /// <summary>A copy without the pods <paramref name="remove"/> selects (preemption's what-if).</summary>
    public NodeInfo Without(Func<PodInfo, bool> remove)
    {
        var copy = new NodeInfo(Name) { Node = Node, Allocatable = Allocatable };
        foreach (var pod in _pods.Values.Where(p => !remove(p)))
        {
            copy.AddPod(pod);
        }
        return copy;
    }
}
