namespace Berth.Node.Kubelet.Runtime;

/// <summary>What to run for one container.</summary>
/// <param name="Executable">Absolute path (see <see cref="ExecutableLookup"/>); it is also argv[0].</param>
/// <param name="Arguments">argv[1..].</param>
/// <param name="Environment">The child's entire environment: nothing is inherited from the agent.</param>
/// <param name="WorkingDirectory">Absolute; null keeps the agent's.</param>
/// <param name="Tty">Run on a new pseudo-terminal (its controlling terminal) instead of pipes.</param>
/// <param name="Stdin">Give the child a writable stdin; otherwise it reads /dev/null.</param>
/// <param name="MountNamespace">The pod's own mount namespace to start the child in; null: the agent's.</param>
public sealed record ProcessSpec(
    string Executable,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    string? WorkingDirectory,
    bool Tty = false,
    bool Stdin = false,
    PodNamespace? MountNamespace = null);
