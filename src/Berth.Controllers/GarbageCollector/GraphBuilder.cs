using System.Collections.Concurrent;
using Berth.Api.Models;

namespace Berth.Controllers.GarbageCollector;

internal enum GraphEventType
{
    Add,
    Update,
    Delete,
}

/// <summary>
/// One change for the graph: an informer event of the kind <paramref name="ApiVersion"/>/<paramref name="Kind"/>, or
/// (<paramref name="Virtual"/>) a delete the collector made up after the API server said an object does not exist.
/// </summary>
internal sealed record GraphEvent(GraphEventType Type, string ApiVersion, string Kind, ObjectMeta Object, ObjectMeta? OldObject = null, bool Virtual = false);

/// <summary>
/// Upstream graph_builder.go: turns the informers' events, one at a time on one thread, into the dependency graph
/// (uid → node), and queues what may need the collector's attention: objects whose owners may be gone
/// (attemptToDelete), owners being deleted with the "orphan" finalizer (attemptToOrphan), and owners waiting in
/// foreground deletion for their dependents.
/// </summary>
internal sealed class GraphBuilder
{
    private readonly ConcurrentDictionary<string, GraphNode> _uidToNode = new(StringComparer.Ordinal);
    private readonly NodeQueue _attemptToDelete;
    private readonly NodeQueue _attemptToOrphan;
    private readonly ReferenceCache _absentOwnerCache;
    private readonly Action<ObjectIdentity, string, string, string> _recordEvent;
    private readonly Action<string> _log;
    private readonly Lock _changesLock = new();
    private readonly Queue<GraphEvent> _changes = new();
    private readonly SemaphoreSlim _changesReady = new(0);

    /// <param name="recordEvent">Records an Event: involved object, type, reason, message.</param>
    public GraphBuilder(NodeQueue attemptToDelete, NodeQueue attemptToOrphan, ReferenceCache absentOwnerCache,
        Action<ObjectIdentity, string, string, string> recordEvent, Action<string> log)
    {
        _attemptToDelete = attemptToDelete;
        _attemptToOrphan = attemptToOrphan;
        _absentOwnerCache = absentOwnerCache;
        _recordEvent = recordEvent;
        _log = log;
    }

    /// <summary>The graph's nodes (a snapshot), for tests.</summary>
    internal IReadOnlyCollection<GraphNode> Nodes => [.. _uidToNode.Values];

    /// <summary>The changes not processed yet, oldest first, for tests.</summary>
    internal IReadOnlyList<GraphEvent> PendingChanges
    {
        get
        {
            lock (_changesLock)
            {
                return [.. _changes];
            }
        }
    }

    public bool TryGetNode(string uid, out GraphNode node) => _uidToNode.TryGetValue(uid, out node!);

    public void Enqueue(GraphEvent change)
    {
        lock (_changesLock)
        {
            _changes.Enqueue(change);
        }
        _changesReady.Release();
    }

    /// <summary>Upstream enqueueVirtualDeleteEvent: removes a node the API server says has no object behind it.</summary>
    public void EnqueueVirtualDeleteEvent(ObjectIdentity identity) => Enqueue(new GraphEvent(GraphEventType.Delete, identity.ApiVersion, identity.Kind,
        new ObjectMeta
        {
            Namespace = identity.Namespace.Length > 0 ? identity.Namespace : null,
            Uid = identity.Uid,
            Name = identity.Name,
        },
        Virtual: true));

