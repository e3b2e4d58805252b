using System.Collections.Immutable;
using System.Net;

namespace Berth.Node.Proxy.Model;

/// <summary>How new connections of a service port pick among its endpoints (annotation <c>berth.io/load-balancer</c>).</summary>
public enum BalancingAlgorithm
{
    RoundRobin,
    LeastConnections,
    Random,
}

/// <summary>
/// The stripped projection of one Service port that the proxy needs (upstream's BaseServicePortInfo): everything else
/// of the Service is dropped when it enters the tracker. Immutable; equal values mean nothing to reprogram.
/// </summary>
public sealed record ServicePortInfo
{
    public required ServicePortName Name { get; init; }

    /// <summary>spec.clusterIPs (never "None": headless Services are not proxied).</summary>
    public ImmutableArray<IPAddress> ClusterIPs { get; init; } = [];

    public required int Port { get; init; }

    /// <summary>0 when the port has no nodePort.</summary>
    public int NodePort { get; init; }

    public ImmutableArray<IPAddress> ExternalIPs { get; init; } = [];

    /// <summary>status.loadBalancer.ingress[].ip, except ingress with ipMode Proxy (upstream leaves those to the LB).</summary>
    public ImmutableArray<IPAddress> LoadBalancerIPs { get; init; } = [];

    /// <summary>spec.loadBalancerSourceRanges: when non-empty, load-balancer traffic from other sources is refused.</summary>
    public ImmutableArray<IPNetwork> LoadBalancerSourceRanges { get; init; } = [];

    /// <summary>sessionAffinity ClientIP's timeout; null for sessionAffinity None.</summary>
    public TimeSpan? AffinityTimeout { get; init; }

    /// <summary>internalTrafficPolicy: Local.</summary>
    public bool InternalPolicyLocal { get; init; }

    /// <summary>externalTrafficPolicy: Local, on a Service that is externally accessible.</summary>
    public bool ExternalPolicyLocal { get; init; }

    /// <summary>spec.healthCheckNodePort, 0 when none.</summary>
    public int HealthCheckNodePort { get; init; }

    public BalancingAlgorithm Algorithm { get; init; }

    /// <summary>Topology-aware routing is on (annotation service.kubernetes.io/topology-mode Auto, or trafficDistribution set).</summary>
    public bool UsesTopology { get; init; }

    /// <summary>Reachable from outside the cluster: a nodePort, externalIPs or load-balancer addresses.</summary>
    public bool ExternallyAccessible => NodePort > 0 || ExternalIPs.Length > 0 || LoadBalancerIPs.Length > 0;
}
