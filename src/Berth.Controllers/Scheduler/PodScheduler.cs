using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// The default scheduler (kube-scheduler's scheduleOne loop): pending pods that name no other scheduler enter a
/// <see cref="SchedulingQueue"/>; one at a time, each is filtered and scored over the <see cref="SchedulerCache"/>
/// (<see cref="NodeChoice"/>), assumed onto the chosen node and bound through pods/binding with a Scheduled event, or
/// reported the way kube-scheduler does (a FailedScheduling event and PodScheduled=False/Unschedulable) and parked
/// until a node or pod event may let it fit. Bound pods cost a cheap comparison per update and nothing else.
/// </summary>
public sealed class PodScheduler : IAsyncDisposable
{
    public const string SchedulerName = "default-scheduler";

    // validation.NoteLengthLimit: an event message longer than this is cut (truncateMessage).
    private const int NoteLengthLimit = 1024;

    private readonly SharedInformers _informers;
    private readonly KubeClient _client;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly Informer<Pod> _pods;
    private readonly Informer<Service> _services;
    private readonly EventRecorder _events;
    private readonly SchedulerCache _cache = new();
    private readonly SchedulingQueue _queue;
    private long _attempts;

    /// <summary>Registers on the shared Pod, Node and Service informers; call before they start.</summary>
    public PodScheduler(SharedInformers informers, TimeProvider time, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _informers = informers;
        _client = informers.Client;
        _time = time;
        _log = log;
        _queue = new SchedulingQueue(time);
        _events = new EventRecorder(_client, SchedulerName, host: null);
        _pods = informers.For<Pod>();
        _services = informers.For<Service>();
        var nodes = informers.For<Node>();
        _pods.OnAdd(OnPodAdd);
        _pods.OnUpdate(OnPodUpdate);
        _pods.OnDelete(OnPodDelete);
        nodes.OnAdd(OnNodeAdd);
        nodes.OnUpdate(OnNodeUpdate);
        nodes.OnDelete(node => _cache.RemoveNode(node.Metadata?.Name ?? ""));
    }

    /// <summary>Scheduling attempts made so far (tests: idle pods must cause none).</summary>
    internal long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>Pods the scheduling queue holds.</summary>
    internal int Pending => _queue.Count;

