using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// The taint eviction controller (upstream pkg/controller/tainteviction): deletes the pods of nodes with NoExecute
/// taints they do not tolerate — at once, or when the shortest tolerationSeconds of the tolerations in use has passed
/// — and cancels a scheduled deletion when the taint goes, the pod starts tolerating it forever, or the pod goes.
/// Before deleting, the pod gets a DisruptionTarget condition saying why.
/// </summary>
/// <remarks>
/// As upstream, the toleration time counts from when this controller saw the taint (or the pod), not from the
/// taint's timeAdded: a restarted controller starts the clocks again.
/// </remarks>
public sealed class TaintEvictionController : IAsyncDisposable
{
    public const string Component = "taint-eviction-controller";

    // Upstream's retries of one deletion.
    private const int Retries = 5;

    private readonly SharedInformers _informers;
    private readonly KubeClient _client;
    private readonly Informer<Node> _nodes;
    private readonly Informer<Pod> _pods;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly EventRecorder _events;
    private readonly WorkQueue _nodeQueue;
    private readonly WorkQueue _podQueue;
    private readonly TimedWorkerQueue _evictions;

    // Node name → its NoExecute taints, for nodes that have some. Node and pod syncs run under _lock, one at a time,
    // as upstream shards both onto the same worker per node to avoid racing on this map.
    private readonly Dictionary<string, List<Taint>> _taintedNodes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    // Deletions in flight are abandoned on shutdown.
    private readonly CancellationTokenSource _stop = new();

    public TaintEvictionController(SharedInformers informers, TimeProvider time, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _informers = informers;
        _client = informers.Client;
        _time = time;
        _log = line => log($"{Component}: {line}");
        _events = new EventRecorder(_client, Component, host: null);
        _nodeQueue = new WorkQueue("noexec_taint_node", time);
        _podQueue = new WorkQueue("noexec_taint_pod", time);
        _evictions = new TimedWorkerQueue(DeletePodAsync, time, _log);

        _nodes = informers.For<Node>();
        _pods = informers.For<Pod>();
        PodNodeNameIndex.Add(_pods);
        _pods.OnAdd(pod => PodUpdated(null, pod));
        _pods.OnUpdate(PodUpdated);
        _pods.OnDelete(pod => PodUpdated(pod, null));
        _nodes.OnAdd(node => NodeUpdated(null, node));
        _nodes.OnUpdate(NodeUpdated);
        _nodes.OnDelete(node => NodeUpdated(node, null));
    }

