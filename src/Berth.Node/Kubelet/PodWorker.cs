using System.Threading.Channels;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Node.Kubelet.Env;
using Berth.Node.Kubelet.Logs;
using Berth.Node.Kubelet.Probes;
using Berth.Node.Kubelet.Runtime;

namespace Berth.Node.Kubelet;

/// <summary>
/// Runs one pod (upstream's pod worker + syncPod): init containers in order, then the containers, restarts with
/// back-off per restartPolicy, probes, the pod's status, and, once the pod is deleted, the graceful stop
/// (preStop, SIGTERM to each container's process group, the grace period, SIGKILL) and the final removal of the
/// pod object. One loop per pod; everything else only wakes it.
/// </summary>
internal sealed partial class PodWorker : IAsyncDisposable
{
    // How often a pod is looked at without a reason (retrying config errors, missed wake-ups).
    private static readonly TimeSpan s_resync = TimeSpan.FromSeconds(10);

    private readonly KubeletContext _ctx;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly RestartBackOff _backOff;
    private readonly List<ContainerSlot> _init = [];
    private readonly List<ContainerSlot> _containers = [];
    private volatile Pod _pod;
    private volatile bool _removed;
    private volatile bool _agentStopping;
    private string? _podIP;
    private DateTimeOffset? _startTime;
    private byte[]? _lastStatus;
    private bool _terminal;
    private Task _loop = Task.CompletedTask;

    public PodWorker(KubeletContext ctx, Pod pod)
    {
        _ctx = ctx;
        _pod = pod;
        _backOff = new RestartBackOff(ctx.Time);
        Uid = pod.Metadata!.Uid!;
        Namespace = pod.Metadata.Namespace!;
        Name = pod.Metadata.Name!;
        foreach (var c in pod.Spec?.InitContainers ?? [])
        {
            _init.Add(Restore(new ContainerSlot(c, isInit: true), pod.Status?.InitContainerStatuses));
        }
        foreach (var c in pod.Spec?.Containers ?? [])
        {
            _containers.Add(Restore(new ContainerSlot(c, isInit: false), pod.Status?.ContainerStatuses));
        }
        // A pod that finished before this agent started stays finished; its worker only serves its logs and,
        // once it is deleted, removes it.
        if (pod.Status?.Phase is PodStatusRules.Succeeded or PodStatusRules.Failed)
        {
            _terminal = true;
            _podIP = pod.Status.PodIP;
            _startTime = pod.Status.StartTime;
        }
    }

    public string Uid { get; }

    public string Namespace { get; }

    public string Name { get; }

    /// <summary>Completes when the pod has been stopped and its object removed (or the agent stopped it).</summary>
    public Task Completion => _loop;

    public void Start() => _loop = Task.Run(async () =>
    {
        try
        {
            await RunAsync().ConfigureAwait(false);
        }
        finally
        {
            ReleaseEtcFiles();
        }
    });

    /// <summary>A newer version of the pod from the API.</summary>
    public void Update(Pod pod)
    {
        _pod = pod;
        Wake();
    }

    /// <summary>The pod object is gone (force-deleted): stop everything now.</summary>
    public void Removed()
    {
        _removed = true;
        Wake();
    }

    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>The container <paramref name="name"/> (regular or init), for logs and exec.</summary>
    public ContainerSlot? FindContainer(string name) =>
        _containers.FirstOrDefault(c => c.Name == name) ?? _init.FirstOrDefault(c => c.Name == name);