    /// <summary>Processes changes as they come until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await _changesReady.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            var change = Dequeue();
            try
            {
                Process(change);
            }
            catch (Exception e)
            {
                // One bad event must not stop the graph (upstream recovers the goroutine and carries on).
                _log($"garbage-collector: processing a {change.Type} of {change.Kind} {change.Object.Namespace}/{change.Object.Name} failed: {e.Message}");
            }
        }
    }

    /// <summary>Processes the oldest pending change, if any (tests drive the graph with this).</summary>
    internal bool ProcessNext()
    {
        if (!_changesReady.Wait(0))
        {
            return false;
        }
        Process(Dequeue());
        return true;
    }

    private GraphEvent Dequeue()
    {
        lock (_changesLock)
        {
            return _changes.Dequeue();
        }
    }

    /// <summary>Upstream processGraphChanges for one event.</summary>
    internal void Process(GraphEvent change)
    {
        var obj = change.Object;
        var uid = obj.Uid ?? "";
        var found = _uidToNode.TryGetValue(uid, out var existing);
        if (found && !change.Virtual && !existing!.IsObserved)
        {
            // The first informer event for an owner known so far only from its dependents' references.
            var observed = IdentityFromEvent(change);
            if (observed != existing.Identity)
            {
                // Dependents that named the owner by other coordinates: if its owners are solid after all, the
                // delete attempt does nothing. This covers a bad child observed before its good parent; the other
                // order is handled in AddDependentToOwners.
                var (_, potentiallyInvalid) = PartitionDependents(existing.GetDependents(), observed);
                foreach (var dependent in potentiallyInvalid)
                {
                    if (observed.Namespace.Length > 0 && dependent.Identity.Namespace != observed.Namespace)
                    {
                        ReportInvalidNamespaceOwnerRef(dependent, observed.Uid);
                    }
                    _attemptToDelete.Add(dependent);
                }
                existing = existing.WithIdentity(observed);
                _uidToNode[uid] = existing;
            }
            existing.MarkObserved();
        }
        switch (change.Type)
        {
            case GraphEventType.Add or GraphEventType.Update when !found:
            {
                var node = new GraphNode(IdentityFromEvent(change), Owners(obj), isVirtual: false,
                    beingDeleted: BeingDeleted(obj), deletingDependents: BeingDeleted(obj) && HasFinalizer(obj, ForegroundFinalizer));
                InsertNode(node);
                // An add may carry a deletion the informer folded into it.
                ProcessTransitions(change.OldObject, obj, node);
                break;
            }
            case GraphEventType.Add or GraphEventType.Update:
            {
                if (!change.Virtual && (existing!.Identity.ApiVersion != change.ApiVersion || existing.Identity.Kind != change.Kind))
                {
                    var old = existing;
                    existing = existing.WithIdentity(existing.Identity with { ApiVersion = change.ApiVersion, Kind = change.Kind });
                    _uidToNode[uid] = existing;
                    foreach (var owner in existing.Owners)
                    {
                        if (_uidToNode.TryGetValue(owner.Uid ?? "", out var ownerNode))
                        {
                            ownerNode.ReplaceDependentIfItExists(old, existing);
                        }
                    }
                }
                var (added, removed, changed) = ReferencesDiffs(existing!.Owners, Owners(obj));
                if (added.Count > 0 || removed.Count > 0 || changed.Count > 0)
                {
                    // A removed or unblocked reference may be what an owner in foreground deletion waits for.
                    AddUnblockedOwnersToDeleteQueue(removed, changed);
                    existing.Owners = Owners(obj);
                    AddDependentToOwners(existing, added);
                    RemoveDependentFromOwners(existing, removed);
                }
                if (BeingDeleted(obj))
                {
                    existing.MarkBeingDeleted();
                }
                ProcessTransitions(change.OldObject, obj, existing);
                break;
            }
            case GraphEventType.Delete:
                if (found)
                {
                    ProcessDelete(change, existing!);
                }
                break;
        }
    }

    private void ProcessDelete(GraphEvent change, GraphNode existing)
    {
        var removeExisting = true;
        if (change.Virtual)
        {
            var deleted = IdentityFromEvent(change);
            if (!existing.IsObserved)
            {
                // The node is virtual too, so its coordinates are a guess: dependents that name the uid by other
                // coordinates keep it in the graph under one of those.
                var (matching, nonMatching) = PartitionDependents(existing.GetDependents(), deleted);
                if (nonMatching.Count > 0)
                {
                    removeExisting = false;
                    if (matching.Count > 0)
                    {
                        _absentOwnerCache.Add(deleted);
                        foreach (var dependent in matching)
                        {
                            _attemptToDelete.Add(dependent);
                        }
                    }
                    if (existing.Identity == deleted && AlternateOwnerIdentity(nonMatching, deleted) is { } replacementIdentity)
                    {
                        var replacement = existing.WithIdentity(replacementIdentity);
                        _uidToNode[replacement.Identity.Uid] = replacement;
                        _attemptToDelete.AddRateLimited(replacement);
                    }
                }
            }
            else if (existing.Identity != deleted)
            {
                // A real node stays; only the dependents that named it by the coordinates found absent go.
                removeExisting = false;
                var (matching, _) = PartitionDependents(existing.GetDependents(), deleted);
                if (matching.Count > 0)
                {
                    _absentOwnerCache.Add(deleted);
                    foreach (var dependent in matching)
                    {
                        _attemptToDelete.Add(dependent);
                    }
                }
            }
        }
        if (!removeExisting)
        {
            return;
        }
        RemoveNode(existing);
        var dependents = existing.GetDependents();
        if (dependents.Count > 0)
        {
            _absentOwnerCache.Add(IdentityFromEvent(change));
        }
        foreach (var dependent in dependents)
        {
            _attemptToDelete.Add(dependent);
        }
        foreach (var owner in existing.Owners)
        {
            // An owner in foreground deletion checks whether this was the last dependent it waited for.
            if (_uidToNode.TryGetValue(owner.Uid ?? "", out var ownerNode) && ownerNode.IsDeletingDependents)
            {
                _attemptToDelete.Add(ownerNode);
            }
        }
    }

    private void InsertNode(GraphNode node)
    {
        _uidToNode[node.Identity.Uid] = node;
        AddDependentToOwners(node, node.Owners);
    }

    private void RemoveNode(GraphNode node)
    {
        _uidToNode.TryRemove(node.Identity.Uid, out _);
        RemoveDependentFromOwners(node, node.Owners);
    }

    /// <summary>
    /// Upstream addDependentToOwners: owners not in the graph get a virtual node (in the dependent's namespace) that
    /// is queued so the API server can say whether it exists; a dependent whose reference disagrees with an
    /// observed owner (another namespace, other coordinates) is queued so its references get verified.
    /// </summary>
    internal void AddDependentToOwners(GraphNode node, IReadOnlyList<OwnerReference> owners)
    {
        var potentiallyInvalid = false;
        foreach (var owner in owners)
        {
            var ownerUid = owner.Uid ?? "";
            if (!_uidToNode.TryGetValue(ownerUid, out var ownerNode))
            {
                ownerNode = new GraphNode(ObjectIdentity.Of(owner, node.Identity.Namespace), isVirtual: true);
                _uidToNode[ownerUid] = ownerNode;
                ownerNode.AddDependent(node);
                _attemptToDelete.Add(ownerNode);
                continue;
            }
            ownerNode.AddDependent(node);
            if (potentiallyInvalid)
            {
                continue;
            }
            var ownerIsNamespaced = ownerNode.Identity.Namespace.Length > 0;
            if (ownerIsNamespaced && ownerNode.Identity.Namespace != node.Identity.Namespace)
            {
                if (ownerNode.IsObserved)
                {
                    // Definitely wrong: namespaced owners live in their dependents' namespace.
                    ReportInvalidNamespaceOwnerRef(node, ownerUid);
                }
                potentiallyInvalid = true;
            }
            else if (!ownerNode.Identity.MatchesCoordinates(owner))
            {
                potentiallyInvalid = true;
            }
            else if (!ownerIsNamespaced && ownerNode.Identity.Namespace != node.Identity.Namespace && !ownerNode.IsObserved)
            {
                // A virtual cluster-scoped owner named from another namespace may be a namespaced kind wrongly
                // referenced by a cluster-scoped dependent (upstream issue 98040): verify the dependent.
                potentiallyInvalid = true;
            }
        }
        if (potentiallyInvalid)
        {
            _attemptToDelete.Add(node);
        }
    }

    internal void RemoveDependentFromOwners(GraphNode node, IReadOnlyList<OwnerReference> owners)
    {
        foreach (var owner in owners)
        {
            if (_uidToNode.TryGetValue(owner.Uid ?? "", out var ownerNode))
            {
                ownerNode.DeleteDependent(node);
            }
        }
    }

    /// <summary>Upstream reportInvalidNamespaceOwnerRef: a Warning Event on the dependent.</summary>
    private void ReportInvalidNamespaceOwnerRef(GraphNode node, string invalidOwnerUid)
    {
        if (node.Owners.FirstOrDefault(o => o.Uid == invalidOwnerUid) is not { } invalid)
        {
            return;
        }
        var invalidIdentity = ObjectIdentity.Of(invalid, node.Identity.Namespace);
        _log($"garbage-collector: {node.Identity} references owner {invalidIdentity}, which does not exist in its namespace");
        _recordEvent(node.Identity, "Warning", "OwnerRefInvalidNamespace",
            $"ownerRef {invalidIdentity} does not exist in namespace \"{node.Identity.Namespace}\"");
    }

    // A removed blocking reference, or one that stopped blocking, may be what a foreground deletion waits for.
    private void AddUnblockedOwnersToDeleteQueue(List<OwnerReference> removed, List<(OwnerReference Old, OwnerReference New)> changed)
    {
        foreach (var reference in removed)
        {
            if (reference.BlockOwnerDeletion == true && _uidToNode.TryGetValue(reference.Uid ?? "", out var owner))
            {
                _attemptToDelete.Add(owner);
            }
        }
        foreach (var (old, current) in changed)
        {
            if (old.BlockOwnerDeletion == true && current.BlockOwnerDeletion != true && _uidToNode.TryGetValue(current.Uid ?? "", out var owner))
            {
                _attemptToDelete.Add(owner);
            }
        }
    }

    private void ProcessTransitions(ObjectMeta? old, ObjectMeta current, GraphNode node)
    {
        if (DeletionStartsWithFinalizer(old, current, OrphanFinalizer))
        {
            _attemptToOrphan.Add(node);
            return;
        }
        if (DeletionStartsWithFinalizer(old, current, ForegroundFinalizer))
        {
            // A node first seen as virtual has no deletingDependents yet, so set it here.
            node.MarkDeletingDependents();
            foreach (var dependent in node.GetDependents())
            {
                _attemptToDelete.Add(dependent);
            }
            _attemptToDelete.Add(node);
        }
    }

    internal const string OrphanFinalizer = "orphan";
    internal const string ForegroundFinalizer = "foregroundDeletion";

    internal static bool BeingDeleted(ObjectMeta meta) => meta.DeletionTimestamp is not null;

    internal static bool HasFinalizer(ObjectMeta meta, string finalizer) => meta.Finalizers?.Contains(finalizer) == true;

    private static bool DeletionStartsWithFinalizer(ObjectMeta? old, ObjectMeta current, string finalizer) =>
        BeingDeleted(current) && HasFinalizer(current, finalizer) && (old is null || !BeingDeleted(old) || !HasFinalizer(old, finalizer));

    private static IReadOnlyList<OwnerReference> Owners(ObjectMeta meta) => meta.OwnerReferences ?? [];

    private static ObjectIdentity IdentityFromEvent(GraphEvent change) =>
        new(change.ApiVersion, change.Kind, change.Object.Namespace ?? "", change.Object.Name ?? "", change.Object.Uid ?? "");

    /// <summary>Upstream referencesDiffs: references by uid added, removed, and changed in any field.</summary>
    internal static (List<OwnerReference> Added, List<OwnerReference> Removed, List<(OwnerReference Old, OwnerReference New)> Changed) ReferencesDiffs(
        IReadOnlyList<OwnerReference> old, IReadOnlyList<OwnerReference> current)
    {
        var oldByUid = new Dictionary<string, OwnerReference>(StringComparer.Ordinal);
        foreach (var reference in old)
        {
            oldByUid[reference.Uid ?? ""] = reference;
        }
        var unmatched = new HashSet<string>(oldByUid.Keys, StringComparer.Ordinal);
        var added = new List<OwnerReference>();
        var changed = new List<(OwnerReference, OwnerReference)>();
        foreach (var reference in current)
        {
            var uid = reference.Uid ?? "";
            if (unmatched.Remove(uid))
            {
                if (!SameReference(oldByUid[uid], reference))
                {
                    changed.Add((oldByUid[uid], reference));
                }
            }
            else
            {
                added.Add(reference);
            }
        }
        return (added, [.. unmatched.Select(uid => oldByUid[uid])], changed);
    }

    private static bool SameReference(OwnerReference a, OwnerReference b) =>
        a.ApiVersion == b.ApiVersion && a.Kind == b.Kind && a.Name == b.Name && a.Uid == b.Uid &&
        a.Controller == b.Controller && a.BlockOwnerDeletion == b.BlockOwnerDeletion;

    /// <summary>
    /// Upstream partitionDependents: dependents naming <paramref name="owner"/>'s uid by its exact coordinates (and
    /// from its namespace, when it is namespaced), and those naming the uid otherwise; a dependent may be in both.
    /// </summary>
    internal static (List<GraphNode> Matching, List<GraphNode> NonMatching) PartitionDependents(List<GraphNode> dependents, ObjectIdentity owner)
    {
        var ownerIsNamespaced = owner.Namespace.Length > 0;
        var matching = new List<GraphNode>();
        var nonMatching = new List<GraphNode>();
        foreach (var dependent in dependents)
        {
            var match = false;
            var mismatch = false;
            if (ownerIsNamespaced && owner.Namespace != dependent.Identity.Namespace)
            {
                mismatch = true;
            }
            else
            {
                foreach (var reference in dependent.Owners.Where(r => r.Uid == owner.Uid))
                {
                    if (owner.MatchesCoordinates(reference))
                    {
                        match = true;
                    }
                    else
                    {
                        mismatch = true;
                    }
                }
            }
            if (match)
            {
                matching.Add(dependent);
            }
            if (mismatch)
            {
                nonMatching.Add(dependent);
            }
        }
        return (matching, nonMatching);
    }

    /// <summary>
    /// Upstream getAlternateOwnerIdentity: among the other coordinates dependents use for the absent owner's uid, the
    /// first that sorts after it (referenceLessThan), else the first overall; null when there is none.
    /// </summary>
    internal static ObjectIdentity? AlternateOwnerIdentity(List<GraphNode> dependents, ObjectIdentity absent)
    {
        var absentIsClusterScoped = absent.Namespace.Length == 0;
        var seen = new HashSet<ObjectIdentity> { absent };
        ObjectIdentity? first = null;
        ObjectIdentity? firstFollowing = null;
        foreach (var dependent in dependents)
        {
            foreach (var reference in dependent.Owners.Where(r => r.Uid == absent.Uid))
            {
                if (absent.MatchesCoordinates(reference) && (absentIsClusterScoped || absent.Namespace == dependent.Identity.Namespace))
                {
                    continue;
                }
                var candidate = ObjectIdentity.Of(reference, dependent.Identity.Namespace);
                if (absentIsClusterScoped && candidate.ApiVersion == absent.ApiVersion && candidate.Kind == absent.Kind)
                {
                    // This apiVersion/kind is known cluster-scoped from the absent identity.
                    candidate = candidate with { Namespace = "" };
                }
                if (!seen.Add(candidate))
                {
                    continue;
                }
                if (first is null || LessThan(candidate, first.Value))
                {
                    first = candidate;
                }
                if (LessThan(absent, candidate) && (firstFollowing is null || LessThan(candidate, firstFollowing.Value)))
                {
                    firstFollowing = candidate;
                }
            }
        }
        return firstFollowing ?? first;
    }

    // Upstream referenceLessThan: kind, apiVersion, namespace, name, uid (Go string order is byte order).
    private static bool LessThan(ObjectIdentity a, ObjectIdentity b)
    {
        foreach (var (x, y) in new[] { (a.Kind, b.Kind), (a.ApiVersion, b.ApiVersion), (a.Namespace, b.Namespace), (a.Name, b.Name), (a.Uid, b.Uid) })
        {
            if (x != y)
            {
                return string.CompareOrdinal(x, y) < 0;
            }
        }
        return false;
    }
}
