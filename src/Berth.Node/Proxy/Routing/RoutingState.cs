using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Tracking;

namespace Berth.Node.Proxy.Routing;

/// <summary>
/// The proxy's service and endpoint maps between syncs (upstream's svcPortMap and endpointsMap). Only the sync loop
/// calls it: <see cref="Sync"/> takes the trackers' pending changes in and builds the next snapshot, rebuilding only
/// the routes of service ports that changed (all of them when the node's topology changed).
/// </summary>
internal sealed class RoutingState
{
    public RoutingSnapshot Current { get; private set; } = RoutingSnapshot.Empty;

    public SyncChanges Sync(ServiceChangeTracker services, EndpointsChangeTracker endpoints, NodeTopology node) => throw new NotImplementedException();
}
