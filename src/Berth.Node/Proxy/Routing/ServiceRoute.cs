using System.Collections.Immutable;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Routing;

/// <summary>
/// A service port as programmed: where it listens and which endpoints new connections may go to, already filtered by
/// upstream's CategorizeEndpoints (ready, else serving+terminating; traffic policies; topology hints). Immutable.
/// </summary>
public sealed class ServiceRoute
{
    public required ServicePortInfo Service { get; init; }

    public ServicePortName Name => Service.Name;

    public ImmutableArray<Frontend> Frontends { get; init; } = [];

    /// <summary>For ClusterIP traffic (internalTrafficPolicy applied). Empty: refuse.</summary>
    public ImmutableArray<EndpointInfo> ClusterEndpoints { get; init; } = [];

    /// <summary>For NodePort, externalIP and load-balancer traffic (externalTrafficPolicy applied). Empty: refuse.</summary>
    public ImmutableArray<EndpointInfo> ExternalEndpoints { get; init; } = [];

    /// <summary>Every endpoint of the service port in its slices, usable or not: connections to others are drained.</summary>
    public ImmutableArray<EndpointInfo> AllEndpoints { get; init; } = [];

    /// <summary>Ready endpoints on this node: what healthCheckNodePort reports (200 when > 0).</summary>
    public int LocalReadyEndpoints { get; init; }

    public ImmutableArray<EndpointInfo> EndpointsFor(FrontendKind kind) => kind == FrontendKind.ClusterIP ? ClusterEndpoints : ExternalEndpoints;
}
