using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;

namespace Berth.Node.Kubelet;

internal sealed partial class PodWorker
{
    private PodStatus BuildStatus(bool podIsTerminal)
    {
        var init = _init.Select(ContainerStatusOf).ToList();
        var regular = _containers.Select(ContainerStatusOf).ToList();
        var phase = PodStatusRules.GetPhase(_pod.Spec!, init, regular, podIsTerminal);
        var previous = _pod.Status;
        var now = _ctx.Time.GetUtcNow();
        var conditions = new List<PodCondition>();
        // Conditions the kubelet does not own (PodScheduled from the scheduler, readiness gates, DisruptionTarget) stay.
        var owned = new HashSet<string>(StringComparer.Ordinal) { "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready" };
        conditions.AddRange((previous?.Conditions ?? []).Where(c => c.Type is not null && !owned.Contains(c.Type)));
        var sandbox = _podIP is not null && !podIsTerminal
            ? new PodCondition { Type = "PodReadyToStartContainers", Status = "True" }
            : new PodCondition { Type = "PodReadyToStartContainers", Status = "False" };
        foreach (var condition in PodStatusRules.Conditions(_pod, phase, init, regular).Prepend(sandbox))
        {
            var old = previous?.Conditions?.FirstOrDefault(c => c.Type == condition.Type);
            condition.LastTransitionTime = old is not null && old.Status == condition.Status ? old.LastTransitionTime ?? now : now;
            conditions.Add(condition);
        }
        if (!conditions.Any(c => c.Type == "PodScheduled"))
        {
            conditions.Add(new PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = now });
        }
        return new PodStatus
        {
            Phase = phase,
            Conditions = [.. conditions.OrderBy(c => ConditionOrder(c.Type))],
            HostIP = _ctx.NodeIP,
            HostIPs = [new HostIP { Ip = _ctx.NodeIP }],
            PodIP = _podIP,
            PodIPs = _podIP is null ? null : [new PodIP { Ip = _podIP }],
            StartTime = _startTime,
            QosClass = previous?.QosClass,
            InitContainerStatuses = init.Count == 0 ? null : init,
            ContainerStatuses = regular,
        };
    }

    // kubectl describe lists conditions in this order, as the kubelet writes them.
    private static int ConditionOrder(string? type) => type switch
    {
        "PodReadyToStartContainers" => 0,
        "Initialized" => 1,
        "Ready" => 2,
        "ContainersReady" => 3,
        "PodScheduled" => 4,
        _ => 5,
    };

    private ContainerStatus ContainerStatusOf(ContainerSlot slot)
    {
        var status = new ContainerStatus
        {
            Name = slot.Name,
            Image = slot.Spec.Image ?? "",
            ImageID = "",
            RestartCount = slot.RestartCount,
            // As upstream: an init container that completed is ready.
            Ready = slot.IsRunning ? slot.Ready : slot.IsInit && !slot.IsSidecar && slot.Exited is { ExitCode: 0 },
            Started = slot.IsRunning && slot.Started,
            ContainerID = slot.IsRunning ? slot.ContainerId : slot.Exited?.ContainerID,
        };
        if (slot.IsRunning)
        {
            status.State = new ContainerState { Running = new ContainerStateRunning { StartedAt = slot.RunningSince } };
            status.LastState = Last(slot.LastTerminated);
        }
        else if (slot.Waiting is { } waiting)
        {
            // Waiting to (re)start: a terminated instance shows as the last state.
            status.State = new ContainerState { Waiting = waiting };
            status.LastState = Last(slot.Exited ?? slot.LastTerminated);
        }
        else if (slot.Exited is { } exited)
        {
            status.State = new ContainerState { Terminated = exited };
            status.LastState = Last(slot.LastTerminated);
        }
        else
        {
            status.State = new ContainerState { Waiting = new ContainerStateWaiting { Reason = slot.IsInit ? "PodInitializing" : "ContainerCreating" } };
            status.LastState = Last(slot.LastTerminated);
        }
        return status;
    }

    private static ContainerState Last(ContainerStateTerminated? terminated) =>
        terminated is null ? new ContainerState() : new ContainerState { Terminated = terminated };

    /// <summary>Writes the status when it changed, through the status subresource, retrying on conflicts.</summary>
    private async Task WriteStatusAsync(bool podIsTerminal = false)
    {
        var status = BuildStatus(podIsTerminal || _terminal);
        var bytes = KubeJson.SerializeToUtf8Bytes(status);
        if (_lastStatus is not null && bytes.AsSpan().SequenceEqual(_lastStatus))
        {
            return;
        }
        var pod = _pod;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var copy = KubeJson.DeepClone(pod);
            copy.Status = status;
            try
            {
                var written = await _ctx.Client.UpdateStatusAsync(copy, _stop.Token).ConfigureAwait(false);
                _lastStatus = bytes;
                if (_pod.Metadata?.ResourceVersion is not { } seen || long.Parse(seen, System.Globalization.CultureInfo.InvariantCulture)
                    < long.Parse(written.Metadata!.ResourceVersion!, System.Globalization.CultureInfo.InvariantCulture))
                {
                    _pod = written;
                }
                return;
            }
            catch (KubeApiException e) when (e.StatusCode == 409)
            {
                pod = await _ctx.Client.TryGetAsync<Pod>(Namespace, Name, _stop.Token).ConfigureAwait(false) ?? pod;
                if (pod.Metadata?.Uid != Uid)
                {
                    return;
                }
                _pod = pod;
                status = BuildStatus(podIsTerminal || _terminal);
            }
            catch (KubeApiException e) when (e.StatusCode == 404)
            {
                _removed = true;
                return;
            }
            catch (Exception e) when (e is HttpRequestException or KubeApiException or IOException)
            {
                // The API server is away; the next sync writes the status again.
                _ctx.Log($"pod {Namespace}/{Name}: status update failed: {e.Message}");
                return;
            }
        }
    }

    /// <summary>
    /// The pod was deleted: stop every container gracefully, report the final status, then remove the object
    /// (upstream's status manager deletes it with grace 0 once nothing runs) and give the pod IP back.
    /// </summary>
    private async Task TerminateAsync()
    {
        var grace = _removed ? s_minimumGrace : GracePeriod();
        if (!_removed && _podIP is not null && _ctx.WaitUntilUnrouted is { } unrouted)
        {
            // Out of the proxy first, then SIGTERM: no new connection reaches a process that is shutting down. The
            // EndpointSlice change takes milliseconds; the cap keeps a stuck control plane from delaying the stop.
            await unrouted(_podIP, s_unrouteWait < grace / 2 ? s_unrouteWait : grace / 2).ConfigureAwait(false);
        }
        await StopAllAsync(grace, _removed ? "the pod was removed" : "the pod was deleted").ConfigureAwait(false);
        if (!_removed)
        {
            await WriteStatusAsync(podIsTerminal: true).ConfigureAwait(false);
            await DeleteObjectAsync().ConfigureAwait(false);
        }
        ReleaseAddress();
        try
        {
            Directory.Delete(Logs.LogPaths.PodDirectory(_ctx.LogRoot, Namespace, Name, Uid), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // The pod never wrote a log.
        }
    }

    /// <summary>Removes the pod object (grace 0, this pod's uid only), retrying while the API server is away.</summary>
    private async Task DeleteObjectAsync()
    {
        while (!_agentStopping)
        {
            try
            {
                await _ctx.Client.DeleteAsync<Pod>(Namespace, Name, new DeleteOptions
                {
                    GracePeriodSeconds = 0,
                    Preconditions = new Preconditions { Uid = Uid },
                }, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (KubeApiException e) when (e.StatusCode is 404 or 409)
            {
                // Already gone, or a new pod of the same name: nothing of ours left to delete.
                return;
            }
            catch (Exception e) when (e is HttpRequestException or KubeApiException or IOException or TimeoutException)
            {
                _ctx.Log($"pod {Namespace}/{Name}: removing the pod object failed, retrying: {e.Message}");
                await Task.Delay(TimeSpan.FromSeconds(1), _ctx.Time).ConfigureAwait(false);
            }
        }
    }
}
