using System.Collections.Immutable;
using System.Net;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Routing;

/// <summary>
/// Which endpoints a service port may use from this node (upstream pkg/proxy/topology.go, v1.32). Null lists mean
/// the service port never uses that kind of endpoint; empty ones mean it does but has none usable.
/// </summary>
internal readonly record struct CategorizedEndpoints(
    ImmutableArray<EndpointInfo>? Cluster,
    ImmutableArray<EndpointInfo>? Local,
    ImmutableArray<EndpointInfo>? AllReachable,
    bool HasAnyEndpoints);

internal static class Topology
{
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    /// <summary>
    /// Upstream CategorizeEndpoints: cluster endpoints are the Ready ones (narrowed by topology hints when they can be
    /// used), else the serving-terminating ones; local endpoints the same among this node's; all reachable the union;
    /// HasAnyEndpoints whether anything anywhere in the cluster could serve (true even when nothing here can).
    /// </summary>
    public static CategorizedEndpoints CategorizeEndpoints(ImmutableArray<EndpointInfo> endpoints, ServicePortInfo service, IReadOnlyDictionary<string, string> nodeLabels)
    {
        if (endpoints.IsDefaultOrEmpty)
        {
            return default;
        }

        ImmutableArray<EndpointInfo>? cluster = null;
        ImmutableArray<EndpointInfo>? local = null;
        var hasAnyEndpoints = false;
        var useTopology = false;
        var useServingTerminating = false;

        if (UsesClusterEndpoints(service))
        {
            useTopology = CanUseTopology(endpoints, service, nodeLabels);
            var zone = nodeLabels.GetValueOrDefault(ZoneLabel);
            var ready = endpoints.Where(e => e.Ready && (!useTopology || e.ZoneHints.Contains(zone!))).ToImmutableArray();
            // No ready endpoint for the topology would have switched topology off, so an empty list here means no
            // ready endpoint anywhere: fall back to those still serving while they terminate.
            cluster = ready.Length > 0 ? ready : [.. endpoints.Where(e => e.Serving && e.Terminating)];
            hasAnyEndpoints = cluster.Value.Length > 0;
        }

        if (!UsesLocalEndpoints(service))
        {
            return new CategorizedEndpoints(cluster, null, cluster, hasAnyEndpoints);
        }

        var hasLocalReady = false;
        var hasLocalServingTerminating = false;
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Ready)
            {
                hasAnyEndpoints = true;
                hasLocalReady |= endpoint.IsLocal;
            }
            else if (endpoint.Serving && endpoint.Terminating)
            {
                hasAnyEndpoints = true;
                hasLocalServingTerminating |= endpoint.IsLocal;
            }
        }
        if (hasLocalReady)
        {
            local = [.. endpoints.Where(e => e.IsLocal && e.Ready)];
        }
        else if (hasLocalServingTerminating)
        {
            useServingTerminating = true;
            local = [.. endpoints.Where(e => e.IsLocal && e.Serving && e.Terminating)];
        }
        else
        {
            local = [];
        }

        if (cluster is null)
        {
            return new CategorizedEndpoints(null, local, local, hasAnyEndpoints);
        }
        if (!useTopology && !useServingTerminating)
        {
            // Cluster holds every Ready endpoint and local only Ready ones: cluster is already the union.
            return new CategorizedEndpoints(cluster, local, cluster, hasAnyEndpoints);
        }

        // Cluster may hold remote endpoints local lacks, local terminating or other-zone ones cluster lacks: merge.
        var union = new Dictionary<(IPAddress, int), EndpointInfo>();
        foreach (var endpoint in cluster.Value.Concat(local.Value))
        {
            union[(endpoint.Address, endpoint.Port)] = endpoint;
        }
        ImmutableArray<EndpointInfo> all = [.. union.Values.OrderBy(e => e.ToString(), StringComparer.Ordinal)];
        return new CategorizedEndpoints(cluster, local, all, hasAnyEndpoints);
    }

    /// <summary>Cluster policy is used for internal traffic, or for external traffic at all (even eTP Local short-circuits through it upstream).</summary>
    public static bool UsesClusterEndpoints(ServicePortInfo service) => !service.InternalPolicyLocal || service.ExternallyAccessible;

    public static bool UsesLocalEndpoints(ServicePortInfo service) =>
        service.InternalPolicyLocal || (service.ExternalPolicyLocal && service.ExternallyAccessible);

    /// <summary>
    /// Upstream canUseTopology: topology-aware routing is on for the service, the node has a zone label, every ready
    /// endpoint has zone hints, and at least one is hinted for this node's zone. Otherwise hints are ignored.
    /// </summary>
    private static bool CanUseTopology(ImmutableArray<EndpointInfo> endpoints, ServicePortInfo service, IReadOnlyDictionary<string, string> nodeLabels)
    {
        if (!service.UsesTopology)
        {
            return false;
        }
        var zone = nodeLabels.GetValueOrDefault(ZoneLabel);
        var hasEndpointForZone = false;
        foreach (var endpoint in endpoints)
        {
            if (!endpoint.Ready)
            {
                continue;
            }
            if (endpoint.ZoneHints.IsEmpty || string.IsNullOrEmpty(zone))
            {
                return false;
            }
            hasEndpointForZone |= endpoint.ZoneHints.Contains(zone);
        }
        return hasEndpointForZone;
    }
}
