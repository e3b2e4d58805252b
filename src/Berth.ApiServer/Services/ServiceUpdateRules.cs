using Berth.Api.Models;
using Berth.Api.Services;

namespace Berth.ApiServer.Services;

/// <summary>
/// How the registry reads a Service write before allocating and validating, ported from upstream's
/// pkg/registry/core/service/strategy.go and storage/rest.go: keep what was allocated when a client resubmits a
/// manifest without it, keep clusterIP and clusterIPs in step, and clear type-dependent fields on a type change.
/// </summary>
internal static class ServiceUpdateRules
{
    /// <summary>NormalizeClusterIPs: old clients send only clusterIP; new clients send both.</summary>
    public static void NormalizeClusterIPs(Service? old, Service service)
    {
        var spec = Spec(service);
        if (old is null)
        {
            if (!string.IsNullOrEmpty(spec.ClusterIP) && spec.ClusterIPs is not { Count: > 0 })
            {
                spec.ClusterIPs = [spec.ClusterIP];
            }
            return;
        }
        var oldSpec = Spec(old);
        if (oldSpec.ClusterIPs is { Count: > 0 } && spec.ClusterIPs is not { Count: > 0 } && oldSpec.ClusterIP == spec.ClusterIP)
        {
            // An old client patching some other field: it never knew about clusterIPs.
            spec.ClusterIPs = [.. oldSpec.ClusterIPs];
        }
        if ((oldSpec.ClusterIP ?? "") != (spec.ClusterIP ?? ""))
        {
            if (!string.IsNullOrEmpty(oldSpec.ClusterIP) && string.IsNullOrEmpty(spec.ClusterIP))
            {
                // Clearing clusterIP with clusterIPs untouched: clear both on the client's behalf.
                if (SameStrings(oldSpec.ClusterIPs, spec.ClusterIPs))
                {
                    spec.ClusterIPs = null;
                }
            }
            else if (SameStrings(oldSpec.ClusterIPs, spec.ClusterIPs))
            {
                spec.ClusterIPs = [spec.ClusterIP!];
            }
        }
    }

    /// <summary>
    /// patchAllocatedValues: a client that re-sends the manifest it created the Service from (no clusterIP, no
    /// nodePort) keeps what was allocated instead of failing on an immutable field or getting new ports.
    /// </summary>
    public static void PatchAllocatedValues(Service service, Service old)
    {
        var spec = Spec(service);
        var oldSpec = Spec(old);
        if (ServiceRules.NeedsClusterIP(old) && ServiceRules.NeedsClusterIP(service))
        {
            if (string.IsNullOrEmpty(spec.ClusterIP))
            {
                spec.ClusterIP = oldSpec.ClusterIP;
            }
            if (spec.ClusterIPs is not { Count: > 0 } && oldSpec.ClusterIPs is { Count: > 0 })
            {
                spec.ClusterIPs = [.. oldSpec.ClusterIPs];
            }
        }
        // Only where node ports are allocated by default: with allocateLoadBalancerNodePorts false, leaving them out
        // of an update is how a client gives them back (upstream rest.go needsNodePort).
        if (ServiceRules.ShouldAllocateNodePorts(old) && ServiceRules.ShouldAllocateNodePorts(service))
        {
            // Ports already used by the new object can't be patched in again; match the rest by port name.
            var used = NodePorts(service).ToHashSet();
            used.IntersectWith(NodePorts(old));
            var byName = new Dictionary<string, int>();
            foreach (var port in oldSpec.Ports ?? [])
            {
                byName[port.Name ?? ""] = port.NodePort ?? 0;
            }
            foreach (var port in spec.Ports ?? [])
            {
                if ((port.NodePort ?? 0) == 0 && byName.TryGetValue(port.Name ?? "", out var previous) && previous != 0 && !used.Contains(previous))
                {
                    port.NodePort = previous;
                }
            }
        }
        if (ServiceRules.NeedsHealthCheck(old) && ServiceRules.NeedsHealthCheck(service) && (spec.HealthCheckNodePort ?? 0) == 0)
        {
            spec.HealthCheckNodePort = oldSpec.HealthCheckNodePort;
        }
    }

