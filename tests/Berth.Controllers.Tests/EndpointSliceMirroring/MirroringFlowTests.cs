using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.EndpointSliceMirroring;
using Berth.Controllers.EndpointSlices;
using static Berth.Controllers.Tests.EndpointSliceMirroring.MirroringHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.EndpointSliceMirroring;

// The controller running against the real API server: users write Services without a selector and their Endpoints,
// edit and delete what was mirrored, and the mirrored slices follow.
public sealed class MirroringFlowTests(MirroringApiFixture fixture) : IClassFixture<MirroringApiFixture>
{
    // Kubernetes in Action ch. 11: svc.external-service.yaml and ep.external-service.yaml, built here as objects.
    [Fact]
    public async Task KiaExternalService_OneIPv4SliceWithTwoReadyEndpoints()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await fixture.Client.CreateAsync(new Service
        {
            Metadata = new ObjectMeta { Name = "external-service", Namespace = ns },
            Spec = new ServiceSpec { Ports = [new ServicePort { Name = "http", Port = 80 }] },
        });

        var endpoints = await fixture.Client.CreateAsync(new Endpoints
        {
            Metadata = new ObjectMeta { Name = "external-service", Namespace = ns },
            Subsets =
            [
                new EndpointSubset
                {
                    Addresses = [new EndpointAddress { Ip = "1.1.1.1" }, new EndpointAddress { Ip = "2.2.2.2" }],
                    Ports = [new EndpointPort { Name = "http", Port = 88 }],
                },
            ],
        });

