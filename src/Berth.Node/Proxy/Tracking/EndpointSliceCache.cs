using System.Collections.Immutable;
using System.Net;
using Berth.Api.Models;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Tracking;

/// <summary>
/// EndpointSlices stripped to what the proxy uses, per Service and slice name, as applied at the last sync and as
/// pending since (upstream pkg/proxy/endpointslicecache.go). Slices are kept apart because an endpoint can move
/// between slices: merging happens only when a Service's endpoints are computed. Not thread-safe: the
/// <see cref="EndpointsChangeTracker"/> locks around it.
/// </summary>
internal sealed class EndpointSliceCache
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    private readonly Dictionary<ServiceKey, SliceTracker> _trackers = [];
    private readonly string _nodeName;

    public EndpointSliceCache(string nodeName) => _nodeName = nodeName;

    /// <summary>upstream endpointSliceCacheKeys: the Service from the kubernetes.io/service-name label, and the slice name.</summary>
    public static bool TryGetKeys(EndpointSlice slice, out ServiceKey service, out string sliceName)
    {
        var ns = slice.Metadata?.Namespace;
        sliceName = slice.Metadata?.Name ?? "";
        var serviceName = slice.Metadata?.Labels?.GetValueOrDefault(ServiceNameLabel);
        service = new ServiceKey(ns ?? "", serviceName ?? "");
        return !string.IsNullOrEmpty(serviceName) && !string.IsNullOrEmpty(ns) && sliceName.Length > 0;
    }

    /// <summary>Records the slice as pending; false when it would change nothing the proxy sees (upstream esDataChanged).</summary>
    public bool UpdatePending(ServiceKey service, string sliceName, EndpointSlice slice, bool remove)
    {
        var stripped = StrippedSlice.From(slice, remove);
        if (!_trackers.TryGetValue(service, out var tracker))
        {
            tracker = new SliceTracker();
            _trackers[service] = tracker;
        }
        bool changed;
        if (tracker.Pending.TryGetValue(sliceName, out var pending))
        {
            changed = !stripped.Equals(pending);
        }
        else if (tracker.Applied.TryGetValue(sliceName, out var applied))
        {
            changed = !stripped.Equals(applied);
        }
        else
        {
            // Removing a slice the cache never had changes nothing.
            changed = !remove;
        }
        if (changed)
        {
            tracker.Pending[sliceName] = stripped;
        }
        else if (tracker.Applied.Count == 0 && tracker.Pending.Count == 0)
        {
            _trackers.Remove(service);
        }
        return changed;
    }

    /// <summary>Applies every pending slice and returns, per Service touched, its endpoints before and after.</summary>
    public Dictionary<ServiceKey, EndpointsMapChange> CheckoutChanges()
    {
        var changes = new Dictionary<ServiceKey, EndpointsMapChange>();
        List<ServiceKey>? emptied = null;
        foreach (var (service, tracker) in _trackers)
        {
            if (tracker.Pending.Count == 0)
            {
                continue;
            }
            var previous = tracker.AppliedMap;
            foreach (var (name, slice) in tracker.Pending)
            {
                if (slice.Remove)
                {
                    tracker.Applied.Remove(name);
                }
                else
                {
                    tracker.Applied[name] = slice;
                }
            }
            tracker.Pending.Clear();
            tracker.AppliedMap = EndpointsMap(service, tracker.Applied.Values);
            changes[service] = new EndpointsMapChange(previous, tracker.AppliedMap);
            if (tracker.Applied.Count == 0)
            {
                (emptied ??= []).Add(service);
            }
        }
        if (emptied is not null)
        {
            foreach (var service in emptied)
            {
                _trackers.Remove(service);
            }
        }
        return changes;
    }

    /// <summary>
    /// upstream endpointInfoByServicePort + endpointsMapFromEndpointInfo: every slice port becomes a service port
    /// (port name + protocol; the number is per slice), its endpoints deduplicated by ip:port and sorted by that string.
    /// </summary>
    private ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>> EndpointsMap(ServiceKey service, IEnumerable<StrippedSlice> slices)
    {
        var byPort = new Dictionary<ServicePortName, Dictionary<(IPAddress, int), EndpointInfo>>();
        foreach (var slice in slices)
        {
            foreach (var port in slice.Ports)
            {
                // A nil name or a nil/zero port cannot be matched to a service port (upstream logs and skips them).
                if (port.Name is null || port.Number is not > 0)
                {
                    continue;
                }
                var name = new ServicePortName(service.Namespace, service.Name, port.Name, port.Protocol);
                if (!byPort.TryGetValue(name, out var set))
                {
                    set = [];
                    byPort[name] = set;
                }
                AddEndpoints(set, port.Number.Value, slice.Endpoints);
            }
        }

        var map = ImmutableDictionary.CreateBuilder<ServicePortName, ImmutableArray<EndpointInfo>>();
        foreach (var (name, set) in byPort)
        {
            if (set.Count > 0)
            {
                map[name] = [.. set.Values.OrderBy(e => e.ToString(), StringComparer.Ordinal)];
            }
        }
        return map.ToImmutable();
    }

    private void AddEndpoints(Dictionary<(IPAddress, int), EndpointInfo> set, int port, ImmutableArray<StrippedEndpoint> endpoints)
    {
        foreach (var endpoint in endpoints)
        {
            var info = new EndpointInfo(endpoint.Address, port)
            {
                Ready = endpoint.Ready,
                Serving = endpoint.Serving,
                Terminating = endpoint.Terminating,
                IsLocal = _nodeName.Length > 0 && endpoint.NodeName == _nodeName,
                NodeName = endpoint.NodeName,
                Zone = endpoint.Zone,
                ZoneHints = endpoint.ZoneHints,
            };
            // The same ip:port in two slices: an endpoint moving between slices (either copy will do until the
            // second update lands), or a pod IP reused before the terminating pod is gone, where the running pod wins.
            var key = (endpoint.Address, port);
            if (!set.ContainsKey(key) || !endpoint.Terminating)
            {
                set[key] = info;
            }
        }
    }

    private sealed class SliceTracker
    {
        public Dictionary<string, StrippedSlice> Applied { get; } = [];

        public Dictionary<string, StrippedSlice> Pending { get; } = [];

        /// <summary>The endpoints of <see cref="Applied"/>, kept so a checkout computes only the new side.</summary>
        public ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>> AppliedMap { get; set; } =
            ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>>.Empty;
    }
}

