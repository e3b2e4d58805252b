using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.LoadBalancing;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy;

public sealed partial class ServiceProxy
{
    // When the last sync finished and when a sync was first asked for since (for /healthz, as upstream's
    // ProxierHealthServer: healthy unless a requested sync is overdue).
    private long _lastSyncTicks;
    private long _queuedSinceTicks;

    /// <summary>
    /// One sync (upstream's syncProxyRules): take the trackers' changes in, build the next snapshot, keep each service
    /// port's balancer and counters, program the backend, then report bind failures, health-check ports and metrics.
    /// Runs on the runner's loop only.
    /// </summary>
    private void Sync()
    {
        try
        {
            SyncCore();
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            // The proxy shares its process with everything else: a sync that fails is logged and tried again soon,
            // with whatever the last good sync programmed still serving.
            _options.Log($"sync failed, retrying in {s_bindRetry.TotalSeconds:0} s: {e}");
            _resyncAll = true;
            _runner.RetryAfter(s_bindRetry);
        }
    }

    private void SyncCore()
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Exchange(ref _queuedSinceTicks, 0);
        var node = Topology();
        var changes = _routing.Sync(_serviceChanges, _endpointChanges, node);
        var snapshot = changes.Snapshot;

        // After a failed sync, the changes it had taken in are not lost: every service port is looked at again.
        IEnumerable<Model.ServicePortName> changed = _resyncAll ? [.. snapshot.Routes.Keys.Union(_programs.Keys)] : changes.Changed;
        foreach (var name in changed)
        {
            if (!snapshot.Routes.TryGetValue(name, out var route))
            {
                _programs.Remove(name);
                _metrics.Remove(name);
                continue;
            }
            if (!_programs.TryGetValue(name, out var program))
            {
                program = new RouteProgram(route, new ServiceBalancer(_options.Time), _metrics.For(name));
            }
            program.Balancer.Configure(route.Service);
            _programs[name] = program with { Route = route };
        }

        var failures = _backend.Apply([.. _programs.Values]);
        Programmed(snapshot);
        ReportBindFailures(snapshot, failures);
        SyncHealthChecks(snapshot);
        if (failures.Count > 0)
        {
            _runner.RetryAfter(s_bindRetry);
        }

        var now = _options.Time.GetUtcNow();
        _metrics.SyncDuration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        foreach (var trigger in changes.TriggerTimes)
        {
            _metrics.ProgrammingLatency.Observe(Math.Max(0, (now - trigger).TotalSeconds));
        }
        _metrics.SetLastSync(now);
        _resyncAll = false;
        Interlocked.Exchange(ref _lastSyncTicks, now.UtcTicks);
    }

    private NodeTopology Topology()
    {
        var node = _node.Get(null, _nodeName);
        var labels = node?.Metadata?.Labels?.ToImmutableDictionary(StringComparer.Ordinal) ?? ImmutableDictionary<string, string>.Empty;
        return new NodeTopology(_nodeName, labels, _nodePortAddresses);
    }

    /// <summary>
    /// healthCheckNodePort servers (upstream service_health.go): per Service, the number of distinct ready endpoint
    /// addresses on this node across its ports (upstream's EndpointsMap.LocalReadyEndpoints).
    /// </summary>
    private void SyncHealthChecks(RoutingSnapshot snapshot)
    {
        var byPort = new Dictionary<int, (string Namespace, string Name, HashSet<System.Net.IPAddress> Local)>();
        foreach (var route in snapshot.Routes.Values)
        {
            var port = route.Service.HealthCheckNodePort;
            if (port <= 0)
            {
                continue;
            }
            if (!byPort.TryGetValue(port, out var entry))
            {
                entry = (route.Name.Namespace, route.Name.Name, []);
                byPort[port] = entry;
            }
            foreach (var endpoint in route.AllEndpoints)
            {
                if (endpoint.IsLocal && endpoint.Ready)
                {
                    entry.Local.Add(endpoint.Address);
                }
            }
        }
        var failures = _healthChecks.Sync(byPort.ToDictionary(e => e.Key, e => (e.Value.Namespace, e.Value.Name, e.Value.Local.Count)));
        foreach (var (port, reason) in failures)
        {
            if (_healthCheckFailures.Add(port))
            {
                _options.Log($"cannot serve healthCheckNodePort {port}: {reason}");
            }
        }
        _healthCheckFailures.IntersectWith(failures.Select(f => f.Port));
    }

    // Health-check ports already reported as failing, so each failure is logged once.
    private readonly HashSet<int> _healthCheckFailures = [];

    /// <summary>/healthz: healthy unless a sync asked for has waited twice the sync period.</summary>
    private HealthCheck.ProxyHealth Health()
    {
        var last = Interlocked.Read(ref _lastSyncTicks);
        var queued = Interlocked.Read(ref _queuedSinceTicks);
        var now = _options.Time.GetUtcNow();
        // Upstream's isHealthy: healthy while starting up too; only a sync asked for and overdue is unhealthy.
        var healthy = queued == 0 || now - new DateTimeOffset(queued, TimeSpan.Zero) < _options.SyncPeriod * 2;
        return new HealthCheck.ProxyHealth(healthy, last == 0 ? null : new DateTimeOffset(last, TimeSpan.Zero), now);
    }

    private bool _resyncAll;

    // The snapshot last programmed, and a signal completed by every sync (for WaitUntilUnroutedAsync).
    private volatile RoutingSnapshot _programmed = RoutingSnapshot.Empty;
    private TaskCompletionSource _nextSync = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Programmed(RoutingSnapshot snapshot)
    {
        _programmed = snapshot;
        Interlocked.Exchange(ref _nextSync, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>
    /// Completes once this node's proxy sends no new connection to <paramref name="podIP"/> — it is no longer among
    /// the endpoints any frontend may choose while ready ones exist — or after <paramref name="max"/>. The kubelet
    /// awaits it before signalling a deleted pod's processes, so a rolling update takes the pod out of the proxy
    /// before the pod stops listening (the dropped-requests problem of kubernetes#43576, #86280).
    /// </summary>
    public async Task WaitUntilUnroutedAsync(string podIP, TimeSpan max)
    {
        if (!IPAddress.TryParse(podIP, out var ip))
        {
            return;
        }
        var started = _options.Time.GetTimestamp();
        while (IsRouted(_programmed, ip))
        {
            var left = max - _options.Time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero || _stop.IsCancellationRequested)
            {
                return;
            }
            try
            {
                await Volatile.Read(ref _nextSync).Task.WaitAsync(left, _options.Time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return;
            }
        }
    }

    // Chosen as a ready endpoint by some frontend. Once the pod is terminating its endpoint is not ready: it may still
    // be used as the terminating fallback of a Service with no ready endpoint, which waiting would not change.
    private static bool IsRouted(RoutingSnapshot snapshot, IPAddress ip) =>
        snapshot.Routes.Values.Any(r => r.ClusterEndpoints.Any(e => e.Ready && e.Address.Equals(ip)) || r.ExternalEndpoints.Any(e => e.Ready && e.Address.Equals(ip)));
}
