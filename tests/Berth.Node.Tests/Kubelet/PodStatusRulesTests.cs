using Berth.Api.Models;
using Berth.Node.Kubelet;

namespace Berth.Node.Tests.Kubelet;

// Phase: upstream pkg/kubelet/kubelet_pods_test.go TestPodPhaseWith* (getPhase). Conditions: upstream
// pkg/kubelet/status/generate_test.go, with the reasons and messages of generate.go. Upstream passes one list of
// statuses; Berth passes init and regular statuses apart, so each case's statuses are split by the spec's names.
public sealed class PodStatusRulesTests
{
    public sealed record PhaseCase(string Name, PodSpec Spec, ContainerStatus[] Init, ContainerStatus[] Regular, bool PodIsTerminal, string Expected)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<PhaseCase> RestartAlways()
    {
        var spec = Spec("Always");
        return
        [
            new("waiting", spec, [], [], false, "Pending"),
            new("all running", spec, [], [Running("containerA"), Running("containerB")], false, "Running"),
            new("all stopped with restart always", spec, [], [Stopped("containerA"), Stopped("containerB")], false, "Running"),
            new("all succeeded with restart always, but the pod is terminal", spec, [], [Succeeded("containerA"), Succeeded("containerB")], true, "Succeeded"),
            new("all stopped with restart always, but the pod is terminal", spec, [], [Succeeded("containerA"), Failed("containerB")], true, "Failed"),
            new("mixed state #1 with restart always", spec, [], [Running("containerA"), Stopped("containerB")], false, "Running"),
            new("mixed state #2 with restart always", spec, [], [Running("containerA")], false, "Pending"),
            new("mixed state #3 with restart always", spec, [], [Running("containerA"), Waiting("containerB")], false, "Pending"),
            new("backoff crashloop container with restart always", spec, [], [Running("containerA"), WaitingWithLastTermination("containerB")], false, "Running"),
        ];
    }

    public static TheoryData<PhaseCase> RestartNever()
    {
        var spec = Spec("Never");
        return
        [
            new("waiting", spec, [], [], false, "Pending"),
            new("all running with restart never", spec, [], [Running("containerA"), Running("containerB")], false, "Running"),
            new("all succeeded with restart never", spec, [], [Succeeded("containerA"), Succeeded("containerB")], false, "Succeeded"),
            new("all failed with restart never", spec, [], [Failed("containerA"), Failed("containerB")], false, "Failed"),
            new("mixed state #1 with restart never", spec, [], [Running("containerA"), Succeeded("containerB")], false, "Running"),
            new("mixed state #2 with restart never", spec, [], [Running("containerA")], false, "Pending"),
            new("mixed state #3 with restart never", spec, [], [Running("containerA"), Waiting("containerB")], false, "Pending"),
        ];
    }

    public static TheoryData<PhaseCase> RestartOnFailure()
    {
        var spec = Spec("OnFailure");
        return
        [
            new("waiting", spec, [], [], false, "Pending"),
            new("all running with restart onfailure", spec, [], [Running("containerA"), Running("containerB")], false, "Running"),
            new("all succeeded with restart onfailure", spec, [], [Succeeded("containerA"), Succeeded("containerB")], false, "Succeeded"),
            new("all failed with restart never", spec, [], [Failed("containerA"), Failed("containerB")], false, "Running"),
            new("mixed state #1 with restart onfailure", spec, [], [Running("containerA"), Succeeded("containerB")], false, "Running"),
            new("mixed state #2 with restart onfailure", spec, [], [Running("containerA")], false, "Pending"),
            new("mixed state #3 with restart onfailure", spec, [], [Running("containerA"), Waiting("containerB")], false, "Pending"),
            new("backoff crashloop container with restart onfailure", spec, [], [Running("containerA"), WaitingWithLastTermination("containerB")], false, "Running"),
        ];
    }

