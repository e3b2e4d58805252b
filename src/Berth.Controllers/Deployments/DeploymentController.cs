using Berth.Api.Selectors;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.Framework;
using static Berth.Controllers.Deployments.DeploymentUtil;

namespace Berth.Controllers.Deployments;

/// <summary>
/// Upstream pkg/controller/deployment (v1.32): rolls each Deployment's pod template out through ReplicaSets. It
/// claims the ReplicaSets its selector matches, names and labels the new one by the template's hash, moves replicas
/// from the old ReplicaSets to the new one within maxSurge/maxUnavailable (RollingUpdate) or all at once after the
/// old pods are gone (Recreate), spreads resizes proportionally, trims history to revisionHistoryLimit, and reports
/// status with the Available and Progressing conditions `kubectl rollout status` reads. The reconcile itself is
/// <see cref="DeploymentSync"/>; this class feeds it from the informers and applies its effects.
/// </summary>
public sealed class DeploymentController : IAsyncDisposable
{
    public const string ComponentName = "deployment-controller";

    private static readonly KindInfo s_kind = KubeKinds.TryGet(typeof(Deployment), out var kind)
        ? kind
        : throw new InvalidOperationException("Deployment is not a generated kind");

    private readonly KubeClient _client;
    private readonly Informer<Deployment> _deployments;
    private readonly Informer<ReplicaSet> _replicaSets;
    private readonly Informer<Pod> _pods;
    private readonly EventRecorder _events;
    private readonly DeploymentSync _sync;
    private readonly Action<string> _log;

    public DeploymentController(SharedInformers informers, TimeProvider time, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _client = informers.Client;
        _log = log;
        _events = new EventRecorder(_client, ComponentName, host: null);
        Queue = new WorkQueue("deployment", time);
        _sync = new DeploymentSync(new Control(this), time);

        _deployments = informers.For<Deployment>();
        _deployments.OnAdd(Enqueue);
        _deployments.OnUpdate((_, current) => Enqueue(current));
        // Deleted Deployments sync to a no-op once gone from the cache.
        _deployments.OnDelete(Enqueue);

        _replicaSets = informers.For<ReplicaSet>();
        _replicaSets.OnAdd(AddReplicaSet);
        _replicaSets.OnUpdate(UpdateReplicaSet);
        _replicaSets.OnDelete(DeleteReplicaSet);

        _pods = informers.For<Pod>();
        _pods.OnDelete(DeletePod);
        PodControllerIndex.Add(_pods);
    }

    internal WorkQueue Queue { get; }

