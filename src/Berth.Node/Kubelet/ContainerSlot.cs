using Berth.Api.Models;
using Berth.Node.Kubelet.Logs;
using Berth.Node.Kubelet.Probes;
using Berth.Node.Kubelet.Runtime;

namespace Berth.Node.Kubelet;

/// <summary>
/// One container of a pod as its worker tracks it: the running instance (process, log pumps, probes) and what
/// the containerStatus reports (state, lastState, restartCount, ready, started). Owned by one pod worker; probe
/// callbacks only set the volatile flags and wake the worker.
/// </summary>
internal sealed class ContainerSlot(Container spec, bool isInit)
{
    public Container Spec { get; set; } = spec;

    public bool IsInit { get; } = isInit;

    public string Name => Spec.Name!;

    /// <summary>An init container with restartPolicy Always keeps running beside the containers.</summary>
    public bool IsSidecar => IsInit && PodStatusRules.IsSidecar(Spec);

    /// <summary>The event field path upstream uses: <c>spec.containers{app}</c>.</summary>
    public string FieldPath => IsInit ? $"spec.initContainers{{{Name}}}" : $"spec.containers{{{Name}}}";

    /// <summary>How many times the container has been restarted (containerStatuses[].restartCount).</summary>
    public int RestartCount { get; set; }

    /// <summary>Whether an instance was ever started (by this agent or, per the pod's status, by a predecessor).</summary>
    public bool EverStarted { get; set; }

    public HostProcess? Process { get; set; }

    public ContainerLogWriter? LogWriter { get; set; }

    public Task? LogPumps { get; set; }

    public string? ContainerId { get; set; }

    public DateTimeOffset? RunningSince { get; set; }

    /// <summary>The environment and working directory the instance runs with (exec and exec probes use them too).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Environment { get; set; }

    public string? WorkingDirectory { get; set; }

    /// <summary>How the current instance ended, while it waits for a restart or for good.</summary>
    public ContainerStateTerminated? Exited { get; set; }

    /// <summary>How the previous instance ended (lastState) while a newer one runs.</summary>
    public ContainerStateTerminated? LastTerminated { get; set; }

    /// <summary>Why no instance runs now (reason + message), when that is not just a terminated instance.</summary>
    public ContainerStateWaiting? Waiting { get; set; }

    public ProbeWorker? StartupProbe { get; set; }

    public ProbeWorker? ReadinessProbe { get; set; }

    public ProbeWorker? LivenessProbe { get; set; }

    private volatile bool _started;
    private volatile bool _ready;
    private volatile Probe? _probeKill;

    /// <summary>The startup probe succeeded (or there is none) since the instance started.</summary>
    public bool Started
    {
        get => _started;
        set => _started = value;
    }

    /// <summary>The readiness probe passes (or there is none and the container started).</summary>
    public bool Ready
    {
        get => _ready;
        set => _ready = value;
    }

    /// <summary>Set by a failing liveness or startup probe: the probe whose failure asks for a restart.</summary>
    public Probe? ProbeKill
    {
        get => _probeKill;
        set => _probeKill = value;
    }

    /// <summary>Processes started by `kubectl exec` in this container; they end with it.</summary>
    public List<HostProcess> Execs { get; } = [];

    public bool IsRunning => Process is not null;

    public async ValueTask StopProbesAsync()
    {
        foreach (var worker in new[] { StartupProbe, ReadinessProbe, LivenessProbe })
        {
            if (worker is not null)
            {
                await worker.DisposeAsync().ConfigureAwait(false);
            }
        }
        StartupProbe = ReadinessProbe = LivenessProbe = null;
    }
}