    /// <summary>Schedules until <paramref name="ct"/> is cancelled, once the informers have synced.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            // Nothing acts before its caches have synced: an empty node cache would fail every pod.
            await _informers.WaitForSyncAsync(ct).ConfigureAwait(false);
            while (true)
            {
                var queued = await _queue.PopAsync(ct).ConfigureAwait(false);
                try
                {
                    await ScheduleOneAsync(queued, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
                {
                    _log($"scheduling {queued.Key} failed: {e.Message}");
                    _queue.AddBackoff(queued);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping is the point.
        }
    }

    public ValueTask DisposeAsync() => _events.DisposeAsync();

    internal Task FlushEventsAsync() => _events.FlushAsync();

    private static bool IsAssigned(Pod pod) => !string.IsNullOrEmpty(pod.Spec?.NodeName);

    private static bool IsTerminal(Pod pod) => pod.Status?.Phase is "Succeeded" or "Failed";

    // The scheduler's own queue takes unbound pods for this scheduler that are not being deleted, have finished, or
    // wait on scheduling gates (the SchedulingGates PreEnqueue plugin; removing the last gate is an update).
    private static bool IsQueueable(Pod pod) =>
        !IsAssigned(pod)
        && (string.IsNullOrEmpty(pod.Spec?.SchedulerName) || pod.Spec.SchedulerName == SchedulerName)
        && pod.Metadata?.DeletionTimestamp is null
        && !IsTerminal(pod)
        && pod.Spec?.SchedulingGates is not { Count: > 0 };

    private static DateTimeOffset QueuedAt(Pod pod, TimeProvider time) => pod.Metadata?.CreationTimestamp ?? time.GetUtcNow();

    private void OnPodAdd(Pod pod)
    {
        if (IsAssigned(pod))
        {
            if (!IsTerminal(pod))
            {
                _cache.AddPod(PodInfo.From(pod), pod.Spec!.NodeName!);
            }
        }
        else if (IsQueueable(pod))
        {
            _queue.Add(PodInfo.KeyOf(pod), pod.Spec?.Priority ?? 0, QueuedAt(pod, _time));
        }
    }

    private void OnPodUpdate(Pod oldPod, Pod pod)
    {
        if (IsAssigned(pod))
        {
            if (!IsAssigned(oldPod))
            {
                // Bound (by this scheduler or another): the informer confirms the assumed pod.
                _queue.Delete(PodInfo.KeyOf(pod));
                OnPodAdd(pod);
            }
            else if (IsTerminal(pod))
            {
                // A finished pod frees its resources and ports, as a deleted one does (upstream's informer filters
                // terminal pods out, so this arrives there as AssignedPodDelete).
                if (!IsTerminal(oldPod))
                {
                    _cache.RemovePod(PodInfo.KeyOf(pod));
                    _queue.MoveAllToActiveOrBackoff();
                }
            }
            else if (SchedulingEvents.AssignedPodChanged(oldPod, pod))
            {
                _cache.AddPod(PodInfo.From(pod), pod.Spec!.NodeName!);
            }
            // Else the common case, a bound pod's status or metadata churn: nothing to do.
            return;
        }
        var key = PodInfo.KeyOf(pod);
        if (IsQueueable(pod))
        {
            _queue.Update(key, pod.Spec?.Priority ?? 0, QueuedAt(pod, _time), SchedulingEvents.PodUpdated(oldPod, pod));
        }
        else
        {
            _queue.Delete(key);
        }
    }

    private void OnPodDelete(Pod pod)
    {
        var key = PodInfo.KeyOf(pod);
        _queue.Delete(key);
        _cache.RemovePod(key);
        if (IsAssigned(pod) && !IsTerminal(pod))
        {
            _queue.MoveAllToActiveOrBackoff();
        }
    }

    private void OnNodeAdd(Node node)
    {
        _cache.SetNode(node);
        _queue.MoveAllToActiveOrBackoff();
    }

    private void OnNodeUpdate(Node oldNode, Node node)
    {
        _cache.SetNode(node);
        if (SchedulingEvents.NodeSchedulingPropertiesChanged(oldNode, node))
        {
            _queue.MoveAllToActiveOrBackoff();
        }
    }

    private async Task ScheduleOneAsync(QueuedPod queued, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(queued.Key);
        var pod = _pods.Get(ns, name);
        if (pod is null || !IsQueueable(pod) || _cache.IsAssumed(queued.Key))
        {
            _queue.Done(queued);
            return;
        }
        Interlocked.Increment(ref _attempts);
        var info = PodInfo.From(pod);
        var spread = SpreadSelector.For(pod, _services.List(pod.Metadata?.Namespace ?? ""));
        var (node, message) = _cache.Read(nodes => NodeChoice.Choose(pod, info, nodes, spread));
        if (node is null)
        {
            _queue.AddUnschedulable(queued);
            await ReportUnschedulableAsync(pod, message!, ct).ConfigureAwait(false);
            return;
        }

        // Assume first, so the next pod's decision counts this one while the binding is in flight.
        _cache.Assume(info, node);
        bool bound;
        try
        {
            bound = await BindAsync(pod, node, ct).ConfigureAwait(false);
        }
        catch
        {
            _cache.Forget(info.Key);
            throw;
        }
        if (!bound)
        {
            _cache.Forget(info.Key);
        }
        _queue.Done(queued);
    }

    /// <returns>False when the pod is gone or was bound by someone else meanwhile (the informer brings the truth).</returns>
    private async Task<bool> BindAsync(Pod pod, string node, CancellationToken ct)
    {
        var ns = pod.Metadata!.Namespace;
        var name = pod.Metadata.Name!;
        var binding = new Binding
        {
            ApiVersion = "v1",
            Kind = "Binding",
            Metadata = new ObjectMeta { Name = name, Namespace = ns, Uid = pod.Metadata.Uid },
            Target = new ObjectReference { ApiVersion = "v1", Kind = "Node", Name = node },
        };
        try
        {
            await _client.CreateSubresourceAsync(ns, name, "pods", "binding", binding, ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode is 404 or 409)
        {
            _log($"binding {ns}/{name} to {node}: {e.Message}");
            return false;
        }
        _events.Record(pod, "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to {node}");
        return true;
    }

    /// <summary>
    /// handleSchedulingFailure: a FailedScheduling event every attempt (the recorder folds repeats into a count),
    /// and PodScheduled=False/Unschedulable with the message, written only when the condition changes (updatePod).
    /// </summary>
    private async Task ReportUnschedulableAsync(Pod pod, string message, CancellationToken ct)
    {
        _events.Record(pod, "Warning", "FailedScheduling", TruncateMessage(message));
        var current = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        if (current is { Status: "False", Reason: "Unschedulable" } && current.Message == message)
        {
            return;
        }
        // podutil.UpdatePodCondition: the transition time moves only when the status does.
        var transition = current?.Status == "False" && current.LastTransitionTime is { } since ? since : _time.GetUtcNow();
        var condition = new JsonObject
        {
            ["type"] = "PodScheduled",
            ["status"] = "False",
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = transition.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["reason"] = "Unschedulable",
            ["message"] = message,
        };
        // A strategic merge patch keyed by condition type leaves the pod's other conditions alone.
        var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = new JsonArray(condition) } };
        try
        {
            await _client.PatchAsync<Pod>(pod.Metadata!.Namespace, pod.Metadata.Name!, PatchType.StrategicMerge,
                patch.ToJsonString(), "status", ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode is 404 or 409)
        {
            _log($"pod {pod.Metadata!.Namespace}/{pod.Metadata.Name} condition: {e.Message}");
        }
    }

    // schedule_one.go truncateMessage.
    internal static string TruncateMessage(string message) =>
        message.Length <= NoteLengthLimit ? message : message[..(NoteLengthLimit - 4)] + " ...";
}
