using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>The health monitor (monitorNodeHealth, tryUpdateNodeHealth, handleDisruption) and NoExecute tainting.</summary>
public sealed partial class NodeLifecycleController
{
    // Upstream scheduler.NodeHealthUpdateRetry.
    private const int NodeHealthUpdateRetry = 5;

    // Upstream defaults of --unhealthy-zone-threshold and --large-cluster-size-threshold.
    private const float UnhealthyZoneThreshold = 0.55f;
    private const int LargeClusterThreshold = 50;

    private const string ExcludeDisruptionLabel = "node.kubernetes.io/exclude-disruption";

    private static readonly string[] s_kubeletConditionTypes = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

    // nodeHealthMap: per node, the last observed status and Lease with the controller's own time of observing a
    // change (not the heartbeat times themselves: clocks across machines need not agree).
    private readonly ConcurrentDictionary<string, NodeHealth> _health = new(StringComparer.Ordinal);

    // knownNodeSet; touched only by the monitor pass.
    private readonly Dictionary<string, Node> _knownNodes = new(StringComparer.Ordinal);

    // The one zone's zoneNoExecuteTainter (a UniqueQueue without its rate limiter): a node stays in _taintSet after
    // it was tainted, so it is tainted once, until Remove (reachable again, or its Ready status changed).
    private readonly Lock _taintLock = new();
    private readonly List<(string Name, DateTimeOffset ProcessAt)> _taintQueue = [];
    private readonly HashSet<string> _taintSet = new(StringComparer.Ordinal);

    // The one zone's state; null until the first pass (upstream's stateInitial for an unseen zone).
    private ZoneState? _zoneState;
    private volatile bool _taintingStopped;

    internal enum ZoneState
    {
        Initial,
        Normal,
        FullDisruption,
        PartialDisruption,
    }

    /// <summary>nodeHealthData.</summary>
    private sealed record NodeHealth(DateTimeOffset ProbeTimestamp, DateTimeOffset ReadyTransitionTimestamp, NodeStatus? Status, Lease? Lease);

    private static readonly Taint s_unreachableTaint = new() { Key = Taints.NodeUnreachable, Effect = Taints.NoExecute };
    private static readonly Taint s_notReadyTaint = new() { Key = Taints.NodeNotReady, Effect = Taints.NoExecute };

