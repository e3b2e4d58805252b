namespace Berth.Node.Kubelet.Runtime;

/// <summary>How a process ended.</summary>
/// <param name="ExitCode">The exit status, or 128 + signal when a signal ended it (137 SIGKILL, 143 SIGTERM), as the kubelet reports it.</param>
/// <param name="Signal">The signal that ended it, if one did.</param>
/// <param name="FinishedAt">When the agent reaped it.</param>
public readonly record struct ProcessExit(int ExitCode, int? Signal, DateTimeOffset FinishedAt);
