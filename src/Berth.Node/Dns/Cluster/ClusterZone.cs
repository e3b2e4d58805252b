using System.Net;
using Berth.Api.Models;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns.Cluster;

/// <summary>
/// The cluster zone's state: stripped projections of Services, EndpointSlices and Pods (only what DNS answers
/// from), updated from informer events on one thread at a time, and turned into an immutable
/// <see cref="ZoneSnapshot"/> on demand. Not thread-safe: the caller serializes Apply/Delete/Snapshot.
/// </summary>
/// <remarks>
/// Apply/Delete only record projections and what they touched; <see cref="Snapshot"/> rebuilds the names of the
/// Services, namespaces, pods and reverse addresses touched since the last one in a master table of names, and
/// hands out a copy of it. Entries are immutable and shared by consecutive snapshots, so their answers (encoded on
/// first use) survive until their Service changes.
/// </remarks>
public sealed class ClusterZone
{
    private readonly string _domain;
    private readonly uint _ttl;
    private readonly TimeProvider _time;
    private readonly DnsAnswer _nsAnswer;

    // Projections, keyed "namespace/name".
    private readonly Dictionary<string, ServiceProjection> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SliceProjection> _slices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _slicesByService = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodProjection> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _namespaceRefs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodName> _podNames = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddress, List<string>> _podIPs = [];

    // Touched since the last snapshot.
    private readonly HashSet<string> _dirtyServices = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyNamespaces = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyPodNames = new(StringComparer.Ordinal);
    private readonly HashSet<IPAddress> _dirtyReverse = [];
    private bool _podsChanged = true;

    // What the last snapshot was made of.
    private readonly Dictionary<string, NameEntry> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceNames> _built = new(StringComparer.Ordinal);
    /// <summary>Address → the names it maps back to (a multiset: one entry per contribution), ClusterIPs marked.</summary>
    private readonly Dictionary<IPAddress, List<(string Target, bool ClusterIP)>> _reverse = [];
    private readonly Dictionary<string, string> _inZoneAliases = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<IPAddress, string> _podNamespaces = new Dictionary<IPAddress, string>();
    private ZoneSnapshot? _last;
    private uint _serial;

    public ClusterZone(ZoneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _domain = ZoneNames.Normalize(options.Domain);
        _ttl = options.Ttl;
        _time = options.Time;

        // Names that are always there (CoreDNS parse.go answers NODATA for svc.<zone> and pod.<zone>; kubernetes.go
        // answers dns-version TXT and ns.dns.<zone> with its own addresses).
        var nameServer = "ns.dns." + _domain;
        _names["svc." + _domain] = new EmptyEntry("svc." + _domain);
        _names["pod." + _domain] = new EmptyEntry("pod." + _domain);
        _names["dns." + _domain] = new EmptyEntry("dns." + _domain);
        _names["dns-version." + _domain] = new FixedEntry("dns-version." + _domain, DnsType.TXT,
            new DnsAnswer(DnsRcode.NoError, [DnsRecord.Txt("dns-version." + _domain, [ZoneNames.SchemaVersion], ZoneNames.SchemaVersionTtl)], [], []));
        _names[nameServer] = new AddressEntry(nameServer, [.. options.NameServers.Select(a => new ZoneRecord(a, PortProjection.None, nameServer))], _ttl);

        // The NS RDATA is a bare name, as PTR's is.
        var ns = new DnsRecord(_domain, DnsType.NS, _ttl, DnsRecord.Ptr(_domain, nameServer, _ttl).Data);
        _nsAnswer = new DnsAnswer(DnsRcode.NoError, [ns], [], [.. options.NameServers.Distinct().Select(a => DnsRecord.Address(nameServer, a, _ttl))]);
    }

    /// <summary>True when the projection differs from the last snapshot taken.</summary>
    public bool Changed =>
        _last is null || _podsChanged || _dirtyServices.Count > 0 || _dirtyNamespaces.Count > 0 || _dirtyPodNames.Count > 0 || _dirtyReverse.Count > 0;

    /// <summary>Returns true when anything DNS answers from changed.</summary>
    public bool ApplyService(Service service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (Key(service.Metadata) is not { } key)
        {
            return false;
        }
        if (ServiceProjection.From(service) is not { } projection)
        {
            return RemoveService(key);
        }
        if (_services.TryGetValue(key, out var old))
        {
            if (projection.SameAs(old))
            {
                return false;
            }
        }
        else
        {
            Reference(projection.Namespace, 1);
        }
        _services[key] = projection;
        _dirtyServices.Add(key);
        return true;
    }

    public bool DeleteService(Service service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return Key(service.Metadata) is { } key && RemoveService(key);
    }

