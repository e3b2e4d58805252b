using Berth.Api.Models;

namespace Berth.Controllers.GarbageCollector;

/// <summary>
/// Upstream graph.go node: one object of the dependency graph, its owners (as its ownerReferences say) and its
/// dependents (the nodes naming it as an owner). The graph builder's single thread is the only writer; the
/// collector's workers read concurrently, so every field is read and written under the node's lock.
/// </summary>
internal sealed class GraphNode
{
    private readonly Lock _lock = new();
    private readonly HashSet<GraphNode> _dependents;
    private IReadOnlyList<OwnerReference> _owners;
    private bool _deletingDependents;
    private bool _beingDeleted;
    private bool _virtual;

    /// <param name="isVirtual">A node for an owner named by a dependent but not observed through an informer yet.</param>
    public GraphNode(ObjectIdentity identity, IReadOnlyList<OwnerReference>? owners = null, bool isVirtual = false,
        bool beingDeleted = false, bool deletingDependents = false)
    {
        Identity = identity;
        _owners = owners ?? [];
        _virtual = isVirtual;
        _beingDeleted = beingDeleted;
        _deletingDependents = deletingDependents;
        _dependents = [];
    }

    private GraphNode(GraphNode source, ObjectIdentity identity)
        : this(identity, source.Owners, !source.IsObserved, source.IsBeingDeleted, source.IsDeletingDependents)
    {
        _dependents = [.. source.GetDependents()];
    }

    public ObjectIdentity Identity { get; }

    public IReadOnlyList<OwnerReference> Owners
    {
        get
        {
            lock (_lock)
            {
                return _owners;
            }
        }
        set
        {
            lock (_lock)
            {
                _owners = value;
            }
        }
    }

    public bool IsObserved
    {
        get
        {
            lock (_lock)
            {
                return !_virtual;
            }
        }
    }

    /// <summary>Whether the object has a deletionTimestamp: a one-way trip, so there is only a setter to true.</summary>
    public bool IsBeingDeleted
    {
        get
        {
            lock (_lock)
            {
                return _beingDeleted;
            }
        }
    }

    /// <summary>Whether the object is being deleted with the foregroundDeletion finalizer.</summary>
    public bool IsDeletingDependents
    {
        get
        {
            lock (_lock)
            {
                return _deletingDependents;
            }
        }
    }

    public int DependentsCount
    {
        get
        {
            lock (_lock)
            {
                return _dependents.Count;
            }
        }
    }

    /// <summary>A copy with another identity (upstream clone()), for the graph to replace this node with.</summary>
    public GraphNode WithIdentity(ObjectIdentity identity) => new(this, identity);

    public void MarkObserved()
    {
        lock (_lock)
        {
            _virtual = false;
        }
    }

    public void MarkBeingDeleted()
    {
        lock (_lock)
        {
            _beingDeleted = true;
        }
    }

    public void MarkDeletingDependents()
    {
        lock (_lock)
        {
            _deletingDependents = true;
        }
    }

    public void AddDependent(GraphNode dependent)
    {
        lock (_lock)
        {
            _dependents.Add(dependent);
        }
    }

    public void DeleteDependent(GraphNode dependent)
    {
        lock (_lock)
        {
            _dependents.Remove(dependent);
        }
    }

    public void ReplaceDependentIfItExists(GraphNode old, GraphNode replacement)
    {
        lock (_lock)
        {
            if (_dependents.Remove(old))
            {
                _dependents.Add(replacement);
            }
        }
    }

    /// <summary>A snapshot: dependents may be added or removed the moment this returns.</summary>
    public List<GraphNode> GetDependents()
    {
        lock (_lock)
        {
            return [.. _dependents];
        }
    }

    /// <summary>The dependents whose reference to this node has blockOwnerDeletion=true (a snapshot).</summary>
    public List<GraphNode> BlockingDependents() =>
        [.. GetDependents().Where(d => d.Owners.Any(o => o.Uid == Identity.Uid && o.BlockOwnerDeletion == true))];

    public override string ToString() => Identity.ToString();
}
