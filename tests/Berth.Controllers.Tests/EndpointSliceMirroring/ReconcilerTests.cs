using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.EndpointSliceMirroring;
using Berth.Controllers.EndpointSlices;
using static Berth.Controllers.Tests.EndpointSliceMirroring.MirroringHarness;

namespace Berth.Controllers.Tests.EndpointSliceMirroring;

// Ported from kubernetes pkg/controller/endpointslicemirroring/reconciler_test.go (TestReconcile), against the real
// API server: upstream counts the fake clientset's actions and reads its metrics; here a counting writer around the
// real one counts creates, updates and deletes (upstream's numCreated/numUpdated/numDeleted) and the plan gives the
// skipped addresses (addressesSkippedPerSync). The metrics of endpoints added/updated/removed per sync are not kept.
public sealed class ReconcilerTests(MirroringApiFixture fixture) : IClassFixture<MirroringApiFixture>
{
    private const int DefaultMaxEndpointsPerSubset = 1000;
    private const string OwnerUid = "d8f2c1f6-5285-4b3c-b3c1-9b89f9e7ed7a";

    public sealed record Case(
        EndpointSubset[] Subsets,
        int ExpectedNumSlices,
        int ExpectedClientActions,
        (int Created, int Updated, int Deleted, int Skipped)? ExpectedWrites = null,
        EndpointSlice[]? Existing = null,
        Dictionary<string, string>? EpLabels = null,
        Dictionary<string, string>? EpAnnotations = null,
        string? Uid = null,
        bool DeletionPending = false,
        int MaxEndpointsPerSubset = 0);

    private static EndpointAddress A(string ip, string? hostname = null, string? node = null) => new() { Ip = ip, Hostname = hostname, NodeName = node };

    private static EndpointPort P(string name, int port, string protocol = "TCP") => new() { Name = name, Port = port, Protocol = protocol };

    private static EndpointSubset S(EndpointPort[] ports, EndpointAddress[]? ready = null, EndpointAddress[]? notReady = null) =>
        new() { Ports = [.. ports], Addresses = ready?.ToList(), NotReadyAddresses = notReady?.ToList() };

    private static EndpointSlicePort SP(string name, int port, string protocol) => new() { Name = name, Port = port, Protocol = protocol };

    private static Endpoint E(string[] addresses, string hostname, string? node = null, bool? ready = null) => new()
    {
        Addresses = [.. addresses],
        Hostname = hostname,
        NodeName = node,
        Conditions = ready is null ? null : new EndpointConditions { Ready = ready },
    };

    private static EndpointSlice Slice(EndpointSlicePort[] ports, Endpoint[]? endpoints = null, Dictionary<string, string>? annotations = null,
        string? ownerUid = null) => new()
        {
            Metadata = new ObjectMeta
            {
                Name = "test-ep-1",
                Annotations = annotations,
                OwnerReferences = ownerUid is null ? null : [new OwnerReference { ApiVersion = "v1", Kind = "Endpoints", Name = "test-ep", Uid = ownerUid }],
            },
            AddressType = "IPv4",
            Ports = [.. ports],
            Endpoints = endpoints?.ToList(),
        };

    private static EndpointSubset[] TwoSubsets(EndpointAddress first1, EndpointAddress first2, EndpointAddress second1, EndpointAddress second2, EndpointAddress second3) =>
    [
        S([P("http", 80), P("https", 443, "UDP")], [first1, first2]),
        S([P("http", 3000), P("https", 3001, "UDP")], [second1, second2, second3]),
    ];

    private static EndpointSubset[] TwoSubsetsV4() => TwoSubsets(A("10.0.0.1", "pod-1", "node-1"), A("10.0.0.2", "pod-2", "node-2"),
        A("10.0.1.1", "pod-11", "node-1"), A("10.0.1.2", "pod-12", "node-2"), A("10.0.1.3", "pod-13", "node-3"));

    private static EndpointSubset[] OneAddress() => [S([P("http", 80)], [A("10.0.0.1", "pod-1")])];

    private static readonly EndpointSlicePort[] s_httpHttps = [SP("http", 80, "TCP"), SP("https", 443, "UDP")];

    private const string LastApplied = "kubectl.kubernetes.io/last-applied-configuration";