    public bool ApplySlice(EndpointSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        if (Key(slice.Metadata) is not { } key)
        {
            return false;
        }
        var projection = SliceProjection.From(slice);
        _slices.TryGetValue(key, out var old);
        if (projection is null)
        {
            return RemoveSlice(key);
        }
        if (projection.SameAs(old))
        {
            return false;
        }
        RemoveSlice(key);
        _slices[key] = projection;
        if (projection.ServiceName is not { } serviceName)
        {
            return old?.ServiceName is not null;
        }
        var serviceKey = projection.Namespace + "/" + serviceName;
        if (!_slicesByService.TryGetValue(serviceKey, out var set))
        {
            _slicesByService[serviceKey] = set = new SortedSet<string>(StringComparer.Ordinal);
        }
        set.Add(key);
        _dirtyServices.Add(serviceKey);
        return true;
    }

    public bool DeleteSlice(EndpointSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        return Key(slice.Metadata) is { } key && RemoveSlice(key);
    }

    public bool ApplyPod(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (Key(pod.Metadata) is not { } key)
        {
            return false;
        }
        var projection = PodProjection.From(pod);
        _pods.TryGetValue(key, out var old);
        if (projection is null)
        {
            return RemovePod(key);
        }
        if (projection.SameAs(old))
        {
            return false;
        }
        RemovePod(key);
        _pods[key] = projection;
        Reference(projection.Namespace, 1);
        foreach (var address in projection.Addresses)
        {
            var name = PodNameOf(projection.Namespace, address);
            if (!_podNames.TryGetValue(name, out var entry))
            {
                _podNames[name] = entry = new PodName(address);
            }
            entry.Count++;
            _dirtyPodNames.Add(name);
            if (!_podIPs.TryGetValue(address, out var namespaces))
            {
                _podIPs[address] = namespaces = [];
            }
            namespaces.Add(projection.Namespace);
        }
        _podsChanged = true;
        return true;
    }

    public bool DeletePod(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return Key(pod.Metadata) is { } key && RemovePod(key);
    }

    /// <summary>Builds the snapshot of everything applied so far (cheap when little changed).</summary>
    public ZoneSnapshot Snapshot()
    {
        if (_last is not null && !Changed)
        {
            return _last;
        }

        foreach (var key in _dirtyServices)
        {
            RebuildService(key);
        }
        _dirtyServices.Clear();

        foreach (var ns in _dirtyNamespaces)
        {
            // parse.go/findServices: <ns>.svc.<zone> is NODATA for a namespace that exists, NXDOMAIN otherwise. DNS
            // sees no Namespaces, so one exists here while it holds a Service or a pod.
            var exists = _namespaceRefs.ContainsKey(ns);
            SetOrRemove($"{ns}.{ZoneNames.Svc}.{_domain}", exists);
            SetOrRemove($"{ns}.{ZoneNames.Pod}.{_domain}", exists);
        }
        _dirtyNamespaces.Clear();

        foreach (var name in _dirtyPodNames)
        {
            // kubernetes.go findPods, "verified" mode: a-b-c-d.<ns>.pod.<zone> exists while a pod in <ns> has that IP.
            if (_podNames.TryGetValue(name, out var pod) && pod.Count > 0)
            {
                _names[name] = new AddressEntry(name, [new ZoneRecord(pod.Address, 0, name)], _ttl);
            }
            else
            {
                _podNames.Remove(name);
                _names.Remove(name);
            }
        }
        _dirtyPodNames.Clear();

        foreach (var address in _dirtyReverse)
        {
            RebuildReverse(address);
        }
        _dirtyReverse.Clear();

        if (_podsChanged)
        {
            var podNamespaces = new Dictionary<IPAddress, string>(_podIPs.Count);
            foreach (var (address, namespaces) in _podIPs)
            {
                podNamespaces[address] = namespaces[0];
            }
            _podNamespaces = podNamespaces;
            _podsChanged = false;
        }

        var now = (uint)Math.Clamp(_time.GetUtcNow().ToUnixTimeSeconds(), 0, uint.MaxValue);
        _serial = now > _serial ? now : _serial + 1;
        _last = new ZoneSnapshot(_domain, _ttl, _serial, new Dictionary<string, NameEntry>(_names, StringComparer.Ordinal),
            _inZoneAliases, _nsAnswer, _podNamespaces, _services.Count);
        return _last;
    }

    private static string? Key(ObjectMeta? metadata) =>
        metadata is { Name: { Length: > 0 } name, Namespace: { Length: > 0 } ns } ? $"{ns.ToLowerInvariant()}/{name.ToLowerInvariant()}" : null;

    private string PodNameOf(string ns, IPAddress address) => $"{ZoneNames.Dashed(address)}.{ns}.{ZoneNames.Pod}.{_domain}";

