namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// The node lifecycle knobs (kube-controller-manager's --node-monitor-period, --node-monitor-grace-period,
/// --node-startup-grace-period, and the pod GC's quarantine), shared by <see cref="NodeLifecycleController"/> and
/// <see cref="PodGarbageCollector"/>.
/// </summary>
public sealed class NodeLifecycleOptions
{
    /// <summary>How often node health (Ready heartbeats and Leases) is checked (upstream 5 s).</summary>
    public TimeSpan NodeMonitorPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a node may go without a new Ready heartbeat or Lease renewal before its conditions are set Unknown
    /// (upstream 40 s); the agent renews its Lease every quarter of its own 40 s lease duration.
    /// </summary>
    public TimeSpan NodeMonitorGracePeriod { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>The same, for a node that never posted a Ready condition, counted from its creation (upstream 60 s).</summary>
    public TimeSpan NodeStartupGracePeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long the pod GC waits for a node it does not know to appear before it checks the API and force-deletes
    /// the pods bound to it (upstream's quarantineTime, 40 s).
    /// </summary>
    public TimeSpan PodGcQuarantine { get; init; } = TimeSpan.FromSeconds(40);
}