    // TestPodPhaseWithRestartAlwaysInitContainers; upstream keeps TestPodPhaseWithRestartOnFailureInitContainers
    // commented out ("No special init-specific logic for this, see RestartAlways case"), so the same cases run
    // under OnFailure too.
    public static TheoryData<PhaseCase> RestartAlwaysAndOnFailureInitContainers()
    {
        var data = new TheoryData<PhaseCase>();
        foreach (var policy in new[] { "Always", "OnFailure" })
        {
            var spec = Spec(policy, new Container { Name = "containerX" });
            data.Add(new($"{policy}: empty, waiting", spec, [], [], false, "Pending"));
            data.Add(new($"{policy}: init container running", spec, [Running("containerX")], [], false, "Pending"));
            data.Add(new($"{policy}: init container terminated non-zero", spec, [Failed("containerX")], [], false, "Pending"));
            data.Add(new($"{policy}: init container waiting, terminated zero", spec, [WaitingWithLastTermination("containerX")], [], false, "Pending"));
            data.Add(new($"{policy}: init container waiting, terminated non-zero", spec, [WaitingWithNonZeroTermination("containerX")], [], false, "Pending"));
            data.Add(new($"{policy}: init container waiting, not terminated", spec, [Waiting("containerX")], [], false, "Pending"));
            data.Add(new($"{policy}: init container succeeded", spec, [Succeeded("containerX")], [Running("containerA"), Running("containerB")], false, "Running"));
        }
        return data;
    }

    public static TheoryData<PhaseCase> RestartNeverInitContainers()
    {
        var spec = Spec("Never", new Container { Name = "containerX" });
        return
        [
            new("empty, waiting", spec, [], [], false, "Pending"),
            new("init container running", spec, [Running("containerX")], [], false, "Pending"),
            new("init container terminated non-zero", spec, [Failed("containerX")], [], false, "Failed"),
            new("init container waiting, terminated zero", spec, [WaitingWithLastTermination("containerX")], [], false, "Pending"),
            new("init container waiting, terminated non-zero", spec, [WaitingWithNonZeroTermination("containerX")], [], false, "Failed"),
            new("init container waiting, not terminated", spec, [Waiting("containerX")], [], false, "Pending"),
            new("init container succeeded", spec, [Succeeded("containerX")], [Running("containerA"), Running("containerB")], false, "Running"),
        ];
    }

    public static TheoryData<PhaseCase> RestartAlwaysRestartableInitContainers()
    {
        var spec = Spec("Always", new Container { Name = "containerX", RestartPolicy = "Always" });
        ContainerStatus[] both = [Running("containerA"), Running("containerB")];
        return
        [
            new("empty, waiting", spec, [], [], false, "Pending"),
            new("restartable init container running", spec, [Running("containerX")], [], false, "Pending"),
            new("restartable init container stopped", spec, [Stopped("containerX")], [], false, "Pending"),
            new("restartable init container waiting, terminated zero", spec, [WaitingWithLastTermination("containerX")], [], false, "Pending"),
            new("restartable init container waiting, terminated non-zero", spec, [WaitingWithNonZeroTermination("containerX")], [], false, "Pending"),
            new("restartable init container waiting, not terminated", spec, [Waiting("containerX")], [], false, "Pending"),
            new("restartable init container started, 1/2 regular container running", spec, [Started("containerX")], [Running("containerA")], false, "Pending"),
            new("restartable init container started, all regular containers running", spec, [Started("containerX")], both, false, "Running"),
            new("restartable init container running, all regular containers running", spec, [Running("containerX")], both, false, "Running"),
            new("restartable init container stopped, all regular containers running", spec, [Stopped("containerX")], both, false, "Running"),
            new("backoff crashloop restartable init container, all regular containers running", spec, [WaitingWithLastTermination("containerX")], both, false, "Running"),
            new("all regular containers succeeded and restartable init container failed with restart always, but the pod is terminal",
                spec, [Failed("containerX")], [Succeeded("containerA"), Succeeded("containerB")], true, "Succeeded"),
            new("all regular containers succeeded and restartable init container succeeded with restart always, but the pod is terminal",
                spec, [Succeeded("containerX")], [Succeeded("containerA"), Succeeded("containerB")], true, "Succeeded"),
        ];
    }

