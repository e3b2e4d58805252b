using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Berth.Api.Models;
using Berth.Api.Services;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Tracking;

/// <summary>
/// A Service to its proxied ports (upstream servicechangetracker.go serviceToServiceMap and serviceport.go
/// newBaseServiceInfo). One proxy serves both IP families here, so nothing is filtered by family.
/// </summary>
internal static class ServicePortProjection
{
    public const string LoadBalancerAnnotation = "berth.io/load-balancer";
    public const string LoadBalancerSourceRangesAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges";
    public const string TrafficDistributionPreferClose = "PreferClose";

    /// <summary>Upstream DefaultClientIPServiceAffinitySeconds (3 hours).</summary>
    public const int DefaultClientIPTimeoutSeconds = 10800;

    /// <summary>The Service's proxied ports; empty for a Service that is not proxied. SCTP ports are reported to <paramref name="sctpSkipped"/>.</summary>
    public static ImmutableDictionary<ServicePortName, ServicePortInfo> ToServicePortMap(Service? service, Action<ServicePortName>? sctpSkipped = null)
    {
        // Upstream ShouldSkipService (clusterIP None or unset, ExternalName) plus the labels the informer filters on.
        if (service?.Spec is not { } spec || !ServiceRules.IsProxiedByBerth(service) || ServiceRules.IsHeadless(service))
        {
            return ImmutableDictionary<ServicePortName, ServicePortInfo>.Empty;
        }
        var clusterIPs = ClusterIPs(spec);
        if (clusterIPs.IsEmpty || spec.Ports is not { Count: > 0 } ports)
        {
            return ImmutableDictionary<ServicePortName, ServicePortInfo>.Empty;
        }

        var ns = service.Metadata?.Namespace ?? "";
        var name = service.Metadata?.Name ?? "";
        var annotations = service.Metadata?.Annotations;
        var externalIPs = ParseIPs(spec.ExternalIPs);
        var loadBalancerIPs = LoadBalancerVIPs(service.Status);
        var sourceRanges = SourceRanges(spec, annotations);
        var affinity = spec.SessionAffinity == "ClientIP"
            ? TimeSpan.FromSeconds(spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds ?? DefaultClientIPTimeoutSeconds)
            : (TimeSpan?)null;
        var internalLocal = spec.InternalTrafficPolicy == "Local";
        // apiservice.ExternalPolicyLocal: only an externally accessible Service has an external policy at all.
        var externalLocal = ServiceRules.ExternallyAccessible(spec) && spec.ExternalTrafficPolicy == "Local";
        var healthCheckNodePort = ServiceRules.NeedsHealthCheck(spec) ? spec.HealthCheckNodePort ?? 0 : 0;
        var algorithm = Algorithm(annotations);
        var usesTopology = ServiceRules.TopologyHintsRequested(annotations) || spec.TrafficDistribution == TrafficDistributionPreferClose;

        var map = ImmutableDictionary.CreateBuilder<ServicePortName, ServicePortInfo>();
        foreach (var port in ports)
        {
            var portName = new ServicePortName(ns, name, port.Name ?? "", Protocol(port.Protocol));
            if (portName.Protocol == TransportProtocol.Sctp)
            {
                sctpSkipped?.Invoke(portName);
                continue;
            }
            map[portName] = new ServicePortInfo
            {
                Name = portName,
                ClusterIPs = clusterIPs,
                Port = port.Port ?? 0,
                NodePort = port.NodePort ?? 0,
                ExternalIPs = externalIPs,
                LoadBalancerIPs = loadBalancerIPs,
                LoadBalancerSourceRanges = sourceRanges,
                AffinityTimeout = affinity,
                InternalPolicyLocal = internalLocal,
                ExternalPolicyLocal = externalLocal,
                HealthCheckNodePort = healthCheckNodePort,
                Algorithm = algorithm,
                UsesTopology = usesTopology,
            };
        }
        return map.ToImmutable();
    }

