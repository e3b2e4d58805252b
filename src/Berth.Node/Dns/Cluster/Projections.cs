using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Berth.Api.Models;
using Berth.Api.Services;

namespace Berth.Node.Dns.Cluster;

internal enum ServiceKind
{
    ClusterIP,
    Headless,
    ExternalName,
}

/// <summary>A port as DNS names it: lower-case name and protocol ("http", "tcp"); -1 stands for "no port" (CoreDNS's sentinel).</summary>
internal readonly record struct PortProjection(string Name, string Protocol, int Port)
{
    public const int None = -1;

    public static PortProjection Of(string? name, string? protocol, int? port) =>
        new((name ?? "").ToLowerInvariant(), (protocol ?? "TCP").ToLowerInvariant(), port ?? None);
}

/// <summary>
/// What DNS keeps of a Service (CoreDNS object/service.go keeps a stripped copy too): the kind, and only the fields
/// that kind answers from, so a change to anything else compares equal and rebuilds nothing.
/// </summary>
internal sealed class ServiceProjection
{
    private ServiceProjection(string ns, string name, ServiceKind kind, ImmutableArray<IPAddress> clusterIPs, ImmutableArray<PortProjection> ports, string? externalName)
    {
        Namespace = ns;
        Name = name;
        Kind = kind;
        ClusterIPs = clusterIPs;
        Ports = ports;
        ExternalName = externalName;
    }

    public string Namespace { get; }

    public string Name { get; }

    public ServiceKind Kind { get; }

    /// <summary>ClusterIP Services only: their addresses, in spec.clusterIPs order.</summary>
    public ImmutableArray<IPAddress> ClusterIPs { get; }

    /// <summary>ClusterIP Services only (a headless Service's SRV records come from its endpoints' ports).</summary>
    public ImmutableArray<PortProjection> Ports { get; }

    /// <summary>ExternalName Services: the target, normalized; null when it is an address (CoreDNS answers nothing for it) or no valid name.</summary>
    public string? ExternalName { get; }

    public static ServiceProjection? From(Service service)
    {
        if (service.Metadata is not { Name: { Length: > 0 } name, Namespace: { Length: > 0 } ns } || service.Spec is not { } spec)
        {
            return null;
        }
        ns = ns.ToLowerInvariant();
        name = name.ToLowerInvariant();
        if (spec.Type == ServiceRules.TypeExternalName)
        {
            var target = spec.ExternalName is { } text ? ZoneNames.Normalize(text) : null;
            // kubernetes.go findServices: an ExternalName that parses as an IP is no CNAME target, and nothing answers.
            if (target is not null && (IPAddress.TryParse(target, out _) || !ZoneNames.IsValidName(target)))
            {
                target = null;
            }
            return new(ns, name, ServiceKind.ExternalName, [], [], target);
        }
        if (ServiceRules.IsHeadless(service))
        {
            return new(ns, name, ServiceKind.Headless, [], [], null);
        }

        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        foreach (var text in spec.ClusterIPs is { Count: > 0 } list ? list : spec.ClusterIP is { } single ? [single] : [])
        {
            if (IPAddress.TryParse(text, out var ip) && !ips.Contains(ip))
            {
                ips.Add(ip);
            }
        }
        var ports = ImmutableArray.CreateBuilder<PortProjection>();
        foreach (var port in spec.Ports ?? [])
        {
            ports.Add(PortProjection.Of(port.Name, port.Protocol, port.Port));
        }
        return new(ns, name, ServiceKind.ClusterIP, ips.ToImmutable(), ports.ToImmutable(), null);
    }

    public bool SameAs(ServiceProjection? other) =>
        other is not null && Namespace == other.Namespace && Name == other.Name && Kind == other.Kind &&
        ExternalName == other.ExternalName && ClusterIPs.SequenceEqual(other.ClusterIPs) && Ports.SequenceEqual(other.Ports);
}

/// <summary>One ready address of an endpoint and the label it is published under below its Service.</summary>
internal sealed record EndpointProjection(string Label, IPAddress Address);

