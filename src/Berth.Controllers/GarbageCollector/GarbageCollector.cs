using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.GarbageCollector;

/// <summary>
/// Upstream pkg/controller/garbagecollector: deletes objects whose owners are all gone, orphans the dependents of
/// owners deleted with the "orphan" finalizer, and finishes foreground deletions (dependents first, then the owner's
/// "foregroundDeletion" finalizer). The <see cref="GraphBuilder"/> keeps the ownership graph from the shared
/// informers; workers check each queued object against the API server before acting, since the graph may lag.
/// </summary>
public sealed class GarbageCollector : IAsyncDisposable
{
    public const string ComponentName = "garbage-collector-controller";

    // Upstream NewReferenceCache(500).
    private const int AbsentOwnerCacheSize = 500;

    // client-go retry.DefaultBackoff (RetryOnConflict): four tries, 10 ms growing fivefold between them.
    private static readonly TimeSpan[] s_conflictBackoff = [TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250)];

    private readonly SharedInformers? _informers;
    private readonly IGarbageCollectorClient _client;
    private readonly EventRecorder? _events;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;

    public GarbageCollector(SharedInformers informers, TimeProvider time, Action<string> log)
        : this(new KubeGarbageCollectorClient(ClientOf(informers)), time, log, limiter: null, recordEvent: null)
    {
        _informers = informers;
        _events = new EventRecorder(informers.Client, ComponentName, host: null);
        foreach (var kind in GcKinds.All)
        {
            kind.Watch(informers, Graph);
        }
    }

    /// <param name="limiter">The queues' rate limiter (tests retry at once); null for client-go's default.</param>
    /// <param name="recordEvent">Where Events go (tests collect them); null for the API server.</param>
    internal GarbageCollector(IGarbageCollectorClient client, TimeProvider time, Action<string> log, IRateLimiter? limiter,
        Action<ObjectIdentity, string, string, string>? recordEvent, int absentOwnerCacheSize = AbsentOwnerCacheSize)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _client = client;
        _time = time;
        _log = log;
        AttemptToDelete = new NodeQueue("garbage_collector_attempt_to_delete", time, limiter);
        AttemptToOrphan = new NodeQueue("garbage_collector_attempt_to_orphan", time, limiter);
        AbsentOwnerCache = new ReferenceCache(absentOwnerCacheSize);
        Graph = new GraphBuilder(AttemptToDelete, AttemptToOrphan, AbsentOwnerCache, recordEvent ?? RecordEvent, log);
    }

    internal enum Outcome
    {
        Done,

        // The object is gone: a virtual delete event will drop it from the graph, nothing to retry.
        EnqueuedVirtualDeleteEvent,
    }

    /// <summary>Objects to check: their owners may be gone, or they wait in foreground deletion.</summary>
    internal NodeQueue AttemptToDelete { get; }

    /// <summary>Owners being deleted with the "orphan" finalizer.</summary>
    internal NodeQueue AttemptToOrphan { get; }

    internal ReferenceCache AbsentOwnerCache { get; }

    internal GraphBuilder Graph { get; }

    /// <summary>
    /// Builds the graph from the informers' events at once, and once every informer has synced runs
    /// <paramref name="workers"/> workers on each queue until <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task RunAsync(int workers, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        var graph = Graph.RunAsync(ct);
        try
        {
            await _informers!.WaitForSyncAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await graph.ConfigureAwait(false);
            return;
        }
        using (ct.Register(() =>
        {
            AttemptToDelete.Keys.ShutDown();
            AttemptToOrphan.Keys.ShutDown();
        }))
        {
            var loops = new List<Task>();
            for (var i = 0; i < workers; i++)
            {
                loops.Add(Task.Run(() => WorkAsync(AttemptToDelete, AttemptToDeleteWorkerAsync, ct), CancellationToken.None));
                loops.Add(Task.Run(() => WorkAsync(AttemptToOrphan, AttemptToOrphanWorkerAsync, ct), CancellationToken.None));
            }
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        await graph.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        AttemptToDelete.Dispose();
        AttemptToOrphan.Dispose();
        if (_events is not null)
        {
            await _events.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Processes one ready item of <paramref name="queue"/>; false when none is ready (tests step with this).</summary>
    internal async Task<bool> ProcessNextAsync(NodeQueue queue, CancellationToken ct)
    {
        if (queue.Keys.Count == 0 || await queue.Keys.GetAsync(ct).ConfigureAwait(false) is not { } uid)
        {
            return false;
        }
        try
        {
            await ProcessAsync(queue, uid, queue == AttemptToDelete ? AttemptToDeleteWorkerAsync : AttemptToOrphanWorkerAsync, ct).ConfigureAwait(false);
        }
        finally
        {
            queue.Keys.Done(uid);
        }
        return true;
    }

    private async Task WorkAsync(NodeQueue queue, Func<GraphNode, CancellationToken, Task<bool>> work, CancellationToken ct)
    {
        // Shutdown is signalled by the queue (null), so the wait itself is not cancelled.
        while (await queue.Keys.GetAsync(CancellationToken.None).ConfigureAwait(false) is { } uid)
        {
            try
            {
                if (ct.IsCancellationRequested)
                {
                    return;
                }
                await ProcessAsync(queue, uid, work, ct).ConfigureAwait(false);
            }
            finally
            {
                queue.Keys.Done(uid);
            }
        }
    }

    // Upstream processAttemptToDeleteWorker / processAttemptToOrphanWorker: forget the item, or requeue it with
    // back-off; the collector never gives up on an item.
    private async Task ProcessAsync(NodeQueue queue, string uid, Func<GraphNode, CancellationToken, Task<bool>> work, CancellationToken ct)
    {
        var node = queue.Take(uid);
        if (node is null && !Graph.TryGetNode(uid, out node))
        {
            queue.Keys.Forget(uid);
            return;
        }
        bool forget;
        try
        {
            forget = await work(node, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        if (forget)
        {
            queue.Keys.Forget(uid);
        }
        else
        {
            queue.AddRateLimited(node);
        }
    }

    /// <summary>Upstream attemptToDeleteWorker: true to forget the item, false to requeue it.</summary>
    private async Task<bool> AttemptToDeleteWorkerAsync(GraphNode node, CancellationToken ct)
    {
        var inGraph = Graph.TryGetNode(node.Identity.Uid, out var fromGraph);
        if (!node.IsObserved && (!inGraph || fromGraph.IsObserved))
        {
            // A virtual node requeued after an error while the real object's delete, or the real object itself,
            // was observed: nothing left for this node to do.
            return true;
        }
        if (inGraph && (fromGraph.Identity.ApiVersion != node.Identity.ApiVersion || fromGraph.Identity.Kind != node.Identity.Kind))
        {
            // Queued before an informer corrected the apiVersion/kind.
            node = node.WithIdentity(node.Identity with { ApiVersion = fromGraph.Identity.ApiVersion, Kind = fromGraph.Identity.Kind });
        }
        Outcome outcome;
        try
        {
            outcome = await AttemptToDeleteItemAsync(node, ct).ConfigureAwait(false);
        }
        catch (NamespacedOwnerOfClusterScopedObjectException)
        {
            // A cluster-scoped object naming a namespaced owner: retrying cannot help.
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _log($"{ComponentName}: error syncing item {node}: {e.Message}");
            return false;
        }
        // A virtual node is polled until an informer shows it, or one added and removed while a watch was down
        // would stay in the graph forever (upstream issue 56121).
        return outcome != Outcome.Done || node.IsObserved;
    }

    /// <summary>
    /// Upstream attemptToDeleteItem: looks up the live object; if it waits for its dependents (foreground deletion),
    /// deletes them or finishes; otherwise, when all its owners are gone (or waiting for their dependents), deletes it,
    /// in the foreground if it has dependents of its own and an owner waits; with some owners left, patches away the
    /// references to the gone ones.
    /// </summary>
    internal async Task<Outcome> AttemptToDeleteItemAsync(GraphNode item, CancellationToken ct)
    {
        // Being deleted is a one-way trip: wait for the final delete, then the dependents are handled.
        if (item.IsBeingDeleted && !item.IsDeletingDependents)
        {
            return Outcome.Done;
        }
        var latest = await GetObjectAsync(item.Identity, ct).ConfigureAwait(false);
        if (latest is null || latest.Uid != item.Identity.Uid)
        {
            // Virtual nodes may stand for owners that never existed: the graph drops the node.
            Graph.EnqueueVirtualDeleteEvent(item.Identity);
            return Outcome.EnqueuedVirtualDeleteEvent;
        }
        if (item.IsDeletingDependents)
        {
            await ProcessDeletingDependentsItemAsync(item, ct).ConfigureAwait(false);
            return Outcome.Done;
        }
        var ownerReferences = latest.OwnerReferences ?? [];
        if (ownerReferences.Count == 0)
        {
            return Outcome.Done;
        }
        List<OwnerReference> solid = [], dangling = [], waitingForDependentsDeletion = [];
        foreach (var reference in ownerReferences)
        {
            var (isDangling, owner) = await IsDanglingAsync(reference, item, ct).ConfigureAwait(false);
            if (isDangling)
            {
                dangling.Add(reference);
            }
            else if (owner!.DeletionTimestamp is not null && GraphBuilder.HasFinalizer(owner, GraphBuilder.ForegroundFinalizer))
            {
                waitingForDependentsDeletion.Add(reference);
            }
            else
            {
                solid.Add(reference);
            }
        }
        if (solid.Count > 0)
        {
            if (dangling.Count == 0 && waitingForDependentsDeletion.Count == 0)
            {
                return Outcome.Done;
            }
            // References to owners waiting for their dependents go too, or those owners would wait forever.
            var ownerUids = dangling.Concat(waitingForDependentsDeletion).Select(r => r.Uid ?? "");
            await PatchAsync(item.Identity, DeleteOwnerRefStrategicMergePatch(item.Identity.Uid, ownerUids), ct).ConfigureAwait(false);
            return Outcome.Done;
        }
        if (waitingForDependentsDeletion.Count > 0 && item.DependentsCount > 0)
        {
            if (item.GetDependents().Any(d => d.IsDeletingDependents))
            {
                // An owner and a dependent of this item both delete in the foreground: a possible cycle, so this item
                // stops blocking its owners first (the check has false positives, as upstream's).
                _log($"{ComponentName}: {item} has owners and a dependent deleting their dependents; unblocking its owner references to prevent a cycle");
                await PatchAsync(item.Identity, UnblockOwnerReferencesStrategicMergePatch(item), ct).ConfigureAwait(false);
            }
            // Deleted in the foreground: its own dependents go first, then it, then its waiting owner.
            return await DeleteObjectAsync(item.Identity, latest.ResourceVersion, ownerReferences, "Foreground", ct).ConfigureAwait(false);
        }
        // No owner left: delete, honouring a propagation finalizer the item already has.
        var policy = GraphBuilder.HasFinalizer(latest, GraphBuilder.OrphanFinalizer) ? "Orphan"
            : GraphBuilder.HasFinalizer(latest, GraphBuilder.ForegroundFinalizer) ? "Foreground"
            : "Background";
        return await DeleteObjectAsync(item.Identity, latest.ResourceVersion, ownerReferences, policy, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Upstream isDangling: whether the owner <paramref name="reference"/> names is gone (404, or another object with
    /// its name: uid mismatch), remembered in the absent-owner cache; otherwise the owner's live metadata. Namespaced
    /// owners are looked up in the dependent's namespace; a cluster-scoped dependent cannot have one.
    /// </summary>
    private async Task<(bool Dangling, ObjectMeta? Owner)> IsDanglingAsync(OwnerReference reference, GraphNode item, CancellationToken ct)
    {
        var key = ObjectIdentity.Of(reference, "");
        if (AbsentOwnerCache.Has(key))
        {
            return (true, null);
        }
        key = key with { Namespace = item.Identity.Namespace };
        if (AbsentOwnerCache.Has(key))
        {
            return (true, null);
        }
        var kind = GcKinds.Resolve(reference.ApiVersion ?? "", reference.Kind ?? "");
        if (!kind.Namespaced)
        {
            key = key with { Namespace = "" };
        }
        if (item.Identity.Namespace.Length == 0 && kind.Namespaced)
        {
            _log($"{ComponentName}: {item} is cluster-scoped, but refers to a namespaced owner {key}");
            throw new NamespacedOwnerOfClusterScopedObjectException();
        }
        var owner = await _client.GetAsync(kind, kind.NamespaceFor(item.Identity.Namespace), reference.Name ?? "", ct).ConfigureAwait(false);
        if (owner is null || owner.Uid != reference.Uid)
        {
            AbsentOwnerCache.Add(key);
            return (true, null);
        }
        return (false, owner);
    }

    /// <summary>
    /// Upstream processDeletingDependentsItem: an owner in foreground deletion loses its "foregroundDeletion"
    /// finalizer once no dependent blocks it; until then its blocking dependents are queued for deletion.
    /// </summary>
    private async Task ProcessDeletingDependentsItemAsync(GraphNode item, CancellationToken ct)
    {
        var blocking = item.BlockingDependents();
        if (blocking.Count == 0)
        {
            await RemoveFinalizerAsync(item.Identity, GraphBuilder.ForegroundFinalizer, ct).ConfigureAwait(false);
            return;
        }
        foreach (var dependent in blocking.Where(d => !d.IsDeletingDependents))
        {
            AttemptToDelete.Add(dependent);
        }
    }

    /// <summary>
    /// Upstream attemptToOrphanWorker: removes the owner's reference from every dependent, then the owner's "orphan"
    /// finalizer, which lets the API server delete it. True to forget the item, false to requeue it.
    /// </summary>
    private async Task<bool> AttemptToOrphanWorkerAsync(GraphNode owner, CancellationToken ct)
    {
        try
        {
            await OrphanDependentsAsync(owner.Identity, owner.GetDependents(), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _log($"{ComponentName}: orphanDependents for {owner.Identity} failed with {e.Message}");
            return false;
        }
        try
        {
            await RemoveFinalizerAsync(owner.Identity, GraphBuilder.OrphanFinalizer, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _log($"{ComponentName}: removeOrphanFinalizer for {owner.Identity} failed with {e.Message}");
            return false;
        }
        return true;
    }

    /// <summary>Upstream orphanDependents: all dependents patched at once; those already gone are fine.</summary>
    internal async Task OrphanDependentsAsync(ObjectIdentity owner, IReadOnlyList<GraphNode> dependents, CancellationToken ct)
    {
        var errors = new ConcurrentQueue<string>();
        await Task.WhenAll(dependents.Select(async dependent =>
        {
            try
            {
                // The dependent's uid in the patch is a precondition: a new object with its name is left alone.
                await PatchAsync(dependent.Identity, DeleteOwnerRefStrategicMergePatch(dependent.Identity.Uid, [owner.Uid]), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not KubeApiException { StatusCode: 404 } and not OperationCanceledException)
            {
                errors.Enqueue($"orphaning {dependent.Identity} failed, {e.Message}");
            }
        })).ConfigureAwait(false);
        if (!errors.IsEmpty)
        {
            throw new InvalidOperationException($"failed to orphan dependents of owner {owner}, got errors: {Aggregate([.. errors])}");
        }
    }

    /// <summary>
    /// Upstream removeFinalizer: a JSON merge patch of the finalizers, pinned to the resourceVersion read, retried on
    /// conflict as client-go's RetryOnConflict does. An object already gone, or without the finalizer, is done.
    /// </summary>
    private async Task RemoveFinalizerAsync(ObjectIdentity owner, string finalizer, CancellationToken ct)
    {
        var kind = GcKinds.Resolve(owner.ApiVersion, owner.Kind);
        var ns = kind.NamespaceFor(owner.Namespace);
        for (var attempt = 0; ; attempt++)
        {
            var latest = await _client.GetAsync(kind, ns, owner.Name, ct).ConfigureAwait(false);
            if (latest is null)
            {
                return;
            }
            var finalizers = latest.Finalizers ?? [];
            if (!finalizers.Contains(finalizer))
            {
                return;
            }
            var remaining = finalizers.Where(f => f != finalizer).ToList();
            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["resourceVersion"] = latest.ResourceVersion,
                    // Go marshals the emptied list as null, which the merge patch turns into removing the field.
                    ["finalizers"] = remaining.Count == 0 ? null : new JsonArray([.. remaining.Select(f => (JsonNode)JsonValue.Create(f))]),
                },
            };
            try
            {
                await _client.PatchAsync(kind, ns, owner.Name, PatchType.Merge, patch.ToJsonString(), ct).ConfigureAwait(false);
                return;
            }
            catch (KubeApiException e) when (e.StatusCode == 409)
            {
                if (attempt == s_conflictBackoff.Length)
                {
                    throw new InvalidOperationException(
                        $"updateMaxRetries({s_conflictBackoff.Length + 1}) has reached. The garbage collector will retry later for owner {owner}", e);
                }
                await Task.Delay(s_conflictBackoff[attempt], _time, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Upstream deleteObject: preconditions on the uid and the resourceVersion read; if only the resourceVersion
    /// moved (the owner references did not), the delete is retried without it, so busy objects are not starved. An
    /// object already gone leaves the graph by a virtual delete event.
    /// </summary>
    private async Task<Outcome> DeleteObjectAsync(ObjectIdentity item, string? resourceVersion, IReadOnlyList<OwnerReference> ownersAtResourceVersion,
        string policy, CancellationToken ct)
    {
        var kind = GcKinds.Resolve(item.ApiVersion, item.Kind);
        var ns = kind.NamespaceFor(item.Namespace);
        var preconditions = new Preconditions { Uid = item.Uid, ResourceVersion = string.IsNullOrEmpty(resourceVersion) ? null : resourceVersion };
        var options = new DeleteOptions { Preconditions = preconditions, PropagationPolicy = policy };
        try
        {
            try
            {
                await _client.DeleteAsync(kind, ns, item.Name, options, ct).ConfigureAwait(false);
            }
            catch (KubeApiException e) when (e.StatusCode == 409 && preconditions.ResourceVersion is not null)
            {
                if (await _client.GetAsync(kind, ns, item.Name, ct).ConfigureAwait(false) is not { } live)
                {
                    Graph.EnqueueVirtualDeleteEvent(item);
                    return Outcome.EnqueuedVirtualDeleteEvent;
                }
                if (live.Uid != item.Uid || live.ResourceVersion == resourceVersion || !SameReferences(live.OwnerReferences ?? [], ownersAtResourceVersion))
                {
                    throw;
                }
                preconditions.ResourceVersion = null;
                await _client.DeleteAsync(kind, ns, item.Name, options, ct).ConfigureAwait(false);
            }
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            Graph.EnqueueVirtualDeleteEvent(item);
            return Outcome.EnqueuedVirtualDeleteEvent;
        }
        return Outcome.Done;
    }

    private async Task<ObjectMeta?> GetObjectAsync(ObjectIdentity identity, CancellationToken ct)
    {
        var kind = GcKinds.Resolve(identity.ApiVersion, identity.Kind);
        if (kind.Namespaced && identity.Namespace.Length == 0)
        {
            // A namespaced kind without a namespace: only a cluster-scoped dependent names an owner like that.
            throw new NamespacedOwnerOfClusterScopedObjectException();
        }
        return await _client.GetAsync(kind, kind.NamespaceFor(identity.Namespace), identity.Name, ct).ConfigureAwait(false);
    }

    private Task PatchAsync(ObjectIdentity identity, string patch, CancellationToken ct)
    {
        var kind = GcKinds.Resolve(identity.ApiVersion, identity.Kind);
        return _client.PatchAsync(kind, kind.NamespaceFor(identity.Namespace), identity.Name, PatchType.StrategicMerge, patch, ct);
    }

    private void RecordEvent(ObjectIdentity involved, string type, string reason, string message)
    {
        if (_events is not null && GcKinds.Find(involved.ApiVersion, involved.Kind) is { } kind)
        {
            _events.Record(kind.Stub(involved), type, reason, message);
        }
    }

    /// <summary>
    /// Upstream GenerateDeleteOwnerRefStrategicMergeBytes: deletes the references to <paramref name="ownerUids"/>
    /// (ownerReferences merge by uid); the dependent's uid makes the patch fail on another object of that name.
    /// </summary>
    internal static string DeleteOwnerRefStrategicMergePatch(string dependentUid, IEnumerable<string> ownerUids) => new JsonObject
    {
        ["metadata"] = new JsonObject
        {
            ["uid"] = dependentUid,
            ["ownerReferences"] = new JsonArray([.. ownerUids.Select(uid => (JsonNode)new JsonObject { ["$patch"] = "delete", ["uid"] = uid })]),
        },
    }.ToJsonString();

    /// <summary>Upstream unblockOwnerReferencesStrategicMergePatch: every blocking reference set to blockOwnerDeletion=false.</summary>
    internal static string UnblockOwnerReferencesStrategicMergePatch(GraphNode node) => new JsonObject
    {
        ["metadata"] = new JsonObject
        {
            ["uid"] = node.Identity.Uid,
            ["ownerReferences"] = new JsonArray([.. node.Owners.Where(o => o.BlockOwnerDeletion == true).Select(o =>
            {
                var reference = new JsonObject { ["apiVersion"] = o.ApiVersion, ["kind"] = o.Kind, ["name"] = o.Name, ["uid"] = o.Uid };
                if (o.Controller is { } controller)
                {
                    reference["controller"] = controller;
                }
                reference["blockOwnerDeletion"] = false;
                return (JsonNode)reference;
            })]),
        },
    }.ToJsonString();

    private static bool SameReferences(IReadOnlyList<OwnerReference> a, IReadOnlyList<OwnerReference> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.ApiVersion == p.Second.ApiVersion && p.First.Kind == p.Second.Kind &&
            p.First.Name == p.Second.Name && p.First.Uid == p.Second.Uid && p.First.Controller == p.Second.Controller &&
            p.First.BlockOwnerDeletion == p.Second.BlockOwnerDeletion);

    // utilerrors.NewAggregate(...).Error(): one message alone, several in brackets.
    private static string Aggregate(IReadOnlyList<string> messages) => messages.Count == 1 ? messages[0] : "[" + string.Join(", ", messages) + "]";

    private static KubeClient ClientOf(SharedInformers informers)
    {
        ArgumentNullException.ThrowIfNull(informers);
        return informers.Client;
    }
}

/// <summary>Upstream namespacedOwnerOfClusterScopedObjectErr: cluster-scoped objects cannot refer to namespaced owners.</summary>
internal sealed class NamespacedOwnerOfClusterScopedObjectException()
    : Exception("cluster-scoped objects cannot refer to namespaced owners");
