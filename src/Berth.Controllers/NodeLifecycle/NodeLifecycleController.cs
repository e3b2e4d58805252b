using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// The node lifecycle controller (upstream pkg/controller/nodelifecycle, taint-based eviction): watches every node's
/// Ready heartbeat and kube-node-lease Lease, sets the conditions of a node that went silent to Unknown, marks its pods
/// not Ready, and taints nodes by their conditions — NoSchedule for every condition taint, and NoExecute not-ready /
/// unreachable for Ready=False / Unknown, which the <see cref="TaintEvictionController"/> turns into pod evictions.
/// </summary>
/// <remarks>
/// All nodes form one zone (Berth does not read topology labels). Upstream's per-zone disruption handling is kept
/// for that one zone — when every node is not Ready (the control plane, not the nodes, is most likely cut off) or a
/// small cluster has most nodes down, no NoExecute taints are applied — but its eviction rate limiter
/// (--node-eviction-rate 0.1/s) is not: nodes are tainted as soon as they are marked, which only differs from
/// upstream when many nodes fail at once.
/// </remarks>
public sealed partial class NodeLifecycleController : IAsyncDisposable
{
    public const string Component = "node-controller";

    private const string ControllerName = "node-lifecycle-controller";
    private const string NodeLeaseNamespace = "kube-node-lease";

    // Upstream nodeUpdateWorkerSize and podUpdateWorkerSize.
    private const int NodeUpdateWorkers = 8;
    private const int PodUpdateWorkers = 4;

    // Upstream scheduler.NodeEvictionPeriod: how often queued nodes are given their NoExecute taint.
    private static readonly TimeSpan s_nodeEvictionPeriod = TimeSpan.FromMilliseconds(100);

    private readonly SharedInformers _informers;
    private readonly KubeClient _client;
    private readonly Informer<Node> _nodes;
    private readonly Informer<Lease> _leases;
    private readonly Informer<Pod> _pods;
    private readonly NodeLifecycleOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly EventRecorder _events;
    private readonly WorkQueue _nodeQueue;
    private readonly WorkQueue _podQueue;

    // Nodes whose pods could not all be marked not Ready: tried again on the next pass (upstream nodesToRetry).
    private readonly ConcurrentDictionary<string, bool> _nodesToRetry = new(StringComparer.Ordinal);

    public NodeLifecycleController(SharedInformers informers, NodeLifecycleOptions options, TimeProvider time, Action<string> log)
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
        _events = new EventRecorder(_client, Component, host: null);
        _nodeQueue = new WorkQueue("node_lifecycle_controller", time);
        _podQueue = new WorkQueue("node_lifecycle_controller_pods", time);