    /// <summary>Waits for the caches, then runs <paramref name="workers"/> workers on node and on pod changes.</summary>
    public async Task RunAsync(int workers, CancellationToken ct)
    {
        try
        {
            await _informers.WaitForSyncAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        await Task.WhenAll(
            ControllerWorkers.RunAsync(Component, _nodeQueue, workers, SyncNodeAsync, _log, ct),
            ControllerWorkers.RunAsync(Component, _podQueue, workers, SyncPodAsync, _log, ct)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _nodeQueue.Dispose();
        _podQueue.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _evictions.DisposeAsync().ConfigureAwait(false);
        await _events.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    internal Task FlushEventsAsync() => _events.FlushAsync();

    /// <summary>The eviction scheduled for pod <paramref name="key"/> ("namespace/name"), if any (tests).</summary>
    internal TimedWorkerQueue.TimedWorker? ScheduledEviction(string key) => _evictions.GetWorker(key);

    /// <summary>Whether pod <paramref name="key"/> has an eviction scheduled, running or done (tests).</summary>
    internal bool Evicting(string key) => _evictions.Contains(key);

    /// <summary>Completes when the deletions running now have finished (tests).</summary>
    internal Task EvictionsIdleAsync() => _evictions.IdleAsync();

    /// <summary>PodUpdated: only a change of node or tolerations matters.</summary>
    private void PodUpdated(Pod? old, Pod? pod)
    {
        if (old is not null && pod is not null && old.Spec?.NodeName == pod.Spec?.NodeName &&
            Taints.SemanticEquals(old.Spec?.Tolerations, pod.Spec?.Tolerations))
        {
            return;
        }
        _podQueue.Add(ControllerWorkers.Key((pod ?? old)!));
    }

    /// <summary>NodeUpdated: only a change of NoExecute taints matters.</summary>
    private void NodeUpdated(Node? old, Node? node)
    {
        if (old is not null && node is not null &&
            Taints.SemanticEquals(Taints.NoExecuteOnly(old.Spec?.Taints), Taints.NoExecuteOnly(node.Spec?.Taints)))
        {
            return;
        }
        _nodeQueue.Add((node ?? old)!.Metadata!.Name!);
    }

    /// <summary>handleNodeUpdate: record the node's NoExecute taints, then decide for each of its pods.</summary>
    internal Task SyncNodeAsync(string nodeName, CancellationToken ct)
    {
        lock (_lock)
        {
            if (_nodes.Get(null, nodeName) is not { } node)
            {
                _taintedNodes.Remove(nodeName);
                return Task.CompletedTask;
            }
            var taints = Taints.NoExecuteOnly(node.Spec?.Taints);
            if (taints.Count == 0)
            {
                _taintedNodes.Remove(nodeName);
            }
            else
            {
                _taintedNodes[nodeName] = taints;
            }
            // The map is updated before the pods are listed: a pod bound later is handled by its own update.
            var pods = PodNodeNameIndex.PodsOn(_pods, nodeName);
            if (taints.Count == 0)
            {
                foreach (var pod in pods)
                {
                    CancelWorkWithEvent(ControllerWorkers.Key(pod));
                }
                return Task.CompletedTask;
            }
            var now = _time.GetUtcNow();
            foreach (var pod in pods)
            {
                ProcessPodOnNode(ControllerWorkers.Key(pod), pod.Spec?.Tolerations, taints, now);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>handlePodUpdate: a deleted pod's eviction is cancelled; a pod on a tainted node is decided.</summary>
    internal Task SyncPodAsync(string key, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        lock (_lock)
        {
            if (_pods.Get(ns, name) is not { } pod)
            {
                CancelWorkWithEvent(key);
                return Task.CompletedTask;
            }
            // A node deleted, or its taints removed, cancelled the evictions already.
            if (pod.Spec?.NodeName is { Length: > 0 } nodeName && _taintedNodes.TryGetValue(nodeName, out var taints))
            {
                ProcessPodOnNode(key, pod.Spec.Tolerations, taints, _time.GetUtcNow());
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// processPodOnNode: a taint not tolerated deletes the pod at once; tolerations with tolerationSeconds schedule
    /// the deletion that long from now (an earlier schedule stands); tolerating forever cancels it.
    /// </summary>
    private void ProcessPodOnNode(string key, IReadOnlyList<Toleration>? tolerations, IReadOnlyList<Taint> taints, DateTimeOffset now)
    {
        if (taints.Count == 0)
        {
            CancelWorkWithEvent(key);
        }
        var (allTolerated, used) = Tolerations.GetMatchingTolerations(taints, tolerations);
        if (!allTolerated)
        {
            // Any scheduled deletion is replaced by one right now.
            CancelWorkWithEvent(key);
            _evictions.AddWork(key, now, now);
            return;
        }
        if (Taints.MinTolerationTime(used) is not { } minTolerationTime)
        {
            CancelWorkWithEvent(key);
            return;
        }
        var start = now;
        var trigger = start + minTolerationTime;
        if (_evictions.GetWorker(key) is { } scheduled)
        {
            start = scheduled.CreatedAt;
            if (start + minTolerationTime < trigger)
            {
                return;
            }
            CancelWorkWithEvent(key);
        }
        _evictions.AddWork(key, start, trigger);
    }

    private void CancelWorkWithEvent(string key)
    {
        if (_evictions.CancelWork(key))
        {
            _events.Record(PodReference(key), "Normal", "TaintManagerEviction", $"Cancelling deletion of Pod {key}");
        }
    }

    /// <summary>deletePodHandler: the eviction event, then the DisruptionTarget condition and the deletion, retried.</summary>
    private async Task DeletePodAsync(string key, DateTimeOffset fireAt)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        _log($"Deleting pod {key}");
        _events.Record(PodReference(key), "Normal", "TaintManagerEviction", $"Marking for deletion Pod {key}");
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await AddConditionAndDeletePodAsync(ns, name, _stop.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException && attempt < Retries)
            {
                // Upstream sleeps 10 ms between attempts; the request itself is the pause here.
            }
        }
    }

    private async Task AddConditionAndDeletePodAsync(string? ns, string name, CancellationToken ct)
    {
        var pod = await _client.GetAsync<Pod>(ns, name, ct).ConfigureAwait(false);
        var status = new PodStatus { Conditions = [.. pod.Status?.Conditions ?? []] };
        var condition = new PodCondition
        {
            Type = PodConditions.DisruptionTarget,
            Status = "True",
            Reason = "DeletionByTaintManager",
            Message = "Taint manager: deleting due to NoExecute taint",
        };
        if (PodConditions.Update(status, condition, _time.GetUtcNow()))
        {
            await PodConditions.PatchStatusAsync(_client, pod, phase: null, condition, ct).ConfigureAwait(false);
        }
        await _client.DeleteAsync<Pod>(ns, name, ct: ct).ConfigureAwait(false);
    }

    // Upstream refers to the pod by name alone (no uid): the event is about whatever pod has that name.
    private static Pod PodReference(string key)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        return new Pod { Metadata = new ObjectMeta { Namespace = ns, Name = name } };
    }
}
