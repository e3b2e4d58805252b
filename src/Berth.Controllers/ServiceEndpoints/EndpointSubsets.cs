using Berth.Api.Models;

namespace Berth.Controllers.ServiceEndpoints;

/// <summary>
/// Upstream pkg/api/v1/endpoints/util.go: the canonical layout of an Endpoints' subsets, so that two computations of
/// the same endpoints compare equal and an unchanged Service causes no write.
/// </summary>
public static class EndpointSubsets
{
    // Upstream maps the addresses of a subset without ports under this port, so a headless Service without ports
    // keeps its addresses; it never appears in the result.
    private const int NoPort = -1;

    /// <summary>
    /// RepackSubsets: expands the subsets to (address, port, ready) triples and packs them again, one subset per set
    /// of addresses that offer the same ports. Addresses are the same when IP and targetRef UID are; the first one
    /// seen is kept. An address not ready on a port in one subset is not ready on it, even if ready in another.
    /// Returns a new, sorted list; the input is not modified.
    /// </summary>
    public static List<EndpointSubset> Repack(IEnumerable<EndpointSubset> subsets)
    {
        ArgumentNullException.ThrowIfNull(subsets);
        var allAddresses = new Dictionary<(string Ip, string Uid), EndpointAddress>();
        var byPort = new Dictionary<PortKey, (EndpointPort Port, Dictionary<EndpointAddress, bool> Addresses)>();
        foreach (var subset in subsets)
        {
            if (subset.Ports is not { Count: > 0 } ports)
            {
                MapAddressesByPort(subset, new EndpointPort { Port = NoPort }, allAddresses, byPort);
                continue;
            }
            foreach (var port in ports)
            {
                MapAddressesByPort(subset, port, allAddresses, byPort);
            }
        }

        // Upstream keys each set of addresses by a hash of its sorted (address, ready) pairs; the ports offered by
        // the same set end up in one subset.
        var bySet = new Dictionary<string, (Dictionary<EndpointAddress, bool> Addresses, List<EndpointPort>? Ports)>(StringComparer.Ordinal);
        foreach (var (port, addresses) in byPort.Values)
        {
            var key = SetKey(addresses);
            var found = bySet.TryGetValue(key, out var entry);
            if (port.Port > 0)
            {
                var ports = entry.Ports ?? [];
                ports.Add(port);
                bySet[key] = (addresses, ports);
            }
            else if (!found)
            {
                bySet[key] = (addresses, null);
            }
        }

        var final = new List<EndpointSubset>(bySet.Count);
        foreach (var (addresses, ports) in bySet.Values)
        {
            List<EndpointAddress>? ready = null;
            List<EndpointAddress>? notReady = null;
            foreach (var (address, isReady) in addresses)
            {
                if (isReady)
                {
                    (ready ??= []).Add(Copy(address));
                }
                else
                {
                    (notReady ??= []).Add(Copy(address));
                }
            }
            final.Add(new EndpointSubset { Addresses = ready, NotReadyAddresses = notReady, Ports = ports });
        }
        return Sort(final);
    }

    /// <summary>
    /// SortSubsets: sorts each subset's addresses (by IP, then targetRef UID) and ports, then the subsets, in place;
    /// returns <paramref name="subsets"/>. Upstream orders ports and subsets by an MD5 of Go's printed form, which
    /// only needs to be some fixed order; this one compares the fields.
    /// </summary>
    public static List<EndpointSubset> Sort(List<EndpointSubset> subsets)
    {
        ArgumentNullException.ThrowIfNull(subsets);
        foreach (var subset in subsets)
        {
            subset.Addresses?.Sort(CompareAddresses);
            subset.NotReadyAddresses?.Sort(CompareAddresses);
            subset.Ports?.Sort(ComparePorts);
        }
        subsets.Sort(CompareSubsets);
        return subsets;
    }

    /// <summary>LessEndpointAddress as a comparison: IP bytes, then an address without targetRef first, then UID.</summary>
    public static int CompareAddresses(EndpointAddress a, EndpointAddress b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var ip = string.CompareOrdinal(a.Ip ?? "", b.Ip ?? "");
        if (ip != 0)
        {
            return ip;
        }
        return (a.TargetRef, b.TargetRef) switch
        {
            (null, null) => 0,
            (null, _) => -1,
            (_, null) => 1,
            var (x, y) => string.CompareOrdinal(x.Uid ?? "", y.Uid ?? ""),
        };
    }

    /// <summary>
    /// Upstream endpointSubsetsEqualIgnoreResourceVersion: semantic equality (a missing list equals an empty one)
    /// that ignores the targetRefs' resourceVersion, so a pod update that changes nothing else writes nothing.
    /// </summary>
    public static bool EqualIgnoreResourceVersion(IReadOnlyList<EndpointSubset>? a, IReadOnlyList<EndpointSubset>? b) =>
        ListEqual(a, b, static (x, y) =>
            ListEqual(x.Addresses, y.Addresses, AddressEqual)
            && ListEqual(x.NotReadyAddresses, y.NotReadyAddresses, AddressEqual)
            && ListEqual(x.Ports, y.Ports, static (p, q) => PortKey.Of(p) == PortKey.Of(q)));

