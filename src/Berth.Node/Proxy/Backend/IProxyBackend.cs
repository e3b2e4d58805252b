using Berth.Node.Proxy.LoadBalancing;
using Berth.Node.Proxy.Metrics;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy.Backend;

/// <summary>
/// The mechanics of proxying (sockets today, kernel rules later): makes the node serve exactly the given routes.
/// Policy — which endpoints a frontend may use, affinity, balancing — is decided before, in the routes and balancers.
/// </summary>
internal interface IProxyBackend : IAsyncDisposable
{
    /// <summary>
    /// Programs every route: listeners opened for new frontends and closed for gone ones, endpoint sets swapped for
    /// new connections, connections to endpoints no longer in a route drained. Called by the one sync loop only,
    /// with every route each time (unchanged ones are the same instances). Returns the frontends that could not be served.
    /// </summary>
    IReadOnlyList<BindFailure> Apply(IReadOnlyList<RouteProgram> routes);
}

/// <summary>A route with the per-service-port state that outlives snapshots.</summary>
internal sealed record RouteProgram(ServiceRoute Route, ServiceBalancer Balancer, ServicePortStats Stats);

/// <summary>A frontend that could not be listened on, and why (strerror text, e.g. "Address already in use").</summary>
internal sealed record BindFailure(Frontend Frontend, Model.ServicePortName Service, string Reason);
