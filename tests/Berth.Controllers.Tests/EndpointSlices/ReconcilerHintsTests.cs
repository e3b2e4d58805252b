using System.Text;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Controllers.EndpointSlices;

namespace Berth.Controllers.Tests.EndpointSlices;

// Upstream staging/src/k8s.io/endpointslice/trafficdist/trafficdist_test.go and utils_test.go Test_hintsEnabled.
public sealed class ReconcilerHintsTests
{
    // An endpoint: address, zone, node, ready, and the zone hint it carries (null: none).
    private static Endpoint Ep(string address, string zone, string node, bool ready = true, string? hint = null) => new()
    {
        Addresses = [address],
        Zone = zone,
        NodeName = node,
        Conditions = new EndpointConditions { Ready = ready },
        Hints = hint is null ? null : new EndpointHints { ForZones = [new ForZone { Name = hint }] },
    };

    private static EndpointSlice S(params Endpoint[] endpoints) => new() { Endpoints = [.. endpoints] };

    public static TheoryData<string, string?, EndpointSlice[], EndpointSlice[], EndpointSlice[], EndpointSlice[], EndpointSlice[], EndpointSlice[]> Cases => new()
    {
        {
            "should set zone hints with PreferClose", "PreferClose",
            [S(Ep("10.0.0.1", "zone-a", "node-1"), Ep("10.0.0.2", "zone-b", "node-2")), S(Ep("10.0.0.3", "zone-a", "node-3"), Ep("10.0.0.4", "zone-b", "node-4"))],
            [S(Ep("10.0.0.5", "zone-a", "node-5"), Ep("10.0.0.6", "zone-a", "node-6")), S(Ep("10.0.0.7", "zone-b", "node-7"), Ep("10.0.0.8", "zone-c", "node-8"))],
            [],
            [
                S(Ep("10.0.0.1", "zone-a", "node-1", hint: "zone-a"), Ep("10.0.0.2", "zone-b", "node-2", hint: "zone-b")),
                S(Ep("10.0.0.3", "zone-a", "node-3", hint: "zone-a"), Ep("10.0.0.4", "zone-b", "node-4", hint: "zone-b")),
            ],
            [
                S(Ep("10.0.0.5", "zone-a", "node-5", hint: "zone-a"), Ep("10.0.0.6", "zone-a", "node-6", hint: "zone-a")),
                S(Ep("10.0.0.7", "zone-b", "node-7", hint: "zone-b"), Ep("10.0.0.8", "zone-c", "node-8", hint: "zone-c")),
            ],
            []
        },
        {
            "should correct incorrect hints with PreferClose", "PreferClose",
            [],
            [S(Ep("10.0.0.1", "zone-a", "node-1", hint: "zone-b"))],
            [S(Ep("10.0.0.2", "zone-b", "node-2", hint: "zone-c")), S(Ep("10.0.0.3", "zone-c", "node-3"))],
            [],
            [
                S(Ep("10.0.0.1", "zone-a", "node-1", hint: "zone-a")),
                S(Ep("10.0.0.2", "zone-b", "node-2", hint: "zone-b")),
                S(Ep("10.0.0.3", "zone-c", "node-3", hint: "zone-c")),
            ],
            []
        },
        {
            "unready endpoints should not trigger updates", "PreferClose",
            [], [],
            [S(Ep("10.0.0.2", "zone-b", "node-2", ready: false))],
            [], [],
            [S(Ep("10.0.0.2", "zone-b", "node-2", ready: false))]
        },
        {
            "should remove hints when trafficDistribution is unrecognized", "Unknown",
            [S(Ep("10.0.0.1", "zone-a", "node-1", hint: "zone-a"), Ep("10.0.0.2", "zone-b", "node-2", hint: "zone-b")), S(Ep("10.0.0.3", "zone-a", "node-3", hint: "zone-a"))],
            [S(Ep("10.0.0.5", "zone-a", "node-5", hint: "zone-a"))],
            [],
            [S(Ep("10.0.0.1", "zone-a", "node-1"), Ep("10.0.0.2", "zone-b", "node-2")), S(Ep("10.0.0.3", "zone-a", "node-3"))],
            [S(Ep("10.0.0.5", "zone-a", "node-5"))],
            []
        },
        {
            "should remove hints when trafficDistribution is unset", null,
            [],
            [S(Ep("10.0.0.5", "zone-a", "node-5", hint: "zone-a"))],
            [S(Ep("10.0.0.6", "zone-b", "node-6", hint: "zone-b"))],
            [],
            [S(Ep("10.0.0.5", "zone-a", "node-5")), S(Ep("10.0.0.6", "zone-b", "node-6"))],
            []
        },
    };

