using Berth.Api.Selectors;
using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.ReplicaSets;

/// <summary>
/// Upstream pkg/controller/replicaset: keeps each ReplicaSet's number of active pods at spec.replicas. It claims the
/// pods its selector matches (adopting orphans, releasing pods that stopped matching), creates missing pods in
/// slow-start batches, deletes surplus pods in deletion-rank order, and writes status (replica counts and the
/// ReplicaFailure condition). Expectations hold a ReplicaSet back until the informer has shown the controller its own
/// creates and deletes, so a stale cache never makes it act twice. A deleted ReplicaSet needs nothing: the garbage
/// collector deletes its pods.
/// </summary>
public sealed partial class ReplicaSetController : IAsyncDisposable
{
    public const string ComponentName = "replicaset-controller";

    /// <summary>Upstream BurstReplicas: at most this many creates or deletes per sync.</summary>
    public const int BurstReplicas = 500;

    /// <summary>Upstream controller.SlowStartInitialBatchSize.</summary>
    internal const int SlowStartInitialBatchSize = 1;

    private const string ControllerUidIndex = "controllerUID";

    private static readonly KindInfo s_kind = KubeKinds.TryGet(typeof(ReplicaSet), out var kind)
        ? kind
        : throw new InvalidOperationException("ReplicaSet is not a generated kind");

    private readonly SharedInformers _informers;
    private readonly KubeClient _client;
    private readonly Informer<ReplicaSet> _replicaSets;
    private readonly Informer<Pod> _pods;
    private readonly EventRecorder _events;
    private readonly IPodControl _podControl;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly int _burstReplicas;

    public ReplicaSetController(SharedInformers informers, TimeProvider time, Action<string> log)
        : this(informers, time, log, podControl: null, BurstReplicas)
    {
    }

    /// <param name="podControl">Null for the real one (events from <see cref="ComponentName"/>); tests pass a fake.</param>
    internal ReplicaSetController(SharedInformers informers, TimeProvider time, Action<string> log, IPodControl? podControl, int burstReplicas)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _informers = informers;
        _client = informers.Client;
        _time = time;
        _log = log;
        _burstReplicas = burstReplicas;
        _events = new EventRecorder(_client, ComponentName, host: null);
        _podControl = podControl ?? new PodControl(_client, _events);
        Queue = new WorkQueue("replicaset", time);
        Expectations = new Expectations(time);

        _replicaSets = informers.For<ReplicaSet>();
        _replicaSets.OnAdd(AddReplicaSet);
        _replicaSets.OnUpdate(UpdateReplicaSet);
        _replicaSets.OnDelete(DeleteReplicaSet);
        _replicaSets.AddIndex(ControllerUidIndex, static rs => OwnerRefs.ControllerOf(rs)?.Uid is { } uid ? [uid] : []);