    private bool RemoveService(string key)
    {
        if (!_services.Remove(key, out var old))
        {
            return false;
        }
        Reference(old.Namespace, -1);
        _dirtyServices.Add(key);
        return true;
    }

    private bool RemoveSlice(string key)
    {
        if (!_slices.Remove(key, out var old))
        {
            return false;
        }
        if (old.ServiceName is not { } serviceName)
        {
            return false;
        }
        var serviceKey = old.Namespace + "/" + serviceName;
        if (_slicesByService.TryGetValue(serviceKey, out var set) && set.Remove(key) && set.Count == 0)
        {
            _slicesByService.Remove(serviceKey);
        }
        _dirtyServices.Add(serviceKey);
        return true;
    }

    private bool RemovePod(string key)
    {
        if (!_pods.Remove(key, out var old))
        {
            return false;
        }
        Reference(old.Namespace, -1);
        foreach (var address in old.Addresses)
        {
            var name = PodNameOf(old.Namespace, address);
            if (_podNames.TryGetValue(name, out var entry))
            {
                entry.Count--;
                _dirtyPodNames.Add(name);
            }
            if (_podIPs.TryGetValue(address, out var namespaces) && namespaces.Remove(old.Namespace) && namespaces.Count == 0)
            {
                _podIPs.Remove(address);
            }
        }
        _podsChanged = true;
        return true;
    }

    private void Reference(string ns, int delta)
    {
        var count = _namespaceRefs.GetValueOrDefault(ns) + delta;
        if (count > 0)
        {
            _namespaceRefs[ns] = count;
        }
        else
        {
            _namespaceRefs.Remove(ns);
        }
        _dirtyNamespaces.Add(ns);
    }

    private void SetOrRemove(string name, bool exists)
    {
        if (exists)
        {
            _names.TryAdd(name, new EmptyEntry(name));
        }
        else
        {
            _names.Remove(name);
        }
    }

    private void RebuildService(string key)
    {
        if (_built.Remove(key, out var old))
        {
            foreach (var entry in old.Entries)
            {
                // Only this Service's entry: never take out a name something else owns now.
                if (_names.TryGetValue(entry.Name, out var current) && ReferenceEquals(current, entry))
                {
                    _names.Remove(entry.Name);
                }
            }
            foreach (var (address, target, clusterIP) in old.Reverse)
            {
                if (_reverse.TryGetValue(address, out var owners))
                {
                    owners.Remove((target, clusterIP));
                    _dirtyReverse.Add(address);
                }
            }
            if (old.InZoneAlias is { } alias)
            {
                _inZoneAliases.Remove(alias);
            }
        }
        if (!_services.TryGetValue(key, out var service))
        {
            return;
        }

        var built = ServiceNames.Build(service, Slices(key), _domain, _ttl);
        foreach (var entry in built.Entries)
        {
            _names[entry.Name] = entry;
        }
        foreach (var (address, target, clusterIP) in built.Reverse)
        {
            if (!_reverse.TryGetValue(address, out var owners))
            {
                _reverse[address] = owners = [];
            }
            owners.Add((target, clusterIP));
            _dirtyReverse.Add(address);
        }
        if (built.InZoneAlias is { } name)
        {
            _inZoneAliases[name] = service.ExternalName!;
        }
        _built[key] = built;
    }

    private IEnumerable<SliceProjection> Slices(string serviceKey) =>
        _slicesByService.TryGetValue(serviceKey, out var keys) ? keys.Select(k => _slices[k]) : [];

    private void RebuildReverse(IPAddress address)
    {
        var name = ZoneNames.Reverse(address);
        if (!_reverse.TryGetValue(address, out var owners) || owners.Count == 0)
        {
            _reverse.Remove(address);
            _names.Remove(name);
            return;
        }
        _names[name] = new PointerEntry(name, Targets(owners), _ttl);
    }

    /// <summary>
    /// reverse.go serviceRecordForIP: a ClusterIP answers with its Service alone; otherwise every endpoint with that
    /// address answers, one PTR per Service it backs. Sorted, so the answer is the same on every build.
    /// </summary>
    private static string[] Targets(List<(string Target, bool ClusterIP)> owners)
    {
        string? service = null;
        foreach (var (target, clusterIP) in owners)
        {
            if (clusterIP && (service is null || string.CompareOrdinal(target, service) < 0))
            {
                service = target;
            }
        }
        if (service is not null)
        {
            return [service];
        }
        if (owners.Count == 1)
        {
            return [owners[0].Target];
        }
        var targets = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (target, _) in owners)
        {
            targets.Add(target);
        }
        return [.. targets];
    }

    /// <summary>How many pods in one namespace have one address (normally one; two while a pod is replaced).</summary>
    private sealed class PodName(IPAddress address)
    {
        public IPAddress Address { get; } = address;

        public int Count { get; set; }
    }
}