        var slice = Assert.Single(await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 1, "the mirrored slice"));
        Assert.Equal("IPv4", slice.AddressType);
        Assert.StartsWith("external-service-", slice.Metadata!.Name, StringComparison.Ordinal);
        Assert.Equal("external-service-", slice.Metadata.GenerateName);
        Assert.Equal(new Dictionary<string, string>
        {
            ["kubernetes.io/service-name"] = "external-service",
            ["endpointslice.kubernetes.io/managed-by"] = "endpointslicemirroring-controller.k8s.io",
        }, slice.Metadata.Labels);
        var owner = Assert.Single(slice.Metadata.OwnerReferences!);
        Assert.Equal(("v1", "Endpoints", "external-service", endpoints.Metadata!.Uid, true, true),
            (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        var port = Assert.Single(slice.Ports!);
        Assert.Equal(("http", 88, "TCP", null), (port.Name, port.Port, port.Protocol, port.AppProtocol));
        Assert.Equal(["1.1.1.1", "2.2.2.2"], slice.Endpoints!.Select(e => Assert.Single(e.Addresses!)).Order());
        Assert.All(slice.Endpoints!, e => Assert.Equal((true, null, null, null, null, null, null),
            (e.Conditions?.Ready, e.Conditions?.Serving, e.Conditions?.Terminating, e.Hostname, e.NodeName, e.TargetRef, e.Zone)));
    }

    [Fact]
    public async Task EndpointsChanged_SliceUpdatedInPlace_NotReadyAndIPv6Mirrored()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await fixture.Client.CreateAsync(SelectorlessService(ns, "web"));
        await fixture.Client.CreateAsync(NewEndpoints(ns, "web", Subset([Port("http", 8080)], ["10.1.0.1"])));
        var first = Assert.Single(await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 1, "the mirrored slice"));

        var endpoints = await fixture.Client.GetAsync<Endpoints>(ns, "web");
        endpoints.Subsets = [Subset([Port("http", 8080)], ["10.1.0.1", "2001:db8::1"], ["10.1.0.2"])];
        await fixture.Client.UpdateAsync(endpoints);

        var slices = await UntilAsync(() => MirroredAsync(fixture.Client, ns),
            s => s.Count == 2 && s[0].Endpoints?.Count == 2, "an IPv4 slice with 2 endpoints and an IPv6 slice");
        Assert.Equal(first.Metadata!.Name, slices[0].Metadata!.Name);
        Assert.Equal([("10.1.0.1", true), ("10.1.0.2", false)],
            slices[0].Endpoints!.Select(e => (e.Addresses![0], e.Conditions!.Ready == true)).OrderBy(e => e.Item1, StringComparer.Ordinal));
        Assert.Equal(("IPv6", "2001:db8::1", true), (slices[1].AddressType, slices[1].Endpoints![0].Addresses![0], slices[1].Endpoints![0].Conditions!.Ready));
    }

    [Fact]
    public async Task SliceEditedByUser_PutBack()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await fixture.Client.CreateAsync(SelectorlessService(ns, "web"));
        await fixture.Client.CreateAsync(NewEndpoints(ns, "web", Subset([Port("http", 8080)], ["10.1.0.1"])));
        var slice = Assert.Single(await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 1, "the mirrored slice"));

        slice.Endpoints = [new Endpoint { Addresses = ["10.9.9.9"], Conditions = new EndpointConditions { Ready = true } }];
        var edited = await fixture.Client.UpdateAsync(slice);

        var restored = await UntilAsync(() => fixture.Client.GetAsync<EndpointSlice>(ns, slice.Metadata!.Name!),
            s => s.Metadata!.ResourceVersion != edited.Metadata!.ResourceVersion, "the slice to be written again");
        Assert.Equal(["10.1.0.1"], restored.Endpoints!.Select(e => e.Addresses![0]));
    }

    [Fact]
    public async Task SliceDeletedByUser_Recreated()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await fixture.Client.CreateAsync(SelectorlessService(ns, "web"));
        await fixture.Client.CreateAsync(NewEndpoints(ns, "web", Subset([Port("http", 8080)], ["10.1.0.1"])));
        var slice = Assert.Single(await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 1, "the mirrored slice"));

        await fixture.Client.DeleteAsync<EndpointSlice>(ns, slice.Metadata!.Name!);

        var again = Assert.Single(await UntilAsync(() => MirroredAsync(fixture.Client, ns),
            s => s.Count == 1 && s[0].Metadata!.Uid != slice.Metadata.Uid, "a new mirrored slice"));
        Assert.Equal(["10.1.0.1"], again.Endpoints!.Select(e => e.Addresses![0]));
    }

    public static TheoryData<string, Func<KubeClient, string, Task>> GoneCases => new()
    {
        { "Endpoints deleted", (client, ns) => client.DeleteAsync<Endpoints>(ns, "web") },
        { "Service deleted", (client, ns) => client.DeleteAsync<Service>(ns, "web") },
        { "Service got a selector", (client, ns) => client.PatchAsync<Service>(ns, "web", PatchType.Merge, """{"spec":{"selector":{"app":"web"}}}""") },
        {
            "Endpoints labelled skip-mirror=true",
            (client, ns) => client.PatchAsync<Endpoints>(ns, "web", PatchType.Merge, """{"metadata":{"labels":{"endpointslice.kubernetes.io/skip-mirror":"true"}}}""")
        },
        {
            "Endpoints got a leader election record",
            (client, ns) => client.PatchAsync<Endpoints>(ns, "web", PatchType.Merge, """{"metadata":{"annotations":{"control-plane.alpha.kubernetes.io/leader":"{}"}}}""")
        },
    };

    [Theory]
    [MemberData(nameof(GoneCases))]
    public async Task NoLongerMirrored_SlicesDeleted(string name, Func<KubeClient, string, Task> change)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await fixture.Client.CreateAsync(SelectorlessService(ns, "web"));
        await fixture.Client.CreateAsync(NewEndpoints(ns, "web", Subset([Port("http", 8080)], ["10.1.0.1", "2001:db8::1"])));
        await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 2, "the mirrored slices");

        await change(fixture.Client, ns);

        await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 0, $"{name}: the mirrored slices to be deleted");
    }

    [Fact]
    public async Task LabelsAndAnnotations_MirroredAndKeptInStep()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await fixture.Client.CreateAsync(SelectorlessService(ns, "web"));
        var endpoints = NewEndpoints(ns, "web", Subset([Port("http", 8080)], ["10.1.0.1"]));
        endpoints.Metadata!.Labels = new() { ["team"] = "a", [MirroringRules.SkipMirrorLabel] = "false" };
        endpoints.Metadata.Annotations = new()
        {
            ["note"] = "x",
            ["kubectl.kubernetes.io/last-applied-configuration"] = "{}",
            ["endpoints.kubernetes.io/last-change-trigger-time"] = "2024-01-01T00:00:00Z",
        };
        await fixture.Client.CreateAsync(endpoints);

        var slice = Assert.Single(await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 1, "the mirrored slice"));
        Assert.Equal(new Dictionary<string, string>
        {
            ["team"] = "a",
            [MirroringRules.SkipMirrorLabel] = "false",
            [EndpointSliceRules.ServiceNameLabel] = "web",
            [EndpointSliceRules.ManagedByLabel] = EndpointSliceRules.MirroringControllerName,
        }, slice.Metadata!.Labels);
        Assert.Equal(new Dictionary<string, string> { ["note"] = "x" }, slice.Metadata.Annotations);

        await fixture.Client.PatchAsync<Endpoints>(ns, "web", PatchType.Merge, """{"metadata":{"labels":{"team":"b"},"annotations":{"note":null}}}""");

        var updated = Assert.Single(await UntilAsync(() => MirroredAsync(fixture.Client, ns),
            s => s.Count == 1 && s[0].Metadata!.Labels?.GetValueOrDefault("team") == "b", "the new label on the slice"));
        Assert.Equal(slice.Metadata.Name, updated.Metadata!.Name);
        Assert.Empty(updated.Metadata.Annotations ?? []);
    }

    [Fact]
    public async Task UserWrittenSlices_LeftAlone()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        var unmanaged = await fixture.Client.CreateAsync(UserSlice(ns, "web-by-hand", managedBy: null));
        var otherManager = await fixture.Client.CreateAsync(UserSlice(ns, "web-by-tool", managedBy: "my-tool.example.com"));
        await fixture.Client.CreateAsync(SelectorlessService(ns, "web"));

        await fixture.Client.CreateAsync(NewEndpoints(ns, "web", Subset([Port("http", 8080)], ["10.1.0.1"])));

        await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 1, "the mirrored slice");
        // A second sync of the same Endpoints (an update of it) must not touch them either.
        await fixture.Client.PatchAsync<Endpoints>(ns, "web", PatchType.Merge, """{"metadata":{"labels":{"touch":"1"}}}""");
        await UntilAsync(() => MirroredAsync(fixture.Client, ns), s => s.Count == 1 && s[0].Metadata!.Labels!.ContainsKey("touch"), "the label mirrored");
        foreach (var before in new[] { unmanaged, otherManager })
        {
            var after = await fixture.Client.GetAsync<EndpointSlice>(ns, before.Metadata!.Name!);
            Assert.Equal(before.Metadata.ResourceVersion, after.Metadata!.ResourceVersion);
        }
    }

    // The API server writes default/kubernetes' Endpoints with skip-mirror=true and its own slice.
    [Fact]
    public async Task KubernetesEndpoints_NotMirrored()
    {
        var writer = new CountingWriter(new KubeEndpointSliceWriter(fixture.Client));
        await using var harness = await StartAsync(fixture.Client, run: false, writer);
        await harness.CachedAsync<Endpoints>("default", "kubernetes");
        await harness.CachedAsync<Service>("default", "kubernetes");
        var ownSlice = await fixture.Client.GetAsync<EndpointSlice>("default", "kubernetes");

        await harness.Controller.SyncAsync("default/kubernetes", CancellationToken.None);

        Assert.Equal("true", harness.Informers.For<Endpoints>().Get("default", "kubernetes")!.Metadata!.Labels![MirroringRules.SkipMirrorLabel]);
        Assert.Equal(0, writer.Actions);
        Assert.Empty(await MirroredAsync(fixture.Client, "default"));
        Assert.Equal(ownSlice.Metadata!.ResourceVersion, (await fixture.Client.GetAsync<EndpointSlice>("default", "kubernetes")).Metadata!.ResourceVersion);
    }

    private static EndpointSlice UserSlice(string ns, string name, string? managedBy)
    {
        var labels = new Dictionary<string, string> { [EndpointSliceRules.ServiceNameLabel] = "web" };
        if (managedBy is not null)
        {
            labels[EndpointSliceRules.ManagedByLabel] = managedBy;
        }
        return new EndpointSlice
        {
            Metadata = new ObjectMeta { Name = name, Namespace = ns, Labels = labels },
            AddressType = "IPv4",
            Endpoints = [new Endpoint { Addresses = ["10.7.7.7"], Conditions = new EndpointConditions { Ready = true } }],
            Ports = [new EndpointSlicePort { Name = "http", Port = 8080, Protocol = "TCP" }],
        };
    }
}