    /// <summary>
    /// monitorNodeHealth: for every node, decide its health from its Ready heartbeat and Lease (posting Unknown
    /// conditions when it went silent), queue or remove its NoExecute taint, and mark its pods not Ready when it
    /// stopped being Ready; then update the zone's disruption state.
    /// </summary>
    internal async Task MonitorNodeHealthAsync(CancellationToken ct)
    {
        var nodes = _nodes.List().OrderBy(n => n.Metadata?.Name, StringComparer.Ordinal).ToList();
        var names = nodes.Select(n => n.Metadata!.Name!).ToHashSet(StringComparer.Ordinal);
        foreach (var node in nodes.Where(n => !_knownNodes.ContainsKey(n.Metadata!.Name!)))
        {
            var name = node.Metadata!.Name!;
            RecordNodeEvent(name, node.Metadata.Uid, "RegisteredNode", $"Registered Node {name} in Controller");
            _knownNodes[name] = node;
            try
            {
                await MarkNodeAsReachableAsync(node, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
            {
                _log($"failed to remove taints from node {name}: {e.Message}");
            }
        }
        foreach (var (name, node) in _knownNodes.Where(e => !names.Contains(e.Key)).ToList())
        {
            RecordNodeEvent(name, node.Metadata?.Uid, "RemovingNode", $"Removing Node {name} from Controller");
            _knownNodes.Remove(name);
        }

        var readyConditions = new ConcurrentBag<NodeCondition?>();
        // Marking pods not Ready is one write per pod: nodes are handled with bounded concurrency (ParallelizeUntil).
        await Parallel.ForEachAsync(nodes, new ParallelOptions { MaxDegreeOfParallelism = NodeUpdateWorkers, CancellationToken = ct },
            async (cached, token) =>
            {
                try
                {
                    var (counted, current) = await UpdateNodeAsync(KubeJson.DeepClone(cached), token).ConfigureAwait(false);
                    if (counted)
                    {
                        readyConditions.Add(current);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One node's failure must not keep the others from being checked.
                    _log($"checking the health of node {cached.Metadata?.Name} failed: {e}");
                }
            }).ConfigureAwait(false);

        await HandleDisruptionAsync([.. readyConditions], nodes, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// One node of the monitor pass. Counted is false when its health could not be updated or the node is excluded
    /// from disruption checks; Current is its Ready condition after the update.
    /// </summary>
    private async Task<(bool Counted, NodeCondition? Current)> UpdateNodeAsync(Node node, CancellationToken ct)
    {
        var name = node.Metadata!.Name!;
        NodeCondition observed;
        NodeCondition? current;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                (observed, current) = await TryUpdateNodeHealthAsync(node, ct).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
            {
                if (attempt == NodeHealthUpdateRetry)
                {
                    _log($"Update health of Node '{name}' from Controller error, Skipping - no pods will be evicted: {e.Message}");
                    return (false, null);
                }
                // Upstream polls every 20 ms; a fresh read is enough of a pause here (and keeps tests off the clock).
                try
                {
                    node = await _client.GetAsync<Node>(null, name, ct).ConfigureAwait(false);
                }
                catch (Exception get) when (get is KubeApiException or HttpRequestException or IOException or TimeoutException)
                {
                    _log($"Failed while getting a Node to retry updating node health. Probably Node was deleted: {name}: {get.Message}");
                    return (false, null);
                }
            }
        }

        var counted = node.Metadata?.Labels?.ContainsKey(ExcludeDisruptionLabel) != true;
        if (current is not null)
        {
            var pods = PodNodeNameIndex.PodsOn(_pods, name);
            await ProcessTaintBaseEvictionAsync(node, observed, ct).ConfigureAwait(false);

            var markPods = false;
            if (current.Status != "True" && observed.Status == "True")
            {
                // Reported once, when the status changes.
                RecordNodeStatusChange(node, "NodeNotReady");
                markPods = true;
            }
            else if (_nodesToRetry.ContainsKey(name) && observed.Status != "True")
            {
                markPods = true;
            }
            if (markPods)
            {
                var errors = await MarkPodsNotReadyAsync(_client, _events, pods, name, Now, _log, ct).ConfigureAwait(false);
                if (errors.Count > 0)
                {
                    _log($"unable to mark all pods NotReady on node {name}: {string.Join("; ", errors)}; queuing for retry");
                    _nodesToRetry[name] = true;
                    return (counted, current);
                }
            }
        }
        _nodesToRetry.TryRemove(name, out _);
        return (counted, current);
    }

    /// <summary>
    /// tryUpdateNodeHealth: the node's Ready condition as last observed and as it is now. The probe timestamp moves
    /// to the controller's clock whenever the Ready heartbeat or the Lease's renewTime changes; a node not heard from
    /// for the grace period (the startup grace period if it never posted Ready) gets its kubelet conditions set to
    /// Unknown.
    /// </summary>
    private async Task<(NodeCondition Observed, NodeCondition? Current)> TryUpdateNodeHealthAsync(Node node, CancellationToken ct)
    {
        var name = node.Metadata!.Name!;
        var created = node.Metadata.CreationTimestamp ?? default;
        node.Status ??= new NodeStatus();
        _health.TryGetValue(name, out var health);
        try
        {
            TimeSpan gracePeriod;
            NodeCondition observed;
            var current = ReadyCondition(node.Status);
            if (current is null)
            {
                // Never posted: a stand-in Unknown condition dated at the node's creation.
                observed = new NodeCondition { Type = "Ready", Status = "Unknown", LastHeartbeatTime = created, LastTransitionTime = created };
                gracePeriod = _options.NodeStartupGracePeriod;
                health = health is null ? new NodeHealth(created, created, node.Status, null) : health with { Status = node.Status };
            }
            else
            {
                observed = Copy(current);
                gracePeriod = _options.NodeMonitorGracePeriod;
            }

            var saved = ReadyCondition(health?.Status);
            var savedLease = health?.Lease;
            if (health is null)
            {
                _log($"Missing timestamp for Node {name}. Assuming now as a timestamp");
                health = new NodeHealth(Now, Now, node.Status, null);
            }
            else if (saved is null && current is not null)
            {
                health = new NodeHealth(Now, Now, node.Status, null);
            }
            else if (saved is not null && current is null)
            {
                _log($"ReadyCondition was removed from Status of Node {name}");
                health = new NodeHealth(Now, Now, node.Status, null);
            }
            else if (saved is not null && current is not null && saved.LastHeartbeatTime != current.LastHeartbeatTime)
            {
                // A transition since the last look moves the transition timestamp to now.
                var transition = saved.LastTransitionTime != current.LastTransitionTime ? Now : health!.ReadyTransitionTimestamp;
                health = new NodeHealth(Now, transition, node.Status, null);
            }

            // A renewed Lease always counts as a heartbeat: a kubelet that renews its Lease but never posted status
            // is taken as healthy.
            var observedLease = _leases.Get(NodeLeaseNamespace, name);
            if (observedLease is not null && (savedLease is null || Before(savedLease.Spec?.RenewTime, observedLease.Spec?.RenewTime)))
            {
                health = health with { Lease = observedLease, ProbeTimestamp = Now };
            }

            if (Now > health.ProbeTimestamp + gracePeriod)
            {
                // Not heard from for the grace period: Unknown, whatever the conditions said (NetworkUnavailable is
                // the control plane's, not the kubelet's, and is left alone).
                var now = Now;
                foreach (var type in s_kubeletConditionTypes)
                {
                    var condition = node.Status.Conditions?.FirstOrDefault(c => c.Type == type);
                    if (condition is null)
                    {
                        (node.Status.Conditions ??= []).Add(new NodeCondition
                        {
                            Type = type,
                            Status = "Unknown",
                            Reason = "NodeStatusNeverUpdated",
                            Message = "Kubelet never posted node status.",
                            LastHeartbeatTime = created,
                            LastTransitionTime = now,
                        });
                    }
                    else if (condition.Status != "Unknown")
                    {
                        condition.Status = "Unknown";
                        condition.Reason = "NodeStatusUnknown";
                        condition.Message = "Kubelet stopped posting node status.";
                        condition.LastTransitionTime = now;
                    }
                }
                current = ReadyCondition(node.Status);
                if (!SemanticEquals(current, observed))
                {
                    await _client.UpdateStatusAsync(node, ct).ConfigureAwait(false);
                    health = new NodeHealth(health.ProbeTimestamp, Now, node.Status, observedLease);
                }
            }
            return (observed, current);
        }
        finally
        {
            if (health is not null)
            {
                _health[name] = health;
            }
        }
    }

    /// <summary>
    /// processTaintBaseEviction, on the Ready condition as observed before this pass: False or Unknown queues the
    /// matching NoExecute taint (swapping the opposite one at once if present), True removes both.
    /// </summary>
    private async Task ProcessTaintBaseEvictionAsync(Node node, NodeCondition observed, CancellationToken ct)
    {
        var name = node.Metadata!.Name!;
        switch (observed.Status)
        {
            case "False" when Taints.Exists(node.Spec?.Taints, s_unreachableTaint):
                if (!await NodeTaints.SwapAsync(_client, [s_notReadyTaint], [s_unreachableTaint], node, Now, _log, ct).ConfigureAwait(false))
                {
                    _log("Failed to instantly swap UnreachableTaint to NotReadyTaint. Will try again in the next cycle");
                }
                break;
            case "False":
                MarkNodeForTainting(node, "False");
                break;
            case "Unknown" when Taints.Exists(node.Spec?.Taints, s_notReadyTaint):
                if (!await NodeTaints.SwapAsync(_client, [s_unreachableTaint], [s_notReadyTaint], node, Now, _log, ct).ConfigureAwait(false))
                {
                    _log("Failed to instantly swap NotReadyTaint to UnreachableTaint. Will try again in the next cycle");
                }
                break;
            case "Unknown":
                MarkNodeForTainting(node, "Unknown");
                break;
            case "True":
                try
                {
                    if (await MarkNodeAsReachableAsync(node, ct).ConfigureAwait(false))
                    {
                        _log($"Node {name} is healthy again, removed all taints");
                    }
                }
                catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
                {
                    _log($"Failed to remove taints from node {name}. Will retry in next iteration: {e.Message}");
                }
                break;
        }
    }

    /// <summary>markNodeForTainting: (re)queues the node unless it is queued or already carries the taint for <paramref name="status"/>.</summary>
    private void MarkNodeForTainting(Node node, string status)
    {
        var name = node.Metadata!.Name!;
        lock (_taintLock)
        {
            if ((status == "False" && !Taints.Exists(node.Spec?.Taints, s_notReadyTaint)) ||
                (status == "Unknown" && !Taints.Exists(node.Spec?.Taints, s_unreachableTaint)))
            {
                RemoveFromTaintQueue(name);
            }
            if (_taintSet.Add(name))
            {
                _taintQueue.Add((name, Now));
            }
        }
    }

    /// <summary>markNodeAsReachable: both NoExecute taints removed and the node taken out of the queue; true if it was queued.</summary>
    private async Task<bool> MarkNodeAsReachableAsync(Node node, CancellationToken ct)
    {
        var name = node.Metadata!.Name!;
        await NodeTaints.RemoveAsync(_client, name, node, [s_unreachableTaint], ct).ConfigureAwait(false);
        await NodeTaints.RemoveAsync(_client, name, node, [s_notReadyTaint], ct).ConfigureAwait(false);
        lock (_taintLock)
        {
            return RemoveFromTaintQueue(name);
        }
    }

    private bool RemoveFromTaintQueue(string name)
    {
        if (!_taintSet.Remove(name))
        {
            return false;
        }
        _taintQueue.RemoveAll(e => e.Name == name);
        return true;
    }

    /// <summary>
    /// doNoExecuteTaintingPass: each queued node due now gets the NoExecute taint of its current Ready status
    /// (unreachable for Unknown, not-ready for False, the other one removed); a node Ready again is dropped.
    /// Nothing is tainted while the zone is disrupted.
    /// </summary>
    internal async Task DoNoExecuteTaintingPassAsync(CancellationToken ct)
    {
        if (_taintingStopped)
        {
            return;
        }
        List<(string Name, DateTimeOffset ProcessAt)> due;
        var now = Now;
        lock (_taintLock)
        {
            due = [.. _taintQueue.Where(e => e.ProcessAt <= now).OrderBy(e => e.ProcessAt)];
        }
        foreach (var (name, _) in due)
        {
            var (done, wait) = await TaintAsync(name, ct).ConfigureAwait(false);
            lock (_taintLock)
            {
                var index = _taintQueue.FindIndex(e => e.Name == name);
                if (index < 0)
                {
                    continue;
                }
                if (done)
                {
                    // RemoveFromQueue: out of the queue, still in the set, so it is not queued again.
                    _taintQueue.RemoveAt(index);
                }
                else
                {
                    _taintQueue[index] = (name, now + wait);
                }
            }
        }
    }

    private async Task<(bool Done, TimeSpan Wait)> TaintAsync(string name, CancellationToken ct)
    {
        if (_nodes.Get(null, name) is not { } node)
        {
            _log($"Node {name} no longer present in nodeLister");
            return (true, TimeSpan.Zero);
        }
        if (ReadyCondition(node.Status) is not { } ready)
        {
            _log($"Failed to get NodeCondition from the node status of {name}");
            return (false, TimeSpan.FromMilliseconds(50));
        }
        // "unreachable" and "not ready" are mutually exclusive, as the Ready condition they mirror.
        var (add, opposite) = ready.Status switch
        {
            "False" => (s_notReadyTaint, s_unreachableTaint),
            "Unknown" => (s_unreachableTaint, s_notReadyTaint),
            _ => (null, null),
        };
        if (add is null)
        {
            // Ready again meanwhile: no taint needed.
            return (true, TimeSpan.Zero);
        }
        var result = await NodeTaints.SwapAsync(_client, [add], [opposite!], node, Now, _log, ct).ConfigureAwait(false);
        return (result, TimeSpan.Zero);
    }

    /// <summary>
    /// handleDisruption for the one zone: entering full disruption (no node Ready) removes every NoExecute taint and
    /// stops tainting; leaving it restarts every node's grace period; partial disruption in a small cluster stops
    /// tainting too.
    /// </summary>
    private async Task HandleDisruptionAsync(IReadOnlyList<NodeCondition?> readyConditions, IReadOnlyList<Node> nodes, CancellationToken ct)
    {
        if (readyConditions.Count == 0)
        {
            // No node counts: upstream forgets the zone.
            _zoneState = null;
            return;
        }
        var (_, newState) = ComputeZoneState(readyConditions);
        var previous = _zoneState ?? ZoneState.Initial;
        var allAreFullyDisrupted = newState == ZoneState.FullDisruption;
        var allWasFullyDisrupted = previous == ZoneState.FullDisruption;
        if (allAreFullyDisrupted && allWasFullyDisrupted)
        {
            return;
        }
        if (allAreFullyDisrupted)
        {
            _log("Controller detected that all Nodes are not-Ready. Entering master disruption mode");
            foreach (var node in nodes)
            {
                try
                {
                    await MarkNodeAsReachableAsync(node, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
                {
                    _log($"Failed to remove taints from Node {node.Metadata?.Name}: {e.Message}");
                }
            }
            _taintingStopped = true;
            _zoneState = ZoneState.FullDisruption;
            return;
        }
        if (allWasFullyDisrupted)
        {
            _log("Controller detected that some Nodes are Ready. Exiting master disruption mode");
            var now = Now;
            foreach (var node in nodes)
            {
                if (_health.TryGetValue(node.Metadata!.Name!, out var health))
                {
                    _health[node.Metadata.Name!] = health with { ProbeTimestamp = now, ReadyTransitionTimestamp = now };
                }
            }
        }
        else if (previous != newState)
        {
            _log($"Controller detected that zone is now in new state {newState}");
        }
        else
        {
            return;
        }
        // setLimiterInZone: a partially disrupted small cluster gets eviction rate 0.
        _taintingStopped = newState == ZoneState.PartialDisruption && readyConditions.Count <= LargeClusterThreshold;
        _zoneState = newState;
    }

    /// <summary>
    /// ComputeZoneState: fully disrupted when no node is Ready, partially when more than two and at least
    /// --unhealthy-zone-threshold (55 %) are not Ready; the count of nodes not Ready.
    /// </summary>
    internal static (int NotReady, ZoneState State) ComputeZoneState(IReadOnlyList<NodeCondition?> readyConditions)
    {
        var ready = readyConditions.Count(c => c?.Status == "True");
        var notReady = readyConditions.Count - ready;
        if (ready == 0 && notReady > 0)
        {
            return (notReady, ZoneState.FullDisruption);
        }
        if (notReady > 2 && (float)notReady / (notReady + ready) >= UnhealthyZoneThreshold)
        {
            return (notReady, ZoneState.PartialDisruption);
        }
        return (notReady, ZoneState.Normal);
    }

    private static bool Before(DateTimeOffset? a, DateTimeOffset? b) => a is { } x && b is { } y && x < y;

    private static NodeCondition Copy(NodeCondition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        Reason = c.Reason,
        Message = c.Message,
        LastHeartbeatTime = c.LastHeartbeatTime,
        LastTransitionTime = c.LastTransitionTime,
    };

    private static bool SemanticEquals(NodeCondition? a, NodeCondition? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.Type == b.Type && a.Status == b.Status && (a.Reason ?? "") == (b.Reason ?? "") && (a.Message ?? "") == (b.Message ?? "") &&
              a.LastHeartbeatTime == b.LastHeartbeatTime && a.LastTransitionTime == b.LastTransitionTime;
}
