using Berth.Api.Models;
using Berth.Node.Kubelet.Env;
using Berth.Node.Kubelet.Logs;
using Berth.Node.Kubelet.Probes;
using Berth.Node.Kubelet.Runtime;

namespace Berth.Node.Kubelet;

internal sealed partial class PodWorker
{
    // Upstream minimumGracePeriodInSeconds: containers always get a short window before SIGKILL.
    private static readonly TimeSpan s_minimumGrace = TimeSpan.FromSeconds(2);

    // Longest a deleted pod waits for this node's proxy to stop choosing it before its processes are signalled.
    private static readonly TimeSpan s_unrouteWait = TimeSpan.FromSeconds(2);

    public string LogRoot => _ctx.LogRoot;

    /// <summary>An exec'd process belongs to its container: it is ended when the container stops.</summary>
    public void TrackExec(ContainerSlot slot, HostProcess process)
    {
        lock (slot.Execs)
        {
            slot.Execs.Add(process);
        }
        _ctx.Processes.Add(process, new ProcessOwner(Uid, Namespace, Name, slot.Name + " (exec)"));
    }

    public void UntrackExec(ContainerSlot slot, HostProcess process)
    {
        lock (slot.Execs)
        {
            slot.Execs.Remove(process);
        }
        _ctx.Processes.Remove(process.Pid);
    }

    /// <summary>Starts a new instance of the container; false (and a Waiting reason + event) when it cannot run.</summary>
    private async Task<bool> StartContainerAsync(ContainerSlot slot)
    {
        var spec = slot.Spec;
        var env = await ContainerEnvironment.BuildAsync(_pod, spec, EnvironmentSources(), _stop.Token).ConfigureAwait(false);
        if (!env.Succeeded)
        {
            return CannotRun(slot, "CreateContainerConfigError", env.Message!);
        }
        if (env.Warnings.Count > 0 && !slot.EverStarted)
        {
            foreach (var warning in env.Warnings)
            {
                _ctx.Events.Record(_pod, "Warning", "InvalidEnvironmentVariableNames", warning, slot.FieldPath);
            }
        }
        // As containerd: HOSTNAME is the pod's host name unless the container's env sets it ($(HOSTNAME) does not expand).
        IReadOnlyList<KeyValuePair<string, string>> variables = env.Variables.Any(v => v.Key == "HOSTNAME")
            ? env.Variables
            : [new("HOSTNAME", HostName()), .. env.Variables];
        if (!ContainerCommand.TryBuild(spec, env.Variables, out var argv, out var commandError))
        {
            return CannotRun(slot, "CreateContainerError", commandError);
        }
        var workingDir = WorkingDirectory(spec.WorkingDir, _ctx.StartDirectory);
        if (!Directory.Exists(workingDir))
        {
            var resolved = Path.IsPathRooted(spec.WorkingDir) ? "" : $" ({workingDir}, relative to the directory berth was started in)";
            return CannotRun(slot, "CreateContainerError",
                $"workingDir \"{spec.WorkingDir}\"{resolved} of container \"{slot.Name}\" does not exist on this node; create it or change spec.containers[].workingDir");
        }
        var path = variables.LastOrDefault(v => v.Key == "PATH").Value;
        if (!ExecutableLookup.TryResolve(argv[0], path, workingDir, out var executable, out var lookupError))
        {
            return CannotRun(slot, "RunContainerError", lookupError);
        }

        var restartCount = slot.EverStarted ? slot.RestartCount + 1 : slot.RestartCount;
        var writer = new ContainerLogWriter(LogPaths.ContainerLog(_ctx.LogRoot, Namespace, Name, Uid, slot.Name, restartCount));
        HostProcess process;
        try
        {
            process = HostProcess.Start(new ProcessSpec(executable, [.. argv.Skip(1)], variables, workingDir, MountNamespace: _mountNamespace));
        }
        catch (ProcessStartException e)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            return CannotRun(slot, "RunContainerError", e.Message);
        }
        _ctx.Processes.Add(process, new ProcessOwner(Uid, Namespace, Name, slot.Name));
        var containerId = "berth://" + Guid.NewGuid().ToString("N");
        _ctx.Events.Record(_pod, "Normal", "Created", $"Created container: {slot.Name}", slot.FieldPath);
        _ctx.Events.Record(_pod, "Normal", "Started", $"Started container {slot.Name}", slot.FieldPath);