/// <summary>
/// What DNS keeps of an EndpointSlice (CoreDNS object/endpoint.go EndpointSliceToEndpoints): its Service, its ports,
/// and the addresses of ready endpoints only. Ready nil counts as ready; the EndpointSlice controller marks every
/// endpoint ready for a Service with publishNotReadyAddresses, so that needs nothing here.
/// </summary>
internal sealed class SliceProjection
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    private SliceProjection(string ns, string? serviceName, ImmutableArray<PortProjection> ports, ImmutableArray<EndpointProjection> endpoints)
    {
        Namespace = ns;
        ServiceName = serviceName;
        Ports = ports;
        Endpoints = endpoints;
    }

    public string Namespace { get; }

    /// <summary>From the kubernetes.io/service-name label; null for a slice that belongs to no Service.</summary>
    public string? ServiceName { get; }

    /// <summary>The slice's ports; one <see cref="PortProjection.None"/> when it has none (CoreDNS's sentinel).</summary>
    public ImmutableArray<PortProjection> Ports { get; }

    public ImmutableArray<EndpointProjection> Endpoints { get; }

    public static SliceProjection? From(EndpointSlice slice)
    {
        if (slice.Metadata is not { Name: { Length: > 0 }, Namespace: { Length: > 0 } ns })
        {
            return null;
        }
        var serviceName = slice.Metadata.Labels?.GetValueOrDefault(ServiceNameLabel) is { Length: > 0 } label ? label.ToLowerInvariant() : null;
        var family = slice.AddressType switch
        {
            "IPv4" => AddressFamily.InterNetwork,
            "IPv6" => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown, // FQDN slices have no addresses to answer with
        };

        var ports = ImmutableArray.CreateBuilder<PortProjection>();
        foreach (var port in slice.Ports ?? [])
        {
            ports.Add(PortProjection.Of(port.Name, port.Protocol, port.Port));
        }
        if (ports.Count == 0)
        {
            ports.Add(new PortProjection("", "", PortProjection.None));
        }

        var endpoints = ImmutableArray.CreateBuilder<EndpointProjection>();
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            if (endpoint.Conditions?.Ready == false || family == AddressFamily.Unknown)
            {
                continue;
            }
            var hostname = endpoint.Hostname is { Length: > 0 } h && ZoneNames.IsValidName(h) && !h.Contains('.', StringComparison.Ordinal) ? h : null;
            foreach (var text in endpoint.Addresses ?? [])
            {
                if (IPAddress.TryParse(text, out var address) && address.AddressFamily == family)
                {
                    endpoints.Add(new EndpointProjection(ZoneNames.EndpointLabel(hostname, address), address));
                }
            }
        }
        return new(ns.ToLowerInvariant(), serviceName, ports.ToImmutable(), endpoints.ToImmutable());
    }

    public bool SameAs(SliceProjection? other) =>
        other is not null && Namespace == other.Namespace && ServiceName == other.ServiceName &&
        Ports.SequenceEqual(other.Ports) && Endpoints.SequenceEqual(other.Endpoints);
}

/// <summary>
/// What DNS keeps of a Pod: its namespace and addresses, for "pods verified" names and for autopath. Pods on the
/// host network share the node's address, and finished pods have given theirs back: neither is kept.
/// </summary>
internal sealed class PodProjection
{
    private PodProjection(string ns, ImmutableArray<IPAddress> addresses)
    {
        Namespace = ns;
        Addresses = addresses;
    }

    public string Namespace { get; }

    public ImmutableArray<IPAddress> Addresses { get; }

    public static PodProjection? From(Pod pod)
    {
        if (pod.Metadata is not { Name: { Length: > 0 }, Namespace: { Length: > 0 } ns } || pod.Spec?.HostNetwork == true ||
            pod.Status?.Phase is "Succeeded" or "Failed")
        {
            return null;
        }
        var addresses = ImmutableArray.CreateBuilder<IPAddress>();
        IEnumerable<string?> texts = pod.Status?.PodIPs is { Count: > 0 } list ? list.Select(p => p.Ip) : [pod.Status?.PodIP];
        foreach (var text in texts)
        {
            if (text is not null && IPAddress.TryParse(text, out var address) && !addresses.Contains(address))
            {
                addresses.Add(address);
            }
        }
        return addresses.Count == 0 ? null : new(ns.ToLowerInvariant(), addresses.ToImmutable());
    }

    public bool SameAs(PodProjection? other) =>
        other is not null && Namespace == other.Namespace && Addresses.SequenceEqual(other.Addresses);
}