    public static TheoryData<PhaseCase> RestartNeverRestartableInitContainers()
    {
        var spec = Spec("Never", new Container { Name = "containerX", RestartPolicy = "Always" });
        ContainerStatus[] succeeded = [Succeeded("containerA"), Succeeded("containerB")];
        return
        [
            new("empty, waiting", spec, [], [], false, "Pending"),
            new("restartable init container running", spec, [Running("containerX")], [], false, "Pending"),
            new("restartable init container stopped", spec, [Stopped("containerX")], [], false, "Pending"),
            new("restartable init container waiting, terminated zero", spec, [WaitingWithLastTermination("containerX")], [], false, "Pending"),
            new("restartable init container waiting, terminated non-zero", spec, [WaitingWithNonZeroTermination("containerX")], [], false, "Pending"),
            new("restartable init container waiting, not terminated", spec, [Waiting("containerX")], [], false, "Pending"),
            new("restartable init container started, one main container running", spec, [Started("containerX")], [Running("containerA")], false, "Pending"),
            new("restartable init container started, main containers succeeded", spec, [Started("containerX")], succeeded, false, "Running"),
            new("restartable init container running, main containers succeeded", spec, [Running("containerX")], succeeded, false, "Running"),
            new("all containers succeeded", spec, [Succeeded("containerX")], succeeded, false, "Succeeded"),
            new("restartable init container terminated non-zero, main containers succeeded", spec, [Failed("containerX")], succeeded, false, "Succeeded"),
            new("backoff crashloop restartable init container, main containers succeeded", spec, [WaitingWithLastTermination("containerX")], succeeded, false, "Succeeded"),
            new("backoff crashloop with non-zero restartable init container, main containers succeeded", spec, [WaitingWithNonZeroTermination("containerX")], succeeded, false, "Succeeded"),
        ];
    }

    [Theory]
    [MemberData(nameof(RestartAlways))]
    [MemberData(nameof(RestartNever))]
    [MemberData(nameof(RestartOnFailure))]
    [MemberData(nameof(RestartAlwaysAndOnFailureInitContainers))]
    [MemberData(nameof(RestartNeverInitContainers))]
    [MemberData(nameof(RestartAlwaysRestartableInitContainers))]
    [MemberData(nameof(RestartNeverRestartableInitContainers))]
    public void GetPhase_matches_upstream(PhaseCase c) =>
        Assert.Equal(c.Expected, PodStatusRules.GetPhase(c.Spec, c.Init, c.Regular, c.PodIsTerminal));

    public sealed record ConditionCase(string Name, PodSpec Spec, PodCondition[] PodConditions, ContainerStatus[] Statuses, string Phase, string Status, string? Reason, string? Message)
    {
        public override string ToString() => Name;
    }

    private static readonly Container s_sidecar1 = new() { Name = "restartable-init-1", RestartPolicy = "Always" };
    private static readonly Container s_sidecar2 = new() { Name = "restartable-init-2", RestartPolicy = "Always" };

