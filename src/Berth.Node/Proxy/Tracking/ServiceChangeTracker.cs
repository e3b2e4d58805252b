using System.Collections.Immutable;
using Berth.Api.Models;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Tracking;

/// <summary>
/// Accumulates Service changes between syncs (upstream pkg/proxy/servicechangetracker.go): each Service's ports as
/// they were at the last sync and as they are now, projected to <see cref="Model.ServicePortInfo"/>. Thread-safe:
/// informer handlers call <see cref="Update"/> while the sync loop checks changes out.
/// </summary>
internal sealed class ServiceChangeTracker
{
    private readonly Lock _lock = new();
    private readonly Action<string>? _log;
    private readonly HashSet<ServicePortName> _sctpLogged = [];
    private Dictionary<ServiceKey, ServicePortMapChange> _items = [];

    public ServiceChangeTracker(Action<string>? log = null) => _log = log;

    /// <summary>Records a Service add (previous null), update, or delete (current null). True when a sync is needed.</summary>
    public bool Update(Service? previous, Service? current)
    {
        var service = current ?? previous;
        if (service is null)
        {
            return false;
        }
        var key = new ServiceKey(service.Metadata?.Namespace ?? "", service.Metadata?.Name ?? "");

        lock (_lock)
        {
            // Changes accumulate: previous stays what the last sync saw, current follows the newest object. A change
            // that comes back to where it started is no change (upstream drops the item when the two are DeepEqual).
            if (!_items.TryGetValue(key, out var change))
            {
                change = new ServicePortMapChange(ToMap(previous), ImmutableDictionary<ServicePortName, ServicePortInfo>.Empty);
            }
            change = change with { Current = ToMap(current) };
            if (ServicePortInfoComparer.MapsEqual(change.Previous, change.Current))
            {
                _items.Remove(key);
            }
            else
            {
                _items[key] = change;
            }
            return _items.Count > 0;
        }
    }

    /// <summary>The pending change of every Service since the last checkout; clears them.</summary>
    public IReadOnlyDictionary<ServiceKey, ServicePortMapChange> CheckoutChanges()
    {
        lock (_lock)
        {
            var items = _items;
            _items = [];
            return items;
        }
    }

    private ImmutableDictionary<ServicePortName, ServicePortInfo> ToMap(Service? service) =>
        ServicePortProjection.ToServicePortMap(service, SctpSkipped);

    private void SctpSkipped(ServicePortName name)
    {
        // Called under _lock. Once per service port: every resync would repeat it otherwise.
        if (_log is not null && _sctpLogged.Add(name))
        {
            _log($"Service port {name} is SCTP, which this proxy does not relay; it is skipped");
        }
    }
}

/// <summary>One Service's ports at the last sync (<see cref="Previous"/>) and now (<see cref="Current"/>); empty when absent or not proxied.</summary>
internal sealed record ServicePortMapChange(
    ImmutableDictionary<ServicePortName, ServicePortInfo> Previous,
    ImmutableDictionary<ServicePortName, ServicePortInfo> Current);