    /// <summary>Waits for the Deployment, ReplicaSet and Pod caches, then syncs queued Deployments with <paramref name="workers"/> workers until cancelled.</summary>
    public async Task RunAsync(int workers, CancellationToken ct)
    {
        try
        {
            await Task.WhenAll(_deployments.WaitForSyncAsync(ct), _replicaSets.WaitForSyncAsync(ct), _pods.WaitForSyncAsync(ct)).ConfigureAwait(false);
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

    /// <summary>Upstream syncDeployment: claims the Deployment's ReplicaSets, groups its pods, and reconciles a copy of it.</summary>
    internal async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        if (_deployments.Get(ns, name) is not { } cached)
        {
            // Deleted: its ReplicaSets go with it through the garbage collector.
            return;
        }
        var d = KubeJson.DeepClone(cached);
        d.Status ??= new DeploymentStatus();

        if (d.Spec?.Selector is { } selector && (selector.MatchLabels?.Count ?? 0) == 0 && (selector.MatchExpressions?.Count ?? 0) == 0)
        {
            _events.Record(d, "Warning", "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.");
            if ((d.Status.ObservedGeneration ?? 0) < (d.Metadata?.Generation ?? 0))
            {
                d.Status.ObservedGeneration = d.Metadata!.Generation;
                try
                {
                    await _client.UpdateStatusAsync(d, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
                {
                    // Upstream ignores this write's error too: the event says what is wrong.
                }
            }
            return;
        }

        var rsList = await GetReplicaSetsForDeploymentAsync(d, ct).ConfigureAwait(false);
        // The pods by ReplicaSet: Recreate must see that no old pod runs before it starts new ones.
        var podMap = GetPodMapForDeployment(d, rsList);
        await _sync.SyncAsync(d, rsList, podMap, ct).ConfigureAwait(false);
    }

    /// <summary>The ReplicaSets the Deployment owns once orphans it selects are adopted and owned ones it no longer selects released.</summary>
    private async Task<List<ReplicaSet>> GetReplicaSetsForDeploymentAsync(Deployment d, CancellationToken ct)
    {
        // All of the namespace: owned ReplicaSets that stopped matching must be seen to be released.
        var rsList = _replicaSets.List(d.Metadata?.Namespace ?? "");
        if (!TrySelector(d.Spec?.Selector, out var selector, out var error))
        {
            throw new InvalidOperationException($"deployment {d.Metadata?.Namespace}/{d.Metadata?.Name} has invalid label selector: {error}");
        }
        // Adoption rechecks the Deployment live first: the cache may not show it was just deleted (kubernetes#42639).
        var manager = new ControllerRefManager<ReplicaSet>(_client, d, selector, s_kind,
            async token => await _client.TryGetAsync<Deployment>(d.Metadata?.Namespace, d.Metadata!.Name!, token).ConfigureAwait(false));
        return await manager.ClaimAsync(rsList, ct).ConfigureAwait(false);
    }

    /// <summary>The Deployment's pods by the uid of the ReplicaSet controlling them, inactive ones included.</summary>
    private Dictionary<string, List<Pod>> GetPodMapForDeployment(Deployment d, List<ReplicaSet> rsList)
    {
        TrySelector(d.Spec?.Selector, out var selector, out _);
        var podMap = new Dictionary<string, List<Pod>>(StringComparer.Ordinal);
        foreach (var rs in rsList)
        {
            if (rs.Metadata?.Uid is { } uid)
            {
                podMap[uid] = [.. _pods.ByIndex(PodControllerIndex.Name, uid)
                    .Where(p => p.Metadata?.Namespace == d.Metadata?.Namespace && selector.Matches(p.Metadata?.Labels))];
            }
        }
        return podMap;
    }

    private void Enqueue(Deployment d) => Queue.Add(ControllerWorkers.Key(d));

    // A new ReplicaSet wakes its controller; an orphan wakes every Deployment that might adopt it.
    private void AddReplicaSet(ReplicaSet rs)
    {
        if (rs.Metadata?.DeletionTimestamp is not null)
        {
            // After a restart a ReplicaSet may first be seen already being deleted.
            DeleteReplicaSet(rs);
            return;
        }
        if (OwnerRefs.ControllerOf(rs) is { } controllerRef)
        {
            if (ResolveControllerRef(rs.Metadata?.Namespace, controllerRef) is { } d)
            {
                Enqueue(d);
            }
            return;
        }
        foreach (var d in GetDeploymentsForReplicaSet(rs))
        {
            Enqueue(d);
        }
    }

    // A changed ReplicaSet wakes its controller, and its former one if the controller reference changed; a changed
    // orphan wakes the Deployments that might adopt it now.
    private void UpdateReplicaSet(ReplicaSet old, ReplicaSet current)
    {
        if (current.Metadata?.ResourceVersion == old.Metadata?.ResourceVersion)
        {
            // A resync: two versions of one object always differ in resourceVersion.
            return;
        }
        var currentRef = OwnerRefs.ControllerOf(current);
        var oldRef = OwnerRefs.ControllerOf(old);
        var refChanged = !OwnerRefEqual(currentRef, oldRef);
        if (refChanged && oldRef is not null && ResolveControllerRef(old.Metadata?.Namespace, oldRef) is { } oldD)
        {
            Enqueue(oldD);
        }
        if (currentRef is not null)
        {
            if (ResolveControllerRef(current.Metadata?.Namespace, currentRef) is { } d)
            {
                Enqueue(d);
            }
            return;
        }
        if (refChanged || !StringMaps.SemanticEqual(old.Metadata?.Labels, current.Metadata?.Labels))
        {
            foreach (var d in GetDeploymentsForReplicaSet(current))
            {
                Enqueue(d);
            }
        }
    }

    private void DeleteReplicaSet(ReplicaSet rs)
    {
        // Nobody cares about orphans going away.
        if (OwnerRefs.ControllerOf(rs) is { } controllerRef && ResolveControllerRef(rs.Metadata?.Namespace, controllerRef) is { } d)
        {
            Enqueue(d);
        }
    }

    // A Recreate rollout waits for the old pods to be gone: the deletion of the last one brings the Deployment back.
    private void DeletePod(Pod pod)
    {
        if (GetDeploymentForPod(pod) is not { } d || d.Spec?.Strategy?.Type != RecreateStrategy)
        {
            return;
        }
        // Upstream lists the ReplicaSets live here; the cache is as good for counting pods and keeps handlers off the network.
        var uid = d.Metadata?.Uid;
        var rsList = _replicaSets.List(d.Metadata?.Namespace ?? "").Where(rs => OwnerRefs.ControllerOf(rs)?.Uid == uid).ToList();
        if (GetPodMapForDeployment(d, rsList).Values.All(pods => pods.Count == 0))
        {
            Enqueue(d);
        }
    }

    /// <summary>The Deployment controlling the ReplicaSet controlling the pod.</summary>
    private Deployment? GetDeploymentForPod(Pod pod)
    {
        if (OwnerRefs.ControllerOf(pod) is not { Kind: "ReplicaSet", Name: { } rsName } podRef)
        {
            return null;
        }
        var rs = _replicaSets.Get(pod.Metadata?.Namespace, rsName);
        if (rs is null || rs.Metadata?.Uid != podRef.Uid || OwnerRefs.ControllerOf(rs) is not { } rsRef)
        {
            return null;
        }
        return ResolveControllerRef(rs.Metadata?.Namespace, rsRef);
    }

    /// <summary>The Deployment a controller reference points to, if it is one and still the same object (uid).</summary>
    private Deployment? ResolveControllerRef(string? ns, OwnerReference controllerRef)
    {
        if (controllerRef.Kind != s_kind.Kind || controllerRef.Name is null)
        {
            return null;
        }
        var d = _deployments.Get(ns, controllerRef.Name);
        return d is not null && d.Metadata?.Uid == controllerRef.Uid ? d : null;
    }

    private List<Deployment> GetDeploymentsForReplicaSet(ReplicaSet rs)
    {
        var deployments = DeploymentUtil.GetDeploymentsForReplicaSet(_deployments.List(rs.Metadata?.Namespace ?? ""), rs);
        if (deployments.Count > 1)
        {
            // Controller references keep this safe, but it is a user error.
            _log($"{ComponentName}: user error! more than one deployment is selecting replica set {rs.Metadata?.Namespace}/{rs.Metadata?.Name}");
        }
        return deployments;
    }

    private static bool OwnerRefEqual(OwnerReference? a, OwnerReference? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.ApiVersion == b.ApiVersion && a.Kind == b.Kind && a.Name == b.Name && a.Uid == b.Uid
                && a.Controller == b.Controller && a.BlockOwnerDeletion == b.BlockOwnerDeletion;

    /// <summary>The sync's effects, on the API server, the caches, the event recorder and the queue.</summary>
    private sealed class Control(DeploymentController controller) : IDeploymentControl
    {
        public Task<ReplicaSet> CreateReplicaSetAsync(ReplicaSet rs, CancellationToken ct) => controller._client.CreateAsync(rs, ct);

        public Task<ReplicaSet> UpdateReplicaSetAsync(ReplicaSet rs, CancellationToken ct) => controller._client.UpdateAsync(rs, ct);

        public Task DeleteReplicaSetAsync(string ns, string name, CancellationToken ct) =>
            controller._client.DeleteAsync<ReplicaSet>(ns, name, ct: ct);

        public Task UpdateStatusAsync(Deployment d, CancellationToken ct) => controller._client.UpdateStatusAsync(d, ct);

        public ReplicaSet? GetCachedReplicaSet(string ns, string name) => controller._replicaSets.Get(ns, name);

        public void RecordEvent(Deployment d, string type, string reason, string message) => controller._events.Record(d, type, reason, message);

        public void EnqueueAfter(Deployment d, TimeSpan delay) => controller.Queue.AddAfter(ControllerWorkers.Key(d), delay);

        public void EnqueueRateLimited(Deployment d) => controller.Queue.AddRateLimited(ControllerWorkers.Key(d));
    }
}