    // TestGenerateContainersReadyCondition, without its nil-statuses case (UnknownContainerStatuses): Berth always
    // has the lists.
    public static TheoryData<ConditionCase> ContainersReadyCases()
    {
        var two = new PodSpec { Containers = [new() { Name = "1234" }, new() { Name = "5678" }] };
        var one = new PodSpec { Containers = [new() { Name = "1234" }] };
        var sidecarOne = new PodSpec { InitContainers = [s_sidecar1], Containers = [new() { Name = "regular-1" }] };
        var sidecarTwo = new PodSpec { InitContainers = [s_sidecar1, s_sidecar2], Containers = [new() { Name = "regular-1" }] };
        return
        [
            new("no containers", new PodSpec(), [], [], "Running", "True", null, null),
            new("one container, no status", one, [], [], "Running", "False", "ContainersNotReady", "containers with unknown status: [1234]"),
            new("both ready", two, [], [ReadyStatus("1234"), ReadyStatus("5678")], "Running", "True", null, null),
            new("second without status", two, [], [ReadyStatus("1234")], "Running", "False", "ContainersNotReady", "containers with unknown status: [5678]"),
            new("second not ready", two, [], [ReadyStatus("1234"), NotReadyStatus("5678")], "Running", "False", "ContainersNotReady", "containers with unready status: [5678]"),
            new("succeeded", one, [], [NotReadyStatus("1234")], "Succeeded", "False", "PodCompleted", null),
            new("sidecar without status", sidecarOne, [], [ReadyStatus("regular-1")], "Running", "False", "ContainersNotReady", "containers with unknown status: [restartable-init-1]"),
            new("sidecars and container ready", sidecarTwo, [], [ReadyStatus("restartable-init-1"), ReadyStatus("restartable-init-2"), ReadyStatus("regular-1")], "Running", "True", null, null),
            new("second sidecar without status", sidecarTwo, [], [ReadyStatus("restartable-init-1"), ReadyStatus("regular-1")], "Running", "False", "ContainersNotReady", "containers with unknown status: [restartable-init-2]"),
            new("second sidecar not ready", sidecarTwo, [], [ReadyStatus("restartable-init-1"), NotReadyStatus("restartable-init-2"), ReadyStatus("regular-1")], "Running", "False", "ContainersNotReady", "containers with unready status: [restartable-init-2]"),
            // From generate.go (not a generate_test.go case): a failed pod's containers are not ready with reason
            // PodFailed (generateContainersReadyConditionForTerminalPhase), and both lists are named, joined by ", ".
            new("failed (generate.go)", one, [], [NotReadyStatus("1234")], "Failed", "False", "PodFailed", null),
            new("unknown and unready (generate.go)", two, [], [NotReadyStatus("1234")], "Running", "False", "ContainersNotReady", "containers with unknown status: [5678], containers with unready status: [1234]"),
        ];
    }

    [Theory]
    [MemberData(nameof(ContainersReadyCases))]
    public void ContainersReady_condition_matches_upstream(ConditionCase c) => AssertCondition(c, "ContainersReady");

    // TestGeneratePodReadyCondition, without its nil-statuses case. The readiness gates' conditions are the pod's.
    public static TheoryData<ConditionCase> ReadyCases()
    {
        var two = new PodSpec { Containers = [new() { Name = "1234" }, new() { Name = "5678" }] };
        var one = new PodSpec { Containers = [new() { Name = "1234" }] };
        var gate1 = new PodSpec { ReadinessGates = [new() { ConditionType = "gate1" }] };
        var gate12 = new PodSpec { ReadinessGates = [new() { ConditionType = "gate1" }, new() { ConditionType = "gate2" }] };
        var oneWithGate = new PodSpec { Containers = [new() { Name = "1234" }], ReadinessGates = [new() { ConditionType = "gate1" }] };
        return
        [
            new("no containers", new PodSpec(), [], [], "Running", "True", null, null),
            new("one container, no status", one, [], [], "Running", "False", "ContainersNotReady", "containers with unknown status: [1234]"),
            new("both ready", two, [], [ReadyStatus("1234"), ReadyStatus("5678")], "Running", "True", null, null),
            new("second without status", two, [], [ReadyStatus("1234")], "Running", "False", "ContainersNotReady", "containers with unknown status: [5678]"),
            new("second not ready", two, [], [ReadyStatus("1234"), NotReadyStatus("5678")], "Running", "False", "ContainersNotReady", "containers with unready status: [5678]"),
            new("succeeded", one, [], [NotReadyStatus("1234")], "Succeeded", "False", "PodCompleted", null),
            new("gate without condition", gate1, [], [], "Running", "False", "ReadinessGatesNotReady", "corresponding condition of pod readiness gate \"gate1\" does not exist."),
            new("gate False", gate1, [Gate("gate1", "False")], [], "Running", "False", "ReadinessGatesNotReady", "the status of pod readiness gate \"gate1\" is not \"True\", but False"),
            new("gate True", gate1, [Gate("gate1", "True")], [], "Running", "True", null, null),
            new("second gate without condition", gate12, [Gate("gate1", "True")], [], "Running", "False", "ReadinessGatesNotReady", "corresponding condition of pod readiness gate \"gate2\" does not exist."),
            new("second gate False", gate12, [Gate("gate1", "True"), Gate("gate2", "False")], [], "Running", "False", "ReadinessGatesNotReady", "the status of pod readiness gate \"gate2\" is not \"True\", but False"),
            new("both gates True", gate12, [Gate("gate1", "True"), Gate("gate2", "True")], [], "Running", "True", null, null),
            new("gate True, container not ready", oneWithGate, [Gate("gate1", "True")], [NotReadyStatus("1234")], "Running", "False", "ContainersNotReady", "containers with unready status: [1234]"),
            // From generate.go: the message names the gate condition's actual status, one message per gate, joined by ", ".
            new("gate Unknown (generate.go)", gate1, [Gate("gate1", "Unknown")], [], "Running", "False", "ReadinessGatesNotReady", "the status of pod readiness gate \"gate1\" is not \"True\", but Unknown"),
            new("two gates not ready (generate.go)", gate12, [Gate("gate1", "False")], [], "Running", "False", "ReadinessGatesNotReady",
                "the status of pod readiness gate \"gate1\" is not \"True\", but False, corresponding condition of pod readiness gate \"gate2\" does not exist."),
            new("failed (generate.go)", one, [], [NotReadyStatus("1234")], "Failed", "False", "PodFailed", null),
        ];
    }

