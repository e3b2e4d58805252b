using Berth.Api.Models;

namespace Berth.Node.Proxy.Tracking;

/// <summary>
/// Accumulates EndpointSlice changes between syncs (upstream pkg/proxy/endpointschangetracker.go and
/// endpointslicecache.go): slices are cached stripped, merged per service port at checkout. Thread-safe.
/// </summary>
internal sealed class EndpointsChangeTracker
{
    public EndpointsChangeTracker(string nodeName) => NodeName = nodeName;

    public string NodeName { get; }

    /// <summary>Records a slice add/update, or its removal. True when a sync is needed.</summary>
    public bool EndpointSliceUpdate(EndpointSlice slice, bool removed) => throw new NotImplementedException();
}
