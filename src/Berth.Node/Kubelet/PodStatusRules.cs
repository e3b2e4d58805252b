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
    /// Initialized, ContainersReady and Ready as upstream generates them (reasons ContainersNotInitialized,
    /// ContainersNotReady, PodCompleted; messages "containers with unready status: [a b]").
    /// </summary>
    public static IReadOnlyList<PodCondition> Conditions(Pod pod, string phase, IReadOnlyList<ContainerStatus> init, IReadOnlyList<ContainerStatus> regular)
    {
        var spec = pod.Spec!;
        var result = new List<PodCondition>(3);

        // Initialized (upstream GeneratePodInitializedCondition): once any regular container has started the pod
        // was initialized; otherwise every init container must have completed (a sidecar: started).
        if (HasAnyRegularContainerStarted(regular))
        {
            result.Add(Condition("Initialized", "True", null, null));
        }
        else
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
                else if (IsSidecar(c) ? status.Started != true : status.State?.Terminated is not { ExitCode: 0 })
                {
                    incomplete.Add(c.Name!);
                }
            }
            result.Add(unknown.Count > 0
                ? Condition("Initialized", "False", "ContainersNotInitialized", $"containers with unknown status: [{string.Join(' ', unknown)}]")
                : incomplete.Count > 0
                    ? Condition("Initialized", "False", "ContainersNotInitialized", $"containers with incomplete status: [{string.Join(' ', incomplete)}]")
                    : Condition("Initialized", "True", phase == Succeeded ? "PodCompleted" : null, null));
        }

        // ContainersReady and Ready.
        if (phase is Succeeded or Failed)
        {
            result.Add(Condition("ContainersReady", "False", "PodCompleted", null));
            result.Add(Condition("Ready", "False", "PodCompleted", null));
            return result;
        }
        var unready = new List<string>();
        foreach (var c in spec.InitContainers ?? [])
        {
            if (IsSidecar(c) && Find(init, c.Name)?.Ready != true)
            {
                unready.Add(c.Name!);
            }
        }
        foreach (var c in spec.Containers ?? [])
        {
            if (Find(regular, c.Name)?.Ready != true)
            {
                unready.Add(c.Name!);
            }
        }
        var containersReady = unready.Count == 0
            ? Condition("ContainersReady", "True", null, null)
            : Condition("ContainersReady", "False", "ContainersNotReady", $"containers with unready status: [{string.Join(' ', unready)}]");
        result.Add(containersReady);

        var gates = (spec.ReadinessGates ?? []).Select(g => g.ConditionType!).ToList();
        var missingGates = gates.Where(g => pod.Status?.Conditions?.FirstOrDefault(c => c.Type == g)?.Status != "True").ToList();
        if (unready.Count > 0)
        {
            result.Add(Condition("Ready", "False", "ContainersNotReady", containersReady.Message));
        }
        else if (missingGates.Count > 0)
        {
            result.Add(Condition("Ready", "False", "ReadinessGatesNotReady",
                $"the status of pod readiness gate{(missingGates.Count > 1 ? "s" : "")} \"{string.Join("\", \"", missingGates)}\" is not \"True\", but False"));
        }
        else
        {
            result.Add(Condition("Ready", "True", null, null));
        }
        return result;
    }

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