    /// <summary>The agent is shutting down: stop the processes gracefully but leave the pod object alone.</summary>
    public async ValueTask DisposeAsync()
    {
        _agentStopping = true;
        Wake();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (true)
        {
            try
            {
                if (_agentStopping)
                {
                    await StopAllAsync(GracePeriod(), "the node agent is stopping").ConfigureAwait(false);
                    return;
                }
                if (_removed || _pod.Metadata?.DeletionTimestamp is not null)
                {
                    await TerminateAsync().ConfigureAwait(false);
                    return;
                }
                var next = await SyncAsync().ConfigureAwait(false);
                await WriteStatusAsync().ConfigureAwait(false);
                await WaitAsync(next).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // A sync that failed (the API away, a bug) must not leave the pod's processes unsupervised:
                // say so and look again shortly.
                _ctx.Log($"pod {Namespace}/{Name}: sync failed, retrying: {e.Message}");
                await WaitAsync(_ctx.Time.GetUtcNow() + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitAsync(DateTimeOffset? until)
    {
        var delay = s_resync;
        if (until is { } u)
        {
            var left = u - _ctx.Time.GetUtcNow();
            delay = left < TimeSpan.Zero ? TimeSpan.Zero : left < delay ? left : delay;
        }
        using var timeout = new CancellationTokenSource(delay, _ctx.Time);
        try
        {
            await _wake.Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            // Time to look again.
        }
    }

    /// <summary>One pass of upstream's syncPod; returns when it wants to run again at the latest (back-off ends).</summary>
    private async Task<DateTimeOffset?> SyncAsync()
    {
        DateTimeOffset? next = null;
        if (_terminal && _init.Concat(_containers).All(c => !c.IsRunning))
        {
            return null;
        }
        _startTime ??= _pod.Status?.StartTime ?? _ctx.Time.GetUtcNow();
        if (_podIP is null && _pod.Spec?.HostNetwork == true)
        {
            // A host-network pod shares the node's address.
            _podIP = _ctx.NodeIP;
        }
        if (_podIP is null)
        {
            try
            {
                _podIP = _ctx.Addresses.Acquire(Uid);
            }
            catch (InvalidOperationException e)
            {
                _ctx.Events.Record(_pod, "Warning", "FailedCreatePodSandBox", e.Message);
                return null;
            }
        }
        SyncEtcFiles();

        foreach (var slot in _init.Concat(_containers))
        {
            await ReapIfExitedAsync(slot).ConfigureAwait(false);
            await KillIfProbeFailedAsync(slot).ConfigureAwait(false);
        }
        if (_terminal)
        {
            return null;
        }

        // Init containers, in order: each must complete (a sidecar: start) before the next one runs.
        var initialized = true;
        foreach (var slot in _init)
        {
            if (slot.IsSidecar)
            {
                if (!slot.IsRunning)
                {
                    next = Earliest(next, await StartOrBackOffAsync(slot).ConfigureAwait(false));
                }
                if (!slot.Started)
                {
                    initialized = false;
                    break;
                }
                continue;
            }
            if (slot.Exited is { ExitCode: 0 })
            {
                continue;
            }
            initialized = false;
            if (slot.IsRunning)
            {
                break;
            }
            if (slot.Exited is not null && RestartPolicy == "Never")
            {
                // A failed init container fails a pod that may not restart anything.
                await FailPodAsync().ConfigureAwait(false);
                return null;
            }
            next = Earliest(next, await StartOrBackOffAsync(slot).ConfigureAwait(false));
            break;
        }
        foreach (var slot in _containers)
        {
            if (!initialized)
            {
                slot.Waiting ??= slot.EverStarted ? null : new ContainerStateWaiting { Reason = "PodInitializing" };
                continue;
            }
            if (slot.IsRunning)
            {
                continue;
            }
            if (slot.Exited is { } exited && !ShouldRestart(exited))
            {
                continue;
            }
            next = Earliest(next, await StartOrBackOffAsync(slot).ConfigureAwait(false));
        }

        // A pod whose containers have all ended for good is finished: Succeeded or Failed, and its sidecars stop.
        if (initialized && _containers.Count > 0 && _containers.All(c => !c.IsRunning && c.Exited is { } e && !ShouldRestart(e)))
        {
            _terminal = true;
            foreach (var sidecar in _init.Where(s => s.IsRunning))
            {
                await StopContainerAsync(sidecar, GracePeriod(), "Stopping container " + sidecar.Name).ConfigureAwait(false);
            }
            ReleaseAddress();
        }
        return next;
    }

    private string RestartPolicy => _pod.Spec?.RestartPolicy ?? "Always";

    private bool ShouldRestart(ContainerStateTerminated exited) => RestartPolicy switch
    {
        "Never" => false,
        "OnFailure" => exited.ExitCode != 0,
        _ => true,
    };

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a < b ? a : b;

    private async Task FailPodAsync()
    {
        _terminal = true;
        await StopAllAsync(GracePeriod(), "an init container failed and restartPolicy is Never").ConfigureAwait(false);
        ReleaseAddress();
    }

    /// <summary>
    /// A finished pod gives its IP back (upstream tears its sandbox down) but keeps showing it in its status, as
    /// upstream does; a host-network pod never held one.
    /// </summary>
    private void ReleaseAddress()
    {
        if (_podIP != _ctx.NodeIP)
        {
            _ctx.Addresses.Release(Uid);
        }
    }

    /// <summary>Starts the container unless its crash-loop back-off holds it; returns when the back-off ends.</summary>
    private async Task<DateTimeOffset?> StartOrBackOffAsync(ContainerSlot slot)
    {
        var key = slot.Name;
        if (slot.Exited is { FinishedAt: { } finished } && _backOff.BlockedUntil(key, finished) is { } until)
        {
            var message = RestartBackOff.Message(_backOff.Current(key), slot.Name, Name, Namespace, Uid);
            if (slot.Waiting?.Reason != "CrashLoopBackOff")
            {
                _ctx.Events.Record(_pod, "Warning", "BackOff", $"Back-off restarting failed container {slot.Name} in pod {Name}_{Namespace}({Uid})", slot.FieldPath);
            }
            slot.Waiting = new ContainerStateWaiting { Reason = "CrashLoopBackOff", Message = message };
            return until;
        }
        // Only a restart counts towards the back-off (upstream doBackOff runs for exited containers): the first
        // restart is immediate, the next waits 10 s.
        var finishedAt = slot.Exited?.FinishedAt;
        if (await StartContainerAsync(slot).ConfigureAwait(false) && finishedAt is { } exitedAt)
        {
            _backOff.Started(key, exitedAt);
        }
        return null;
    }

    private TimeSpan GracePeriod()
    {
        var seconds = _pod.Metadata?.DeletionGracePeriodSeconds ?? _pod.Spec?.TerminationGracePeriodSeconds ?? 30;
        return TimeSpan.FromSeconds(seconds);
    }

    // A pod the agent already ran (the agent restarted): carry restartCount and the last termination over.
    private static ContainerSlot Restore(ContainerSlot slot, List<ContainerStatus>? statuses)
    {
        var status = statuses?.FirstOrDefault(s => s.Name == slot.Name);
        if (status is null)
        {
            return slot;
        }
        slot.RestartCount = status.RestartCount ?? 0;
        slot.EverStarted = status.State?.Running is not null || status.State?.Terminated is not null || status.LastState?.Terminated is not null;
        if (status.State?.Terminated is { } terminated)
        {
            slot.Exited = terminated;
        }
        else if (status.State?.Running is { } running)
        {
            // Its process was ended when this agent started (ProcessRecords.EndLeftovers).
            slot.Exited = new ContainerStateTerminated
            {
                ExitCode = 137,
                Reason = "Error",
                Message = "The node agent restarted and ended this container's processes, which its predecessor had started",
                StartedAt = running.StartedAt,
                FinishedAt = DateTimeOffset.UtcNow,
                ContainerID = status.ContainerID,
            };
        }
        else
        {
            slot.LastTerminated = status.LastState?.Terminated;
        }
        return slot;
    }
}
