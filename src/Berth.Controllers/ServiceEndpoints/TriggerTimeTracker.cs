using Berth.Api.Models;

namespace Berth.Controllers.ServiceEndpoints;

/// <summary>
/// Upstream k8s.io/endpointslice/util/trigger_time_tracker.go: computes the
/// endpoints.kubernetes.io/last-change-trigger-time of a sync, the earliest change (a pod's Ready transition, or the
/// Service's creation) the sync is the first to publish. Like upstream it may be wrong when one object changes twice
/// between syncs. Thread-safe for different Services; one Service is synced by one worker at a time (the work queue
/// guarantees it), which is all the per-Service state needs.
/// </summary>
public sealed class TriggerTimeTracker
{
    private readonly Dictionary<(string Namespace, string Name), ServiceState> _states = [];
    private readonly Lock _lock = new();

    /// <summary>
    /// Records the Service's and pods' trigger times and returns the annotation's value: the Service's creation for a
    /// Service seen the first time, else the earliest trigger time newer than the last sync's, else null (no annotation).
    /// </summary>
    public DateTimeOffset? ComputeEndpointLastChangeTriggerTime(string ns, Service service, IEnumerable<Pod> pods)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(pods);
        var key = (ns, service.Metadata?.Name ?? "");
        ServiceState? state;
        lock (_lock)
        {
            _states.TryGetValue(key, out state);
        }

        DateTimeOffset? minChanged = null;
        var podTimes = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            if (PodEndpointRules.ReadyCondition(pod)?.LastTransitionTime is not { } podTime)
            {
                continue;
            }
            var name = pod.Metadata?.Name ?? "";
            podTimes[name] = podTime;
            if (state is null || !state.PodTimes.TryGetValue(name, out var last) || podTime > last)
            {
                minChanged = Min(minChanged, podTime);
            }
        }
        var serviceTime = service.Metadata?.CreationTimestamp;
        if (serviceTime is { } created && (state?.ServiceTime is not { } lastService || created > lastService))
        {
            minChanged = Min(minChanged, created);
        }

        lock (_lock)
        {
            _states[key] = new ServiceState(serviceTime, podTimes);
        }
        // A Service seen the first time: its endpoints exist because it was created.
        return state is null ? serviceTime : minChanged;
    }

    public void DeleteService(string ns, string name)
    {
        lock (_lock)
        {
            _states.Remove((ns, name));
        }
    }

    private static DateTimeOffset Min(DateTimeOffset? current, DateTimeOffset value) =>
        current is { } c && c <= value ? c : value;

    private sealed record ServiceState(DateTimeOffset? ServiceTime, Dictionary<string, DateTimeOffset> PodTimes);
}