    public static TransportProtocol Protocol(string? protocol) => protocol switch
    {
        "UDP" => TransportProtocol.Udp,
        "SCTP" => TransportProtocol.Sctp,
        _ => TransportProtocol.Tcp,
    };

    public static BalancingAlgorithm Algorithm(IReadOnlyDictionary<string, string>? annotations) =>
        annotations?.GetValueOrDefault(LoadBalancerAnnotation) switch
        {
            "least-connections" => BalancingAlgorithm.LeastConnections,
            "random" => BalancingAlgorithm.Random,
            _ => BalancingAlgorithm.RoundRobin,
        };

    /// <summary>
    /// Parses a CIDR the way Go's ParseCIDRSloppy does: host bits set below the prefix are masked off rather than
    /// rejected (IPNetwork.TryParse refuses them).
    /// </summary>
    public static bool TryParseCidr(string text, out IPNetwork network)
    {
        network = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var address) ||
            !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var prefix))
        {
            return false;
        }
        var bytes = address.GetAddressBytes();
        if (prefix > bytes.Length * 8)
        {
            return false;
        }
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }
        network = new IPNetwork(new IPAddress(bytes), prefix);
        return true;
    }

    private static ImmutableArray<IPAddress> ClusterIPs(ServiceSpec spec)
    {
        if (spec.ClusterIPs is { Count: > 0 } clusterIPs)
        {
            return ParseIPs(clusterIPs);
        }
        return spec.ClusterIP is { } clusterIP ? ParseIPs([clusterIP]) : [];
    }

    private static ImmutableArray<IPAddress> ParseIPs(IReadOnlyList<string>? texts)
    {
        if (texts is null || texts.Count == 0)
        {
            return [];
        }
        var ips = ImmutableArray.CreateBuilder<IPAddress>(texts.Count);
        foreach (var text in texts)
        {
            if (TryParseIP(text, out var ip))
            {
                ips.Add(ip);
            }
        }
        return ips.DrainToImmutable();
    }

    /// <summary>Validation only admits plain IPv4 and IPv6 literals; anything else ("None", garbage) is not an address to serve.</summary>
    private static bool TryParseIP(string? text, out IPAddress ip)
    {
        ip = IPAddress.None;
        if (string.IsNullOrEmpty(text) || !IPAddress.TryParse(text, out var parsed) ||
            parsed.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            return false;
        }
        ip = parsed;
        return true;
    }

    /// <summary>status.loadBalancer.ingress IPs in VIP mode: ipMode Proxy means the load balancer delivers to the node itself (proxyutil.IsVIPMode).</summary>
    private static ImmutableArray<IPAddress> LoadBalancerVIPs(ServiceStatus? status)
    {
        if (status?.LoadBalancer?.Ingress is not { Count: > 0 } ingress)
        {
            return [];
        }
        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        foreach (var entry in ingress)
        {
            if (entry.IpMode != "Proxy" && TryParseIP(entry.Ip, out var ip))
            {
                ips.Add(ip);
            }
        }
        return ips.DrainToImmutable();
    }

    /// <summary>
    /// spec.loadBalancerSourceRanges, trimmed because validation lets whitespace through; when the field is empty,
    /// the older annotation (pkg/api/v1/service GetLoadBalancerSourceRanges: comma-separated). Invalid entries are skipped.
    /// </summary>
    private static ImmutableArray<IPNetwork> SourceRanges(ServiceSpec spec, IReadOnlyDictionary<string, string>? annotations)
    {
        IEnumerable<string> texts;
        if (spec.LoadBalancerSourceRanges is { Count: > 0 } field)
        {
            texts = field;
        }
        else if (annotations?.GetValueOrDefault(LoadBalancerSourceRangesAnnotation) is { } annotation && annotation.Trim().Length > 0)
        {
            texts = annotation.Split(',');
        }
        else
        {
            return [];
        }
        var ranges = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var text in texts)
        {
            if (TryParseCidr(text.Trim(), out var network))
            {
                ranges.Add(network);
            }
        }
        return ranges.DrainToImmutable();
    }
}
