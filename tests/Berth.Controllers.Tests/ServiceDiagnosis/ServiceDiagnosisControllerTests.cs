using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.ServiceDiagnosis;
using Microsoft.Extensions.Time.Testing;
using static Berth.Controllers.Tests.ServiceDiagnosis.DiagnosisHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.ServiceDiagnosis;

// The controller against the real API server; the tests play the kubelet (pod status, Unhealthy events).
public sealed class ServiceDiagnosisControllerTests(DiagnosisApiFixture fixture) : IClassFixture<DiagnosisApiFixture>
{
    private const string ProbeFailed = "Readiness probe failed: HTTP probe failed with statuscode: 500";

    private static readonly Dictionary<string, string> s_web = new() { ["app"] = "web" };

    [Fact]
    public async Task UnreadyPod_ExplainedWithProbeFailure_ThenReady_FlipsToTrue()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client);
        var pod = await harness.Client.CreateAsync(NewPod(ns, "web-a", s_web));
        var started = DateTimeOffset.UtcNow;
        await harness.SetRunningAsync(ns, "web-a", ready: false, started);
        await harness.ProbeFailedAsync(pod, "Readiness probe failed: HTTP probe failed with statuscode: 503", started.AddSeconds(1));
        await harness.ProbeFailedAsync(pod, ProbeFailed, started.AddSeconds(2));
        await harness.Client.CreateAsync(NewService(ns, "web", s_web));

        const string message = "1 pod matches app=web, 0 ready (readiness probe failed: HTTP probe failed with statuscode: 500)";
        var (_, falseCondition) = await harness.ConditionAsync(ns, "web", c => c.Status == "False", "the False condition");
        Assert.Equal(("NoReadyPods", message, (long?)null), (falseCondition.Reason, falseCondition.Message, falseCondition.ObservedGeneration));
        Assert.NotNull(falseCondition.LastTransitionTime);
        var warning = Assert.Single(await UntilAsync(() => harness.EventsAsync(ns, "NoEndpoints"), e => e.Count == 1, "a NoEndpoints event"));
        Assert.Equal(("Warning", message, "Service", "web"), (warning.Type, warning.Message, warning.InvolvedObject!.Kind, warning.InvolvedObject.Name));

        await harness.SetRunningAsync(ns, "web-a", ready: true, started);

        var (_, trueCondition) = await harness.ConditionAsync(ns, "web", c => c.Status == "True", "the True condition");
        Assert.Equal(("EndpointsReady", ServiceDiagnosisController.ReadyMessage), (trueCondition.Reason, trueCondition.Message));
        Assert.True(trueCondition.LastTransitionTime >= falseCondition.LastTransitionTime);
        var normal = Assert.Single(await UntilAsync(() => harness.EventsAsync(ns, "EndpointsReady"), e => e.Count == 1, "an EndpointsReady event"));
        Assert.Equal(("Normal", "1 of 1 pods ready"), (normal.Type, normal.Message));
        Assert.Single(await harness.EventsAsync(ns, "NoEndpoints"));
    }

    [Fact]
    public async Task NoPods_ConditionWritten_OtherConditionsAndLoadBalancerUntouched()
    {
        var ns = await fixture.NamespaceAsync();
        var service = NewService(ns, "lb", s_web);
        service.Spec!.Type = "LoadBalancer";
        // Another implementation's class: the built-in load balancer leaves its status to this test.
        service.Spec.LoadBalancerClass = "example.com/other";
        service = await fixture.Client.CreateAsync(service);
        service.Status = new ServiceStatus
        {
            LoadBalancer = new LoadBalancerStatus { Ingress = [new LoadBalancerIngress { Ip = "192.0.2.10" }] },
            Conditions = [new Condition { Type = "example.com/Provisioned", Status = "True", Reason = "Done", Message = "ok", LastTransitionTime = DateTimeOffset.UtcNow.AddMinutes(-1) }],
        };
        await fixture.Client.UpdateStatusAsync(service);
        await using var harness = await StartAsync(fixture.Client);

        var (written, condition) = await harness.ConditionAsync(ns, "lb", c => c.Status == "False", "the False condition");

        Assert.Equal(("NoMatchingPods", "no pods match selector app=web"), (condition.Reason, condition.Message));
        // Conditions merge by type; where the new one lands in the list is the merge's business.
        Assert.Equal(["EndpointsReady", "example.com/Provisioned"], written.Status!.Conditions!.Select(c => c.Type!).Order(StringComparer.Ordinal));
        var other = written.Status.Conditions!.Single(c => c.Type == "example.com/Provisioned");
        Assert.Equal(("True", "Done", "ok"), (other.Status, other.Reason, other.Message));
        Assert.Equal("192.0.2.10", Assert.Single(written.Status.LoadBalancer!.Ingress!).Ip);
    }

    [Fact]
    public async Task NothingChanged_NoWriteAndNoSecondEvent()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client);
        await harness.Client.CreateAsync(NewPod(ns, "web-a", s_web));
        await harness.SetRunningAsync(ns, "web-a", ready: false, DateTimeOffset.UtcNow);
        await harness.Client.CreateAsync(NewService(ns, "web", s_web));
        var (before, _) = await harness.ConditionAsync(ns, "web", c => c.Status == "False", "the False condition");

        // A change that wakes the Service without changing its verdict (a second later: the settle period).
        var annotated = await harness.Client.PatchAsync<Pod>(ns, "web-a", PatchType.Merge, """{"metadata":{"annotations":{"note":"x"}}}""");
        await harness.SeenAsync(annotated);
        var verdicts = harness.Verdicts;
        await UntilAsync(() => harness.Verdicts > verdicts, "a verdict after the pod change");

        var after = await harness.Client.GetAsync<Service>(ns, "web");
        Assert.Equal(before.Metadata!.ResourceVersion, after.Metadata!.ResourceVersion);
        var warning = Assert.Single(await harness.EventsAsync(ns, "NoEndpoints"));
        Assert.Equal(1, warning.Count);
    }

    [Fact]
    public async Task NewExplanation_KeepsTransitionTime_AndWarnsAgain()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client);
        await harness.Client.CreateAsync(NewService(ns, "web", s_web, targetPort: "http"));
        var (_, noPods) = await harness.ConditionAsync(ns, "web", c => c.Reason == "NoMatchingPods", "NoMatchingPods");

        await harness.Client.CreateAsync(NewPod(ns, "web-a", s_web));
        await harness.SetRunningAsync(ns, "web-a", ready: true, DateTimeOffset.UtcNow);

        var (_, noPort) = await harness.ConditionAsync(ns, "web", c => c.Reason == "TargetPortNotFound", "TargetPortNotFound");
        Assert.Equal(("False", "targetPort \"http\" is not a port of pod web-a"), (noPort.Status, noPort.Message));
        Assert.Equal(noPods.LastTransitionTime, noPort.LastTransitionTime);
        var warnings = await UntilAsync(() => harness.EventsAsync(ns, "NoEndpoints"), e => e.Count == 2, "2 NoEndpoints events");
        Assert.Equal(["no pods match selector app=web", "targetPort \"http\" is not a port of pod web-a"], warnings.Select(e => e.Message!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ProbeEventAfterTheVerdict_LookedUpAgainWhenDue()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client);
        var pod = NewPod(ns, "web-a", s_web);
        pod.Spec!.Containers![0].ReadinessProbe = new Probe { HttpGet = new HTTPGetAction { Path = "/ready", Port = 80 }, PeriodSeconds = 5 };
        pod = await harness.Client.CreateAsync(pod);
        await harness.SetRunningAsync(ns, "web-a", ready: false, DateTimeOffset.UtcNow);
        await harness.Client.CreateAsync(NewService(ns, "web", s_web));
        await harness.ConditionAsync(ns, "web", c => c.Message == "1 pod matches app=web, 0 ready (containers with unready status: [c])", "the Ready condition quoted");

        // The kubelet's first probe fails after the verdict; nothing about the pod changes.
        await harness.ProbeFailedAsync(pod, ProbeFailed, DateTimeOffset.UtcNow);

        await harness.ConditionAsync(ns, "web", c => c.Message == "1 pod matches app=web, 0 ready (readiness probe failed: HTTP probe failed with statuscode: 500)",
            "the probe failure quoted");
    }

    [Fact]
    public async Task PodReadyWithinTheSettlePeriod_NoConditionNoEvent()
    {
        var ns = await fixture.NamespaceAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var harness = await StartAsync(fixture.Client, clock);
        await harness.Client.CreateAsync(NewPod(ns, "web-a", s_web));
        await harness.SeenAsync(await harness.SetRunningAsync(ns, "web-a", ready: false, clock.GetUtcNow()));
        await harness.Client.CreateAsync(NewService(ns, "web", s_web));
        await UntilAsync(() => harness.Informers.For<Service>().Get(ns, "web") is not null, "the informer to see the Service");

        // A second after the Service came, the pod changed 0.1 s ago: no verdict yet, though the first delayed add fires.
        clock.Advance(TimeSpan.FromSeconds(0.9));
        await harness.SeenAsync(await harness.Client.PatchAsync<Pod>(ns, "web-a", PatchType.Merge, """{"metadata":{"annotations":{"note":"x"}}}"""));
        clock.Advance(TimeSpan.FromSeconds(0.2));
        await harness.SeenAsync(await harness.SetRunningAsync(ns, "web-a", ready: true, clock.GetUtcNow()));
        var verdicts = harness.Verdicts;
        // Time keeps moving until the verdict: a worker still busy with an earlier key may schedule its retry only
        // after one advance (seen under CI load), and more time changes nothing about a pod that is Ready.
        await UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            return harness.Verdicts > verdicts;
        }, "the verdict");

        Assert.Null(Find(await harness.Client.GetAsync<Service>(ns, "web")));
        Assert.Empty(await harness.EventsAsync(ns, "NoEndpoints"));
        Assert.Empty(await harness.EventsAsync(ns, "EndpointsReady"));
    }

    [Fact]
    public async Task Selectorless_ReadySliceClearsTheCondition()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client);
        await harness.Client.CreateAsync(NewService(ns, "ext", selector: null));
        var (_, condition) = await harness.ConditionAsync(ns, "ext", c => c.Status == "False", "the False condition");
        Assert.Equal(("NoEndpoints", "no selector and no EndpointSlice labelled kubernetes.io/service-name=ext"), (condition.Reason, condition.Message));

        await harness.Client.CreateAsync(new EndpointSlice
        {
            Metadata = new ObjectMeta { Name = "ext-1", Namespace = ns, Labels = new() { ["kubernetes.io/service-name"] = "ext" } },
            AddressType = "IPv4",
            Endpoints = [new Endpoint { Addresses = ["192.0.2.42"], Conditions = new EndpointConditions { Ready = true } }],
            Ports = [new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP" }],
        });

        await harness.ConditionAsync(ns, "ext", c => c.Status == "True", "the True condition");
        var normal = Assert.Single(await UntilAsync(() => harness.EventsAsync(ns, "EndpointsReady"), e => e.Count == 1, "an EndpointsReady event"));
        Assert.Equal("has ready endpoints", normal.Message);
    }

    [Fact]
    public async Task BecomesExternalName_ConditionRemoved()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client);
        await harness.Client.CreateAsync(NewService(ns, "web", s_web));
        await harness.ConditionAsync(ns, "web", c => c.Status == "False", "the False condition");

        await harness.Client.PatchAsync<Service>(ns, "web", PatchType.Merge,
            """{"spec":{"type":"ExternalName","externalName":"example.com","selector":null,"clusterIP":null,"clusterIPs":null}}""");

        await UntilAsync(() => harness.Client.GetAsync<Service>(ns, "web"), s => Find(s) is null, "the condition removed");
    }
}