    [Theory]
    [MemberData(nameof(ReadyCases))]
    public void Ready_condition_matches_upstream(ConditionCase c) => AssertCondition(c, "Ready");

    // TestGeneratePodInitializedCondition, without its nil-statuses case. Upstream's "ready" init container is
    // getReadyStatus (Ready true, no state); the kubelet sets an init container Ready exactly when it terminated
    // with exit code 0, so here a completed init container has both. Upstream asserts status and reason only; the
    // messages are generate.go's.
    public static TheoryData<ConditionCase> InitializedCases()
    {
        var noInit = new PodSpec { Containers = [new() { Name = "regular" }] };
        var oneInit = new PodSpec { InitContainers = [new() { Name = "1234" }], Containers = [new() { Name = "regular" }] };
        var twoInit = new PodSpec { InitContainers = [new() { Name = "1234" }, new() { Name = "5678" }], Containers = [new() { Name = "regular" }] };
        var oneSidecar = new PodSpec { InitContainers = [new() { Name = "1234", RestartPolicy = "Always" }], Containers = [new() { Name = "regular" }] };
        return
        [
            new("no init containers", new PodSpec(), [], [], "Running", "True", null, null),
            new("init container without status", oneInit, [], [], "Running", "False", "ContainersNotInitialized", "containers with unknown status: [1234]"),
            new("both init containers completed", twoInit, [], [Completed("1234"), Completed("5678")], "Running", "True", null, null),
            new("second init container without status", twoInit, [], [Completed("1234")], "Running", "False", "ContainersNotInitialized", "containers with unknown status: [5678]"),
            new("second init container not ready", twoInit, [], [Completed("1234"), NotReadyStatus("5678")], "Running", "False", "ContainersNotInitialized", "containers with incomplete status: [5678]"),
            new("succeeded", oneInit, [], [Completed("1234")], "Succeeded", "True", "PodCompleted", null),
            new("sidecar not started", oneSidecar, [], [NotStarted("1234")], "Pending", "False", "ContainersNotInitialized", "containers with incomplete status: [1234]"),
            new("sidecar started", oneSidecar, [], [StartedOnly("1234")], "Running", "True", null, null),
            new("sidecar not started, regular running", oneSidecar, [], [NotStarted("1234"), Running("regular")], "Running", "True", null, null),
            new("init container waiting, regular terminated", oneInit, [], [Waiting("1234"), Terminated("regular", 0)], "Running", "True", null, null),
            // From generate.go: PodCompleted comes before the "a regular container has started" shortcut, so every
            // succeeded pod says so; unknown and incomplete init containers are both named, joined by ", ".
            new("succeeded, regular container terminated (generate.go)", noInit, [], [Terminated("regular", 0)], "Succeeded", "True", "PodCompleted", null),
            new("unknown and incomplete (generate.go)", twoInit, [], [NotReadyStatus("1234")], "Running", "False", "ContainersNotInitialized",
                "containers with unknown status: [5678], containers with incomplete status: [1234]"),
        ];
    }