    public static TheoryData<string, Case> Cases => new()
    {
        { "Endpoints with no subsets", new([], 0, 0, (0, 0, 0, 0)) },
        { "Endpoints with no addresses", new([S([P("http", 80)])], 0, 0, (0, 0, 0, 0)) },
        { "Endpoints with 1 subset, port, and address", new([S([P("http", 80)], [A("10.0.0.1", "pod-1", "node-1")])], 1, 1, (1, 0, 0, 0)) },
        {
            "Endpoints with 2 subset, different port and address",
            new([S([P("http", 80)], [A("10.0.0.1", "pod-1", "node-1")]), S([P("https", 443)], [A("10.0.0.2", "pod-2", "node-1")])], 2, 2, (2, 0, 0, 0))
        },
        {
            "Endpoints with 2 subset, different port and same address",
            new([S([P("http", 80)], [A("10.0.0.1", "pod-1", "node-1")]), S([P("https", 443)], [A("10.0.0.1", "pod-1", "node-1")])], 1, 1, (1, 0, 0, 0))
        },
        {
            "Endpoints with 2 subset, different address and same port",
            new([S([P("http", 80)], [A("10.0.0.1", "pod-1", "node-1")]), S([P("http", 80)], [A("10.0.0.2", "pod-2", "node-1")])], 1, 1, (1, 0, 0, 0))
        },
        {
            "Endpoints with 1 subset, port, and address, pending deletion",
            new([S([P("http", 80)], [A("10.0.0.1", "pod-1", "node-1")])], 0, 0, DeletionPending: true)
        },
        {
            "Endpoints with 1 subset, port, and address and existing slice with same fields",
            new(OneAddress(), 1, 0, Uid: OwnerUid,
                Existing: [Slice([SP("http", 80, "TCP")], [E(["10.0.0.1"], "pod-1", ready: true)], ownerUid: OwnerUid)])
        },
        {
            "Endpoints with 1 subset, port, and address and existing slice with same fields but different OwnerReferences",
            new(OneAddress(), 1, 1, Uid: OwnerUid,
                Existing: [Slice([SP("http", 80, "TCP")], [E(["10.0.0.1"], "pod-1", ready: true)], ownerUid: "fb91e798-1875-4857-b5eb-e2c878157b4d")])
        },
        {
            "Endpoints with 1 subset, port, and address and existing slice with an additional annotation",
            new(OneAddress(), 1, 1, Existing: [Slice([SP("http", 80, "TCP")], [E(["10.0.0.1"], "pod-1", ready: true)], new() { ["foo"] = "bar" })])
        },
        {
            "Endpoints with 1 subset, port, label and address and existing slice with same fields but the label",
            new(OneAddress(), 1, 1, EpLabels: new() { ["foo"] = "bar" },
                Existing: [Slice([SP("http", 80, "TCP")], [E(["10.0.0.1"], "pod-1", ready: true)], new() { ["foo"] = "bar" })])
        },
        {
            "Endpoints with 1 subset, 2 ports, and 2 addresses",
            new([S([P("http", 80), P("https", 443, "UDP")], [A("10.0.0.1", "pod-1", "node-1"), A("10.0.0.2", "pod-2", "node-2")])], 1, 1, (1, 0, 0, 0))
        },
        {
            "Endpoints with 1 subset, 2 ports, and 2 not ready addresses",
            new([S([P("http", 80), P("https", 443, "UDP")], notReady: [A("10.0.0.1", "pod-1", "node-1"), A("10.0.0.2", "pod-2", "node-2")])], 1, 1, (1, 0, 0, 0))
        },
        {
            "Endpoints with 1 subset, 2 ports, and 2 ready and 2 not ready addresses",
            new([S([P("http", 80), P("https", 443, "UDP")], [A("10.1.1.1", "pod-11", "node-1"), A("10.1.1.2", "pod-12", "node-2")],
                [A("10.0.0.1", "pod-1", "node-1"), A("10.0.0.2", "pod-2", "node-2")])], 1, 1, (1, 0, 0, 0))
        },
        { "Endpoints with 2 subsets, multiple ports and addresses", new(TwoSubsetsV4(), 2, 2, (2, 0, 0, 0)) },
        {
            "Endpoints with 2 subsets, multiple ports and addresses, existing empty EndpointSlice",
            new(TwoSubsetsV4(), 2, 2, (1, 1, 0, 0), Existing: [Slice(s_httpHttps)])
        },
        {
            "Endpoints with 2 subsets, multiple ports and addresses, existing EndpointSlice with some addresses",
            new(TwoSubsetsV4(), 2, 2, (1, 1, 0, 0), Existing: [Slice(s_httpHttps, [E(["10.0.0.2"], "pod-2"), E(["10.0.0.1", "10.0.0.3"], "pod-1")])])
        },
        {
            "Endpoints with 2 subsets, multiple ports and addresses, existing EndpointSlice identical to subset",
            new(TwoSubsetsV4(), 2, 1, (1, 0, 0, 0),
                Existing: [Slice(s_httpHttps, [E(["10.0.0.1"], "pod-1", "node-1", true), E(["10.0.0.2"], "pod-2", "node-2", true)])])
        },
        {
            "Endpoints with 2 subsets, multiple ports, and dual stack addresses",
            new(TwoSubsets(A("2001:db8:2222:3333:4444:5555:6666:7777", "pod-1", "node-1"), A("10.0.0.2", "pod-2", "node-2"),
                A("10.0.1.1", "pod-11", "node-1"), A("10.0.1.2", "pod-12", "node-2"), A("2001:db8:3333:4444:5555:6666:7777:8888", "pod-13", "node-3")),
                4, 4, (4, 0, 0, 0))
        },
        {
            "Endpoints with 2 subsets, multiple ports, ipv6 only addresses",
            new(TwoSubsets(A("2001:db8:1111:3333:4444:5555:6666:7777", "pod-1", "node-1"), A("2001:db8:2222:3333:4444:5555:6666:7777", "pod-2", "node-2"),
                A("2001:db8:3333:3333:4444:5555:6666:7777", "pod-11", "node-1"), A("2001:db8:4444:3333:4444:5555:6666:7777", "pod-12", "node-2"),
                A("2001:db8:5555:3333:4444:5555:6666:7777", "pod-13", "node-3")), 2, 2, (2, 0, 0, 0))
        },
        {
            "Endpoints with 2 subsets, multiple ports, some invalid addresses",
            new(TwoSubsets(A("2001:db8:1111:3333:4444:5555:6666:7777", "pod-1", "node-1"), A("this-is-not-an-ip", "pod-2", "node-2"),
                A("this-is-also-not-an-ip", "pod-11", "node-1"), A("2001:db8:4444:3333:4444:5555:6666:7777", "pod-12", "node-2"),
                A("2001:db8:5555:3333:4444:5555:6666:7777", "pod-13", "node-3")), 2, 2, (2, 0, 0, 2))
        },
        {
            "Endpoints with 2 subsets, multiple ports, all invalid addresses",
            new(TwoSubsets(A("this-is-not-an-ip1", "pod-1", "node-1"), A("this-is-not-an-ip12", "pod-2", "node-2"),
                A("this-is-not-an-ip11", "pod-11", "node-1"), A("this-is-not-an-ip12", "pod-12", "node-2"),
                A("this-is-not-an-ip3", "pod-13", "node-3")), 0, 0, (0, 0, 0, 5))
        },
        { "Endpoints with 2 subsets, 1 exceeding maxEndpointsPerSubset", new(TwoSubsetsV4(), 2, 2, (2, 0, 0, 1), MaxEndpointsPerSubset: 2) },
        {
            "The last-applied-configuration annotation should not get mirrored to created or updated endpoint slices",
            new(OneAddress(), 1, 1, (1, 0, 0, 0), EpAnnotations: new() { [LastApplied] = """{"apiVersion":"v1","kind":"Endpoints","subsets":[]}""" })
        },
        { "The last-applied-configuration annotation shouldn't get added to created endpoint slices", new(OneAddress(), 1, 1, (1, 0, 0, 0)) },
        {
            "The last-applied-configuration shouldn't get mirrored to endpoint slices when it's value is empty",
            new(OneAddress(), 1, 1, (1, 0, 0, 0), EpAnnotations: new() { [LastApplied] = "" })
        },
        {
            "Annotations other than last-applied-configuration should get correctly mirrored",
            new(OneAddress(), 1, 1, (1, 0, 0, 0), EpAnnotations: new() { [LastApplied] = """{"apiVersion":"v1","kind":"Endpoints","subsets":[]}""", ["foo"] = "bar" })
        },
        {
            "Annotation mirroring should remove the last-applied-configuration annotation from existing endpoint slices",
            new(OneAddress(), 1, 1, Existing: [Slice([SP("http", 80, "TCP")], [E(["10.0.0.1"], "pod-1", ready: true)],
                new() { [LastApplied] = """{"apiVersion":"v1","kind":"Endpoints","subsets":[]}""" })])
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Reconcile_Table(string name, Case tc)
    {
        var ns = await fixture.NamespaceAsync();
        var client = fixture.Client;
        var endpoints = new Endpoints
        {
            Metadata = new ObjectMeta
            {
                Name = "test-ep",
                Namespace = ns,
                Labels = tc.EpLabels,
                Annotations = tc.EpAnnotations,
                // The API server refuses an owner reference without a uid; upstream's fake clientset does not care.
                Uid = tc.Uid ?? Guid.NewGuid().ToString(),
                DeletionTimestamp = tc.DeletionPending ? DateTimeOffset.UtcNow : null,
            },
            Subsets = [.. tc.Subsets.Select(KubeJson.DeepClone)],
        };
        var existing = new List<EndpointSlice>();
        foreach (var slice in tc.Existing ?? [])
        {
            var copy = KubeJson.DeepClone(slice);
            copy.Metadata!.Namespace = ns;
            copy.Metadata.Labels = new()
            {
                [EndpointSliceRules.ServiceNameLabel] = "test-ep",
                [EndpointSliceRules.ManagedByLabel] = EndpointSliceRules.MirroringControllerName,
            };
            existing.Add(await client.CreateAsync(copy));
        }
        var max = tc.MaxEndpointsPerSubset == 0 ? DefaultMaxEndpointsPerSubset : tc.MaxEndpointsPerSubset;
        var writer = new CountingWriter(new KubeEndpointSliceWriter(client));
        await using var events = new EventRecorder(client, EndpointSliceMirroringController.ComponentName, host: null);
        var reconciler = new MirroringReconciler(writer, new EndpointSliceTracker(), events, max, _ => { });

        var written = await reconciler.ReconcileAsync(endpoints, existing, CancellationToken.None);

        Assert.True(tc.ExpectedClientActions == writer.Actions, $"{name}: expected {tc.ExpectedClientActions} client actions, got {writer.Actions}");
        Assert.Equal(writer.Actions, written);
        if (tc.ExpectedWrites is { } want)
        {
            var skipped = MirroringPlan.Compute(endpoints, existing, max).AddressesSkipped;
            Assert.Equal(want, (writer.Created, writer.Updated, writer.Deleted, skipped));
        }
        ExpectEndpointSlices(tc.ExpectedNumSlices, max, endpoints, await MirroredAsync(client, ns));
    }

    // Upstream records these on the Endpoints; the fake clientset shows them as extra actions (TestSyncEndpoints'
    // 1001 addresses case), here they are read back.
    [Theory]
    [InlineData("some invalid", new[] { "10.0.0.1", "not-an-ip", "also-not" }, 1000, "InvalidIPAddress", "Skipped 2 invalid IP addresses when mirroring to EndpointSlices")]
    [InlineData("too many", new[] { "10.0.0.1", "10.0.0.2", "10.0.0.3" }, 2, "TooManyAddressesToMirror", "A max of 2 addresses can be mirrored to EndpointSlices per Endpoints subset. 1 addresses were skipped")]
    public async Task Reconcile_SkippedAddresses_WarningEventOnEndpoints(string name, string[] ips, int max, string reason, string message)
    {
        var ns = await fixture.NamespaceAsync();
        // The API server refuses Endpoints with invalid IPs; upstream mirrors them from before that validation.
        var endpoints = NewEndpoints(ns, "test-ep", Subset([Port("http", 80)], ips));
        endpoints.Metadata!.Uid = Guid.NewGuid().ToString();
        await using var events = new EventRecorder(fixture.Client, EndpointSliceMirroringController.ComponentName, host: null);
        var reconciler = new MirroringReconciler(new KubeEndpointSliceWriter(fixture.Client), new EndpointSliceTracker(), events, max, _ => { });

        await reconciler.ReconcileAsync(endpoints, [], CancellationToken.None);

        await events.FlushAsync();
        var recorded = (await fixture.Client.ListAsync<Event>(ns)).Items;
        var e = Assert.Single(recorded);
        Assert.True((reason, message) == (e.Reason, e.Message), $"{name}: {e.Reason}: {e.Message}");
        Assert.Equal(("Warning", "Endpoints", "test-ep", EndpointSliceMirroringController.ComponentName),
            (e.Type, e.InvolvedObject!.Kind, e.InvolvedObject.Name, e.Source!.Component));
    }
}
