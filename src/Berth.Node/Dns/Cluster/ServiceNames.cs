using System.Net;

namespace Berth.Node.Dns.Cluster;

/// <summary>
/// The names one Service publishes (CoreDNS kubernetes.go findServices, read name by name instead of query by
/// query), and the reverse names its addresses contribute. All of them end in &lt;svc&gt;.&lt;ns&gt;.svc.&lt;zone&gt;,
/// so no two Services ever share one.
/// </summary>
internal sealed class ServiceNames
{
    private ServiceNames(List<NameEntry> entries, List<(IPAddress Address, string Target, bool ClusterIP)> reverse, string? inZoneAlias)
    {
        Entries = entries;
        Reverse = reverse;
        InZoneAlias = inZoneAlias;
    }

    public List<NameEntry> Entries { get; }

    /// <summary>Address → name, with whether it is a ClusterIP (those take precedence in PTR answers).</summary>
    public List<(IPAddress Address, string Target, bool ClusterIP)> Reverse { get; }

    /// <summary>The Service's name when it is an ExternalName pointing into the zone: made per snapshot, not kept here.</summary>
    public string? InZoneAlias { get; }

    public static ServiceNames Build(ServiceProjection service, IEnumerable<SliceProjection> slices, string domain, uint ttl)
    {
        var entries = new List<NameEntry>();
        var reverse = new List<(IPAddress, string, bool)>();
        var fqdn = $"{service.Name}.{service.Namespace}.{ZoneNames.Svc}.{domain}";
        if (!ZoneNames.IsValidName(fqdn))
        {
            return new(entries, reverse, null);
        }

        if (service.Kind == ServiceKind.ExternalName)
        {
            // findServices: an ExternalName Service is its CNAME and nothing below it (no endpoints, no SRV names):
            // "endpoint.external.testns.svc.cluster.local" is NXDOMAIN (handler_test.go).
            if (service.ExternalName is not { } target)
            {
                return new(entries, reverse, null);
            }
            if (ZoneNames.IsAtOrBelow(target, domain))
            {
                return new(entries, reverse, fqdn);
            }
            entries.Add(new AliasEntry(fqdn, target, inZone: false, ttl));
            return new(entries, reverse, null);
        }

        // Every ready endpoint address × every port of its slice (object/endpoint.go expands subsets this way).
        var endpoints = new List<(ZoneRecord Record, PortProjection Port)>();
        foreach (var slice in slices)
        {
            foreach (var endpoint in slice.Endpoints)
            {
                var target = $"{endpoint.Label}.{fqdn}";
                if (!ZoneNames.IsValidName(target))
                {
                    continue;
                }
                reverse.Add((endpoint.Address, target, false));
                foreach (var port in slice.Ports)
                {
                    endpoints.Add((new ZoneRecord(endpoint.Address, port.Port, target), port));
                }
            }
        }

        if (service.Kind == ServiceKind.ClusterIP)
        {
            foreach (var ip in service.ClusterIPs)
            {
                reverse.Add((ip, fqdn, true));
            }
            // The Service name exists when it has a port: findServices finds nothing for a port-less ClusterIP Service.
            if (service.Ports.Length > 0)
            {
                entries.Add(new AddressEntry(fqdn, ClusterIPRecords(service, fqdn, null), ttl));
            }
            foreach (var port in NamedPorts(service.Ports))
            {
                entries.Add(new AddressEntry(PortName(port, fqdn), ClusterIPRecords(service, fqdn, port), ttl));
            }
        }
        else
        {
            // A headless Service with no ready endpoint is NXDOMAIN (findServices returns errNoItems).
            if (endpoints.Count > 0)
            {
                entries.Add(new AddressEntry(fqdn, EndpointRecords(endpoints, null, null), ttl));
            }
            var ports = new List<PortProjection>(endpoints.Count);
            foreach (var (_, port) in endpoints)
            {
                ports.Add(port);
            }
            foreach (var port in NamedPorts(ports))
            {
                entries.Add(new AddressEntry(PortName(port, fqdn), EndpointRecords(endpoints, port, null), ttl));
            }
        }

        // Endpoint names, for ClusterIP Services too (findServices: "Endpoint query or headless service"); endpoints
        // sharing a hostname share the name ("dup-name" in handler_test.go).
        string? previous = null;
        HashSet<string>? seen = null;
        foreach (var (record, _) in endpoints)
        {
            if (ReferenceEquals(record.Target, previous))
            {
                continue;
            }
            previous = record.Target;
            if ((seen ??= new HashSet<string>(StringComparer.Ordinal)).Add(record.Target))
            {
                entries.Add(new AddressEntry(record.Target, EndpointRecords(endpoints, null, record.Target), ttl));
            }
        }
        return new(entries, reverse, null);
    }

    /// <summary>Distinct named ports: only those have _port._proto names (unnamed ports have no SRV name, spec 2.4.1).</summary>
    private static List<PortProjection> NamedPorts(IReadOnlyList<PortProjection> ports)
    {
        var named = new List<PortProjection>(ports.Count);
        foreach (var port in ports)
        {
            if (port.Name.Length > 0 && !named.Exists(p => Matches(p, port)))
            {
                named.Add(port);
            }
        }
        return named;
    }

    private static bool Matches(PortProjection port, PortProjection named) => port.Name == named.Name && port.Protocol == named.Protocol;

    private static string PortName(PortProjection port, string fqdn) => $"_{port.Name}._{port.Protocol}.{fqdn}";

    /// <summary>findServices, ClusterIP branch: one record per matching port and ClusterIP, all named after the Service.</summary>
    private static ZoneRecord[] ClusterIPRecords(ServiceProjection service, string fqdn, PortProjection? named)
    {
        var records = new List<ZoneRecord>(service.Ports.Length * service.ClusterIPs.Length);
        foreach (var port in service.Ports)
        {
            if (named is { } n && !Matches(port, n))
            {
                continue;
            }
            foreach (var ip in service.ClusterIPs)
            {
                records.Add(new ZoneRecord(ip, port.Port, fqdn));
            }
        }
        return [.. records];
    }

    /// <summary>findServices, endpoint branch: the endpoint records matching a port name and an endpoint name (null: any).</summary>
    private static ZoneRecord[] EndpointRecords(List<(ZoneRecord Record, PortProjection Port)> endpoints, PortProjection? named, string? target)
    {
        var records = new List<ZoneRecord>(endpoints.Count);
        foreach (var (record, port) in endpoints)
        {
            if ((named is not { } n || Matches(port, n)) && (target is null || record.Target == target))
            {
                records.Add(record);
            }
        }
        return [.. records];
    }
}
