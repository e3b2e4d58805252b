using Berth.Api.Models;

namespace Berth.Api.Services;

/// <summary>
/// What a Service's type and labels imply, as upstream's pkg/api/service/util.go and the registry helpers
/// (needsClusterIP, needsNodePort, ...) define it. One place, so the API server, the proxy and the DNS agree.
/// </summary>
public static class ServiceRules
{
    public const string TypeClusterIP = "ClusterIP";
    public const string TypeNodePort = "NodePort";
    public const string TypeLoadBalancer = "LoadBalancer";
    public const string TypeExternalName = "ExternalName";
    public const string ClusterIPNone = "None";

    /// <summary>Services with this label are served by another proxy (kube-proxy's --proxy-name); the default one leaves them alone.</summary>
    public const string ServiceProxyNameLabel = "service.kubernetes.io/service-proxy-name";

    /// <summary>Upstream's marker for Services without a virtual IP; the default proxy ignores them too.</summary>
    public const string HeadlessLabel = "service.kubernetes.io/headless";

    /// <summary>Topology Aware Routing (KEP-2433): "Auto" asks for zone hints.</summary>
    public const string TopologyModeAnnotation = "service.kubernetes.io/topology-mode";

    /// <summary>The annotation topology-mode replaced; it wins when both are set.</summary>
    public const string DeprecatedTopologyAwareHintsAnnotation = "service.kubernetes.io/topology-aware-hints";

    /// <summary>
    /// Upstream hintsEnabled (endpointslice controller, proxy): the topology annotation asks for Auto hints — only
    /// "Auto" and "auto", not "aUto" — the deprecated annotation winning when both are set.
    /// </summary>
    public static bool TopologyHintsRequested(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null)
        {
            return false;
        }
        if (!annotations.TryGetValue(DeprecatedTopologyAwareHintsAnnotation, out var value) &&
            !annotations.TryGetValue(TopologyModeAnnotation, out value))
        {
            return false;
        }
        return value is "Auto" or "auto";
    }

    public static bool NeedsClusterIP(Service service) => service.Spec?.Type != TypeExternalName;

    public static bool NeedsNodePorts(Service service) => service.Spec?.Type is TypeNodePort or TypeLoadBalancer;

    /// <summary>Whether nodePorts are allocated when none is asked for (allocateLoadBalancerNodePorts: false turns it off).</summary>
    public static bool ShouldAllocateNodePorts(Service service) => service.Spec?.Type switch
    {
        TypeNodePort => true,
        TypeLoadBalancer => service.Spec.AllocateLoadBalancerNodePorts ?? true,
        _ => false,
    };

    /// <summary>Reachable from outside the cluster: NodePort, LoadBalancer, or a ClusterIP Service with externalIPs.</summary>
    public static bool ExternallyAccessible(Service service) => service.Spec is { } spec && ExternallyAccessible(spec);

    public static bool ExternallyAccessible(ServiceSpec spec) => spec.Type switch
    {
        TypeNodePort or TypeLoadBalancer => true,
        TypeClusterIP => spec.ExternalIPs is { Count: > 0 },
        _ => false,
    };

    /// <summary>A LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort.</summary>
    public static bool NeedsHealthCheck(Service service) => service.Spec is { } spec && NeedsHealthCheck(spec);

    public static bool NeedsHealthCheck(ServiceSpec spec) => spec.Type == TypeLoadBalancer && spec.ExternalTrafficPolicy == "Local";

    public static bool IsHeadless(Service service) =>
        service.Spec?.ClusterIP == ClusterIPNone || service.Spec?.ClusterIPs is [ClusterIPNone, ..];

    /// <summary>
    /// Whether Berth's own proxy serves this Service. Like kube-proxy, it leaves alone Services labelled for another
    /// proxy (service-proxy-name) and those labelled headless; ExternalName Services have nothing to proxy.
    /// </summary>
    public static bool IsProxiedByBerth(Service service)
    {
        var labels = service.Metadata?.Labels;
        if (labels is not null && (labels.ContainsKey(ServiceProxyNameLabel) || labels.ContainsKey(HeadlessLabel)))
        {
            return false;
        }
        return service.Spec?.Type != TypeExternalName;
    }
}
