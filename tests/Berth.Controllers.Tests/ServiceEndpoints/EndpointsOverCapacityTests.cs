using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.ServiceEndpoints;
using static Berth.Controllers.Tests.ServiceEndpoints.EndpointsHarness;

namespace Berth.Controllers.Tests.ServiceEndpoints;

/// <summary>
/// One namespace of 1001 ready and 10 not ready pods, created once for every case: each case's Service selects its
/// share through a label named after its (ready, not ready) counts.
/// </summary>
public sealed class OverCapacityFixture : ApiServerFixture
{
    public const int ReadyPods = EndpointsController.MaxCapacity + 1;
    public const int NotReadyPods = 10;

    private static readonly (int Ready, int NotReady)[] s_selections = [(997, 4), (1000, 10), (999, 0), (1000, 0), (1001, 0)];

    private readonly Lazy<Task<string>> _namespace;

    public OverCapacityFixture()
        : base("epcap-")
    {
        _namespace = new(SeedAsync);
    }

    public Task<string> PodsAsync() => _namespace.Value;

    /// <summary>The label selecting the first <paramref name="ready"/> ready and <paramref name="notReady"/> not ready pods.</summary>
    public static Dictionary<string, string> Selector(int ready, int notReady) => new() { [$"r{ready}-n{notReady}"] = "y" };

    private async Task<string> SeedAsync()
    {
        var ns = await NamespaceAsync();
        var pods = Enumerable.Range(0, ReadyPods).Select(i => (Name: $"r{i:D4}", Ip: $"10.1.{i / 250}.{(i % 250) + 1}", Ready: true,
                Labels: s_selections.Where(s => i < s.Ready).Select(s => Selector(s.Ready, s.NotReady).Single())))
            .Concat(Enumerable.Range(0, NotReadyPods).Select(j => (Name: $"n{j:D2}", Ip: $"10.2.0.{j + 1}", Ready: false,
                Labels: s_selections.Where(s => j < s.NotReady).Select(s => Selector(s.Ready, s.NotReady).Single()))));
        await Parallel.ForEachAsync(pods, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (p, ct) =>
        {
            var pod = await Client.CreateAsync(new Pod
            {
                Metadata = new ObjectMeta { Name = p.Name, Namespace = ns, Labels = p.Labels.ToDictionary() },
                Spec = new PodSpec { NodeName = NodeName, Containers = [new Container { Name = "c", Image = "busybox" }] },
            }, ct);
            pod.Status ??= new PodStatus();
            pod.Status.Phase = "Running";
            pod.Status.PodIP = p.Ip;
            pod.Status.PodIPs = [new PodIP { Ip = p.Ip }];
            pod.Status.Conditions = [new PodCondition { Type = "Ready", Status = p.Ready ? "True" : "False" }];
            await Client.UpdateStatusAsync(pod, ct);
        });
        return ns;
    }
}

// Ported from kubernetes pkg/controller/endpoint/endpoints_controller_test.go (TestSyncServiceOverCapacity): at most
// 1000 addresses, ready ones first, and the endpoints.kubernetes.io/over-capacity annotation exactly when truncated.
public sealed class EndpointsOverCapacityTests(OverCapacityFixture fixture) : IClassFixture<OverCapacityFixture>
{
    private const int Max = EndpointsController.MaxCapacity;

    // (name, starting annotation, existing addresses, desired ready, desired not ready, expected ready,
    // expected not ready, expected annotation)
    public static TheoryData<string, string?, int, int, int, int, int, bool> Cases => new()
    {
        { "empty", null, 0, 0, 0, 0, 0, false },
        { "annotation added past capacity, < than maxCapacity of Ready Addresses", null, Max - 1, Max - 3, 4, Max - 3, 3, true },
        { "annotation added past capacity, maxCapacity of Ready Addresses ", null, Max - 1, Max, 10, Max, 0, true },
        { "annotation removed below capacity", "truncated", Max - 1, Max - 1, 0, Max - 1, 0, false },
        { "annotation was set to warning previously, annotation removed at capacity", "warning", Max, Max, 0, Max, 0, false },
        { "annotation was set to warning previously but still over capacity", "warning", Max + 1, Max + 1, 0, Max, 0, true },
        { "annotation removed at capacity", "truncated", Max, Max, 0, Max, 0, false },
        { "no endpoints change, annotation value corrected", "invalid", Max + 1, Max + 1, 0, Max, 0, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Sync_OverCapacity_TruncatedAndAnnotated(string name, string? startingAnnotation, int numExisting, int numDesired,
        int numDesiredNotReady, int numExpectedReady, int numExpectedNotReady, bool expectedAnnotation)
    {
        var ns = await fixture.PodsAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var serviceName = "svc-" + Guid.NewGuid().ToString("N")[..8];
        var selector = numDesired + numDesiredNotReady == 0 ? new() { ["none"] = "y" } : OverCapacityFixture.Selector(numDesired, numDesiredNotReady);
        var service = await harness.CreateServiceAsync(NewService(ns, serviceName, selector, Port(80, 80)));
        // Upstream's existing Endpoints: the addresses of the first pods, ready, in one subset without ports.
        var selected = harness.Pods.List(ns).Where(p => selector.All(s => p.Metadata!.Labels?.GetValueOrDefault(s.Key) == s.Value))
            .OrderBy(p => p.Metadata!.Name, StringComparer.Ordinal).ToList();
        var existing = NewEndpoints(ns, serviceName);
        if (numExisting > 0)
        {
            existing.Subsets = [new EndpointSubset { Addresses = [.. selected.Take(numExisting).Select(p => EndpointsController.PodToEndpointAddressForService(service, p)!)] }];
        }
        if (startingAnnotation is not null)
        {
            existing.Metadata!.Annotations = new() { [EndpointsController.OverCapacityAnnotation] = startingAnnotation };
        }
        await harness.CreateEndpointsAsync(existing);

        await harness.SyncAsync(ns, serviceName);

        var actual = await harness.Client.GetAsync<Endpoints>(ns, serviceName);
        var annotation = actual.Metadata!.Annotations?.GetValueOrDefault(EndpointsController.OverCapacityAnnotation);
        Assert.True((expectedAnnotation ? "truncated" : null) == annotation, $"{name}: annotation {annotation ?? "(none)"}");
        var subsets = actual.Subsets ?? [];
        Assert.True((numExpectedReady, numExpectedNotReady) == (subsets.Sum(s => s.Addresses?.Count ?? 0), subsets.Sum(s => s.NotReadyAddresses?.Count ?? 0)),
            $"{name}: got {subsets.Sum(s => s.Addresses?.Count ?? 0)} ready and {subsets.Sum(s => s.NotReadyAddresses?.Count ?? 0)} not ready addresses");
    }
}