        if (slot.EverStarted)
        {
            slot.RestartCount = restartCount;
            slot.LastTerminated = slot.Exited ?? slot.LastTerminated;
        }
        slot.EverStarted = true;
        slot.Exited = null;
        slot.Waiting = null;
        slot.Process = process;
        slot.LogWriter = writer;
        slot.LogPumps = Task.WhenAll(
            writer.PumpAsync(process.Stdout, LogStream.Stdout, CancellationToken.None),
            writer.PumpAsync(process.Stderr!, LogStream.Stderr, CancellationToken.None));
        slot.ContainerId = containerId;
        slot.RunningSince = process.StartedAt;
        slot.Environment = variables;
        slot.WorkingDirectory = workingDir;
        slot.ProbeKill = null;
        _ = process.Exited.ContinueWith(_ => Wake(), TaskScheduler.Default);
        StartProbes(slot);
        return true;
    }

    /// <summary>
    /// The container's working directory, absolute: `/` without one (a container without WORKDIR); a relative one
    /// (which container runtimes reject) is taken relative to <paramref name="startDirectory"/>, the agent's.
    /// </summary>
    internal static string WorkingDirectory(string? workingDir, string startDirectory) =>
        string.IsNullOrEmpty(workingDir) ? "/" : Path.GetFullPath(workingDir, startDirectory);

    private bool CannotRun(ContainerSlot slot, string reason, string message)
    {
        if (slot.Waiting?.Message != message)
        {
            _ctx.Events.Record(_pod, "Warning", "Failed", "Error: " + message, slot.FieldPath);
            _ctx.Log($"pod {Namespace}/{Name}: container {slot.Name} cannot run: {message}");
        }
        slot.Waiting = new ContainerStateWaiting { Reason = reason, Message = message };
        return false;
    }

    private EnvironmentSources EnvironmentSources() => new()
    {
        GetConfigMap = (ns, name, ct) => _ctx.Client.TryGetAsync<ConfigMap>(ns, name, ct),
        GetSecret = (ns, name, ct) => _ctx.Client.TryGetAsync<Secret>(ns, name, ct),
        Services = _ctx.Services(),
        PodIPs = _podIP is null ? [] : [_podIP],
        HostIPs = [_ctx.NodeIP],
        NodeAllocatable = _ctx.Allocatable,
    };

    private void StartProbes(ContainerSlot slot)
    {
        var spec = slot.Spec;
        var target = new ProbeTarget(_podIP!, spec.Ports ?? [], (command, timeout, ct) => ExecAsync(slot, command, timeout, ct));
        var startedAt = slot.RunningSince!.Value;
        slot.Started = spec.StartupProbe is null;
        slot.Ready = false;
        if (spec.StartupProbe is { } startup)
        {
            slot.StartupProbe = NewProbe(slot, startup, ProbeKind.Startup, target, result =>
            {
                if (result == ProbeResult.Success)
                {
                    slot.Started = true;
                    slot.ReadinessProbe?.SetStarted(true);
                    slot.LivenessProbe?.SetStarted(true);
                    if (spec.ReadinessProbe is null)
                    {
                        slot.Ready = true;
                    }
                }
                else if (result == ProbeResult.Failure)
                {
                    slot.ProbeKill = startup;
                }
            });
        }
        if (spec.ReadinessProbe is { } readiness)
        {
            slot.ReadinessProbe = NewProbe(slot, readiness, ProbeKind.Readiness, target, result => slot.Ready = result == ProbeResult.Success);
        }
        else if (slot.Started)
        {
            // Without a readiness probe a running, started container is ready.
            slot.Ready = true;
        }
        if (spec.LivenessProbe is { } liveness)
        {
            slot.LivenessProbe = NewProbe(slot, liveness, ProbeKind.Liveness, target, result =>
            {
                if (result == ProbeResult.Failure)
                {
                    slot.ProbeKill = liveness;
                }
            });
        }
        foreach (var worker in new[] { slot.StartupProbe, slot.ReadinessProbe, slot.LivenessProbe })
        {
            if (worker is null)
            {
                continue;
            }
            // Readiness and liveness wait for the startup probe; the startup probe runs until it succeeds.
            worker.SetStarted(slot.Started);
            worker.ContainerStarted(startedAt);
        }
    }

    private ProbeWorker NewProbe(ContainerSlot slot, Probe probe, ProbeKind kind, ProbeTarget target, Action<ProbeResult> changed) =>
        new(probe, kind, _ctx.Prober, target, _ctx.Time,
            result =>
            {
                changed(result);
                Wake();
            },
            outcome => _ctx.Events.Record(_pod, "Warning", ProbeWorker.EventReason(outcome), ProbeWorker.EventMessage(kind, outcome), slot.FieldPath));

    /// <summary>Runs a command in the container's environment (exec probes, preStop exec), with a timeout.</summary>
    private async Task<ExecOutcome> ExecAsync(ContainerSlot slot, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        var env = slot.Environment ?? [];
        var path = env.LastOrDefault(v => v.Key == "PATH").Value;
        if (command.Count == 0)
        {
            return new ExecOutcome(126, "no command", TimedOut: false);
        }
        if (!ExecutableLookup.TryResolve(command[0], path, slot.WorkingDirectory, out var executable, out var error))
        {
            return new ExecOutcome(126, error, TimedOut: false);
        }
        await using var process = HostProcess.Start(new ProcessSpec(executable, [.. command.Skip(1)], env, slot.WorkingDirectory, MountNamespace: _mountNamespace));
        // Upstream keeps at most 10 KiB of an exec probe's combined output; two streams, so no shared buffer.
        var stdout = ReadLimitedAsync(process.Stdout, ct);
        var stderr = ReadLimitedAsync(process.Stderr!, ct);
        var copy = Task.WhenAll(stdout, stderr);
        var exited = process.Exited;
        if (await Task.WhenAny(exited, Task.Delay(timeout, _ctx.Time, ct)).ConfigureAwait(false) != exited)
        {
            await process.StopAsync(TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            return new ExecOutcome(-1, "", TimedOut: true);
        }
        await copy.ConfigureAwait(false);
        var output = (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false));
        return new ExecOutcome((await exited.ConfigureAwait(false)).ExitCode, output.Length > ExecOutputLimit ? output[..ExecOutputLimit] : output, TimedOut: false);
    }

    private const int ExecOutputLimit = 10 * 1024;

    // Reads to the end (so the process never blocks on a full pipe) but keeps only the first 10 KiB.
    private static async Task<string> ReadLimitedAsync(Stream source, CancellationToken ct)
    {
        var kept = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            kept.Write(buffer, 0, (int)Math.Min(read, Math.Max(0, ExecOutputLimit - kept.Length)));
        }
        return System.Text.Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
    }

    /// <summary>Collects a container whose process has exited: its termination, its logs, its probes.</summary>
    private async Task ReapIfExitedAsync(ContainerSlot slot)
    {
        if (slot.Process is not { Exited.IsCompleted: true } process)
        {
            return;
        }
        var exit = await process.Exited.ConfigureAwait(false);
        await FinishInstanceAsync(slot, exit).ConfigureAwait(false);
    }

    private async Task FinishInstanceAsync(ContainerSlot slot, ProcessExit exit)
    {
        var process = slot.Process!;
        // The container is its whole process group: nothing it started outlives its main process.
        await process.StopAsync(TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
        HostProcess[] execs;
        lock (slot.Execs)
        {
            execs = [.. slot.Execs];
        }
        foreach (var exec in execs)
        {
            await exec.StopAsync(TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
        }
        if (slot.LogPumps is { } pumps)
        {
            await pumps.ConfigureAwait(false);
        }
        if (slot.LogWriter is { } writer)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
        _ctx.Processes.Remove(process.Pid);
        await process.DisposeAsync().ConfigureAwait(false);
        await slot.StopProbesAsync().ConfigureAwait(false);
        slot.Exited = new ContainerStateTerminated
        {
            ExitCode = exit.ExitCode,
            Reason = exit.ExitCode == 0 ? "Completed" : "Error",
            StartedAt = slot.RunningSince,
            FinishedAt = exit.FinishedAt,
            ContainerID = slot.ContainerId,
        };
        slot.Process = null;
        slot.LogWriter = null;
        slot.LogPumps = null;
        slot.Ready = false;
        slot.Started = false;
        slot.RunningSince = null;
    }

    private async Task KillIfProbeFailedAsync(ContainerSlot slot)
    {
        if (slot.ProbeKill is not { } probe || !slot.IsRunning)
        {
            return;
        }
        slot.ProbeKill = null;
        var kind = probe == slot.Spec.LivenessProbe ? "liveness" : "startup";
        // A probe's own terminationGracePeriodSeconds overrides the pod's for the restart it causes.
        var grace = probe.TerminationGracePeriodSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : GracePeriod();
        await StopContainerAsync(slot, grace, $"Container {slot.Name} failed {kind} probe, will be restarted").ConfigureAwait(false);
    }

    /// <summary>
    /// Stops a running container as upstream killContainer does: the Killing event, preStop within the grace
    /// period, then SIGTERM to its process group and SIGKILL once the rest of the grace period (at least 2 s) is up.
    /// </summary>
    private async Task StopContainerAsync(ContainerSlot slot, TimeSpan grace, string message)
    {
        if (slot.Process is not { } process)
        {
            return;
        }
        _ctx.Events.Record(_pod, "Normal", "Killing", message, slot.FieldPath);
        var started = _ctx.Time.GetTimestamp();
        if (slot.Spec.Lifecycle?.PreStop is { } preStop && !process.Exited.IsCompleted)
        {
            using var hookTimeout = new CancellationTokenSource(grace, _ctx.Time);
            var failure = await LifecycleHooks.RunAsync(preStop, _podIP!, slot.Spec.Ports ?? [], (cmd, t, ct) => ExecAsync(slot, cmd, t, ct), _ctx.Time, hookTimeout.Token).ConfigureAwait(false);
            if (failure is not null)
            {
                _ctx.Events.Record(_pod, "Warning", "FailedPreStopHook", failure, slot.FieldPath);
            }
        }
        var left = grace - _ctx.Time.GetElapsedTime(started);
        var exit = await process.StopAsync(left < s_minimumGrace ? s_minimumGrace : left, CancellationToken.None).ConfigureAwait(false);
        await FinishInstanceAsync(slot, exit).ConfigureAwait(false);
    }

    /// <summary>Stops every container: the regular ones together, then the sidecars in reverse order.</summary>
    private async Task StopAllAsync(TimeSpan grace, string why)
    {
        _ctx.Log($"pod {Namespace}/{Name}: stopping its containers ({why})");
        await Task.WhenAll(_containers.Concat(_init.Where(s => !s.IsSidecar)).Select(s => StopContainerAsync(s, grace, $"Stopping container {s.Name}"))).ConfigureAwait(false);
        for (var i = _init.Count - 1; i >= 0; i--)
        {
            await StopContainerAsync(_init[i], grace, $"Stopping container {_init[i].Name}").ConfigureAwait(false);
        }
    }
}
