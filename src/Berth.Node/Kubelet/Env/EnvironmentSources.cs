using Berth.Api.Models;

namespace Berth.Node.Kubelet.Env;

/// <summary>What a container's environment is computed from, besides the pod and the container.</summary>
public sealed class EnvironmentSources
{
    /// <summary>Reads a ConfigMap by namespace and name; null when it does not exist.</summary>
    public required Func<string, string, CancellationToken, Task<ConfigMap?>> GetConfigMap { get; init; }

    /// <summary>Reads a Secret by namespace and name; null when it does not exist.</summary>
    public required Func<string, string, CancellationToken, Task<Secret?>> GetSecret { get; init; }

    /// <summary>Every Service the node knows, in any namespace.</summary>
    public IReadOnlyList<Service> Services { get; init; } = [];

    /// <summary>The pod's IPs, primary first (status.podIP, status.podIPs).</summary>
    public IReadOnlyList<string> PodIPs { get; init; } = [];

    /// <summary>The node's IPs, primary first (status.hostIP, status.hostIPs).</summary>
    public IReadOnlyList<string> HostIPs { get; init; } = [];

    /// <summary>The node's allocatable quantities by resource name (cpu, memory, ephemeral-storage): a missing limit reads as these.</summary>
    public IReadOnlyDictionary<string, string> NodeAllocatable { get; init; } = new Dictionary<string, string>();
}
