using Berth.Api.Models;

namespace Berth.Node.Proxy.Tracking;

/// <summary>
/// Accumulates Service changes between syncs (upstream pkg/proxy/servicechangetracker.go): each Service's ports as
/// they were at the last sync and as they are now, projected to <see cref="Model.ServicePortInfo"/>. Thread-safe:
/// informer handlers call <see cref="Update"/> while the sync loop checks changes out.
/// </summary>
internal sealed class ServiceChangeTracker
{
    /// <summary>Records a Service add (previous null), update, or delete (current null). True when a sync is needed.</summary>
    public bool Update(Service? previous, Service? current) => throw new NotImplementedException();
}
