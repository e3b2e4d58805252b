using Berth.Api.Models;

namespace Berth.Node.Kubelet;

/// <summary>
/// The pod-level parts of a pod's status as the kubelet computes them from its container statuses: the phase
/// (upstream kubelet_pods.go getPhase) and the Initialized / ContainersReady / Ready conditions
/// (pkg/kubelet/status/generate.go).
/// </summary>
public static class PodStatusRules
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    /// <summary>An init container with restartPolicy Always: a sidecar that keeps running beside the containers.</summary>
    public static bool IsSidecar(Container c) => c.RestartPolicy == "Always";

    /// <summary>Upstream getPhase, for a pod whose containers' statuses are <paramref name="init"/> and <paramref name="regular"/>.</summary>
    public static string GetPhase(PodSpec spec, IReadOnlyList<ContainerStatus> init, IReadOnlyList<ContainerStatus> regular, bool podIsTerminal)
    {
        var pendingInitialization = 0;
        var failedInitialization = 0;
        foreach (var container in spec.InitContainers ?? [])
        {
            if (IsSidecar(container))
            {
                continue;
            }
            var status = Find(init, container.Name);
            if (status?.State is not { } state)
            {
                pendingInitialization++;
                continue;
            }
            if (state.Running is not null)
            {
                pendingInitialization++;
            }
            else if (state.Terminated is { } terminated)
            {
                if (terminated.ExitCode != 0)
                {
                    failedInitialization++;
                }
            }
            else if (state.Waiting is not null)
            {
                if (status.LastState?.Terminated is { } last)
                {
                    if (last.ExitCode != 0)
                    {
                        failedInitialization++;
                    }
                }
                else
                {
                    pendingInitialization++;
                }
            }
            else
            {
                pendingInitialization++;
            }
        }

        int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
        foreach (var container in spec.InitContainers ?? [])
        {
            if (!IsSidecar(container))
            {
                continue;
            }
            var status = Find(init, container.Name);
            if (status?.State is not { } state)
            {
                unknown++;
                continue;
            }
            if (state.Running is not null)
            {
                if (status.Started != true)
                {
                    pendingInitialization++;
                }
                running++;
            }
            else if (state.Terminated is not null)
            {
                // Terminated sidecars do not count towards the phase.
            }
            else if (state.Waiting is not null)
            {
                if (status.LastState?.Terminated is null)
                {
                    pendingInitialization++;
                    waiting++;
                }
            }
            else
            {
                pendingInitialization++;
                unknown++;
            }
        }
        foreach (var container in spec.Containers ?? [])
        {
            var status = Find(regular, container.Name);
            if (status?.State is not { } state)
            {
                unknown++;
                continue;
            }
            if (state.Running is not null)
            {
                running++;
            }
            else if (state.Terminated is { } terminated)
            {
                stopped++;
                if (terminated.ExitCode == 0)
                {
                    succeeded++;
                }
            }
            else if (state.Waiting is not null)
            {
                if (status.LastState?.Terminated is not null)
                {
                    stopped++;
                }
                else
                {
                    waiting++;
                }
            }
            else
            {
                unknown++;
            }
        }

        if (failedInitialization > 0 && spec.RestartPolicy == "Never")
        {
            return Failed;
        }
        if ((pendingInitialization > 0 && !HasAnyRegularContainerStarted(regular)) || waiting > 0)
        {
            return Pending;
        }
        if (running > 0 && unknown == 0)
        {
            return Running;
        }
        if (running == 0 && stopped > 0 && unknown == 0)
        {
            if (podIsTerminal)
            {
                return stopped == succeeded ? Succeeded : Failed;
            }
            if (spec.RestartPolicy is "Always" or null)
            {
                return Running;
            }
            if (stopped == succeeded)
            {
                return Succeeded;
            }
            return spec.RestartPolicy == "Never" ? Failed : Running;
        }
        return Pending;
    }

    /// <summary>
    /// Initialized, ContainersReady and Ready, ported from upstream's pkg/kubelet/status/generate.go (reasons
    /// ContainersNotInitialized, ContainersNotReady, ReadinessGatesNotReady, PodCompleted, PodFailed; messages
    /// "containers with unready status: [a b]").
    /// </summary>
    public static IReadOnlyList<PodCondition> Conditions(Pod pod, string phase, IReadOnlyList<ContainerStatus> init, IReadOnlyList<ContainerStatus> regular)
    {
        var containersReady = ContainersReady(pod.Spec!, phase, init, regular);
        return [Initialized(pod.Spec!, phase, init, regular), containersReady, Ready(pod, containersReady)];
    }

    private static PodCondition Initialized(PodSpec spec, string phase, IReadOnlyList<ContainerStatus> init, IReadOnlyList<ContainerStatus> regular)
    {
        var unknown = new List<string>();
        var incomplete = new List<string>();
        foreach (var c in spec.InitContainers ?? [])
        {
            var status = Find(init, c.Name);
            if (status is null)
            {
                unknown.Add(c.Name!);
            }
            else if (IsSidecar(c) ? status.Started != true : status.Ready != true)
            {
                incomplete.Add(c.Name!);
            }
        }
        if (phase == Succeeded && unknown.Count == 0)
        {
            return Condition("Initialized", "True", "PodCompleted", null);
        }
        // Once a regular container has started the pod was initialized, even while sidecars restart.
        if (HasAnyRegularContainerStarted(regular))
        {
            return Condition("Initialized", "True", null, null);
        }
        var message = Join(("unknown", unknown), ("incomplete", incomplete));
        return message.Length > 0
            ? Condition("Initialized", "False", "ContainersNotInitialized", message)
            : Condition("Initialized", "True", null, null);
    }

    private static PodCondition ContainersReady(PodSpec spec, string phase, IReadOnlyList<ContainerStatus> init, IReadOnlyList<ContainerStatus> regular)
    {
        var unknown = new List<string>();
        var unready = new List<string>();
        void Check(Container c, IReadOnlyList<ContainerStatus> statuses)
        {
            var status = Find(statuses, c.Name);
            if (status is null)
            {
                unknown.Add(c.Name!);
            }
            else if (status.Ready != true)
            {
                unready.Add(c.Name!);
            }
        }
        foreach (var c in (spec.InitContainers ?? []).Where(IsSidecar))
        {
            Check(c, init);
        }
        foreach (var c in spec.Containers ?? [])
        {
            Check(c, regular);
        }
        if ((phase == Succeeded && unknown.Count == 0) || phase == Failed)
        {
            return Condition("ContainersReady", "False", phase == Failed ? "PodFailed" : "PodCompleted", null);
        }
        var message = Join(("unknown", unknown), ("unready", unready));
        return message.Length > 0
            ? Condition("ContainersReady", "False", "ContainersNotReady", message)
            : Condition("ContainersReady", "True", null, null);
    }

    private static PodCondition Ready(Pod pod, PodCondition containersReady)
    {
        if (containersReady.Status != "True")
        {
            return Condition("Ready", containersReady.Status!, containersReady.Reason, containersReady.Message);
        }
        var messages = new List<string>();
        foreach (var gate in pod.Spec!.ReadinessGates ?? [])
        {
            var condition = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == gate.ConditionType);
            if (condition is null)
            {
                messages.Add($"corresponding condition of pod readiness gate \"{gate.ConditionType}\" does not exist.");
            }
            else if (condition.Status != "True")
            {
                messages.Add($"the status of pod readiness gate \"{gate.ConditionType}\" is not \"True\", but {condition.Status}");
            }
        }
        return messages.Count > 0
            ? Condition("Ready", "False", "ReadinessGatesNotReady", string.Join(", ", messages))
            : Condition("Ready", "True", null, null);
    }

    // Go's fmt of a []string: "containers with unready status: [a b]", the kinds joined by ", ".
    private static string Join(params (string Kind, List<string> Names)[] groups) =>
        string.Join(", ", groups.Where(g => g.Names.Count > 0).Select(g => $"containers with {g.Kind} status: [{string.Join(' ', g.Names)}]"));

    private static bool HasAnyRegularContainerStarted(IReadOnlyList<ContainerStatus> regular) =>
        regular.Any(s => s.State?.Running is not null || s.State?.Terminated is not null || s.LastState?.Terminated is not null);

    private static ContainerStatus? Find(IReadOnlyList<ContainerStatus> statuses, string? name)
    {
        foreach (var s in statuses)
        {
            if (s.Name == name)
            {
                return s;
            }
        }
        return null;
    }

    private static PodCondition Condition(string type, string status, string? reason, string? message) =>
        new() { Type = type, Status = status, Reason = reason, Message = message };
}
