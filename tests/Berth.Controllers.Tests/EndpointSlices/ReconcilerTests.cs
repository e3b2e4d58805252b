using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.EndpointSlices;
using static Berth.Controllers.Tests.EndpointRules.EndpointObjects;
using static Berth.Controllers.Tests.EndpointSlices.ReconcilerHarness;

namespace Berth.Controllers.Tests.EndpointSlices;

// Upstream staging/src/k8s.io/endpointslice/reconciler_test.go, against a recording writer. The metrics assertions
// become write counts (numCreated/numUpdated/numDeleted are the writes); TestReconcileEndpointSlicesMetrics and
// TestReconcileTopology (the topology cache) are not ported.
public sealed class ReconcilerTests
{
    private const string ControllerName = EndpointSliceRules.ControllerName;
    private const string HeadlessLabel = "service.kubernetes.io/headless";

    // TestReconcileEmpty: even without pods a Service gets a placeholder slice.
    [Fact]
    public async Task Reconcile_NoPods_CreatesOnePlaceholderSlice()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();
        var r = NewReconcilerWithTracker(writer, out var tracker);

        await r.ReconcileHelperAsync(svc, [], []);

        Assert.Equal(["create"], writer.Actions.Select(a => a.Verb));
        var slice = Assert.Single(writer.List());
        Assert.StartsWith("foo", slice.Metadata!.Name, StringComparison.Ordinal);
        Assert.Equal("foo", slice.Metadata.Labels![EndpointSliceRules.ServiceNameLabel]);
        Assert.Empty(slice.Ports!);
        Assert.Empty(slice.Endpoints!);
        Assert.Equal(1, tracker.TrackedGeneration(slice));
    }

    public static TheoryData<string> OnePodCases => new()
    {
        "no-family-service", "ipv4", "ipv4-clusterip", "ipv4-labels", "ipv4-bad-labels", "ipv6", "ipv6-clusterip", "dualstack-service",
    };

    // TestReconcile1Pod: one pod, no slices: one slice per address type of the Service, with the Service's labels
    // (reserved ones excepted), the headless label when it has no cluster IP, and the trigger time.
    [Theory]
    [MemberData(nameof(OnePodCases))]
    public async Task Reconcile_OnePod_OneSlicePerAddressType(string name)
    {
        var (svc, _) = NewServiceAndPorts();
        var spec = svc.Spec!;
        Dictionary<string, string> expectedLabels = new() { [EndpointSliceRules.ManagedByLabel] = ControllerName, [EndpointSliceRules.ServiceNameLabel] = "foo" };
        string[] expectedAddressTypes = ["IPv4"];
        switch (name)
        {
            case "no-family-service":
                spec.ClusterIP = "10.0.0.10";
                spec.IpFamilies = null;
                break;
            case "ipv4":
                expectedLabels[HeadlessLabel] = "";
                break;
            case "ipv4-clusterip":
                spec.ClusterIP = "1.1.1.1";
                break;
            case "ipv4-labels":
                svc.Metadata!.Labels = new() { ["foo"] = "bar" };
                expectedLabels["foo"] = "bar";
                expectedLabels[HeadlessLabel] = "";
                break;
            case "ipv4-bad-labels":
                svc.Metadata!.Labels = new()
                {
                    [EndpointSliceRules.ServiceNameLabel] = "bad", [EndpointSliceRules.ManagedByLabel] = "actor", [HeadlessLabel] = "invalid",
                };
                expectedLabels[HeadlessLabel] = "";
                break;
            case "ipv6":
                spec.IpFamilies = ["IPv6"];
                expectedLabels[HeadlessLabel] = "";
                expectedAddressTypes = ["IPv6"];
                break;
            case "ipv6-clusterip":
                spec.ClusterIP = "1234::5678:0000:0000:9abc:def1";
                spec.IpFamilies = ["IPv6"];
                expectedAddressTypes = ["IPv6"];
                break;
            case "dualstack-service":
                spec.IpFamilies = ["IPv4", "IPv6"];
                spec.ClusterIP = "10.0.0.10";
                spec.ClusterIPs = ["10.0.0.10", "2000::1"];
                expectedAddressTypes = ["IPv4", "IPv6"];
                break;
        }
        var pod1 = NewPod(1, ready: true);
        pod1.Status!.PodIPs = [new PodIP { Ip = "1.2.3.4" }, new PodIP { Ip = "1234::5678:0000:0000:9abc:def0" }];
        pod1.Spec!.Hostname = "example-hostname";
        var node1 = new Node
        {
            Metadata = new ObjectMeta
            {
                Name = "node-1",
                Labels = new() { ["topology.kubernetes.io/zone"] = "us-central1-a", ["topology.kubernetes.io/region"] = "us-central1" },
            },
        };
        var triggerTime = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1_234_500);
        var writer = new RecordingEndpointSliceWriter();
        var r = NewReconcilerWithTracker(writer, out var tracker);

        await r.ReconcileHelperAsync(svc, [pod1], [], triggerTime, node1);

        Assert.Equal(expectedAddressTypes.Length, writer.Actions.Count);
        var slices = writer.List();
        Assert.Equal(expectedAddressTypes.Order(), slices.Select(s => s.AddressType!).Order());
        foreach (var slice in slices)
        {
            Assert.StartsWith("foo", slice.Metadata!.Name, StringComparison.Ordinal);
            Assert.Equal(expectedLabels, slice.Metadata.Labels);
            Assert.Equal("2024-05-06T07:08:09.12345Z", slice.Metadata.Annotations!["endpoints.kubernetes.io/last-change-trigger-time"]);
            var endpoint = Assert.Single(slice.Endpoints!);
            var expected = new Endpoint
            {
                Addresses = [slice.AddressType == "IPv6" ? "1234::5678:0:0:9abc:def0" : "1.2.3.4"],
                Conditions = new EndpointConditions { Ready = true, Serving = true, Terminating = false },
                Zone = "us-central1-a",
                NodeName = "node-1",
                TargetRef = new ObjectReference { Kind = "Pod", Namespace = TestNamespace, Name = "pod1" },
            };
            Assert.Equal(Json(expected), Json(endpoint));
            Assert.Equal(1, tracker.TrackedGeneration(slice));
        }
    }

    public static TheoryData<string, string[]> OneEndpointSliceCases => new()
    {
        { "No existing placeholder", ["create"] },
        { "Existing placeholder that's the same", [] },
        { "Existing placeholder that's different", ["update"] },
    };

    // TestReconcile1EndpointSlice: no pods and an existing placeholder that is already right: nothing is written.
    [Theory]
    [MemberData(nameof(OneEndpointSliceCases))]
    public async Task Reconcile_NoPods_KeepsOnlyARightPlaceholder(string desc, string[] wantWrites)
    {
        var (svc, ports) = NewServiceAndPorts();
        var writer = new RecordingEndpointSliceWriter();
        List<EndpointSlice> existing = [];
        switch (desc)
        {
            case "Existing placeholder that's the same":
                existing.Add(await writer.CreateAsync(EndpointSliceRules.NewEndpointSlice(svc, [], "IPv4", ControllerName), CancellationToken.None));
                break;
            case "Existing placeholder that's different":
                var emptySlice = NewEmptyEndpointSlice(1, svc, ports);
                emptySlice.Metadata!.Labels = new() { ["bar"] = "baz" };
                writer.Seed([emptySlice]);
                existing.Add(emptySlice);
                break;
        }
        var before = writer.Actions.Count;
        var r = NewReconcilerWithTracker(writer, out var tracker);

        await r.ReconcileHelperAsync(svc, [], existing);

        Assert.Equal(wantWrites, writer.Actions.Skip(before).Select(a => a.Verb));
        var slice = Assert.Single(writer.List());
        Assert.StartsWith("foo", slice.Metadata!.Name, StringComparison.Ordinal);
        Assert.Equal("foo", slice.Metadata.Labels![EndpointSliceRules.ServiceNameLabel]);
        Assert.Empty(slice.Ports!);
        Assert.Empty(slice.Endpoints!);
        if (existing.Count == 0)
        {
            Assert.Equal(1, tracker.TrackedGeneration(slice));
        }
    }

    public static TheoryData<string, EndpointSlice?, EndpointSlice?, bool> PlaceholderCompareCases => new()
    {
        { "Both nil", null, null, true },
        { "Y is nil", new EndpointSlice(), null, false },
        { "X is nil", null, new EndpointSlice(), false },
        { "Both are empty and non-nil", new EndpointSlice(), new EndpointSlice(), true },
        { "Only ObjectMeta.Name has diff", new EndpointSlice { Metadata = new ObjectMeta { Name = "foo" } }, new EndpointSlice { Metadata = new ObjectMeta { Name = "bar" } }, true },
        {
            "Only ObjectMeta.Labels has diff",
            new EndpointSlice { Metadata = new ObjectMeta { Labels = new() { ["foo"] = "true" } } },
            new EndpointSlice { Metadata = new ObjectMeta { Labels = new() { ["bar"] = "true" } } },
            false
        },
        {
            "Creation time is different",
            new EndpointSlice { Metadata = new ObjectMeta { CreationTimestamp = DateTimeOffset.FromUnixTimeSeconds(1) } },
            new EndpointSlice { Metadata = new ObjectMeta { CreationTimestamp = DateTimeOffset.FromUnixTimeSeconds(2) } },
            true
        },
        { "Different except for ObjectMeta", new EndpointSlice { AddressType = "IPv4" }, new EndpointSlice { AddressType = "IPv6" }, false },
    };

    // TestPlaceHolderSliceCompare.
    [Theory]
    [MemberData(nameof(PlaceholderCompareCases))]
    public void PlaceholderSliceEqual_ComparesOnlyNamespaceAndLabelsOfMetadata(string desc, EndpointSlice? x, EndpointSlice? y, bool want)
    {
        Assert.True(want == EndpointSliceReconciler.PlaceholderSliceEqual(x, y), desc);
    }

    // TestReconcile1EndpointSlicePublishNotReadyAddresses: every endpoint is ready when the Service publishes not-ready addresses.
    [Fact]
    public async Task Reconcile_PublishNotReadyAddresses_AllEndpointsReady()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();
        svc.Spec!.PublishNotReadyAddresses = true;

        await NewReconciler(writer).ReconcileHelperAsync(svc, NewPods(50), []);

        Assert.Equal(["create"], writer.Actions.Select(a => a.Verb));
        var slices = writer.List();
        Assert.All(slices.SelectMany(s => s.Endpoints!), e => Assert.True(e.Conditions!.Ready));
        AssertSliceLengths(slices, 50);
    }

    // TestReconcileManyPods: 250 pods, no slices: 3 creates, two of them full.
    [Fact]
    public async Task Reconcile_250Pods_ThreeCreates_100_100_50()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();

        await NewReconciler(writer).ReconcileHelperAsync(svc, NewPods(250), []);

        Assert.Equal(["create", "create", "create"], writer.Actions.Select(a => a.Verb));
        AssertSliceLengths(writer.List(), 100, 100, 50);
    }

    // TestReconcileEndpointSlicesSomePreexisting: slices of 62 and 61, 127 to add: a full new slice, and the 27 left
    // go into the slice they fill closest to full (1 create + 1 update instead of 1 create + 2 updates).
    [Fact]
    public async Task Reconcile_SomePreexisting_CreatesFullSliceThenTopsUpFullestSlice()
    {
        var (svc, ports) = NewServiceAndPorts();
        var pods = NewPods(250);
        var existing = InterleavedSlices(svc, ports, pods);
        var cache = Snapshot(existing);
        var writer = new RecordingEndpointSliceWriter();
        writer.Seed(existing);

        await NewReconciler(writer).ReconcileHelperAsync(svc, pods, existing);

        Assert.Equal(["create", "update"], writer.Actions.Select(a => a.Verb));
        Assert.Equal("foo-1", writer.Actions[1].Name);
        AssertSliceLengths(writer.List(), 89, 61, 100);
        Assert.Equal(cache, Snapshot(existing));
    }

    // TestReconcileEndpointSlicesSomePreexistingWorseAllocation: 74 + 74 existing, 152 to add: the 52 left would fit
    // split over both, but one create is fewer writes than two updates.
    [Fact]
    public async Task Reconcile_SomePreexistingWorseAllocation_TwoCreates()
    {
        var (svc, ports) = NewServiceAndPorts();
        var pods = NewPods(300);
        var existing = InterleavedSlices(svc, ports, pods);
        var cache = Snapshot(existing);
        var writer = new RecordingEndpointSliceWriter();
        writer.Seed(existing);

        await NewReconciler(writer).ReconcileHelperAsync(svc, pods, existing);

        Assert.Equal(["create", "create"], writer.Actions.Select(a => a.Verb));
        AssertSliceLengths(writer.List(), 74, 74, 100, 52);
        Assert.Equal(cache, Snapshot(existing));
    }

    // TestReconcileEndpointSlicesUpdating: a port change touches every slice: updates, not creates + deletes.
    [Fact]
    public async Task Reconcile_ServicePortChanged_UpdatesEverySliceInPlace()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();
        var pods = NewPods(250);
        var r = NewReconciler(writer);
        await r.ReconcileHelperAsync(svc, pods, []);
        Assert.Equal(3, writer.Actions.Count);
        var slices = writer.List();
        AssertSliceLengths(slices, 100, 100, 50);

        svc.Spec!.Ports![0].TargetPort = 81;
        await r.ReconcileHelperAsync(svc, pods, slices);

        Assert.Equal(["update", "update", "update"], writer.Actions.Skip(3).Select(a => a.Verb));
        var updated = writer.List();
        AssertSliceLengths(updated, 100, 100, 50);
        Assert.Equal(slices.Select(s => s.Metadata!.Name), updated.Select(s => s.Metadata!.Name));
        Assert.All(updated, s => Assert.Equal(81, Assert.Single(s.Ports!).Port));
    }

    // TestReconcileEndpointSlicesServicesLabelsUpdating: new Service labels reach every slice by update.
    [Fact]
    public async Task Reconcile_ServiceLabelsChanged_UpdatesEverySlice()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();
        var pods = NewPods(250);
        var r = NewReconciler(writer);
        await r.ReconcileHelperAsync(svc, pods, []);
        var slices = writer.List();

        svc.Metadata!.Labels = new() { ["foo"] = "bar" };
        await r.ReconcileHelperAsync(svc, pods, slices);

        Assert.Equal(["update", "update", "update"], writer.Actions.Skip(3).Select(a => a.Verb));
        var updated = writer.List();
        AssertSliceLengths(updated, 100, 100, 50);
        Assert.All(updated, s => Assert.Equal("bar", s.Metadata!.Labels!["foo"]));
    }

    // TestReconcileEndpointSlicesServicesReservedLabels: reserved labels on the Service change nothing.
    [Fact]
    public async Task Reconcile_ServiceReservedLabels_NoWrites()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();
        var pods = NewPods(250);
        var r = NewReconciler(writer);
        await r.ReconcileHelperAsync(svc, pods, []);
        var slices = writer.List();

        svc.Metadata!.Labels = new()
        {
            [EndpointSliceRules.ServiceNameLabel] = "bad", [EndpointSliceRules.ManagedByLabel] = "actor", [HeadlessLabel] = "invalid",
        };
        await r.ReconcileHelperAsync(svc, pods, slices);

        Assert.Equal(3, writer.Actions.Count);
        AssertSliceLengths(writer.List(), 100, 100, 50);
    }

    // TestReconcileEndpointSlicesRecycling: 10 slices of 30 are left alone (no repacking for its own sake); once a
    // port change rewrites them all, they are repacked into 3 full slices: 3 updates (recycled) + 7 deletes.
    [Fact]
    public async Task Reconcile_PortChangeOverTenSparseSlices_RepacksIntoThreeByRecycling()
    {
        var (svc, ports) = NewServiceAndPorts();
        var pods = NewPods(300);
        List<EndpointSlice> existing = [];
        for (var i = 0; i < pods.Count; i++)
        {
            if (i % 30 == 0)
            {
                existing.Add(NewEmptyEndpointSlice(i / 30, svc, ports));
            }
            existing[i / 30].Endpoints!.Add(ToEndpoint(pods[i], svc));
        }
        var cache = Snapshot(existing);
        var writer = new RecordingEndpointSliceWriter();
        writer.Seed(existing);
        var r = NewReconciler(writer);

        await r.ReconcileHelperAsync(svc, pods, existing);
        Assert.Empty(writer.Actions);

        svc.Spec!.Ports![0].TargetPort = 81;
        await r.ReconcileHelperAsync(svc, pods, existing);

        Assert.Equal(10, writer.Actions.Count);
        Assert.Equal((0, 3, 7), (writer.Count("create"), writer.Count("update"), writer.Count("delete")));
        AssertSliceLengths(writer.List(), 100, 100, 100);
        Assert.Equal(cache, Snapshot(existing));
    }

    // TestReconcileEndpointSlicesUpdatePacking: new endpoints go to the fullest slice among those already being updated.
    [Fact]
    public async Task Reconcile_NewEndpointsWhileSlicesUpdate_FillFullerSlice()
    {
        var (svc, ports) = NewServiceAndPorts();
        List<Pod> pods = [];
        var slice1 = NewEmptyEndpointSlice(1, svc, ports);
        for (var i = 0; i < 80; i++)
        {
            var pod = NewPod(i, ready: true);
            slice1.Endpoints!.Add(ToEndpoint(pod, svc));
            pods.Add(pod);
        }
        var slice2 = NewEmptyEndpointSlice(2, svc, ports);
        for (var i = 100; i < 120; i++)
        {
            var pod = NewPod(i, ready: true);
            slice2.Endpoints!.Add(ToEndpoint(pod, svc));
            pods.Add(pod);
        }
        List<EndpointSlice> existing = [slice1, slice2];
        var cache = Snapshot(existing);
        var writer = new RecordingEndpointSliceWriter();
        writer.Seed(existing);
        // Endpoints in both slices change, so both are updated.
        for (var i = 0; i < pods.Count; i += 10)
        {
            pods[i].Status!.Conditions = [new PodCondition { Type = "Ready", Status = "False" }];
        }
        for (var i = 200; i < 215; i++)
        {
            pods.Add(NewPod(i, ready: true));
        }

        await NewReconciler(writer).ReconcileHelperAsync(svc, pods, existing);

        Assert.Equal(["update", "update"], writer.Actions.Select(a => a.Verb));
        AssertSliceLengths(writer.List(), 95, 20);
        Assert.Equal(95, writer.List().Single(s => s.Metadata!.Name == "foo-1").Endpoints!.Count);
        Assert.Equal(cache, Snapshot(existing));
    }

    // TestReconcileEndpointSlicesReplaceDeprecated: slices of the deprecated "IP" address type are replaced by IPv4
    // ones (deleted, not updated: the address type is immutable), perfectly packed.
    [Fact]
    public async Task Reconcile_DeprecatedIPAddressType_ReplacedByIPv4Slices()
    {
        var (svc, ports) = NewServiceAndPorts();
        var bare = new Service { Spec = new ServiceSpec() };
        List<Pod> pods = [];
        var slice1 = NewEmptyEndpointSlice(1, svc, ports);
        slice1.AddressType = "IP";
        for (var i = 0; i < 80; i++)
        {
            var pod = NewPod(i, ready: true);
            slice1.Endpoints!.Add(EndpointSliceRules.PodToEndpoint(pod, new Node(), bare, "IPv4"));
            pods.Add(pod);
        }
        var slice2 = NewEmptyEndpointSlice(2, svc, ports);
        slice2.AddressType = "IP";
        for (var i = 100; i < 150; i++)
        {
            var pod = NewPod(i, ready: true);
            slice2.Endpoints!.Add(EndpointSliceRules.PodToEndpoint(pod, new Node(), bare, "IPv4"));
            pods.Add(pod);
        }
        List<EndpointSlice> existing = [slice1, slice2];
        var cache = Snapshot(existing);
        var writer = new RecordingEndpointSliceWriter();
        writer.Seed(existing);

        await NewReconciler(writer).ReconcileHelperAsync(svc, pods, existing);

        Assert.Equal(["create", "create", "delete", "delete"], writer.Actions.Select(a => a.Verb));
        var slices = writer.List();
        AssertSliceLengths(slices, 100, 30);
        Assert.All(slices, s => Assert.Equal("IPv4", s.AddressType));
        Assert.Equal(cache, Snapshot(existing));
    }

    // TestReconcileEndpointSlicesRecreation: a slice owned by an earlier Service of the same name (another UID) is
    // replaced, never reused.
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Reconcile_SliceOwnedByOtherServiceUid_CreateThenDelete(bool ownedByService, bool expectChanges)
    {
        var (svc, ports) = NewServiceAndPorts();
        var slice = NewEmptyEndpointSlice(1, svc, ports);
        var pod = NewPod(1, ready: true);
        slice.Endpoints!.Add(EndpointSliceRules.PodToEndpoint(pod, new Node(), new Service { Spec = new ServiceSpec() }, "IPv4"));
        if (!ownedByService)
        {
            slice.Metadata!.OwnerReferences![0].Uid = "different";
        }
        List<EndpointSlice> existing = [slice];
        var cache = Snapshot(existing);
        var writer = new RecordingEndpointSliceWriter();
        writer.Seed(existing);

        await NewReconciler(writer).ReconcileHelperAsync(svc, [pod], existing);

        if (expectChanges)
        {
            Assert.Equal(["create", "delete"], writer.Actions.Select(a => a.Verb));
            Assert.Equal("foo-1", writer.Actions[1].Name);
            Assert.Single(writer.List());
        }
        else
        {
            Assert.Empty(writer.Actions);
        }
        Assert.Equal(cache, Snapshot(existing));
    }

    // TestReconcileEndpointSlicesNamedPorts: a named targetPort resolving to 5 different numbers gives 5 slices.
    [Fact]
    public async Task Reconcile_NamedPortWithFiveNumbers_OneSlicePerPortSet()
    {
        var svc = new Service
        {
            Metadata = new ObjectMeta { Name = "named-port-example", Namespace = TestNamespace },
            Spec = new ServiceSpec
            {
                Ports = [new ServicePort { TargetPort = "http", Protocol = "TCP" }],
                Selector = new() { ["foo"] = "bar" },
                IpFamilies = ["IPv4"],
            },
        };
        List<Pod> pods = [];
        for (var i = 0; i < 300; i++)
        {
            var pod = NewPod(i, ready: i % 3 != 0);
            pod.Spec!.Containers![0].Ports = [new ContainerPort { Name = "http", ContainerPortNumber = 8080 + (i % 5), Protocol = "TCP" }];
            pods.Add(pod);
        }
        var writer = new RecordingEndpointSliceWriter();

        await NewReconciler(writer).ReconcileHelperAsync(svc, pods, []);

        Assert.Equal(Enumerable.Repeat("create", 5), writer.Actions.Select(a => a.Verb));
        var slices = writer.List();
        AssertSliceLengths(slices, 60, 60, 60, 60, 60);
        Assert.Equal(
            Enumerable.Range(0, 5).Select(i => ((string?)"", (string?)"TCP", 8080 + i, (string?)"IPv4")),
            slices.Select(s => Assert.Single(s.Ports!)).Zip(slices).Select(p => (p.First.Name, p.First.Protocol, p.First.Port ?? 0, p.Second.AddressType))
                .OrderBy(p => p.Item3));
    }

    // TestReconcileMaxEndpointsPerSlice.
    [Theory]
    [InlineData(50, new[] { 50, 50, 50, 50, 50 })]
    [InlineData(80, new[] { 80, 80, 80, 10 })]
    [InlineData(150, new[] { 150, 100 })]
    [InlineData(250, new[] { 250 })]
    [InlineData(500, new[] { 250 })]
    public async Task Reconcile_MaxEndpointsPerSlice_BoundsEverySlice(int maxEndpointsPerSlice, int[] expectedLengths)
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();

        await NewReconciler(writer, maxEndpointsPerSlice).ReconcileHelperAsync(svc, NewPods(250), []);

        AssertSliceLengths(writer.List(), expectedLengths);
        Assert.Equal(expectedLengths.Length, writer.Count("create"));
    }

    public static TheoryData<string, bool, bool, bool, bool, bool, bool, bool> FinalizeCases => new()
    {
        { "Attempt create and update, nil deletion timestamp", false, true, true, false, true, true, true },
        { "Attempt create and update, deletion timestamp set", true, true, true, false, false, true, true },
        // The slice to create becomes an update of the slice to delete.
        { "Attempt create, update, and delete, nil deletion timestamp, recycling in action", false, true, true, true, false, true, true },
        { "Attempt create, update, and delete, deletion timestamp set, recycling in action", true, true, true, true, false, true, true },
        // Updates and deletes go through while the Service is being deleted.
        { "Attempt update delete, deletion timestamp set", true, false, true, true, false, true, false },
    };

    // TestReconcilerFinalizeSvcDeletionTimestamp: a Service being deleted gets no new slices; updates and deletes proceed.
    [Theory]
    [MemberData(nameof(FinalizeCases))]
    public async Task Finalize_ServiceBeingDeleted_NoCreatesButUpdatesAndDeletes(string name, bool deleting, bool attemptCreate,
        bool attemptUpdate, bool attemptDelete, bool expectCreated, bool expectUpdated, bool expectDeleted)
    {
        var writer = new RecordingEndpointSliceWriter();
        var r = NewReconciler(writer);
        var (svc, ports) = NewServiceAndPorts();
        svc.Metadata!.DeletionTimestamp = deleting ? DateTimeOffset.UtcNow : null;
        EndpointSlice Named(string n)
        {
            var slice = NewEmptyEndpointSlice(0, svc, ports);
            slice.Metadata!.Name = n;
            slice.Endpoints = null;
            return slice;
        }
        var toUpdate = await writer.CreateAsync(Named("to-update"), CancellationToken.None);
        // An endpoint, to see that the update was written.
        toUpdate.Endpoints = [new Endpoint { Addresses = ["10.2.3.4"] }];
        var toDelete = await writer.CreateAsync(Named("to-delete"), CancellationToken.None);

        await r.FinalizeAsync(svc,
            attemptCreate ? [Named("to-create")] : [],
            attemptUpdate ? [KubeJson.DeepClone(toUpdate)] : [],
            attemptDelete ? [KubeJson.DeepClone(toDelete)] : [],
            DateTimeOffset.UtcNow, CancellationToken.None);

        var names = writer.List().ToDictionary(s => s.Metadata!.Name!);
        Assert.True(expectCreated == names.ContainsKey("to-create"), name);
        Assert.True(expectUpdated == names.ContainsKey("to-update"), name);
        Assert.True(expectDeleted == names.ContainsKey("to-delete"), name);
        if (attemptUpdate)
        {
            Assert.Single(names["to-update"].Endpoints!);
        }
    }

    public static TheoryData<string, bool, string[], bool, string?, int[], (int, int, int)> PodMissingNodeCases => new()
    {
        { "Create and publishNotReady false", false, ["node-0"], false, "skipping Pod pod1 for Service test/foo: Node node-1 Not Found", [1], (1, 0, 0) },
        { "Create and publishNotReady true", true, ["node-0"], false, null, [2], (1, 0, 0) },
        { "Update and publishNotReady false", false, ["node-0"], true, "skipping Pod pod1 for Service test/foo: Node node-1 Not Found", [1], (0, 1, 0) },
        { "Update and publishNotReady true and all nodes missing", true, [], true, null, [2], (0, 0, 0) },
        { "Update and publishNotReady true", true, ["node-0"], true, null, [2], (0, 0, 0) },
        // The slice is emptied (updated), not deleted.
        {
            "Update if publishNotReady false and no nodes are present", false, [], true,
            "[skipping Pod pod0 for Service test/foo: Node node-0 Not Found, skipping Pod pod1 for Service test/foo: Node node-1 Not Found]",
            [0], (0, 1, 0)
        },
    };

    // TestReconcilerPodMissingNode: a pod on an unknown node is left out and the sync fails (to be retried), but the
    // other writes go through; publishNotReadyAddresses publishes it anyway.
    [Theory]
    [MemberData(nameof(PodMissingNodeCases))]
    public async Task Reconcile_PodOnMissingNode_SkippedWithErrorUnlessPublishNotReady(string name, bool publishNotReady,
        string[] existingNodes, bool existingSlice, string? expectedError, int[] expectedLengths, (int Created, int Updated, int Deleted) writes)
    {
        Node[] nodes = [new() { Metadata = new ObjectMeta { Name = "node-0" } }, new() { Metadata = new ObjectMeta { Name = "node-1" } }];
        var pods = new[] { NewPod(0, ready: true), NewPod(1, ready: true) };
        pods[0].Spec!.NodeName = "node-0";
        pods[1].Spec!.NodeName = "node-1";
        var (svc, ports) = NewServiceAndPorts();
        svc.Spec!.PublishNotReadyAddresses = publishNotReady;
        var writer = new RecordingEndpointSliceWriter();
        List<EndpointSlice> existing = [];
        if (existingSlice)
        {
            var (plain, _) = NewServiceAndPorts();
            var slice = NewEmptyEndpointSlice(1, svc, ports);
            slice.Endpoints!.Add(EndpointSliceRules.PodToEndpoint(pods[0], nodes[0], plain, "IPv4"));
            slice.Endpoints.Add(EndpointSliceRules.PodToEndpoint(pods[1], nodes[1], plain, "IPv4"));
            writer.Seed([slice]);
            existing.Add(slice);
        }
        var known = nodes.Where(n => existingNodes.Contains(n.Metadata!.Name)).ToArray();

        var error = await Record.ExceptionAsync(() =>
            NewReconciler(writer).ReconcileAsync(svc, pods, existing, Nodes(known), DateTimeOffset.UtcNow, CancellationToken.None));

        Assert.Equal(expectedError, error?.Message);
        AssertSliceLengths(writer.List(), expectedLengths);
        Assert.True(writes == (writer.Count("create"), writer.Count("update"), writer.Count("delete")), name);
    }

    // A write that fails stops the plan with upstream's message; the sync fails and is retried.
    [Fact]
    public async Task Reconcile_CreateFails_ErrorNamesServiceAndCause()
    {
        var writer = new RecordingEndpointSliceWriter { Fail = (verb, _) => verb == "create" ? new InvalidOperationException("boom") : null };
        var (svc, _) = NewServiceAndPorts();

        var error = await Record.ExceptionAsync(() => NewReconciler(writer).ReconcileHelperAsync(svc, NewPods(3), []));

        Assert.Equal("failed to create EndpointSlice for Service test/foo: boom", error?.Message);
    }

    // finalize: while the namespace terminates creates keep failing; the rest of the work is dropped, without an error.
    [Fact]
    public async Task Reconcile_NamespaceTerminating_DropsWorkWithoutError()
    {
        var terminating = new KubeApiException(403, new Status
        {
            Reason = "Forbidden",
            Details = new StatusDetails { Causes = [new StatusCause { Reason = "NamespaceTerminating" }] },
        });
        var writer = new RecordingEndpointSliceWriter { Fail = (verb, _) => verb == "create" ? terminating : null };
        var (svc, ports) = NewServiceAndPorts();
        var orphan = NewEmptyEndpointSlice(1, svc, ports);
        orphan.Metadata!.OwnerReferences![0].Uid = "different";
        writer.Seed([orphan]);

        await NewReconciler(writer).ReconcileHelperAsync(svc, NewPods(3), [orphan]);

        Assert.Equal(["create"], writer.Actions.Select(a => a.Verb));
        Assert.Single(writer.List());
    }

    // deleteEndpointSlice: a slice already gone is no error, and no deletion is awaited for it.
    [Fact]
    public async Task Reconcile_SliceToDeleteAlreadyGone_NoErrorNotTracked()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, ports) = NewServiceAndPorts();
        var gone = NewEmptyEndpointSlice(1, svc, ports);
        gone.AddressType = "IP";
        gone.Metadata!.Labels = new() { [EndpointSliceRules.ServiceNameLabel] = "foo" };
        gone.Metadata.Uid = "gone";
        var r = NewReconcilerWithTracker(writer, out var tracker);

        await r.ReconcileHelperAsync(svc, [], [gone]);

        Assert.Equal(["create", "delete"], writer.Actions.Select(a => a.Verb));
        Assert.Null(tracker.TrackedGeneration(gone));
    }

    // addTriggerTimeAnnotation: without a trigger time, a stale annotation is removed from the slices written.
    [Fact]
    public async Task Reconcile_NoTriggerTime_RemovesAnnotationFromWrittenSlices()
    {
        var writer = new RecordingEndpointSliceWriter();
        var (svc, _) = NewServiceAndPorts();
        var r = NewReconciler(writer);
        await r.ReconcileHelperAsync(svc, NewPods(3), [], DateTimeOffset.UnixEpoch.AddSeconds(1));
        var slices = writer.List();
        Assert.Equal("1970-01-01T00:00:01Z", slices[0].Metadata!.Annotations!["endpoints.kubernetes.io/last-change-trigger-time"]);

        await r.ReconcileAsync(svc, NewPods(4), slices, Nodes(Node1), triggerTime: null, CancellationToken.None);

        Assert.Equal(["create", "update"], writer.Actions.Select(a => a.Verb));
        Assert.False(writer.List()[0].Metadata!.Annotations?.ContainsKey("endpoints.kubernetes.io/last-change-trigger-time") ?? false);
    }

    public static TheoryData<string, string?, string, Dictionary<string, int>> TrafficDistributionCases => new()
    {
        { "trafficDistribution=PreferClose, topologyAnnotation=Disabled", "PreferClose", "Disabled", new() { ["zone-a"] = 1, ["zone-b"] = 3, ["zone-c"] = 2 } },
        { "trafficDistribution=nil, topologyAnnotation=<empty>", null, "", new() { [""] = 6 } },
        // Upstream gives this Service to the topology cache (Auto wins over trafficDistribution); Berth has none, and
        // then upstream removes hints.
        { "trafficDistribution=PreferClose, topologyAnnotation=Auto, no topology cache", "PreferClose", "Auto", new() { [""] = 6 } },
    };

    // TestReconcile_TrafficDistribution (the feature gate case is not ported: trafficDistribution is always on).
    [Theory]
    [MemberData(nameof(TrafficDistributionCases))]
    public async Task Reconcile_TrafficDistribution_ZoneHintsOnlyForPreferClose(string name, string? trafficDistribution, string annotation,
        Dictionary<string, int> wantHintsByZone)
    {
        // node-i in zone-(a+i); pod-0 on node-0, pods 1-3 on node-1, pods 4-5 on node-2.
        var nodes = Enumerable.Range(0, 3).Select(i => new Node
        {
            Metadata = new ObjectMeta { Name = $"node-{i}", Labels = new() { ["topology.kubernetes.io/zone"] = $"zone-{(char)('a' + i)}" } },
        }).ToArray();
        var pods = Enumerable.Range(0, 6).Select(i => NewPod(i, ready: true, ns: "ns1")).ToList();
        int[] nodeOfPod = [0, 1, 1, 1, 2, 2];
        for (var i = 0; i < 6; i++)
        {
            pods[i].Spec!.NodeName = $"node-{nodeOfPod[i]}";
        }
        var (svc, _) = NewServiceAndPorts();
        svc.Metadata!.Namespace = "ns1";
        svc.Spec!.TrafficDistribution = trafficDistribution;
        svc.Metadata.Annotations = new() { ["service.kubernetes.io/topology-aware-hints"] = annotation };
        var writer = new RecordingEndpointSliceWriter();

        await NewReconciler(writer).ReconcileHelperAsync(svc, pods, [], null, nodes);

        var endpoints = writer.List().SelectMany(s => s.Endpoints!).ToList();
        var gotHintsByZone = endpoints.GroupBy(e => e.Hints?.ForZones is [{ } zone] ? zone.Name! : "").ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(wantHintsByZone, gotHintsByZone);
        Assert.True(endpoints.All(e => e.Hints?.ForZones is not [{ } z] || z.Name == e.Zone), name);
        Assert.Equal(["create"], writer.Actions.Select(a => a.Verb));
    }

    private static EndpointSliceReconciler NewReconcilerWithTracker(RecordingEndpointSliceWriter writer, out EndpointSliceTracker tracker)
    {
        tracker = new EndpointSliceTracker();
        return new EndpointSliceReconciler(writer, tracker, ControllerName);
    }

    // The preexisting slices of upstream's SomePreexisting tests: foo-1 holds every fourth pod from pod1, foo-2 every
    // fourth from pod3, both stopping short of the last four.
    private static List<EndpointSlice> InterleavedSlices(Service svc, List<EndpointSlicePort> ports, List<Pod> pods)
    {
        List<EndpointSlice> slices = [NewEmptyEndpointSlice(1, svc, ports), NewEmptyEndpointSlice(2, svc, ports)];
        for (var i = 1; i < pods.Count - 4; i += 2)
        {
            slices[i % 4 == 1 ? 0 : 1].Endpoints!.Add(ToEndpoint(pods[i], svc));
        }
        return slices;
    }
}
