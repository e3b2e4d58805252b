using System.Text.Json.Nodes;
using System.Threading.Channels;
using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// The default scheduler, minimal: watches pods and nodes, binds every pending pod that names no other scheduler to
/// the node <see cref="NodeChoice"/> picks, and reports the ones that fit nowhere the way kube-scheduler does (a
/// FailedScheduling event and PodScheduled=False/Unschedulable). Unschedulable pods are retried when pods or nodes
/// change and every ten seconds.
/// </summary>
public sealed class PodScheduler : IAsyncDisposable
{
    public const string SchedulerName = "default-scheduler";

    private static readonly TimeSpan s_retryInterval = TimeSpan.FromSeconds(10);

    private readonly KubeClient _client;
    private readonly Action<string>? _log;
    private readonly Informer<Pod> _pods;
    private readonly Informer<Node> _nodes;
    private readonly EventRecorder _events;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // Pods this scheduler bound that the pod informer has not yet shown bound (upstream's "assumed" pods), by uid.
    private readonly Dictionary<string, string> _assumed = new(StringComparer.Ordinal);

    // The last failure reported per pod uid, so a retry that fails the same way does not rewrite the same status.
    private readonly Dictionary<string, string> _reported = new(StringComparer.Ordinal);
    private CancellationTokenSource? _stop;
    private Task _loop = Task.CompletedTask;

    public PodScheduler(KubeClient client, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _log = log;
        _pods = new Informer<Pod>(client, log: log);
        _nodes = new Informer<Node>(client, log: log);
        _events = new EventRecorder(client, SchedulerName, host: null);
    }