    [Theory]
    [MemberData(nameof(InitializedCases))]
    public void Initialized_condition_matches_upstream(ConditionCase c) => AssertCondition(c, "Initialized");

    [Fact]
    public void Conditions_are_Initialized_ContainersReady_Ready_once_each()
    {
        var pod = new Pod { Spec = new PodSpec { Containers = [new() { Name = "app" }] } };
        var types = PodStatusRules.Conditions(pod, "Running", [], [ReadyStatus("app")]).Select(c => c.Type);
        Assert.Equal(["Initialized", "ContainersReady", "Ready"], types);
    }

    private static void AssertCondition(ConditionCase c, string type)
    {
        var initNames = (c.Spec.InitContainers ?? []).Select(i => i.Name).ToHashSet();
        var init = c.Statuses.Where(s => initNames.Contains(s.Name)).ToList();
        var regular = c.Statuses.Where(s => !initNames.Contains(s.Name)).ToList();
        var pod = new Pod { Spec = c.Spec, Status = new PodStatus { Conditions = [.. c.PodConditions] } };

        var condition = Assert.Single(PodStatusRules.Conditions(pod, c.Phase, init, regular), x => x.Type == type);

        Assert.Equal((c.Status, c.Reason, c.Message), (condition.Status, condition.Reason, condition.Message));
    }

    private static PodSpec Spec(string restartPolicy, params Container[] init) => new()
    {
        NodeName = "machine",
        InitContainers = init.Length == 0 ? null : [.. init],
        Containers = [new() { Name = "containerA" }, new() { Name = "containerB" }],
        RestartPolicy = restartPolicy,
    };

    private static PodCondition Gate(string type, string status) => new() { Type = type, Status = status };

    private static ContainerStatus ReadyStatus(string name) => new() { Name = name, Ready = true };

    private static ContainerStatus NotReadyStatus(string name) => new() { Name = name, Ready = false };

    private static ContainerStatus NotStarted(string name) => new() { Name = name, Started = false };

    private static ContainerStatus StartedOnly(string name) => new() { Name = name, Started = true };

    private static ContainerStatus Completed(string name) => new() { Name = name, Ready = true, State = new() { Terminated = new() { ExitCode = 0 } } };

    private static ContainerStatus Running(string name) => new() { Name = name, State = new() { Running = new() } };

    private static ContainerStatus Started(string name) => new() { Name = name, State = new() { Running = new() }, Started = true };

    // Upstream stoppedState is a Terminated state with Go's zero exit code.
    private static ContainerStatus Stopped(string name) => Terminated(name, 0);

    private static ContainerStatus Succeeded(string name) => Terminated(name, 0);

    private static ContainerStatus Failed(string name) => Terminated(name, -1);

    private static ContainerStatus Terminated(string name, int exitCode) => new() { Name = name, State = new() { Terminated = new() { ExitCode = exitCode } } };

    private static ContainerStatus Waiting(string name) => new() { Name = name, State = new() { Waiting = new() } };

    private static ContainerStatus WaitingWithLastTermination(string name) =>
        new() { Name = name, State = new() { Waiting = new() }, LastState = new() { Terminated = new() { ExitCode = 0 } } };

    private static ContainerStatus WaitingWithNonZeroTermination(string name) =>
        new() { Name = name, State = new() { Waiting = new() }, LastState = new() { Terminated = new() { ExitCode = -1 } } };
}
