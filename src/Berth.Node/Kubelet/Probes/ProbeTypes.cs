using Berth.Api.Models;

namespace Berth.Node.Kubelet.Probes;

/// <summary>Which of a container's probes (upstream <c>probeType</c>).</summary>
public enum ProbeKind
{
    Startup,
    Readiness,
    Liveness,
}

/// <summary>
/// One probe attempt's result (upstream <c>probe.Result</c>). <see cref="Warning"/> counts as a success
/// (an HTTP redirect to another host); <see cref="Unknown"/> means the probe errored: upstream records
/// a "probe errored" event and throws the attempt away instead of counting it.
/// </summary>
public enum ProbeResult
{
    Success,
    Warning,
    Failure,
    Unknown,
}

/// <summary>A probe attempt's result and its output (the body, the failure text, or the error text when Unknown).</summary>
public readonly record struct ProbeOutcome(ProbeResult Result, string Output);

/// <summary>What a command run inside the container by an exec probe produced.</summary>
public readonly record struct ExecOutcome(int ExitCode, string Output, bool TimedOut);

/// <summary>
/// Where a container's probes go: the pod IP (the default host), the container's ports (named ports
/// resolve against them), and how to run an exec probe's command in the container (command, timeout).
/// </summary>
public sealed record ProbeTarget(
    string PodIP,
    IReadOnlyList<ContainerPort> Ports,
    Func<IReadOnlyList<string>, TimeSpan, CancellationToken, Task<ExecOutcome>> Exec);