        _pods = informers.For<Pod>();
        // Every pod change wakes its ReplicaSet: status changes are the most frequent and syncing reads only the cache.
        _pods.OnAdd(AddPod);
        _pods.OnUpdate(UpdatePod);
        _pods.OnDelete(DeletePod);
        PodControllerIndex.Add(_pods);
    }

    internal WorkQueue Queue { get; }

    internal Expectations Expectations { get; }

    /// <summary>Waits for the caches, then syncs queued ReplicaSets with <paramref name="workers"/> workers until cancelled.</summary>
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
        await ControllerWorkers.RunAsync(ComponentName, Queue, workers, SyncAsync, _log, ct).ConfigureAwait(false);
    }

    internal Task FlushEventsAsync() => _events.FlushAsync();

    public async ValueTask DisposeAsync()
    {
        Queue.Dispose();
        await _events.DisposeAsync().ConfigureAwait(false);
    }

    private void Enqueue(ReplicaSet rs) => Queue.Add(ControllerWorkers.Key(rs));

    private void AddReplicaSet(ReplicaSet rs) => Enqueue(rs);

    private void UpdateReplicaSet(ReplicaSet old, ReplicaSet current)
    {
        // A ReplicaSet deleted and recreated under the same name between two events: forget the old one's expectations.
        if (old.Metadata?.Uid != current.Metadata?.Uid)
        {
            DeleteReplicaSet(old);
        }
        // Always sync, not only on spec changes: a resync must retry ReplicaSets whose last creates failed.
        Enqueue(current);
    }

    private void DeleteReplicaSet(ReplicaSet rs)
    {
        var key = ControllerWorkers.Key(rs);
        // So a new ReplicaSet with the same name starts clean.
        Expectations.Delete(key);
        Queue.Add(key);
    }

    // When a pod is created, wake its ReplicaSet and count the creation it expected; an orphan wakes every
    // ReplicaSet that might adopt it (no expectation: nobody waits for an orphan).
    private void AddPod(Pod pod)
    {
        if (pod.Metadata?.DeletionTimestamp is not null)
        {
            // After a restart a pod may first be seen already being deleted: that is no creation to count.
            DeletePod(pod);
            return;
        }
        if (OwnerRefs.ControllerOf(pod) is { } controllerRef)
        {
            if (ResolveControllerRef(pod.Metadata?.Namespace, controllerRef) is { } rs)
            {
                var key = ControllerWorkers.Key(rs);
                Expectations.CreationObserved(key);
                Queue.Add(key);
            }
            return;
        }
        foreach (var rs in GetPodReplicaSets(pod))
        {
            Enqueue(rs);
        }
    }

    // When a pod changes, wake the ReplicaSets that manage it: both the old and the new one if its controller changed.
    private void UpdatePod(Pod old, Pod current)
    {
        if (current.Metadata?.ResourceVersion == old.Metadata?.ResourceVersion)
        {
            // A resync: two versions of one pod always differ in resourceVersion.
            return;
        }
        var labelChanged = !StringMaps.SemanticEqual(old.Metadata?.Labels, current.Metadata?.Labels);
        if (current.Metadata?.DeletionTimestamp is not null)
        {
            // A graceful deletion has begun: replace the pod now rather than when the node agent finally removes it.
            DeletePod(current);
            if (labelChanged)
            {
                DeletePod(old);
            }
            return;
        }

        var currentRef = OwnerRefs.ControllerOf(current);
        var oldRef = OwnerRefs.ControllerOf(old);
        var refChanged = !OwnerRefEqual(currentRef, oldRef);
        if (refChanged && oldRef is not null && ResolveControllerRef(old.Metadata?.Namespace, oldRef) is { } oldRs)
        {
            Enqueue(oldRs);
        }

        if (currentRef is not null)
        {
            if (ResolveControllerRef(current.Metadata?.Namespace, currentRef) is not { } rs)
            {
                return;
            }
            Enqueue(rs);
            // Pods carry no Available condition: sync again once a newly ready pod has been ready for minReadySeconds,
            // plus a second against millisecond skew in the delayed add (upstream #39785).
            var minReadySeconds = ReplicaSetUtils.MinReadySeconds(rs);
            if (!ActivePods.IsPodReady(old) && ActivePods.IsPodReady(current) && minReadySeconds > 0)
            {
                Queue.AddAfter(ControllerWorkers.Key(rs), TimeSpan.FromSeconds(minReadySeconds + 1));
            }
            return;
        }

        // An orphan: if its labels or controller changed, someone may want to adopt it now.
        if (labelChanged || refChanged)
        {
            foreach (var rs in GetPodReplicaSets(current))
            {
                Enqueue(rs);
            }
        }
    }

    // A pod went away (or began to): wake its ReplicaSet and count the deletion if it asked for it.
    private void DeletePod(Pod pod)
    {
        if (OwnerRefs.ControllerOf(pod) is not { } controllerRef
            || ResolveControllerRef(pod.Metadata?.Namespace, controllerRef) is not { } rs)
        {
            // Nobody cares about orphans going away.
            return;
        }
        var key = ControllerWorkers.Key(rs);
        Expectations.DeletionObserved(key, ReplicaSetUtils.PodKey(pod));
        Queue.Add(key);
    }

    /// <summary>The ReplicaSet a controller reference points to, if it is one of ours and still the same object (uid).</summary>
    private ReplicaSet? ResolveControllerRef(string? ns, OwnerReference controllerRef)
    {
        if (controllerRef.Kind != s_kind.Kind || controllerRef.Name is null)
        {
            return null;
        }
        var rs = _replicaSets.Get(ns, controllerRef.Name);
        return rs is not null && rs.Metadata?.Uid == controllerRef.Uid ? rs : null;
    }

    /// <summary>Upstream GetPodReplicaSets: the ReplicaSets of the pod's namespace whose non-empty selector matches it.</summary>
    internal List<ReplicaSet> GetPodReplicaSets(Pod pod)
    {
        if (pod.Metadata?.Labels is not { Count: > 0 } labels)
        {
            return [];
        }
        var matching = _replicaSets.List(pod.Metadata.Namespace ?? "")
            .Where(rs => ReplicaSetUtils.TrySelector(rs, out var selector, out _) && !selector.IsEmpty && selector.Matches(labels))
            .ToList();
        if (matching.Count > 1)
        {
            // Controller references keep this safe, but several ReplicaSets selecting one pod is a user error.
            _log($"{ComponentName}: user error! more than one ReplicaSet is selecting pods with labels: {FormatLabels(labels)}");
        }
        return matching;
    }

    private static bool OwnerRefEqual(OwnerReference? a, OwnerReference? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.ApiVersion == b.ApiVersion && a.Kind == b.Kind && a.Name == b.Name && a.Uid == b.Uid
                && a.Controller == b.Controller && a.BlockOwnerDeletion == b.BlockOwnerDeletion;

    // Go's %+v of a map: map[k1:v1 k2:v2], keys sorted.
    private static string FormatLabels(Dictionary<string, string> labels) =>
        "map[" + string.Join(' ', labels.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}:{e.Value}")) + "]";
}
