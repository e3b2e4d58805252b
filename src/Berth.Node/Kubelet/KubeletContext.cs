using Berth.Api.Models;
using Berth.Client;
using Berth.Node.Kubelet.Probes;
using Berth.Node.Kubelet.Runtime;

namespace Berth.Node.Kubelet;

/// <summary>What every pod worker of one node shares: the API, the node's identity and the agent's state.</summary>
internal sealed class KubeletContext
{
    public required KubeClient Client { get; init; }

    public required EventRecorder Events { get; init; }

    public required string NodeName { get; init; }

    public required string NodeIP { get; init; }

    /// <summary>Where container logs live (upstream /var/log/pods).</summary>
    public required string LogRoot { get; init; }

    public required ProcessRecords Processes { get; init; }

    public required Prober Prober { get; init; }

    public required PodAddresses Addresses { get; init; }

    /// <summary>The Services the agent sees now, for the Service environment variables.</summary>
    public required Func<IReadOnlyList<Service>> Services { get; init; }

    /// <summary>The node's allocatable cpu, memory and ephemeral-storage, for resourceFieldRef without limits.</summary>
    public required IReadOnlyDictionary<string, string> Allocatable { get; init; }

    /// <summary>
    /// Completes once this node's proxy no longer sends new connections to the pod IP, or after the time given:
    /// a deleted pod is taken out of the proxy before its processes are signalled. Null without a proxy.
    /// </summary>
    public Func<string, TimeSpan, Task>? WaitUntilUnrouted { get; init; }

    /// <summary>Cluster domain, cluster DNS address (else kube-system/kube-dns's ClusterIP) and the host's resolv.conf, for pods' DNS.</summary>
    public required Berth.Node.Dns.DnsOptions Dns { get; init; }

    /// <summary>Set once the agent has said that its pods keep the host's /etc/resolv.conf (no mount namespaces here).</summary>
    public Dns.OnceFlag PodNamespaceNotice { get; } = new();

    /// <summary>
    /// The directory the agent was started in, captured once when it starts: a relative workingDir is resolved
    /// against it (a container runtime rejects one; here pods are host processes started from a checkout).
    /// </summary>
    public string StartDirectory { get; } = Environment.CurrentDirectory;

    public required TimeProvider Time { get; init; }

    public required Action<string> Log { get; init; }
}