    // TestReconcileHints.
    [Theory]
    [MemberData(nameof(Cases))]
    public void ReconcileTrafficDistributionHints_SetsOrRemovesZoneHints(string name, string? trafficDistribution,
        EndpointSlice[] toCreate, EndpointSlice[] toUpdate, EndpointSlice[] unchanged,
        EndpointSlice[] wantToCreate, EndpointSlice[] wantToUpdate, EndpointSlice[] wantUnchanged)
    {
        List<EndpointSlice> create = [.. toCreate.Select(KubeJson.DeepClone)], update = [.. toUpdate.Select(KubeJson.DeepClone)];
        List<EndpointSlice> same = [.. unchanged.Select(KubeJson.DeepClone)];

        EndpointSliceReconciler.ReconcileTrafficDistributionHints(trafficDistribution, create, update, same);

        Assert.True(Json(wantToCreate) == Json(create), $"{name}: slicesToCreate {Json(create)}");
        Assert.True(Json(wantToUpdate) == Json(update), $"{name}: slicesToUpdate {Json(update)}");
        Assert.True(Json(wantUnchanged) == Json(same), $"{name}: slicesUnchanged {Json(same)}");
    }

    // TestReconcileHints_doesNotMutateUnchangedSlices: unchanged slices are the informer's; a fix goes to a copy.
    [Fact]
    public void ReconcileTrafficDistributionHints_UnchangedSliceNeedingHints_CopiedNotMutated()
    {
        var original = S(Ep("10.0.0.1", "zone-a", "node-1"));
        var before = Json([original]);
        List<EndpointSlice> update = [];

        EndpointSliceReconciler.ReconcileTrafficDistributionHints("PreferClose", [], update, [original]);

        Assert.Equal(before, Json([original]));
        Assert.Equal("zone-a", Assert.Single(update).Endpoints![0].Hints!.ForZones![0].Name);
    }

    // Test_hintsEnabled: the deprecated annotation wins; only "Auto" and "auto" count.
    [Theory]
    [InlineData(null, null, false)] // empty annotations
    [InlineData("enabled", null, false)]
    [InlineData("aUto", null, false)]
    [InlineData("auto", null, true)]
    [InlineData("Auto", null, true)]
    [InlineData("disabled", null, false)]
    [InlineData(null, "enabled", false)]
    [InlineData(null, "aUto", false)]
    [InlineData(null, "auto", true)]
    [InlineData(null, "Auto", true)]
    [InlineData(null, "disabled", false)]
    [InlineData("auto", "disabled", true)] // mode annotation == disabled, hints annotation == auto
    [InlineData("disabled", "auto", false)] // mode annotation == auto, hints annotation == disabled
    public void TopologyHintsRequested_AutoAnnotation(string? hintsAnnotation, string? modeAnnotation, bool expected)
    {
        var annotations = new Dictionary<string, string> { ["topology-hints"] = "enabled" };
        if (hintsAnnotation is not null)
        {
            annotations["service.kubernetes.io/topology-aware-hints"] = hintsAnnotation;
        }
        if (modeAnnotation is not null)
        {
            annotations["service.kubernetes.io/topology-mode"] = modeAnnotation;
        }

        Assert.Equal(expected, Berth.Api.Services.ServiceRules.TopologyHintsRequested(annotations));
    }

    // With the topology annotation the hints of every slice go, unchanged ones included (upstream
    // RemoveHintsFromSlices, what it does without a topology cache).
    [Fact]
    public void RemoveHints_ClearsAllAndMovesHintedUnchangedSlicesToUpdate()
    {
        List<EndpointSlice> create = [S(Ep("10.0.0.1", "zone-a", "node-1", hint: "zone-a"))];
        List<EndpointSlice> update = [];
        var hinted = S(Ep("10.0.0.2", "zone-b", "node-2", hint: "zone-b"), Ep("10.0.0.3", "zone-b", "node-3", hint: "zone-b"));
        var plain = S(Ep("10.0.0.4", "zone-c", "node-4"));
        var before = Json([hinted]);
        List<EndpointSlice> unchanged = [hinted, plain];

        EndpointSliceReconciler.RemoveHints(create, update, unchanged);

        Assert.Equal(Json([S(Ep("10.0.0.1", "zone-a", "node-1"))]), Json(create));
        Assert.Equal(Json([S(Ep("10.0.0.2", "zone-b", "node-2"), Ep("10.0.0.3", "zone-b", "node-3"))]), Json(update));
        Assert.Same(plain, Assert.Single(unchanged));
        Assert.Equal(before, Json([hinted]));
    }

    private static string Json(IEnumerable<EndpointSlice> slices) =>
        Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(slices.ToList()));
}
