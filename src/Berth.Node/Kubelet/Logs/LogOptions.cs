namespace Berth.Node.Kubelet.Logs;

/// <summary>
/// What to read from a container log (the kubelet's CRI LogOptions from v1.PodLogOptions; the caller
/// folds sinceSeconds into <see cref="SinceTime"/> and picks the previous restart's file for --previous).
/// </summary>
public sealed record LogOptions(
    bool Follow = false,
    long? TailLines = null,
    bool Timestamps = false,
    DateTimeOffset? SinceTime = null,
    long? LimitBytes = null);
