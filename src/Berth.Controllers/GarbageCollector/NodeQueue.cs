using System.Collections.Concurrent;
using Berth.Controllers.Framework;

namespace Berth.Controllers.GarbageCollector;

/// <summary>
/// A <see cref="WorkQueue"/> of graph nodes, keyed by uid. Upstream queues the node objects themselves, and what a
/// worker does depends on the node as it was queued: a virtual node queued before the real object was observed is
/// dropped, not processed as the real one. So the node last queued for a uid is kept beside its key.
/// </summary>
internal sealed class NodeQueue : IDisposable
{
    private readonly ConcurrentDictionary<string, GraphNode> _nodes = new(StringComparer.Ordinal);

    public NodeQueue(string name, TimeProvider time, IRateLimiter? limiter) => Keys = new WorkQueue(name, time, limiter);

    /// <summary>The underlying queue of uids.</summary>
    public WorkQueue Keys { get; }

    public void Add(GraphNode node)
    {
        _nodes[node.Identity.Uid] = node;
        Keys.Add(node.Identity.Uid);
    }

    public void AddRateLimited(GraphNode node)
    {
        _nodes[node.Identity.Uid] = node;
        Keys.AddRateLimited(node.Identity.Uid);
    }

    /// <summary>The node queued under <paramref name="uid"/>, handed to the worker that took the key.</summary>
    public GraphNode? Take(string uid) => _nodes.TryRemove(uid, out var node) ? node : null;

    /// <summary>The ready nodes in queue order (tests): the keys are taken and put back in the same order.</summary>
    internal async Task<List<GraphNode>> PendingAsync()
    {
        var keys = new List<string>();
        while (Keys.Count > 0 && await Keys.GetAsync(CancellationToken.None).ConfigureAwait(false) is { } key)
        {
            Keys.Done(key);
            keys.Add(key);
        }
        foreach (var key in keys)
        {
            Keys.Add(key);
        }
        return [.. keys.Select(k => _nodes[k])];
    }

    public void Dispose() => Keys.Dispose();
}