    /// <summary>
    /// dropTypeDependentFields: a Service is a union discriminated by type. On a type change, fields the new type
    /// does not use are cleared, but only when the client left them as they were (a changed value is the client's
    /// intent, and validation then says why it can't be).
    /// </summary>
    public static void DropTypeDependentFields(Service service, Service old)
    {
        var spec = Spec(service);
        var oldSpec = Spec(old);
        if (ServiceRules.NeedsClusterIP(old) && !ServiceRules.NeedsClusterIP(service))
        {
            if (oldSpec.ClusterIP == spec.ClusterIP && SameStrings(oldSpec.ClusterIPs, spec.ClusterIPs))
            {
                spec.ClusterIP = null;
                spec.ClusterIPs = null;
            }
            if (SameStrings(oldSpec.IpFamilies, spec.IpFamilies))
            {
                spec.IpFamilies = null;
            }
            if (oldSpec.IpFamilyPolicy == spec.IpFamilyPolicy)
            {
                spec.IpFamilyPolicy = null;
            }
        }
        if (ServiceRules.NeedsNodePorts(old) && !ServiceRules.NeedsNodePorts(service) && NodePorts(old).ToHashSet().IsSupersetOf(NodePorts(service)))
        {
            foreach (var port in spec.Ports ?? [])
            {
                port.NodePort = null;
            }
        }
        if (ServiceRules.NeedsHealthCheck(old) && !ServiceRules.NeedsHealthCheck(service) && oldSpec.HealthCheckNodePort == spec.HealthCheckNodePort)
        {
            spec.HealthCheckNodePort = null;
        }
        if (oldSpec.Type == ServiceRules.TypeLoadBalancer && spec.Type != ServiceRules.TypeLoadBalancer)
        {
            if (spec.AllocateLoadBalancerNodePorts is { } allocate && oldSpec.AllocateLoadBalancerNodePorts == allocate)
            {
                spec.AllocateLoadBalancerNodePorts = null;
            }
            if (oldSpec.LoadBalancerClass == spec.LoadBalancerClass)
            {
                spec.LoadBalancerClass = null;
            }
        }
        if (ServiceRules.ExternallyAccessible(old) && !ServiceRules.ExternallyAccessible(service) && oldSpec.ExternalTrafficPolicy == spec.ExternalTrafficPolicy)
        {
            spec.ExternalTrafficPolicy = null;
        }
        if (spec.Type == ServiceRules.TypeExternalName && oldSpec.Type != ServiceRules.TypeExternalName && oldSpec.InternalTrafficPolicy == spec.InternalTrafficPolicy)
        {
            // Upstream defaults internalTrafficPolicy only for types with a cluster IP and hides it on ExternalName.
            spec.InternalTrafficPolicy = null;
        }
        if (spec.Type != ServiceRules.TypeLoadBalancer && service.Status?.LoadBalancer?.Ingress is { Count: > 0 })
        {
            // A Service that stopped being a LoadBalancer has no load balancer, whatever the controller has yet to do.
            service.Status.LoadBalancer = new LoadBalancerStatus();
        }
    }

    /// <summary>trimFieldsForDualStackDowngrade: switching a dual-stack Service to SingleStack drops the secondary IP.</summary>
    public static void TrimForSingleStackDowngrade(Service service, Service old)
    {
        var spec = Spec(service);
        var wasDual = Spec(old).IpFamilyPolicy is "RequireDualStack" or "PreferDualStack";
        if (wasDual && spec.IpFamilyPolicy == "SingleStack")
        {
            if (spec.ClusterIPs is { Count: > 1 })
            {
                spec.ClusterIPs = spec.ClusterIPs[..1];
            }
            if (spec.IpFamilies is { Count: > 1 })
            {
                spec.IpFamilies = spec.IpFamilies[..1];
            }
        }
    }

    public static IEnumerable<int> NodePorts(Service service) =>
        (Spec(service).Ports ?? []).Select(p => p.NodePort ?? 0).Where(p => p != 0);

    private static ServiceSpec Spec(Service service) => service.Spec ??= new ServiceSpec();

    private static bool SameStrings(List<string>? a, List<string>? b) => (a ?? []).SequenceEqual(b ?? []);
}