        _nodes = informers.For<Node>();
        _leases = informers.For<Lease>();
        _pods = informers.For<Pod>();
        PodNodeNameIndex.Add(_pods);
        _pods.OnAdd(pod => PodUpdated(null, pod));
        _pods.OnUpdate(PodUpdated);
        _nodes.OnAdd(node => _nodeQueue.Add(node.Metadata!.Name!));
        _nodes.OnUpdate((_, node) => _nodeQueue.Add(node.Metadata!.Name!));
        _nodes.OnDelete(node => _nodesToRetry.TryRemove(node.Metadata!.Name!, out _));
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>
    /// Waits for the caches, then runs the NoSchedule tainting and pod workers, the NoExecute tainting pass every
    /// 100 ms and the health monitor every NodeMonitorPeriod, until <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
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
            ControllerWorkers.RunAsync(ControllerName, _nodeQueue, NodeUpdateWorkers, SyncNodeAsync, _log, ct),
            ControllerWorkers.RunAsync(ControllerName, _podQueue, PodUpdateWorkers, SyncPodAsync, _log, ct),
            EveryAsync(s_nodeEvictionPeriod, DoNoExecuteTaintingPassAsync, ct),
            EveryAsync(_options.NodeMonitorPeriod, MonitorNodeHealthAsync, ct)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _nodeQueue.Dispose();
        _podQueue.Dispose();
        await _events.DisposeAsync().ConfigureAwait(false);
    }

    internal Task FlushEventsAsync() => _events.FlushAsync();

    /// <summary>wait.UntilWithContext: run, then wait the period; a failed pass is logged and the next one runs on time.</summary>
    private async Task EveryAsync(TimeSpan period, Func<CancellationToken, Task> pass, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await pass(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A pass that failed in any way must not end the loop (upstream's wait.Until recovers too).
                _log($"pass failed: {e}");
            }
            try
            {
                await Task.Delay(period, _time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The node queue's sync: doNoScheduleTaintingPass then reconcileNodeLabels.</summary>
    private async Task SyncNodeAsync(string nodeName, CancellationToken ct)
    {
        await DoNoScheduleTaintingPassAsync(nodeName, ct).ConfigureAwait(false);
        await ReconcileNodeLabelsAsync(nodeName, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// TaintNodesByCondition: a node carries exactly the NoSchedule taints its conditions call for
    /// (<see cref="ConditionTaintKey"/>) plus node.kubernetes.io/unschedulable when spec.unschedulable.
    /// </summary>
    internal async Task DoNoScheduleTaintingPassAsync(string nodeName, CancellationToken ct)
    {
        if (_nodes.Get(null, nodeName) is not { } node)
        {
            return;
        }
        var desired = new List<Taint>();
        foreach (var condition in node.Status?.Conditions ?? [])
        {
            if (ConditionTaintKey(condition.Type, condition.Status) is { } key)
            {
                desired.Add(new Taint { Key = key, Effect = Taints.NoSchedule });
            }
        }
        if (node.Spec?.Unschedulable == true)
        {
            desired.Add(new Taint { Key = Taints.NodeUnschedulable, Effect = Taints.NoSchedule });
        }
        var current = (node.Spec?.Taints ?? []).Where(t => t.Effect == Taints.NoSchedule &&
            (t.Key == Taints.NodeUnschedulable || s_conditionOfTaintKey.ContainsKey(t.Key ?? ""))).ToList();
        var (add, remove) = Taints.SetDiff(desired, current);
        if (add.Count == 0 && remove.Count == 0)
        {
            return;
        }
        if (!await NodeTaints.SwapAsync(_client, add, remove, node, Now, _log, ct).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"failed to swap taints of node {nodeName}");
        }
    }

    // nodeConditionToTaintKeyStatusMap.
    internal static string? ConditionTaintKey(string? type, string? status) => (type, status) switch
    {
        ("Ready", "False") => Taints.NodeNotReady,
        ("Ready", "Unknown") => Taints.NodeUnreachable,
        ("MemoryPressure", "True") => Taints.NodeMemoryPressure,
        ("DiskPressure", "True") => Taints.NodeDiskPressure,
        ("NetworkUnavailable", "True") => Taints.NodeNetworkUnavailable,
        ("PIDPressure", "True") => Taints.NodePIDPressure,
        _ => null,
    };

    // taintKeyToNodeConditionMap: the taints this controller owns.
    private static readonly Dictionary<string, string> s_conditionOfTaintKey = new(StringComparer.Ordinal)
    {
        [Taints.NodeNotReady] = "Ready",
        [Taints.NodeUnreachable] = "Ready",
        [Taints.NodeNetworkUnavailable] = "NetworkUnavailable",
        [Taints.NodeMemoryPressure] = "MemoryPressure",
        [Taints.NodeDiskPressure] = "DiskPressure",
        [Taints.NodePIDPressure] = "PIDPressure",
    };

    // labelReconcileInfo: the beta OS/arch labels follow the stable ones, and are added when missing.
    private static readonly (string Primary, string Secondary)[] s_labelReconcile =
    [
        ("kubernetes.io/os", "beta.kubernetes.io/os"),
        ("kubernetes.io/arch", "beta.kubernetes.io/arch"),
    ];

    /// <summary>reconcileNodeLabels: the deprecated beta OS/arch labels mirror the stable ones.</summary>
    private async Task ReconcileNodeLabelsAsync(string nodeName, CancellationToken ct)
    {
        if (_nodes.Get(null, nodeName)?.Metadata?.Labels is not { } labels)
        {
            return;
        }
        var update = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (primary, secondary) in s_labelReconcile)
        {
            if (labels.TryGetValue(primary, out var value) && (!labels.TryGetValue(secondary, out var current) || current != value))
            {
                update[secondary] = value;
            }
        }
        if (update.Count == 0)
        {
            return;
        }
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject([.. update.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))]) },
        };
        await _client.PatchAsync<Node>(null, nodeName, PatchType.StrategicMerge, patch.ToJsonString(), ct: ct).ConfigureAwait(false);
    }

    /// <summary>podUpdated: a pod newly bound to a node is checked against that node's health.</summary>
    private void PodUpdated(Pod? old, Pod pod)
    {
        if (pod.Spec?.NodeName is { Length: > 0 } node && (old is null || old.Spec?.NodeName != node))
        {
            _podQueue.Add(ControllerWorkers.Key(pod));
        }
    }

    /// <summary>processPod: a pod bound to a node whose Ready condition is not True is marked not Ready.</summary>
    internal async Task SyncPodAsync(string key, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        if (_pods.Get(ns, name) is not { } pod)
        {
            return;
        }
        var nodeName = pod.Spec?.NodeName ?? "";
        // Node data not gathered yet, or the node was removed meanwhile.
        if (!_health.TryGetValue(nodeName, out var health))
        {
            return;
        }
        if (_nodes.Get(null, nodeName) is null)
        {
            throw new InvalidOperationException($"node \"{nodeName}\" not found");
        }
        // No Ready condition happens only right after the node was added; its next update handles the pod.
        if (ReadyCondition(health.Status) is not { } ready || ready.Status == "True")
        {
            return;
        }
        var errors = await MarkPodsNotReadyAsync(_client, _events, [pod], nodeName, Now, _log, ct).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"unable to mark pod {key} NotReady on node {nodeName}: {string.Join("; ", errors)}");
        }
    }

    /// <summary>
    /// controllerutil.MarkPodsNotReady: every pod of <paramref name="nodeName"/> with a Ready condition gets it set
    /// False (status subresource) and a NodeNotReady Warning event. Returns the errors of the writes that failed.
    /// </summary>
    internal static async Task<List<string>> MarkPodsNotReadyAsync(KubeClient client, EventRecorder events, IEnumerable<Pod> pods,
        string nodeName, DateTimeOffset now, Action<string> log, CancellationToken ct)
    {
        var errors = new List<string>();
        foreach (var cached in pods)
        {
            // Defensive check, as upstream.
            if (cached.Spec?.NodeName != nodeName)
            {
                continue;
            }
            var pod = KubeJson.DeepClone(cached);
            if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == PodConditions.Ready) is not { } ready)
            {
                continue;
            }
            var condition = new PodCondition
            {
                Type = ready.Type,
                Status = "False",
                Reason = ready.Reason,
                Message = ready.Message,
                LastProbeTime = ready.LastProbeTime,
                LastTransitionTime = ready.LastTransitionTime,
            };
            if (!PodConditions.Update(pod.Status, condition, now))
            {
                continue;
            }
            try
            {
                await client.UpdateStatusAsync(pod, ct).ConfigureAwait(false);
            }
            catch (KubeApiException e) when (e.StatusCode == 404)
            {
                // The pod was deleted meanwhile: nothing left to do with it.
                continue;
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
            {
                log($"failed to update status for pod {pod.Metadata?.Namespace}/{pod.Metadata?.Name}: {e.Message}");
                errors.Add(e.Message);
            }
            // Recorded after the status write, so the pod still exists (as upstream).
            events.Record(pod, "Warning", "NodeNotReady", "Node is not ready");
        }
        return errors;
    }

    private static NodeCondition? ReadyCondition(NodeStatus? status) => status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");

    // RecordNodeEvent: "Node <name> event: <message>" on a reference to the node.
    private void RecordNodeEvent(string name, string? uid, string reason, string message) =>
        _events.Record(NodeReference(name, uid), "Normal", reason, $"Node {name} event: {message}");

    // RecordNodeStatusChange: "Node <name> status is now: <status>".
    private void RecordNodeStatusChange(Node node, string status) =>
        _events.Record(NodeReference(node.Metadata!.Name!, node.Metadata.Uid), "Normal", status, $"Node {node.Metadata.Name} status is now: {status}");

    private static Node NodeReference(string name, string? uid) => new() { Metadata = new ObjectMeta { Name = name, Uid = uid } };
}
