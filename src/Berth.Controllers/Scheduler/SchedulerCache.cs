using Berth.Api.Models;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// The scheduler's view of nodes and the pods on them (upstream internal/cache): bound pods from the pod informer,
/// plus pods this scheduler has assumed onto a node while their binding is in flight, so the next decision already
/// counts them. Thread-safe: the informers' dispatch loops write, the scheduling loop reads.
/// </summary>
internal sealed class SchedulerCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, NodeInfo> _nodes = new(StringComparer.Ordinal);

    // Pod key → the node it is counted on; assumed pods are also in _assumed until the informer shows them bound.
    private readonly Dictionary<string, string> _podNodes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _assumed = new(StringComparer.Ordinal);

    public void SetNode(Node node)
    {
        var name = node.Metadata?.Name;
        if (string.IsNullOrEmpty(name))
        {
            return;
        }
        lock (_lock)
        {
            NodeOf(name).SetNode(node);
        }
    }

    public void RemoveNode(string name)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(name, out var info))
            {
                return;
            }
            // Pods still bound to a deleted node keep it as a placeholder until they go (upstream keeps a ghost too).
            if (info.Pods.Count == 0)
            {
                _nodes.Remove(name);
            }
            else
            {
                info.SetNode(null);
            }
        }
    }

    /// <summary>A pod bound to <paramref name="node"/> (added, updated, or the informer confirming an assumed pod).</summary>
    public void AddPod(PodInfo pod, string node)
    {
        lock (_lock)
        {
            RemoveLocked(pod.Key);
            NodeOf(node).AddPod(pod);
            _podNodes[pod.Key] = node;
        }
    }

    /// <summary>AssumePod: counts the pod on the node its binding is being sent for.</summary>
    public void Assume(PodInfo pod, string node)
    {
        lock (_lock)
        {
            RemoveLocked(pod.Key);
            NodeOf(node).AddPod(pod);
            _podNodes[pod.Key] = node;
            _assumed.Add(pod.Key);
        }
    }

    /// <summary>ForgetPod: the binding failed; drops the pod if it is still only assumed.</summary>
    public void Forget(string key)
    {
        lock (_lock)
        {
            if (_assumed.Contains(key))
            {
                RemoveLocked(key);
            }
        }
    }

    public void RemovePod(string key)
    {
        lock (_lock)
        {
            RemoveLocked(key);
        }
    }

    /// <summary>The pod is assumed: its binding is in flight or done but not yet seen (upstream's skipPodSchedule check).</summary>
    public bool IsAssumed(string key)
    {
        lock (_lock)
        {
            return _assumed.Contains(key);
        }
    }

    /// <summary>Runs <paramref name="decide"/> over the nodes while nothing changes them.</summary>
    public T Read<T>(Func<IReadOnlyCollection<NodeInfo>, T> decide)
    {
        lock (_lock)
        {
            return decide(_nodes.Values);
        }
    }

    private NodeInfo NodeOf(string name)
    {
        if (!_nodes.TryGetValue(name, out var info))
        {
            info = new NodeInfo(name);
            _nodes.Add(name, info);
        }
        return info;
    }

    private void RemoveLocked(string key)
    {
        _assumed.Remove(key);
        if (!_podNodes.Remove(key, out var node) || !_nodes.TryGetValue(node, out var info))
        {
            return;
        }
        info.RemovePod(key);
        if (info.Node is null && info.Pods.Count == 0)
        {
            _nodes.Remove(node);
        }
    }
}
