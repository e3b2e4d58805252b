using Berth.Api.Models;
using Berth.Controllers.EndpointSliceMirroring;
using Berth.Controllers.EndpointSlices;
using static Berth.Controllers.Tests.EndpointSliceMirroring.MirroringHarness;

namespace Berth.Controllers.Tests.EndpointSliceMirroring;

// Ported from kubernetes pkg/controller/endpointslicemirroring/endpointslicemirroring_controller_test.go:
// TestSyncEndpoints, TestShouldMirror and TestEndpointSlicesMirroredForService. Upstream fills informer stores and a
// fake clientset; here the objects are written to the real API server and the controller's informers sync them.
public sealed class ControllerTests(MirroringApiFixture fixture) : IClassFixture<MirroringApiFixture>
{
    private const string EndpointsName = "testing-sync-endpoints";

    public enum ServiceKind
    {
        Missing,
        WithoutSelector,
        WithSelector,
    }

    public sealed record SyncCase(ServiceKind Service, Endpoints Endpoints, string? ExistingSliceManagedBy, int ExpectedNumActions,
        int ExpectedNumSlices, string? ExpectedEvent = null);

    // Upstream's "no addresses" Endpoints has a subset with ports only, which the API server refuses ("must specify
    // `addresses` or `notReadyAddresses`"); no subsets at all is what that repacks to.
    private static Endpoints Ep(List<EndpointAddress>? addresses, Dictionary<string, string>? labels = null) => new()
    {
        Metadata = new ObjectMeta { Name = EndpointsName, Labels = labels },
        Subsets = addresses is null ? null : [new EndpointSubset { Ports = [new EndpointPort { Port = 80 }], Addresses = addresses }],
    };

    private static List<EndpointAddress> One() => [new EndpointAddress { Ip = "10.0.0.1" }];

    public static TheoryData<string, SyncCase> SyncCases => new()
    {
        { "Endpoints with no addresses", new(ServiceKind.WithoutSelector, Ep(null), null, 0, 0) },
        { "Endpoints with skip label true", new(ServiceKind.WithoutSelector, Ep(One(), new() { [MirroringRules.SkipMirrorLabel] = "true" }), null, 0, 0) },
        { "Endpoints with skip label false", new(ServiceKind.WithoutSelector, Ep(One(), new() { [MirroringRules.SkipMirrorLabel] = "false" }), null, 1, 1) },
        { "Endpoints with missing Service", new(ServiceKind.Missing, Ep(One()), null, 0, 0) },
        { "Endpoints with Service with selector specified", new(ServiceKind.WithSelector, Ep(One()), null, 0, 0) },
        { "Existing EndpointSlices that need to be cleaned up", new(ServiceKind.WithoutSelector, Ep(null), EndpointSliceRules.MirroringControllerName, 1, 0) },
        // Only slices managed by this controller are listed (and counted).
        { "Existing EndpointSlices managed by a different controller, no addresses to sync", new(ServiceKind.WithoutSelector, Ep(null), "something-else", 0, 0) },
        { "Endpoints with 1000 addresses", new(ServiceKind.WithoutSelector, Ep(GenerateAddresses(1000)), null, 1, 1) },
        // Upstream counts the warning event as a second action.
        {
            "Endpoints with 1001 addresses - 1 should not be mirrored",
            new(ServiceKind.WithoutSelector, Ep(GenerateAddresses(1001)), null, 1, 1,
                "TooManyAddressesToMirror: A max of 1000 addresses can be mirrored to EndpointSlices per Endpoints subset. 1 addresses were skipped")
        },
    };

