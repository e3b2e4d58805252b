using System.Collections.Immutable;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Routing;

/// <summary>Every service port the proxy serves, as of one sync. Immutable, replaced whole by the next sync.</summary>
public sealed class RoutingSnapshot
{
    public static RoutingSnapshot Empty { get; } = new() { Routes = ImmutableDictionary<ServicePortName, ServiceRoute>.Empty };

    /// <summary>Increases by one per sync that changed anything.</summary>
    public long Version { get; init; }

    public required ImmutableDictionary<ServicePortName, ServiceRoute> Routes { get; init; }
}
