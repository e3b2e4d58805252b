using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Controllers.EndpointSlices;

namespace Berth.Controllers.Tests.EndpointSlices;

// Upstream staging/src/k8s.io/endpointslice/util/endpointslice_tracker_test.go.
public sealed class ReconcilerTrackerTests
{
    // example-1 in ns1, of Service svc1, uid "original", generation 1; the variants below as upstream's DeepCopies.
    private static EndpointSlice Slice(string variant = "") => variant switch
    {
        "" => New("ns1", "svc1", "original", 1),
        "differentNS" => New("ns2", "svc1", "diff-ns", 1),
        "differentService" => New("ns1", "svc2", "diff-svc", 1),
        "newerGen" => New("ns1", "svc1", "original", 2),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    private static EndpointSlice New(string ns, string service, string uid, long generation) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = "example-1", Namespace = ns, Uid = uid, Generation = generation,
            Labels = new() { [EndpointSliceRules.ServiceNameLabel] = service },
        },
    };

    private static Service Svc1 => new() { Metadata = new ObjectMeta { Name = "svc1", Namespace = "ns1" } };

    // TestEndpointSliceTrackerUpdate.
    [Theory]
    [InlineData("", true, false)] // same slice
    [InlineData("differentNS", false, true)] // different namespace
    [InlineData("differentService", false, true)] // different service
    [InlineData("newerGen", true, true)] // newer generation
    public void Update_ThenHasAndShouldSync(string checks, bool expectHas, bool expectShouldSync)
    {
        var tracker = new EndpointSliceTracker();
        tracker.Update(Slice());

        Assert.Equal(expectHas, tracker.Has(Slice(checks)));
        Assert.Equal(expectShouldSync, tracker.ShouldSync(Slice(checks)));
        Assert.Equal(1, tracker.TrackedGeneration(Slice()));
    }

    public static TheoryData<string, Action<EndpointSliceTracker>, EndpointSlice[], bool> StaleSlicesCases => new()
    {
        { "empty tracker", _ => { }, [], false },
        // The Service is tracked, with no slices.
        { "empty slices", t => { t.Update(Slice()); t.HandleDeletion(Slice()); }, [], false },
        { "matching slices", t => t.Update(Slice()), [Slice()], false },
        { "newer slice in tracker", t => t.Update(Slice("newerGen")), [Slice()], true },
        { "newer slice in params", t => t.Update(Slice()), [Slice("newerGen")], false },
        { "slice in params is expected to be deleted", t => t.ExpectDeletion(Slice()), [Slice()], true },
        { "slice in tracker but not in params", t => t.Update(Slice()), [], true },
    };

    // TestEndpointSliceTrackerStaleSlices.
    [Theory]
    [MemberData(nameof(StaleSlicesCases))]
    public void StaleSlices_CacheBehindOwnWrites(string name, Action<EndpointSliceTracker> setup, EndpointSlice[] slices, bool expectStale)
    {
        var tracker = new EndpointSliceTracker();
        setup(tracker);

        Assert.True(expectStale == tracker.StaleSlices(Svc1, slices), name);
    }

    // TestEndpointSliceTrackerDeletion: tracker.Update(example-1), then ExpectDeletion(expectDeletion), then the checks.
    [Theory]
    [InlineData("", "", true, true, true)] // same slice
    [InlineData("differentNS", "differentNS", true, true, false)] // different namespace
    [InlineData("differentNS", "", true, false, false)] // different namespace, check original ep slice
    [InlineData("differentService", "differentService", true, true, false)] // different service
    [InlineData("differentService", "", true, false, false)] // expectDelete different service, check original ep slice, delete original
    [InlineData("newerGen", "newerGen", true, true, true)] // different generation
    [InlineData("newerGen", "", true, true, true)] // expectDelete different generation, check original ep slice, delete original
    public void ExpectDeletion_ThenHandleDeletion(string expectDeletion, string checks, bool expectHas, bool expectShouldSync, bool expectHandleDeletion)
    {
        var tracker = new EndpointSliceTracker();
        tracker.Update(Slice());

        tracker.ExpectDeletion(Slice(expectDeletion));

        Assert.Equal(expectHas, tracker.Has(Slice(checks)));
        Assert.Equal(expectShouldSync, tracker.ShouldSync(Slice(checks)));
        Assert.Equal(expectHandleDeletion, tracker.HandleDeletion(Slice()));
        Assert.False(tracker.Has(Slice()));
    }

    // TestEndpointSliceTrackerDeleteService.
    [Theory]
    [InlineData("ns1", "svc1", false, true, null)] // same service
    [InlineData("ns2", "svc1", true, false, 1L)] // different namespace
    [InlineData("ns1", "svc2", true, false, 1L)] // different service
    public void DeleteService_ForgetsOnlyThatService(string ns, string service, bool expectHas, bool expectShouldSync, long? expectGeneration)
    {
        var slice = Slice();
        slice.Metadata!.Uid = null;
        var tracker = new EndpointSliceTracker();
        tracker.Update(slice);

        tracker.DeleteService(ns, service);

        Assert.Equal(expectHas, tracker.Has(slice));
        Assert.Equal(expectShouldSync, tracker.ShouldSync(slice));
        Assert.Equal(expectGeneration, tracker.TrackedGeneration(slice));
    }

    // The reconciler tracks what it writes: created and updated slices at their new generation, deleted ones as
    // expected deletions, so the controller can ignore the informer events its own writes cause.
    [Fact]
    public async Task Reconciler_TracksItsOwnWrites()
    {
        var writer = new RecordingEndpointSliceWriter();
        var tracker = new EndpointSliceTracker();
        var reconciler = new EndpointSliceReconciler(writer, tracker, EndpointSliceRules.ControllerName);
        var (svc, _) = ReconcilerHarness.NewServiceAndPorts();
        await reconciler.ReconcileHelperAsync(svc, ReconcilerHarness.NewPods(150), []);
        var created = writer.List();
        Assert.All(created, s => Assert.False(tracker.ShouldSync(s)));
        Assert.False(tracker.StaleSlices(svc, created));
        Assert.True(tracker.StaleSlices(svc, created.Take(1).ToList()));

        await reconciler.ReconcileHelperAsync(svc, ReconcilerHarness.NewPods(20), created);

        // 20 endpoints: the 100-slice loses 80 (updated to generation 2), the 50-slice loses all (deleted).
        var kept = Assert.Single(writer.List());
        Assert.Equal(2, tracker.TrackedGeneration(kept));
        var deleted = created.Single(s => s.Metadata!.Name != kept.Metadata!.Name);
        Assert.Equal(-1, tracker.TrackedGeneration(deleted));
        Assert.True(tracker.StaleSlices(svc, created));
        Assert.True(tracker.HandleDeletion(KubeJson.DeepClone(deleted)));
        Assert.False(tracker.StaleSlices(svc, [kept]));
    }
}