    [Theory]
    [MemberData(nameof(SyncCases))]
    public async Task SyncEndpoints_Table(string name, SyncCase tc)
    {
        var ns = await fixture.NamespaceAsync();
        var client = fixture.Client;
        var endpoints = Api.Serialization.KubeJson.DeepClone(tc.Endpoints);
        endpoints.Metadata!.Namespace = ns;
        endpoints = await client.CreateAsync(endpoints);
        if (tc.Service != ServiceKind.Missing)
        {
            await client.CreateAsync(SelectorlessService(ns, EndpointsName, tc.Service == ServiceKind.WithSelector ? new() { ["foo"] = "bar" } : null));
        }
        if (tc.ExistingSliceManagedBy is { } managedBy)
        {
            await client.CreateAsync(new EndpointSlice
            {
                Metadata = new ObjectMeta
                {
                    Name = EndpointsName + "-1",
                    Namespace = ns,
                    Labels = new() { [EndpointSliceRules.ServiceNameLabel] = EndpointsName, [EndpointSliceRules.ManagedByLabel] = managedBy },
                },
                AddressType = "IPv4",
            });
        }
        var writer = new CountingWriter(new Controllers.EndpointSlices.KubeEndpointSliceWriter(client));
        await using var harness = await StartAsync(client, run: false, writer);

        await harness.Controller.SyncAsync($"{ns}/{EndpointsName}", CancellationToken.None);

        Assert.True(tc.ExpectedNumActions == writer.Actions, $"{name}: expected {tc.ExpectedNumActions} additional client actions, got {writer.Actions}");
        var events = (await harness.EventsAsync(ns, MirroringEvents.TooManyAddressesToMirror)).Select(e => $"{e.Reason}: {e.Message}");
        Assert.Equal(tc.ExpectedEvent is null ? [] : [tc.ExpectedEvent], events);
        ExpectEndpointSlices(tc.ExpectedNumSlices, EndpointSliceMirroringController.MaxEndpointsPerSubset, endpoints, await MirroredAsync(client, ns));
    }

    [Theory]
    [InlineData("Standard Endpoints", null, false, true)]
    [InlineData("Endpoints with skip-mirror=true", "true", false, false)]
    [InlineData("Endpoints with skip-mirror=invalid", "invalid", false, true)]
    [InlineData("Endpoints with leader election annotation", null, true, false)]
    public void ShouldMirror_Table(string name, string? skipMirror, bool leaderElection, bool expected)
    {
        var endpoints = new Endpoints
        {
            Metadata = new ObjectMeta
            {
                Name = "test-endpoints",
                Labels = skipMirror is null ? null : new() { [MirroringRules.SkipMirrorLabel] = skipMirror },
                Annotations = leaderElection ? new() { [MirroringRules.LeaderElectionAnnotation] = "" } : null,
            },
        };

        Assert.True(expected == MirroringRules.ShouldMirror(endpoints), name);
    }

    [Fact]
    public void ShouldMirror_NoEndpoints_False() => Assert.False(MirroringRules.ShouldMirror(null));

    [Theory]
    [InlineData("Service with matching EndpointSlice", false, "svc1", EndpointSliceRules.MirroringControllerName, true)]
    [InlineData("Service with EndpointSlice that has different namespace", true, "svc1", EndpointSliceRules.MirroringControllerName, false)]
    [InlineData("Service with EndpointSlice that has different service name", false, "svc2", EndpointSliceRules.MirroringControllerName, false)]
    [InlineData("Service with EndpointSlice that has different controller name", false, "svc1", EndpointSliceRules.MirroringControllerName + "foo", false)]
    [InlineData("Service with EndpointSlice that has missing controller name", false, "svc1", null, false)]
    [InlineData("Service with EndpointSlice that has missing service name", false, null, EndpointSliceRules.MirroringControllerName, false)]
    public async Task EndpointSlicesMirroredForService_Table(string name, bool otherNamespace, string? serviceName, string? managedBy, bool expectedInList)
    {
        var ns1 = await fixture.NamespaceAsync();
        var sliceNamespace = otherNamespace ? await fixture.NamespaceAsync() : ns1;
        var labels = new Dictionary<string, string>();
        if (serviceName is not null)
        {
            labels[EndpointSliceRules.ServiceNameLabel] = serviceName;
        }
        if (managedBy is not null)
        {
            labels[EndpointSliceRules.ManagedByLabel] = managedBy;
        }
        await fixture.Client.CreateAsync(new EndpointSlice
        {
            Metadata = new ObjectMeta { Name = "example-1", Namespace = sliceNamespace, Labels = labels },
            AddressType = "IPv4",
        });
        await using var harness = await StartAsync(fixture.Client, run: false);
        await harness.CachedAsync<EndpointSlice>(sliceNamespace, "example-1");

        var slices = harness.Controller.MirroredSlices(ns1, "svc1");

        Assert.True(expectedInList == (slices.Count == 1), $"{name}: {slices.Count} slices listed");
        if (expectedInList)
        {
            Assert.Equal("example-1", slices[0].Metadata!.Name);
        }
    }
}