    private static void MapAddressesByPort(EndpointSubset subset, EndpointPort port,
        Dictionary<(string Ip, string Uid), EndpointAddress> allAddresses,
        Dictionary<PortKey, (EndpointPort Port, Dictionary<EndpointAddress, bool> Addresses)> byPort)
    {
        foreach (var address in subset.Addresses ?? [])
        {
            MapAddressByPort(address, port, ready: true, allAddresses, byPort);
        }
        foreach (var address in subset.NotReadyAddresses ?? [])
        {
            MapAddressByPort(address, port, ready: false, allAddresses, byPort);
        }
    }

    private static void MapAddressByPort(EndpointAddress address, EndpointPort port, bool ready,
        Dictionary<(string Ip, string Uid), EndpointAddress> allAddresses,
        Dictionary<PortKey, (EndpointPort Port, Dictionary<EndpointAddress, bool> Addresses)> byPort)
    {
        // Two pods may share an IP (host network): the UID tells them apart.
        var key = (address.Ip ?? "", address.TargetRef?.Uid ?? "");
        if (!allAddresses.TryGetValue(key, out var existing))
        {
            existing = Copy(address);
            allAddresses.Add(key, existing);
        }
        var portKey = PortKey.Of(port);
        if (!byPort.TryGetValue(portKey, out var entry))
        {
            entry = (port, new Dictionary<EndpointAddress, bool>(ReferenceEqualityComparer.Instance));
            byPort.Add(portKey, entry);
        }
        // Not ready always trumps ready.
        if (!entry.Addresses.TryGetValue(existing, out var wasReady) || wasReady)
        {
            entry.Addresses[existing] = ready;
        }
    }

    private static string SetKey(Dictionary<EndpointAddress, bool> addresses)
    {
        var sorted = addresses.ToList();
        sorted.Sort((x, y) => CompareAddresses(x.Key, y.Key));
        return string.Join('\n', sorted.Select(e => $"{e.Key.Ip}\0{e.Key.TargetRef?.Uid}\0{e.Value}"));
    }

    private static EndpointAddress Copy(EndpointAddress address) => new()
    {
        Ip = address.Ip,
        Hostname = address.Hostname,
        NodeName = address.NodeName,
        TargetRef = address.TargetRef,
    };

    private static int ComparePorts(EndpointPort a, EndpointPort b)
    {
        var (x, y) = (PortKey.Of(a), PortKey.Of(b));
        var c = x.Port.CompareTo(y.Port);
        if (c == 0)
        {
            c = string.CompareOrdinal(x.Name, y.Name);
        }
        if (c == 0)
        {
            c = string.CompareOrdinal(x.Protocol, y.Protocol);
        }
        return c != 0 ? c : string.CompareOrdinal(x.AppProtocol, y.AppProtocol);
    }

    private static int CompareSubsets(EndpointSubset a, EndpointSubset b)
    {
        var c = CompareLists(a.Addresses, b.Addresses, CompareAddresses);
        if (c == 0)
        {
            c = CompareLists(a.NotReadyAddresses, b.NotReadyAddresses, CompareAddresses);
        }
        return c != 0 ? c : CompareLists(a.Ports, b.Ports, ComparePorts);
    }

    private static int CompareLists<T>(List<T>? a, List<T>? b, Comparison<T> compare)
    {
        var (x, y) = (a ?? [], b ?? []);
        for (var i = 0; i < Math.Min(x.Count, y.Count); i++)
        {
            var c = compare(x[i], y[i]);
            if (c != 0)
            {
                return c;
            }
        }
        return x.Count.CompareTo(y.Count);
    }

    private static bool ListEqual<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b, Func<T, T, bool> equal)
    {
        var (x, y) = (a ?? [], b ?? []);
        if (x.Count != y.Count)
        {
            return false;
        }
        for (var i = 0; i < x.Count; i++)
        {
            if (!equal(x[i], y[i]))
            {
                return false;
            }
        }
        return true;
    }

    // Go compares strings, where a missing value is "", so null and "" are the same here.
    private static bool AddressEqual(EndpointAddress a, EndpointAddress b) =>
        Same(a.Ip, b.Ip) && Same(a.Hostname, b.Hostname) && Same(a.NodeName, b.NodeName)
        && (a.TargetRef, b.TargetRef) switch
        {
            (null, null) => true,
            (null, _) or (_, null) => false,
            var (x, y) => Same(x.Kind, y.Kind) && Same(x.Namespace, y.Namespace) && Same(x.Name, y.Name) && Same(x.Uid, y.Uid)
                && Same(x.ApiVersion, y.ApiVersion) && Same(x.FieldPath, y.FieldPath),
        };

    private static bool Same(string? a, string? b) => string.Equals(a ?? "", b ?? "", StringComparison.Ordinal);

    /// <summary>An EndpointPort's value (Go uses the struct itself as a map key).</summary>
    private readonly record struct PortKey(string Name, int Port, string Protocol, string AppProtocol)
    {
        public static PortKey Of(EndpointPort port) => new(port.Name ?? "", port.Port ?? 0, port.Protocol ?? "", port.AppProtocol ?? "");
    }
}