    public Task StartAsync(CancellationToken ct)
    {
        if (_stop is not null)
        {
            throw new InvalidOperationException("the scheduler is already started");
        }
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _pods.OnAdd(_ => Wake());
        _pods.OnUpdate((_, _) => Wake());
        _pods.OnDelete(_ => Wake());
        _nodes.OnAdd(_ => Wake());
        _nodes.OnUpdate((_, _) => Wake());
        _nodes.OnDelete(_ => Wake());
        var token = _stop.Token;
        _loop = Task.Run(async () =>
        {
            await _pods.StartAsync(token).ConfigureAwait(false);
            await _nodes.StartAsync(token).ConfigureAwait(false);
            await RunAsync(token).ConfigureAwait(false);
        }, token);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop is not null)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping is the point.
            }
        }
        await _pods.DisposeAsync().ConfigureAwait(false);
        await _nodes.DisposeAsync().ConfigureAwait(false);
        await _events.DisposeAsync().ConfigureAwait(false);
        _stop?.Dispose();
    }

    /// <summary>Waits until the pod and node caches have synced (tests; nothing is scheduled before).</summary>
    internal async Task WaitForSyncAsync(CancellationToken ct)
    {
        await _pods.WaitForSyncAsync(ct).ConfigureAwait(false);
        await _nodes.WaitForSyncAsync(ct).ConfigureAwait(false);
    }

    internal Task FlushEventsAsync() => _events.FlushAsync();

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task RunAsync(CancellationToken ct)
    {
        // Nothing acts before its caches have synced: an empty node cache would fail every pod.
        await WaitForSyncAsync(ct).ConfigureAwait(false);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ScheduleOnceAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
            {
                _log?.Invoke($"scheduling pass failed: {e.Message}");
            }

            using var retry = CancellationTokenSource.CreateLinkedTokenSource(ct);
            retry.CancelAfter(s_retryInterval);
            try
            {
                await _wake.Reader.ReadAsync(retry.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The periodic retry.
            }
        }
    }

    private async Task ScheduleOnceAsync(CancellationToken ct)
    {
        var pods = _pods.List();
        var nodes = _nodes.List().OrderBy(n => n.Metadata?.Name, StringComparer.Ordinal).ToList();
        var pending = pods.Where(IsPending).ToList();

        var pendingUids = pending.Select(p => p.Metadata?.Uid ?? "").ToHashSet(StringComparer.Ordinal);
        foreach (var uid in _assumed.Keys.Where(u => !pendingUids.Contains(u)).ToList())
        {
            _assumed.Remove(uid);
        }
        foreach (var uid in _reported.Keys.Where(u => !pendingUids.Contains(u)).ToList())
        {
            _reported.Remove(uid);
        }

        var podsPerNode = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in pods.Where(p => p.Status?.Phase is not ("Succeeded" or "Failed")).Select(p => p.Spec?.NodeName)
            .Concat(_assumed.Values))
        {
            if (!string.IsNullOrEmpty(node))
            {
                podsPerNode[node] = podsPerNode.GetValueOrDefault(node) + 1;
            }
        }

        // Oldest first, as the scheduling queue's default ordering (priority aside) pops them.
        foreach (var pod in pending.OrderBy(p => p.Metadata?.CreationTimestamp).ThenBy(p => p.Metadata?.Namespace).ThenBy(p => p.Metadata?.Name))
        {
            var uid = pod.Metadata?.Uid ?? "";
            if (_assumed.ContainsKey(uid))
            {
                continue;
            }
            var (node, reason) = NodeChoice.Choose(pod, nodes, podsPerNode);
            if (node is not null)
            {
                if (await BindAsync(pod, node, ct).ConfigureAwait(false))
                {
                    _assumed[uid] = node;
                    podsPerNode[node] = podsPerNode.GetValueOrDefault(node) + 1;
                }
            }
            else
            {
                await ReportUnschedulableAsync(pod, reason!, ct).ConfigureAwait(false);
            }
        }
    }

    private static bool IsPending(Pod pod) =>
        string.IsNullOrEmpty(pod.Spec?.NodeName)
        && (string.IsNullOrEmpty(pod.Spec?.SchedulerName) || pod.Spec.SchedulerName == SchedulerName)
        && pod.Metadata?.DeletionTimestamp is null
        && pod.Status?.Phase is not ("Succeeded" or "Failed");

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
            // Deleted, or bound by someone else meanwhile: the informer brings the truth.
            _log?.Invoke($"binding {ns}/{name} to {node}: {e.Message}");
            return false;
        }
        // schedule_one.go's handleBindingCycleError counterpart on success: the Scheduled event.
        _events.Record(pod, "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to {node}");
        return true;
    }

    private async Task ReportUnschedulableAsync(Pod pod, string reason, CancellationToken ct)
    {
        var uid = pod.Metadata?.Uid ?? "";
        if (_reported.TryGetValue(uid, out var last) && last == reason && HasUnschedulableCondition(pod, reason))
        {
            return;
        }
        _events.Record(pod, "Warning", "FailedScheduling", reason);

        // As upstream's updatePod: PodScheduled=False, reason Unschedulable, the FitError as message (a strategic
        // merge patch keyed by condition type leaves the pod's other conditions alone).
        if (!HasUnschedulableCondition(pod, reason))
        {
            var condition = new JsonObject
            {
                ["type"] = "PodScheduled",
                ["status"] = "False",
                ["lastProbeTime"] = null,
                ["lastTransitionTime"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
                ["reason"] = "Unschedulable",
                ["message"] = reason,
            };
            var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = new JsonArray(condition) } };
            try
            {
                await _client.PatchAsync<Pod>(pod.Metadata!.Namespace, pod.Metadata.Name!, PatchType.StrategicMerge,
                    patch.ToJsonString(), "status", ct).ConfigureAwait(false);
            }
            catch (KubeApiException e) when (e.StatusCode is 404 or 409)
            {
                _log?.Invoke($"pod {pod.Metadata!.Namespace}/{pod.Metadata.Name} condition: {e.Message}");
                return;
            }
        }
        _reported[uid] = reason;
    }

    private static bool HasUnschedulableCondition(Pod pod, string reason) =>
        pod.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable" && c.Message == reason) == true;
}
