using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.EndpointSlices;

namespace Berth.Controllers.Tests.EndpointSlices;

public sealed class ReconcilerApiFixture() : ApiServerFixture("eps-rec-");

// The reconciler writing through KubeEndpointSliceWriter to the real in-process API server: generateName names the
// slices, a recycled slice (a create turned into an update of a slice that would be deleted) is accepted without a
// resourceVersion, and a Service goes from empty (placeholder) to 250 endpoints and back with minimal churn.
public sealed class ReconcilerApiServerTests(ReconcilerApiFixture fixture) : IClassFixture<ReconcilerApiFixture>
{
    [Fact]
    public async Task Reconcile_PlaceholderTo250PodsAndBack_ThroughApiServer()
    {
        var ns = await fixture.NamespaceAsync();
        var client = fixture.Client;
        var svc = await client.CreateAsync(new Service
        {
            Metadata = new ObjectMeta { Name = "web", Namespace = ns },
            Spec = new ServiceSpec
            {
                Selector = new() { ["app"] = "web" },
                Ports = [new ServicePort { Name = "http", Port = 80, TargetPort = 8080, Protocol = "TCP" }],
            },
        });
        var node = new Node { Metadata = new ObjectMeta { Name = "node-1", Labels = new() { ["topology.kubernetes.io/zone"] = "zone-a" } } };
        var tracker = new EndpointSliceTracker();
        var reconciler = new EndpointSliceReconciler(new KubeEndpointSliceWriter(client), tracker, EndpointSliceRules.ControllerName);
        var triggerTime = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

        async Task<List<EndpointSlice>> SlicesAsync() => (await client.ListAsync<EndpointSlice>(ns)).Items
            .Where(s => s.Metadata!.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel) == "web").ToList();

        Task ReconcileAsync(int pods, List<EndpointSlice> existing) =>
            reconciler.ReconcileAsync(svc, Pods(ns, pods), existing, name => name == "node-1" ? node : null, triggerTime, CancellationToken.None);

        // No pods: one placeholder, named from generateName, owned by the Service.
        await ReconcileAsync(0, []);
        var placeholder = Assert.Single(await SlicesAsync());
        Assert.StartsWith("web-", placeholder.Metadata!.Name, StringComparison.Ordinal);
        Assert.Equal(("web", EndpointSliceRules.ControllerName),
            (placeholder.Metadata.Labels![EndpointSliceRules.ServiceNameLabel], placeholder.Metadata.Labels[EndpointSliceRules.ManagedByLabel]));
        var owner = Assert.Single(placeholder.Metadata.OwnerReferences!);
        Assert.Equal(("v1", "Service", "web", svc.Metadata!.Uid, true), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller));
        Assert.Empty(placeholder.Endpoints ?? []);
        Assert.Equal("IPv4", placeholder.AddressType);
        Assert.Equal("2025-01-02T03:04:05Z", placeholder.Metadata.Annotations!["endpoints.kubernetes.io/last-change-trigger-time"]);
        Assert.True(tracker.Has(placeholder));
        Assert.False(tracker.StaleSlices(svc, [placeholder]));

        // 250 pods: the placeholder (ports no longer desired) is recycled into one of the three slices.
        await ReconcileAsync(250, [placeholder]);
        var full = await SlicesAsync();
        ReconcilerHarness.AssertSliceLengths(full, 100, 100, 50);
        Assert.Contains(full, s => s.Metadata!.Name == placeholder.Metadata.Name && s.Metadata.Uid == placeholder.Metadata.Uid);
        Assert.All(full, s => Assert.Equal(8080, Assert.Single(s.Ports!).Port));
        var endpoint = full.SelectMany(s => s.Endpoints!).Single(e => e.TargetRef!.Name == "pod7");
        Assert.Equal(["127.244.0.7"], endpoint.Addresses);
        Assert.Equal((true, "node-1", "zone-a"), (endpoint.Conditions!.Ready, endpoint.NodeName, endpoint.Zone));
        Assert.False(tracker.StaleSlices(svc, full));

        // Unchanged input: nothing written.
        var versions = full.ToDictionary(s => s.Metadata!.Name!, s => s.Metadata!.ResourceVersion);
        await ReconcileAsync(250, full);
        Assert.Equal(versions, (await SlicesAsync()).ToDictionary(s => s.Metadata!.Name!, s => s.Metadata!.ResourceVersion));

        // Back to no pods: one slice is emptied into the placeholder, the others are deleted.
        await ReconcileAsync(0, full);
        var empty = Assert.Single(await SlicesAsync());
        Assert.Contains(full, s => s.Metadata!.Name == empty.Metadata!.Name);
        Assert.Empty(empty.Endpoints ?? []);
        Assert.Empty(empty.Ports ?? []);
        Assert.True(tracker.StaleSlices(svc, full));
        Assert.False(tracker.StaleSlices(svc, [empty]));
    }

    // Pods 0..n-1 of app=web, ready, on node-1, with Berth's loopback pod IPs.
    private static List<Pod> Pods(string ns, int count) => [.. Enumerable.Range(0, count).Select(i => new Pod
    {
        Metadata = new ObjectMeta { Name = $"pod{i}", Namespace = ns, Uid = $"uid-{i}", Labels = new() { ["app"] = "web" } },
        Spec = new PodSpec { NodeName = "node-1", Containers = [new Container { Name = "app" }] },
        Status = new PodStatus
        {
            Phase = "Running",
            PodIP = $"127.244.{i / 256}.{i % 256}",
            PodIPs = [new PodIP { Ip = $"127.244.{i / 256}.{i % 256}" }],
            Conditions = [new PodCondition { Type = "Ready", Status = "True" }],
        },
    })];
}
