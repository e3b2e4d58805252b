using Berth.Api.Models;
using Berth.Controllers.ServiceDiagnosis;
using static Berth.Controllers.Tests.ServiceDiagnosis.DiagnosisObjects;

namespace Berth.Controllers.Tests.ServiceDiagnosis;

public sealed class DiagnosisTests
{
    private const string ProbeFailed = "Readiness probe failed: HTTP probe failed with statuscode: 500";
    private const string Unschedulable = "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    private const string BackOff = "back-off 10s restarting failed container=c pod=web-a_ns(uid-web-a)";

    // (case, service, selected pods, slices, the newest readiness probe event message, expected reason, expected message)
    public static TheoryData<string, Service, Pod[], EndpointSlice[], string?, string, string> Cases => new()
    {
        { "no pods, selector keys sorted", Svc(selector: new() { ["tier"] = "front", ["app"] = "web" }), [], [], null,
            Diagnosis.ReasonNoMatchingPods, "no pods match selector app=web,tier=front" },
        { "1 pod running, not ready, probe event", Svc(), [Running("web-a", ready: false)], [], ProbeFailed,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (readiness probe failed: HTTP probe failed with statuscode: 500)" },
        { "1 pod running, not ready, no probe event: the Ready condition", Svc(), [Running("web-a", ready: false)], [], null,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (containers with unready status: [c])" },
        { "a liveness probe event explains no readiness", Svc(), [Running("web-a", ready: false)], [], "Liveness probe failed: connection refused",
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (containers with unready status: [c])" },
        { "3 pods, 0 ready: the first by name is quoted", Svc(),
            [Running("web-c", ready: false), Waiting("web-a", "CrashLoopBackOff", BackOff), Running("web-b", ready: false)], [], ProbeFailed,
            Diagnosis.ReasonNoReadyPods, $"3 pods match app=web, 0 ready (CrashLoopBackOff: {BackOff})" },
        { "2 pods plural", Svc(), [Running("web-a", ready: false), Running("web-b", ready: false)], [], ProbeFailed,
            Diagnosis.ReasonNoReadyPods, "2 pods match app=web, 0 ready (readiness probe failed: HTTP probe failed with statuscode: 500)" },
        { "pending, unschedulable: the scheduler's message", Svc(), [Unscheduled("web-a", Unschedulable)], [], null,
            Diagnosis.ReasonNoReadyPods, $"1 pod matches app=web, 0 ready ({Unschedulable})" },
        { "pending, not yet seen by the scheduler", Svc(), [Unscheduled("web-a", message: null)], [], null,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (not scheduled yet)" },
        { "CrashLoopBackOff", Svc(), [Waiting("web-a", "CrashLoopBackOff", BackOff)], [], ProbeFailed,
            Diagnosis.ReasonNoReadyPods, $"1 pod matches app=web, 0 ready (CrashLoopBackOff: {BackOff})" },
        { "ContainerCreating has no message", Svc(), [Waiting("web-a", "ContainerCreating", null)], [], null,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (ContainerCreating)" },
        { "terminating only, though Ready", Svc(), [Terminating(Running("web-a", ready: true))], [], null,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (pod web-a is terminating)" },
        { "failed: phase, reason and message", Svc(), [Finished("web-a", "Failed", "Evicted", "The node was low on resource: memory.")], [], null,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (Failed: Evicted: The node was low on resource: memory.)" },
        { "succeeded", Svc(), [Finished("web-a", "Succeeded", null, null)], [], null,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (Succeeded)" },
        { "ready without an IP is no endpoint", Svc(), [WithoutIp(Running("web-a", ready: true))], [], null,
            Diagnosis.ReasonNoReadyPods, "1 pod matches app=web, 0 ready (pod has no IP address yet)" },
        { "a long detail is cut at 200 characters", Svc(), [Running("web-a", ready: false, readyMessage: new string('x', 300))], [], null,
            Diagnosis.ReasonNoReadyPods, $"1 pod matches app=web, 0 ready ({new string('x', 200)}...)" },
        { "named targetPort missing on the pod", Svc(targetPort: "http"), [Running("web-a", ready: true, null, ("metrics", 9090))], [], null,
            Diagnosis.ReasonTargetPortNotFound, "targetPort \"http\" is not a port of pod web-a" },
        { "named targetPort missing on 3 ready pods", Svc(targetPort: "http"),
            [Running("web-b", ready: true), Running("web-a", ready: true), Running("web-c", ready: true), Running("web-0", ready: false, null, ("http", 8080))], [], null,
            Diagnosis.ReasonTargetPortNotFound, "targetPort \"http\" is not a port of pod web-a nor of the 2 other ready pods" },
        { "named targetPort of another protocol", Svc(targetPort: "http", protocol: "UDP"), [Running("web-a", ready: true, null, ("http", 8080))], [], null,
            Diagnosis.ReasonTargetPortNotFound, "targetPort \"http\" (UDP) is not a port of pod web-a" },
        { "named targetPort on one of two ready pods serves", Svc(targetPort: "http"),
            [Running("web-a", ready: true), Running("web-b", ready: true, null, ("http", 8080))], [], null,
            Diagnosis.ReasonEndpointsReady, "2 of 2 pods ready" },
        { "numeric targetPort needs no container port", Svc(targetPort: 8080), [Running("web-a", ready: true)], [], null,
            Diagnosis.ReasonEndpointsReady, "1 of 1 pods ready" },
        { "no targetPort: the port", Svc(), [Running("web-a", ready: true), Running("web-b", ready: false)], [], null,
            Diagnosis.ReasonEndpointsReady, "1 of 2 pods ready" },
        { "publishNotReadyAddresses: unready pods are ready endpoints", Svc(publishNotReady: true), [Running("web-a", ready: false)], [], null,
            Diagnosis.ReasonEndpointsReady, "1 of 1 pods ready" },
        { "publishNotReadyAddresses: a pod without IP still is none", Svc(publishNotReady: true), [Unscheduled("web-a", Unschedulable)], [], null,
            Diagnosis.ReasonNoReadyPods, $"1 pod matches app=web, 0 ready ({Unschedulable})" },
        { "headless without ports: readiness alone", Svc(headlessWithoutPorts: true), [Running("web-a", ready: true)], [], null,
            Diagnosis.ReasonEndpointsReady, "1 of 1 pods ready" },
        { "selectorless without slices", Svc(selectorless: true), [], [], null,
            Diagnosis.ReasonNoEndpoints, "no selector and no EndpointSlice labelled kubernetes.io/service-name=web" },
        { "selectorless, an empty slice", Svc(selectorless: true), [], [Slice("web")], null,
            Diagnosis.ReasonNoEndpoints, "no selector; its EndpointSlices list no endpoints" },
        { "selectorless, 1 endpoint not ready", Svc(selectorless: true), [], [Slice("web", false)], null,
            Diagnosis.ReasonNoEndpoints, "no selector; its EndpointSlices list 1 endpoint, 0 ready" },
        { "selectorless, 2 endpoints not ready", Svc(selectorless: true), [], [Slice("web", false), Slice("web", false)], null,
            Diagnosis.ReasonNoEndpoints, "no selector; its EndpointSlices list 2 endpoints, 0 ready" },
        { "selectorless, a ready endpoint", Svc(selectorless: true), [], [Slice("web", false, true)], null,
            Diagnosis.ReasonEndpointsReady, "has ready endpoints" },
        { "selectorless, ready unset means ready", Svc(selectorless: true), [], [Slice("web", [null])], null,
            Diagnosis.ReasonEndpointsReady, "has ready endpoints" },
        { "selectorless: pods are not looked at", Svc(selectorless: true), [Running("web-a", ready: true)], [], null,
            Diagnosis.ReasonNoEndpoints, "no selector and no EndpointSlice labelled kubernetes.io/service-name=web" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DiagnoseAsync_Table(string name, Service service, Pod[] pods, EndpointSlice[] slices, string? probeEvent, string reason, string message)
    {
        var verdict = await Diagnosis.DiagnoseAsync(service, pods, slices, _ => ValueTask.FromResult(probeEvent));

        Assert.True(verdict is not null, name);
        Assert.Equal((reason == Diagnosis.ReasonEndpointsReady, reason, message), (verdict.Ok, verdict.Reason, verdict.Message));
    }

    [Fact]
    public async Task DiagnoseAsync_ExternalName_NoVerdict()
    {
        var service = Svc();
        service.Spec!.Type = "ExternalName";
        service.Spec.ExternalName = "example.com";

        Assert.Null(await Diagnosis.DiagnoseAsync(service, [], [], null));
    }

    [Fact]
    public async Task DiagnoseAsync_ProbeEventsLookedUpOnlyForTheQuotedRunningPod()
    {
        var asked = new List<string>();
        ValueTask<string?> Lookup(Pod pod)
        {
            asked.Add(pod.Metadata!.Name!);
            return ValueTask.FromResult<string?>(ProbeFailed);
        }

        await Diagnosis.DiagnoseAsync(Svc(), [Running("web-b", ready: false), Running("web-a", ready: false)], [], Lookup);
        await Diagnosis.DiagnoseAsync(Svc(), [Waiting("web-a", "ContainerCreating", null), Running("web-b", ready: false)], [], Lookup);
        await Diagnosis.DiagnoseAsync(Svc(), [Running("web-a", ready: true), Running("web-b", ready: false)], [], Lookup);

        Assert.Equal(["web-a"], asked);
    }

    [Fact]
    public async Task DiagnoseAsync_NoLookup_QuotesTheReadyCondition()
    {
        var verdict = await Diagnosis.DiagnoseAsync(Svc(), [Running("web-a", ready: false)], [], null);

        Assert.Equal("1 pod matches app=web, 0 ready (containers with unready status: [c])", verdict!.Message);
    }

    // (initialDelaySeconds, periodSeconds, seconds after the container start when the first probe event is due)
    [Theory]
    [InlineData(0, null, 10)]
    [InlineData(5, 3, 8)]
    public void ReadinessProbeEventDue_InitialDelayPlusPeriod(int initialDelay, int? period, int dueSeconds)
    {
        var pod = WithReadinessProbe(Running("web-a", ready: false), initialDelay, period);

        Assert.Equal(Started.AddSeconds(dueSeconds), Diagnosis.ReadinessProbeEventDue(pod));
    }

    [Fact]
    public void ReadinessProbeEventDue_NoProbeOrNotRunning_Null()
    {
        Assert.Null(Diagnosis.ReadinessProbeEventDue(Running("web-a", ready: false)));
        var waiting = Waiting("web-a", "ContainerCreating", null);
        waiting.Spec!.Containers![0].ReadinessProbe = new Probe { PeriodSeconds = 1 };
        Assert.Null(Diagnosis.ReadinessProbeEventDue(waiting));
    }

    private static Pod WithoutIp(Pod pod)
    {
        pod.Status!.PodIP = null;
        pod.Status.PodIPs = null;
        return pod;
    }
}
