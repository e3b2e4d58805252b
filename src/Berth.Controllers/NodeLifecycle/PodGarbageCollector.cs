using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// The pod garbage collector (upstream pkg/controller/podgc), every 20 s: force-deletes pods bound to a node that no
/// longer exists (after a quarantine, confirmed by a live read), terminating pods that were never scheduled, and
/// terminating pods on a not-Ready node tainted node.kubernetes.io/out-of-service — nothing else would ever remove
/// them. Each is marked Failed first, orphans with a DisruptionTarget condition.
/// </summary>
/// <remarks>
/// Upstream's gcTerminated (deleting the oldest finished pods beyond --terminated-pod-gc-threshold, 12500) is left
/// out: a single machine never gets near that many finished pods worth collecting by count.
/// </remarks>
public sealed class PodGarbageCollector : IAsyncDisposable
{
    private const string ControllerName = "pod-garbage-collector";

    // Upstream gcCheckPeriod.
    private static readonly TimeSpan s_gcCheckPeriod = TimeSpan.FromSeconds(20);

    private readonly SharedInformers _informers;
    private readonly KubeClient _client;
    private readonly Informer<Pod> _pods;
    private readonly Informer<Node> _nodes;
    private readonly NodeLifecycleOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;

    // Upstream's delaying nodeQueue: names of nodes pods are bound to but the cache does not know, with the time
    // their quarantine ends. A name added again keeps its earlier time.
    private readonly Dictionary<string, DateTimeOffset> _quarantine = new(StringComparer.Ordinal);

    public PodGarbageCollector(SharedInformers informers, NodeLifecycleOptions options, TimeProvider time, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _informers = informers;
        _client = informers.Client;
        _options = options;
        _time = time;
        _log = line => log($"{ControllerName}: {line}");
        _pods = informers.For<Pod>();
        _nodes = informers.For<Node>();
    }

    /// <summary>Waits for the caches, then collects every 20 s until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await _informers.WaitForSyncAsync(ct).ConfigureAwait(false);
            while (true)
            {
                await GcAsync(ct).ConfigureAwait(false);
                await Task.Delay(s_gcCheckPeriod, _time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping is the point.
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>One collection: gcTerminating, gcOrphaned, gcUnscheduledTerminating.</summary>
    internal async Task GcAsync(CancellationToken ct)
    {
        var pods = _pods.List().ToList();
        var nodes = _nodes.List().ToList();
        await GcTerminatingAsync(pods, ct).ConfigureAwait(false);
        await GcOrphanedAsync(pods, nodes, ct).ConfigureAwait(false);
        await GcUnscheduledTerminatingAsync(pods, ct).ConfigureAwait(false);
    }

    /// <summary>gcTerminating: terminating pods on a not-Ready node an admin marked out of service.</summary>
    private async Task GcTerminatingAsync(List<Pod> pods, CancellationToken ct)
    {
        var terminating = new List<Pod>();
        foreach (var pod in pods.Where(p => p.Metadata?.DeletionTimestamp is not null))
        {
            if (_nodes.Get(null, pod.Spec?.NodeName ?? "") is not { } node)
            {
                _log($"Failed to get node \"{pod.Spec?.NodeName}\" of terminating pod {ControllerWorkers.Key(pod)}");
                continue;
            }
            var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status == "True";
            if (!ready && Taints.KeyExists(node.Spec?.Taints, Taints.NodeOutOfService))
            {
                terminating.Add(pod);
            }
        }
        // byEvictionAndCreationTimestamp: evicted pods first, then the oldest.
        foreach (var pod in terminating.OrderBy(p => p.Status is { Phase: "Failed", Reason: "Evicted" } ? 0 : 1)
            .ThenBy(p => p.Metadata?.CreationTimestamp).ThenBy(p => p.Metadata?.Name, StringComparer.Ordinal))
        {
            await TryMarkFailedAndDeleteAsync(pod, null, "terminating pod on an out-of-service node", ct).ConfigureAwait(false);
        }
    }

    /// <summary>gcOrphaned: pods bound to nodes that are still missing after the quarantine and a live read.</summary>
    private async Task GcOrphanedAsync(List<Pod> pods, List<Node> nodes, CancellationToken ct)
    {
        var existing = nodes.Select(n => n.Metadata?.Name ?? "").ToHashSet(StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        foreach (var nodeName in pods.Select(p => p.Spec?.NodeName).OfType<string>().Where(n => n.Length > 0 && !existing.Contains(n)))
        {
            _quarantine.TryAdd(nodeName, now + _options.PodGcQuarantine);
        }
        var deleted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (nodeName, until) in _quarantine.Where(e => e.Value <= now).ToList())
        {
            _quarantine.Remove(nodeName);
            if (existing.Contains(nodeName))
            {
                continue;
            }
            try
            {
                if (await _client.TryGetAsync<Node>(null, nodeName, ct).ConfigureAwait(false) is null)
                {
                    deleted.Add(nodeName);
                }
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
            {
                // Queued again by the next pass if still needed.
                _log($"Error while getting node \"{nodeName}\": {e.Message}");
            }
        }
        foreach (var pod in pods.Where(p => deleted.Contains(p.Spec?.NodeName ?? "")))
        {
            var condition = new PodCondition
            {
                Type = PodConditions.DisruptionTarget,
                Status = "True",
                Reason = "DeletionByPodGC",
                Message = "PodGC: node no longer exists",
            };
            await TryMarkFailedAndDeleteAsync(pod, condition, "orphaned pod", ct).ConfigureAwait(false);
        }
    }

    /// <summary>gcUnscheduledTerminating: pods deleted before any node took them; no kubelet will finish them.</summary>
    private async Task GcUnscheduledTerminatingAsync(List<Pod> pods, CancellationToken ct)
    {
        foreach (var pod in pods.Where(p => p.Metadata?.DeletionTimestamp is not null && string.IsNullOrEmpty(p.Spec?.NodeName)))
        {
            await TryMarkFailedAndDeleteAsync(pod, null, "unscheduled terminating pod", ct).ConfigureAwait(false);
        }
    }

    private async Task TryMarkFailedAndDeleteAsync(Pod pod, PodCondition? condition, string what, CancellationToken ct)
    {
        try
        {
            await MarkFailedAndDeleteAsync(pod, condition, ct).ConfigureAwait(false);
            _log($"Forced deletion of {what} {ControllerWorkers.Key(pod)} succeeded");
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
        {
            _log($"Forced deletion of {what} {ControllerWorkers.Key(pod)} failed: {e.Message}");
        }
    }

    /// <summary>
    /// markFailedAndDeletePodWithCondition: a pod not yet finished is patched to phase Failed (with the condition)
    /// — an orphan would otherwise stay Running forever, with no kubelet to say otherwise — then deleted with grace 0.
    /// </summary>
    private async Task MarkFailedAndDeleteAsync(Pod pod, PodCondition? condition, CancellationToken ct)
    {
        if (pod.Status?.Phase is not ("Succeeded" or "Failed"))
        {
            if (condition is not null)
            {
                PodConditions.Update(new PodStatus { Conditions = [.. pod.Status?.Conditions ?? []] }, condition, _time.GetUtcNow());
            }
            await PodConditions.PatchStatusAsync(_client, pod, "Failed", condition, ct).ConfigureAwait(false);
        }
        await _client.DeleteAsync<Pod>(pod.Metadata?.Namespace, pod.Metadata!.Name!, new DeleteOptions { GracePeriodSeconds = 0 }, ct).ConfigureAwait(false);
    }
}
