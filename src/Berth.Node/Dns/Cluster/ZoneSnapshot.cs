using System.Diagnostics.CodeAnalysis;
using System.Net;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns.Cluster;

/// <summary>
/// An immutable view of the cluster zone, swapped atomically when something changes; lookups allocate nothing.
/// Semantics are CoreDNS's kubernetes plugin (plugin/kubernetes) with "pods verified" and reverse zones for
/// addresses it knows (others fall through to the forwarder).
/// </summary>
public sealed class ZoneSnapshot
{
    private readonly Dictionary<string, NameEntry> _names;
    private readonly Dictionary<string, NameEntry>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly IReadOnlyDictionary<IPAddress, string> _podNamespaces;
    private readonly DnsAnswer _nxDomain;
    private readonly DnsAnswer _noData;

    /// <summary>
    /// Takes ownership of <paramref name="names"/> and adds what depends on this snapshot: the apex (its SOA carries
    /// the serial) and ExternalName Services whose target is in the zone (their answers include the target's).
    /// </summary>
    internal ZoneSnapshot(
        string domain,
        uint ttl,
        uint serial,
        Dictionary<string, NameEntry> names,
        IEnumerable<KeyValuePair<string, string>> inZoneAliases,
        DnsAnswer nsAnswer,
        IReadOnlyDictionary<IPAddress, string> podNamespaces,
        int serviceCount)
    {
        Domain = domain;
        Serial = serial;
        ServiceCount = serviceCount;
        _podNamespaces = podNamespaces;

        // plugin/backend_lookup.go SOA: ns.dns.<zone> hostmaster.<zone>, refresh 7200, retry 1800, expire 86400,
        // minimum = the TTL; the record's own TTL is the TTL capped at 300.
        var soa = DnsRecord.Soa(domain, "ns.dns." + domain, "hostmaster." + domain, serial, 7200, 1800, 86400, ttl, Math.Min(300, ttl));
        _nxDomain = new DnsAnswer(DnsRcode.NXDomain, [], [soa], []);
        _noData = new DnsAnswer(DnsRcode.NoError, [], [soa], []);

        names[domain] = new ApexEntry(domain, soa, nsAnswer);
        foreach (var (name, target) in inZoneAliases)
        {
            names[name] = new AliasEntry(name, target, inZone: true, ttl);
        }
        _names = names;
        _lookup = names.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>A snapshot with nothing in it, for before the first build.</summary>
    public static ZoneSnapshot Empty(ZoneOptions options) => new ClusterZone(options).Snapshot();

    public string Domain { get; }

    /// <summary>The SOA serial: when the content last changed, in Unix seconds (CoreDNS Serial, from Modified).</summary>
    public uint Serial { get; }

    /// <summary>Number of Services, for logs and metrics.</summary>
    public int ServiceCount { get; }

    /// <summary>Number of names, for logs and tests.</summary>
    public int NameCount => _names.Count;

    /// <summary>
    /// The answer for <paramref name="name"/> (lower case, no trailing dot) and <paramref name="type"/> when this zone
    /// is authoritative for it: every name in the cluster domain, and PTR names (in-addr.arpa / ip6.arpa) of
    /// ClusterIPs and endpoint addresses it knows. False means "not ours": forward it.
    /// </summary>
    /// <remarks>
    /// Wildcard queries ("*" or "any" in a label) were deprecated by kubernetes/dns and removed from CoreDNS 1.9:
    /// such names are simply not in the zone, so they get NXDOMAIN. Other reverse names, and any type but PTR on a
    /// reverse name, are not ours (CoreDNS falls through with the default "fallthrough in-addr.arpa ip6.arpa").
    /// </remarks>
    public bool TryAnswer(ReadOnlySpan<char> name, DnsType type, [MaybeNullWhen(false)] out DnsAnswer answer)
    {
        if (ZoneNames.IsAtOrBelow(name, Domain))
        {
            answer = _lookup.TryGetValue(name, out var entry) ? entry.Answer(type, this) ?? _noData : _nxDomain;
            return true;
        }
        if (type == DnsType.PTR && ZoneNames.IsReverse(name) && _lookup.TryGetValue(name, out var reverse) && reverse.Answer(type, this) is { } ptr)
        {
            answer = ptr;
            return true;
        }
        answer = null;
        return false;
    }

    /// <summary>The namespace of the pod with this IP, if one is known (autopath uses it to find the pod's search path).</summary>
    public string? PodNamespace(IPAddress address) => _podNamespaces.GetValueOrDefault(address);

    internal NameEntry? Find(string name) => _names.GetValueOrDefault(name);
}
