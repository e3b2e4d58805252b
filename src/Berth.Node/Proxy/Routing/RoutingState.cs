using System.Collections.Immutable;
using System.Net;
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
    // Both maps are kept per Service because changes arrive per Service, whole: a change's Current replaces the entry.
    private readonly Dictionary<ServiceKey, ImmutableDictionary<ServicePortName, ServicePortInfo>> _services = [];
    private readonly Dictionary<ServiceKey, ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>>> _endpoints = [];
    private NodeTopology? _node;

    public RoutingSnapshot Current { get; private set; } = RoutingSnapshot.Empty;

    public SyncChanges Sync(ServiceChangeTracker services, EndpointsChangeTracker endpoints, NodeTopology node)
    {
        var touched = new HashSet<ServiceKey>();
        // Routes of ports a Service no longer has must go too: remember every port it had (all routes, on a rebuild).
        var stale = new List<ServicePortName>();
        foreach (var (service, change) in services.CheckoutChanges())
        {
            touched.Add(service);
            stale.AddRange(change.Previous.Keys);
            Replace(_services, service, change.Current);
        }
        foreach (var (service, change) in endpoints.CheckoutChanges())
        {
            touched.Add(service);
            Replace(_endpoints, service, change.Current);
        }
        var triggerTimes = new List<DateTimeOffset>();
        foreach (var times in endpoints.CheckoutTriggerTimes().Values)
        {
            triggerTimes.AddRange(times);
        }

        // Zone labels and NodePort addresses feed every route: a different node rebuilds them all.
        var rebuildAll = _node is null || !SameNode(_node, node);
        _node = node;
        IEnumerable<ServiceKey> rebuild = touched;
        if (rebuildAll)
        {
            rebuild = _services.Keys;
            stale.AddRange(Current.Routes.Keys);
        }

        var routes = Current.Routes.ToBuilder();
        var changed = new HashSet<ServicePortName>();
        foreach (var service in rebuild)
        {
            var ports = _services.GetValueOrDefault(service) ?? ImmutableDictionary<ServicePortName, ServicePortInfo>.Empty;
            var serviceEndpoints = _endpoints.GetValueOrDefault(service) ?? ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>>.Empty;
            var localReady = LocalReadyEndpoints(serviceEndpoints);
            foreach (var (name, info) in ports)
            {
                var route = BuildRoute(info, serviceEndpoints.GetValueOrDefault(name, []), localReady, node);
                if (routes.TryGetValue(name, out var existing) && SameRoute(existing, route))
                {
                    continue;
                }
                routes[name] = route;
                changed.Add(name);
            }
        }
        foreach (var name in stale)
        {
            if (!(_services.GetValueOrDefault(ServiceKey.Of(name))?.ContainsKey(name) ?? false) && routes.Remove(name))
            {
                changed.Add(name);
            }
        }

        if (changed.Count > 0)
        {
            Current = new RoutingSnapshot { Version = Current.Version + 1, Routes = routes.ToImmutable() };
        }
        return new SyncChanges(Current, changed, triggerTimes);
    }

    /// <summary>
    /// Frontends per kind, and the endpoint sets CategorizeEndpoints gives: internal traffic uses the local set under
    /// internalTrafficPolicy Local and the cluster set otherwise; external traffic the same with externalTrafficPolicy.
    /// </summary>
    private static ServiceRoute BuildRoute(ServicePortInfo info, ImmutableArray<EndpointInfo> endpoints, int localReady, NodeTopology node)
    {
        var frontends = ImmutableArray.CreateBuilder<Frontend>();
        var protocol = info.Name.Protocol;
        foreach (var ip in info.ClusterIPs)
        {
            frontends.Add(new Frontend(ip, info.Port, protocol, FrontendKind.ClusterIP));
        }
        if (info.NodePort > 0)
        {
            foreach (var ip in node.NodePortAddresses)
            {
                frontends.Add(new Frontend(ip, info.NodePort, protocol, FrontendKind.NodePort));
            }
        }
        foreach (var ip in info.ExternalIPs)
        {
            frontends.Add(new Frontend(ip, info.Port, protocol, FrontendKind.ExternalIP));
        }
        foreach (var ip in info.LoadBalancerIPs)
        {
            frontends.Add(new Frontend(ip, info.Port, protocol, FrontendKind.LoadBalancer));
        }

        var categorized = Topology.CategorizeEndpoints(endpoints, info, node.Labels);
        ImmutableArray<EndpointInfo> cluster = categorized.Cluster ?? [];
        ImmutableArray<EndpointInfo> local = categorized.Local ?? [];
        return new ServiceRoute
        {
            Service = info,
            Frontends = frontends.DrainToImmutable(),
            ClusterEndpoints = info.InternalPolicyLocal ? local : cluster,
            ExternalEndpoints = info.ExternalPolicyLocal ? local : cluster,
            AllEndpoints = endpoints,
            LocalReadyEndpoints = localReady,
        };
    }

    /// <summary>
    /// Upstream EndpointsMap.LocalReadyEndpoints, what healthCheckNodePort reports: distinct IPs of ready endpoints on
    /// this node across all the Service's ports (10.0.0.1:80 and 10.0.0.1:443 are one endpoint). Terminating ones
    /// are left out so the health check fails once only they remain, while they still get traffic.
    /// </summary>
    private static int LocalReadyEndpoints(ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>> endpoints)
    {
        HashSet<IPAddress>? ips = null;
        foreach (var list in endpoints.Values)
        {
            foreach (var endpoint in list)
            {
                if (endpoint.Ready && endpoint.IsLocal)
                {
                    (ips ??= []).Add(endpoint.Address);
                }
            }
        }
        return ips?.Count ?? 0;
    }

    private static void Replace<T>(Dictionary<ServiceKey, ImmutableDictionary<ServicePortName, T>> map, ServiceKey service, ImmutableDictionary<ServicePortName, T> current)
    {
        if (current.IsEmpty)
        {
            map.Remove(service);
        }
        else
        {
            map[service] = current;
        }
    }

    private static bool SameNode(NodeTopology a, NodeTopology b)
    {
        if (a.NodeName != b.NodeName || a.Labels.Count != b.Labels.Count || !a.NodePortAddresses.SequenceEqual(b.NodePortAddresses))
        {
            return false;
        }
        foreach (var (key, value) in a.Labels)
        {
            if (!b.Labels.TryGetValue(key, out var other) || other != value)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A rebuilt route equal to the programmed one keeps the old instance, so the backend sees it unchanged.</summary>
    private static bool SameRoute(ServiceRoute a, ServiceRoute b) =>
        a.LocalReadyEndpoints == b.LocalReadyEndpoints && ServicePortInfoComparer.Instance.Equals(a.Service, b.Service) &&
        a.Frontends.SequenceEqual(b.Frontends) && a.ClusterEndpoints.SequenceEqual(b.ClusterEndpoints) &&
        a.ExternalEndpoints.SequenceEqual(b.ExternalEndpoints) && a.AllEndpoints.SequenceEqual(b.AllEndpoints);
}
