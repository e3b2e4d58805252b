using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Routing;

/// <summary>
/// What one sync produced: the new snapshot, the service ports whose route differs from the previous snapshot's
/// (added, changed or removed), and the EndpointSlice trigger times (endpoints.kubernetes.io/last-change-trigger-time)
/// of the changes it took in, for the network programming latency.
/// </summary>
public sealed record SyncChanges(RoutingSnapshot Snapshot, IReadOnlySet<ServicePortName> Changed, IReadOnlyList<DateTimeOffset> TriggerTimes);
