using System.Net;

namespace Berth.ApiServer;

public sealed class ApiServerOptions
{
    /// <summary>Where the store, PKI, token and kubeconfig live.</summary>
    public string DataDir { get; set; } = ".berth";

    /// <summary>HTTPS port; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = 6443;

    /// <summary>Loopback by default: nothing outside this machine can reach the API unless asked for.</summary>
    public IPAddress BindAddress { get; set; } = IPAddress.Loopback;

    /// <summary>"sqlite" (embedded, the default).</summary>
    public string Datastore { get; set; } = "sqlite";

    /// <summary>Where ClusterIPs come from (upstream --service-cluster-ip-range); loopback, so every address is local.</summary>
    public string ServiceCidr { get; set; } = "127.96.0.0/16";

    /// <summary>NodePorts for NodePort and LoadBalancer Services (upstream --service-node-port-range).</summary>
    public string NodePortRange { get; set; } = "30000-32767";

    /// <summary>The built-in load balancer's addresses, one per LoadBalancer Service.</summary>
    public string LoadBalancerPool { get; set; } = "127.100.0.0/16";

    /// <summary>How long an Event is kept after it was last seen (upstream --event-ttl).</summary>
    public TimeSpan EventTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// tolerationSeconds of the node.kubernetes.io/not-ready:NoExecute toleration added to every pod that has none
    /// (upstream --default-not-ready-toleration-seconds). 30 s instead of upstream's 300 s: Berth's nodes are agents
    /// on one machine or a few, and a node that stopped reporting is an agent that crashed or was stopped, not a
    /// data-center link that may come back; its pods should be replaced quickly, not after five minutes.
    /// </summary>
    public long DefaultNotReadyTolerationSeconds { get; set; } = 30;

    /// <summary>As <see cref="DefaultNotReadyTolerationSeconds"/>, for node.kubernetes.io/unreachable:NoExecute
    /// (upstream --default-unreachable-toleration-seconds, 300 there), 30 s for the same reason.</summary>
    public long DefaultUnreachableTolerationSeconds { get; set; } = 30;

    public string StorePath => Path.Combine(DataDir, "state.db");

    public string KubeconfigPath => Path.Combine(DataDir, "kubeconfig");

    /// <summary>The join token for <c>berth agent --token</c>: K10&lt;sha256 of the CA&gt;::&lt;token&gt;.</summary>
    public string NodeTokenPath => Path.Combine(DataDir, "node-token");
}