/// <summary>One Service's endpoints per service port at the last sync and now.</summary>
internal sealed record EndpointsMapChange(
    ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>> Previous,
    ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>> Current);

/// <summary>A slice port: name, number and protocol (nil name or number kept, so they can be skipped at merge time as upstream does).</summary>
internal readonly record struct SlicePort(string? Name, int? Number, TransportProtocol Protocol);

/// <summary>
/// An endpoint as the proxy caches it (upstream endpointInfo): its first address, where it runs, its zone hints and
/// its conditions with the API's defaults applied (ready nil = true, serving nil = true, terminating nil = false).
/// </summary>
internal sealed record StrippedEndpoint(IPAddress Address, string? NodeName, string? Zone, ImmutableHashSet<string> ZoneHints, bool Ready, bool Serving, bool Terminating)
{
    public bool Equals(StrippedEndpoint? other) =>
        other is not null && Address.Equals(other.Address) && NodeName == other.NodeName && Zone == other.Zone &&
        ZoneHints.SetEquals(other.ZoneHints) && Ready == other.Ready && Serving == other.Serving && Terminating == other.Terminating;

    public override int GetHashCode() => HashCode.Combine(Address, NodeName, Ready, Serving, Terminating);
}

/// <summary>A slice as the proxy caches it. Equal (ports and endpoints, in order) means the update changes nothing.</summary>
internal sealed record StrippedSlice(ImmutableArray<SlicePort> Ports, ImmutableArray<StrippedEndpoint> Endpoints, bool Remove)
{
    public bool Equals(StrippedSlice? other) =>
        other is not null && Remove == other.Remove && Ports.SequenceEqual(other.Ports) && Endpoints.SequenceEqual(other.Endpoints);

    public override int GetHashCode() => HashCode.Combine(Ports.Length, Endpoints.Length, Remove);

    public static StrippedSlice From(EndpointSlice slice, bool remove)
    {
        var ports = ImmutableArray.CreateBuilder<SlicePort>(slice.Ports?.Count ?? 0);
        foreach (var port in slice.Ports ?? [])
        {
            ports.Add(new SlicePort(port.Name, port.Port, ServicePortProjection.Protocol(port.Protocol)));
        }
        if (remove)
        {
            return new StrippedSlice(ports.DrainToImmutable(), [], true);
        }

        var endpoints = ImmutableArray.CreateBuilder<StrippedEndpoint>(slice.Endpoints?.Count ?? 0);
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            // Only the first address is used (upstream: "only the first address is guaranteed to be meaningful");
            // an endpoint without a parsable one cannot be connected to.
            if (endpoint.Addresses is not [var first, ..] || !IPAddress.TryParse(first, out var address))
            {
                continue;
            }
            var conditions = endpoint.Conditions;
            var hints = endpoint.Hints?.ForZones is { Count: > 0 } forZones
                ? forZones.Where(z => z.Name is not null).Select(z => z.Name!).ToImmutableHashSet(StringComparer.Ordinal)
                : [];
            endpoints.Add(new StrippedEndpoint(
                address, endpoint.NodeName, endpoint.Zone, hints,
                Ready: conditions?.Ready ?? true,
                Serving: conditions?.Serving ?? true,
                Terminating: conditions?.Terminating ?? false));
        }
        return new StrippedSlice(ports.DrainToImmutable(), endpoints.DrainToImmutable(), false);
    }
}
