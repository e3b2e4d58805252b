using System.Collections.Immutable;
using System.Globalization;
using Berth.Api.Models;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Tracking;
using Microsoft.Extensions.Time.Testing;
using static Berth.Node.Tests.Proxy.Tracking.ProxyObjects;

namespace Berth.Node.Tests.Proxy.Tracking;

// upstream pkg/proxy/endpointslicecache_test.go (TestEndpointsMapFromESC, TestEndpointInfoByServicePort,
// TestEsDataChanged) and endpointschangetracker_test.go (TestEndpointSliceUpdate, TestLastChangeTriggerTime).
public sealed class EndpointsChangeTrackerTests
{
    private static readonly ServiceKey s_svc1 = new("ns1", "svc1");

    public sealed record MapCase(string Name, string Hostname, EndpointSlice[] Slices, Dictionary<ServicePortName, EndpointInfo[]> Expected)
    {
        public override string ToString() => Name;
    }

    private static EndpointInfo[] Range(int offset, int from, int to, int port, Func<int, EndpointInfo, EndpointInfo>? adjust = null) =>
        [.. Enumerable.Range(from, to - from + 1).Select(i => adjust?.Invoke(i, Ep($"10.0.{offset}.{i}:{port}")) ?? Ep($"10.0.{offset}.{i}:{port}"))];

    private static EndpointInfo[] Sorted(IEnumerable<EndpointInfo> endpoints) => [.. endpoints.OrderBy(e => e.ToString(), StringComparer.Ordinal)];

    public static TheoryData<MapCase> EndpointsMapCases() =>
    [
        new("1 slice, 2 hosts, ports 80,443", "host1",
            [GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443])],
            new()
            {
                [Spn("ns1", "svc1", "port-0")] = [Ep("10.0.1.1:80"), Ep("10.0.1.2:80", isLocal: true), Ep("10.0.1.3:80")],
                [Spn("ns1", "svc1", "port-1")] = [Ep("10.0.1.1:443"), Ep("10.0.1.2:443", isLocal: true), Ep("10.0.1.3:443")],
            }),
        new("2 slices, same port", "",
            [GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, [], [80]), GenerateEndpointSlice("svc1", "ns1", 2, 3, 999, 999, [], [80])],
            new() { [Spn("ns1", "svc1", "port-0")] = [.. Range(1, 1, 3, 80), .. Range(2, 1, 3, 80)] }),
        // 2 slices with some overlapping endpoints, result should be a union of the 2.
        new("2 overlapping slices, same port", "",
            [GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, [], [80]), GenerateEndpointSlice("svc1", "ns1", 1, 4, 999, 999, [], [80])],
            new() { [Spn("ns1", "svc1", "port-0")] = Range(1, 1, 4, 80) }),
        // 2 slices with all endpoints overlapping, more unready in first than second. If an endpoint is marked ready,
        // we add it to the EndpointsMap, even if conditions.Ready isn't true for another matching endpoint
        new("2 slices, overlapping endpoints, some endpoints unready in 1 or both", "",
            [GenerateEndpointSlice("svc1", "ns1", 1, 10, 3, 999, [], [80]), GenerateEndpointSlice("svc1", "ns1", 1, 10, 6, 999, [], [80])],
            new() { [Spn("ns1", "svc1", "port-0")] = Sorted(Range(1, 1, 10, 80, (i, e) => i == 6 ? e with { Ready = false, Serving = false } : e)) }),
        // 2 slices with all endpoints overlapping, some unready and terminating.
        new("2 slices, overlapping endpoints, some endpoints unready and some endpoints terminating", "",
            [GenerateEndpointSlice("svc1", "ns1", 1, 10, 3, 5, [], [80]), GenerateEndpointSlice("svc1", "ns1", 1, 10, 6, 5, [], [80])],
            new()
            {
                [Spn("ns1", "svc1", "port-0")] = Sorted(Range(1, 1, 10, 80, (i, e) => i switch
                {
                    5 or 10 => e with { Ready = false, Serving = true, Terminating = true },
                    6 => e with { Ready = false, Serving = false },
                    _ => e,
                })),
            }),
        new("2 slices, overlapping endpoints, all unready", "",
            [GenerateEndpointSlice("svc1", "ns1", 1, 10, 1, 999, [], [80]), GenerateEndpointSlice("svc1", "ns1", 1, 10, 1, 999, [], [80])],
            new() { [Spn("ns1", "svc1", "port-0")] = Sorted(Range(1, 1, 10, 80, (_, e) => e with { Ready = false, Serving = false })) }),
        new("3 slices with different services and namespaces", "",
            [
                GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, [], [80]),
                GenerateEndpointSlice("svc2", "ns1", 2, 3, 999, 999, [], [80]),
                GenerateEndpointSlice("svc1", "ns2", 3, 3, 999, 999, [], [80]),
            ],
            new() { [Spn("ns1", "svc1", "port-0")] = Range(1, 1, 3, 80) }),
        // Ensuring that nil port value will not break things. This will represent all ports in the future, but
        // that has not been implemented yet.
        new("Nil port should not break anything", "host1",
            [GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [null])],
            []),
        // Make sure that different endpoints with duplicate IPs are returned correctly.
        new("Different endpoints with duplicate IPs should not be filtered", "host1",
            [
                GenerateEndpointSliceWithOffset("svc1", "ns1", 1, 1, 2, 999, 999, ["host1", "host2"], [80]),
                GenerateEndpointSliceWithOffset("svc1", "ns1", 2, 1, 2, 999, 999, ["host1", "host2"], [8080]),
            ],
            new()
            {
                [Spn("ns1", "svc1", "port-0")] = [Ep("10.0.1.1:80"), Ep("10.0.1.1:8080"), Ep("10.0.1.2:80", isLocal: true), Ep("10.0.1.2:8080", isLocal: true)],
            }),
    ];

    [Theory]
    [MemberData(nameof(EndpointsMapCases))]
    public void EndpointsMapFromESC_matches_upstream(MapCase c)
    {
        var tracker = new EndpointsChangeTracker(c.Hostname);
        foreach (var slice in c.Slices)
        {
            tracker.EndpointSliceUpdate(slice, removed: false);
        }

        var current = tracker.CheckoutChanges().GetValueOrDefault(s_svc1)?.Current ?? ImmutableDictionary<ServicePortName, ImmutableArray<EndpointInfo>>.Empty;

        Assert.Equal(Names(c.Expected.Keys), Names(current.Keys));
        foreach (var (name, expected) in c.Expected)
        {
            AssertEndpoints(expected, current[name]);
        }
    }

    public static TheoryData<string, EndpointSlice, bool> EsDataChangedCases()
    {
        var port80 = new EndpointSlicePort { Port = 80, Name = "http", Protocol = "TCP" };
        var port443 = new EndpointSlicePort { Port = 443, Name = "https", Protocol = "TCP" };
        var endpoint1 = new Endpoint { Addresses = ["10.0.1.0"] };
        var endpoint2 = new Endpoint { Addresses = ["10.0.1.1"] };
        EndpointSlice Slice(EndpointSlicePort[] ports, params Endpoint[] endpoints) => new()
        {
            Metadata = new ObjectMeta { Name = "foo", Namespace = "bar", Labels = new() { ["kubernetes.io/service-name"] = "svc1" } },
            AddressType = "IPv4",
            Ports = [.. ports],
            Endpoints = [.. endpoints],
        };
        return new()
        {
            { "identical slices, ports only", Slice([port80]), false },
            { "identical slices, ports out of order", Slice([port80, port443]), true },
            { "port removed", Slice([port443]), true },
            { "port added", Slice([port443, port80]), true },
            { "identical with endpoints", Slice([port443], endpoint1, endpoint2), false },
            { "identical with endpoints out of order", Slice([port443], endpoint2, endpoint1), true },
            { "identical with endpoint added", Slice([port443], endpoint2, endpoint1), true },
        };
    }

    [Theory]
    [MemberData(nameof(EsDataChangedCases))]
    public void EndpointSliceUpdate_reports_whether_the_slice_changed(string name, EndpointSlice updated, bool expectChanged)
    {
        // The initial slices of upstream's table, by the updated slice they go with.
        var initial = name switch
        {
            "identical slices, ports only" => updated,
            "identical slices, ports out of order" or "port removed" => WithPorts(updated, 443, 80),
            "port added" => WithPorts(updated, 443),
            "identical with endpoints" or "identical with endpoints out of order" => WithEndpoints(updated, "10.0.1.0", "10.0.1.1"),
            _ => WithEndpoints(updated, "10.0.1.0"),
        };
        var tracker = new EndpointsChangeTracker("");
        tracker.EndpointSliceUpdate(initial, removed: false);
        tracker.CheckoutChanges();

        Assert.Equal(expectChanged, tracker.EndpointSliceUpdate(updated, removed: false));
    }

    private static EndpointSlice WithPorts(EndpointSlice slice, params int[] ports) => new()
    {
        Metadata = slice.Metadata,
        AddressType = slice.AddressType,
        Ports = [.. ports.Select(p => new EndpointSlicePort { Port = p, Name = p == 80 ? "http" : "https", Protocol = "TCP" })],
        Endpoints = slice.Endpoints,
    };

    private static EndpointSlice WithEndpoints(EndpointSlice slice, params string[] addresses) => new()
    {
        Metadata = slice.Metadata,
        AddressType = slice.AddressType,
        Ports = slice.Ports,
        Endpoints = [.. addresses.Select(a => new Endpoint { Addresses = [a] })],
    };

    public sealed record UpdateCase(string Name, EndpointSlice[] StartingSlices, EndpointSlice Slice, bool Remove, bool ExpectedReturn, Dictionary<ServicePortName, EndpointInfo[]>? ExpectedCurrent)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<UpdateCase> EndpointSliceUpdateCases()
    {
        var fqdnSlice = GenerateEndpointSlice("svc1", "ns1", 2, 5, 999, 999, ["host1"], [80, 443]);
        fqdnSlice.AddressType = "FQDN";
        EndpointInfo[] Hosts(int port, params (string Ip, bool Local)[] endpoints) => [.. endpoints.Select(e => Ep($"{e.Ip}:{port}", isLocal: e.Local))];
        return
        [
            // test starting from an empty state
            new("add a simple slice that doesn't already exist", [],
                GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443]), false, true,
                new()
                {
                    [Spn("ns1", "svc1", "port-0")] = Hosts(80, ("10.0.1.1", false), ("10.0.1.2", true), ("10.0.1.3", false)),
                    [Spn("ns1", "svc1", "port-1")] = Hosts(443, ("10.0.1.1", false), ("10.0.1.2", true), ("10.0.1.3", false)),
                }),
            // test no modification to state - current change should be nil as nothing changes
            new("add the same slice that already exists", [GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443])],
                GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443]), false, false, null),
            // ensure that only valid address types are processed
            new("add an FQDN slice (invalid address type)", [GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443])],
                fqdnSlice, false, false, null),
            // test additions to existing state
            new("add a slice that overlaps with existing state",
                [
                    GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443]),
                    GenerateEndpointSlice("svc1", "ns1", 2, 2, 999, 999, ["host1", "host2"], [80, 443]),
                ],
                GenerateEndpointSlice("svc1", "ns1", 1, 5, 999, 999, ["host1"], [80, 443]), false, true,
                new()
                {
                    [Spn("ns1", "svc1", "port-0")] = Hosts(80, ("10.0.1.1", true), ("10.0.1.2", true), ("10.0.1.3", true), ("10.0.1.4", true), ("10.0.1.5", true), ("10.0.2.1", false), ("10.0.2.2", true)),
                    [Spn("ns1", "svc1", "port-1")] = Hosts(443, ("10.0.1.1", true), ("10.0.1.2", true), ("10.0.1.3", true), ("10.0.1.4", true), ("10.0.1.5", true), ("10.0.2.1", false), ("10.0.2.2", true)),
                }),
            // test additions to existing state with partially overlapping slices and ports
            new("add a slice that overlaps with existing state and partial ports",
                [
                    GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443]),
                    GenerateEndpointSlice("svc1", "ns1", 2, 2, 999, 999, ["host1", "host2"], [80, 443]),
                ],
                GenerateEndpointSliceWithOffset("svc1", "ns1", 3, 1, 5, 999, 999, ["host1"], [80]), false, true,
                new()
                {
                    [Spn("ns1", "svc1", "port-0")] = Hosts(80, ("10.0.1.1", true), ("10.0.1.2", true), ("10.0.1.3", true), ("10.0.1.4", true), ("10.0.1.5", true), ("10.0.2.1", false), ("10.0.2.2", true)),
                    [Spn("ns1", "svc1", "port-1")] = Hosts(443, ("10.0.1.1", false), ("10.0.1.2", true), ("10.0.1.3", false), ("10.0.2.1", false), ("10.0.2.2", true)),
                }),
            // test deletions from existing state with partially overlapping slices and ports
            new("remove a slice that overlaps with existing state",
                [
                    GenerateEndpointSlice("svc1", "ns1", 1, 3, 999, 999, ["host1", "host2"], [80, 443]),
                    GenerateEndpointSlice("svc1", "ns1", 2, 2, 999, 999, ["host1", "host2"], [80, 443]),
                ],
                GenerateEndpointSlice("svc1", "ns1", 1, 5, 999, 999, ["host1"], [80, 443]), true, true,
                new()
                {
                    [Spn("ns1", "svc1", "port-0")] = Hosts(80, ("10.0.2.1", false), ("10.0.2.2", true)),
                    [Spn("ns1", "svc1", "port-1")] = Hosts(443, ("10.0.2.1", false), ("10.0.2.2", true)),
                }),
            // ensure a removal that has no effect turns into a no-op
            new("remove a slice that doesn't even exist in current state",
                [
                    GenerateEndpointSlice("svc1", "ns1", 1, 5, 999, 999, ["host1"], [80, 443]),
                    GenerateEndpointSlice("svc1", "ns1", 2, 2, 999, 999, ["host1"], [80, 443]),
                ],
                GenerateEndpointSlice("svc1", "ns1", 3, 5, 999, 999, ["host1"], [80, 443]), true, false, null),
        ];
    }

    [Theory]
    [MemberData(nameof(EndpointSliceUpdateCases))]
    public void EndpointSliceUpdate_matches_upstream(UpdateCase c)
    {
        var tracker = new EndpointsChangeTracker("host1");
        foreach (var slice in c.StartingSlices)
        {
            tracker.EndpointSliceUpdate(slice, removed: false);
        }
        tracker.CheckoutChanges();

        Assert.Equal(c.ExpectedReturn, tracker.EndpointSliceUpdate(c.Slice, c.Remove));
        var changes = tracker.CheckoutChanges();
        if (c.ExpectedCurrent is null)
        {
            Assert.Empty(changes);
            return;
        }
        var current = changes[s_svc1].Current;
        Assert.Equal(Names(c.ExpectedCurrent.Keys), Names(current.Keys));
        foreach (var (name, expected) in c.ExpectedCurrent)
        {
            AssertEndpoints(expected, current[name]);
        }
    }

    [Fact]
    public void EndpointSliceUpdate_removing_the_last_slice_empties_the_service()
    {
        var tracker = new EndpointsChangeTracker("host1");
        var slice = GenerateEndpointSlice("svc1", "ns1", 1, 2, 999, 999, [], [80]);
        tracker.EndpointSliceUpdate(slice, removed: false);
        var added = tracker.CheckoutChanges()[s_svc1];

        Assert.True(tracker.EndpointSliceUpdate(slice, removed: true));
        var removed = tracker.CheckoutChanges()[s_svc1];
        Assert.Equal(added.Current, removed.Previous);
        Assert.Empty(removed.Current);
        // Gone from the cache: removing it again is no change.
        Assert.False(tracker.EndpointSliceUpdate(slice, removed: true));
    }

    [Fact]
    public void EndpointSliceUpdate_without_the_service_name_label_is_ignored()
    {
        var tracker = new EndpointsChangeTracker("host1");
        var slice = GenerateEndpointSlice("svc1", "ns1", 1, 2, 999, 999, [], [80]);
        slice.Metadata!.Labels = [];

        Assert.False(tracker.EndpointSliceUpdate(slice, removed: false));
        Assert.Empty(tracker.CheckoutChanges());
    }

    public static TheoryData<string, EndpointConditions?, bool, bool, bool> ConditionCases() => new()
    {
        { "no conditions: ready, serving, not terminating", null, true, true, false },
        { "all nil", new EndpointConditions(), true, true, false },
        { "not ready, serving nil means serving", new EndpointConditions { Ready = false }, false, true, false },
        { "ready", new EndpointConditions { Ready = true, Serving = true, Terminating = false }, true, true, false },
        { "terminating and serving", new EndpointConditions { Ready = false, Serving = true, Terminating = true }, false, true, true },
        { "terminating, not serving", new EndpointConditions { Ready = false, Serving = false, Terminating = true }, false, false, true },
    };

    [Theory]
    [MemberData(nameof(ConditionCases))]
    public void EndpointSliceUpdate_applies_the_condition_defaults(string name, EndpointConditions? conditions, bool ready, bool serving, bool terminating)
    {
        var slice = GenerateEndpointSlice("svc1", "ns1", 1, 1, 999, 999, [], [80]);
        slice.Endpoints![0].Conditions = conditions;
        var tracker = new EndpointsChangeTracker("host1");
        tracker.EndpointSliceUpdate(slice, removed: false);

        var endpoint = Assert.Single(tracker.CheckoutChanges()[s_svc1].Current[Spn("ns1", "svc1", "port-0")]);
        Assert.True((endpoint.Ready, endpoint.Serving, endpoint.Terminating) == (ready, serving, terminating), name);
    }

    [Theory]
    [InlineData("host1", true)]
    [InlineData("host2", false)]
    [InlineData(null, false)]
    public void EndpointSliceUpdate_keeps_node_zone_and_hints(string? nodeName, bool isLocal)
    {
        var slice = GenerateEndpointSlice("svc1", "ns1", 1, 1, 999, 999, [], [80]);
        slice.Endpoints![0].NodeName = nodeName;
        slice.Endpoints[0].Zone = "zone-a";
        slice.Endpoints[0].Hints = new EndpointHints { ForZones = [new ForZone { Name = "zone-a" }, new ForZone { Name = "zone-b" }] };
        var tracker = new EndpointsChangeTracker("host1");
        tracker.EndpointSliceUpdate(slice, removed: false);

        var endpoint = Assert.Single(tracker.CheckoutChanges()[s_svc1].Current[Spn("ns1", "svc1", "port-0")]);
        Assert.Equal(isLocal, endpoint.IsLocal);
        Assert.Equal(nodeName, endpoint.NodeName);
        Assert.Equal("zone-a", endpoint.Zone);
        Assert.True(endpoint.ZoneHints.SetEquals(["zone-a", "zone-b"]));
    }

    [Fact]
    public void EndpointSliceUpdate_keeps_udp_and_tcp_ports_of_one_name_apart()
    {
        var slice = GenerateEndpointSlice("svc1", "ns1", 1, 1, 999, 999, [], [53]);
        slice.Ports!.Add(new EndpointSlicePort { Name = "port-0", Port = 53, Protocol = "UDP" });
        var tracker = new EndpointsChangeTracker("host1");
        tracker.EndpointSliceUpdate(slice, removed: false);

        var current = tracker.CheckoutChanges()[s_svc1].Current;
        Assert.Equal(["ns1/svc1:port-0", "ns1/svc1:port-0/UDP"], Names(current.Keys));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EndpointSliceUpdate_prefers_the_running_endpoint_over_a_terminating_one_with_the_same_ip(bool terminatingFirst)
    {
        // A pod IP reused while the old pod terminates: the running pod's endpoint wins whichever slice comes first.
        var running = GenerateEndpointSlice("svc1", "ns1", 1, 1, 999, 999, ["host2"], [80]);
        var terminating = GenerateEndpointSliceWithOffset("svc1", "ns1", 2, 1, 1, 999, 1, ["host1"], [80]);
        var tracker = new EndpointsChangeTracker("host1");
        foreach (var slice in terminatingFirst ? new[] { terminating, running } : [running, terminating])
        {
            tracker.EndpointSliceUpdate(slice, removed: false);
        }

        var endpoint = Assert.Single(tracker.CheckoutChanges()[s_svc1].Current[Spn("ns1", "svc1", "port-0")]);
        Assert.Equal(Describe(Ep("10.0.1.1:80")), Describe(endpoint));
    }

    // A scenario is the slice events in order (slice, removed); expected trigger times per "ns/service".
    public static TheoryData<string, (EndpointSlice Slice, bool Removed)[], Dictionary<string, int[]>> TriggerTimeCases()
    {
        var e = CreateEndpoints("ns", "ep1", 0);
        var e1 = CreateEndpoints("ns", "ep1", 1);
        return new()
        {
            { "Single addEndpoints", [(e, false)], new() { ["ns/ep1"] = [0] } },
            { "addEndpoints then updatedEndpoints", [(e, false), (Modify(e, 1), false)], new() { ["ns/ep1"] = [0, 1] } },
            {
                "Add two endpoints then modify one",
                [(e1, false), (CreateEndpoints("ns", "ep2", 2), false), (Modify(e1, 3), false)],
                new() { ["ns/ep1"] = [1, 3], ["ns/ep2"] = [2] }
            },
            { "Endpoints without annotation set", [(WithoutTriggerTime(e1), false)], [] },
            { "Endpoints create before tracker started", [(CreateEndpoints("ns", "ep1", -1), false)], [] },
            { "addEndpoints then deleteEndpoints", [(e1, false), (e1, true)], [] },
            { "add then delete then add again", [(e1, false), (e1, true), (Modify(e1, 2), false)], new() { ["ns/ep1"] = [2] } },
            { "delete", [(e1, true)], [] },
        };
    }

    private static EndpointSlice WithoutTriggerTime(EndpointSlice slice)
    {
        var copy = Modify(slice, 0);
        copy.Ports = slice.Ports;
        copy.Metadata!.Annotations = [];
        return copy;
    }

    private static readonly DateTimeOffset s_startTime = new(2018, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // upstream: t_1 is a second before the tracker started, tN is N+1 seconds after it.
    private static DateTimeOffset T(int n) => n < 0 ? s_startTime.AddSeconds(-1) : s_startTime.AddSeconds(n + 1);

    private static EndpointSlice CreateEndpoints(string ns, string name, int triggerTime) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = name,
            Namespace = ns,
            Annotations = new() { ["endpoints.kubernetes.io/last-change-trigger-time"] = Rfc3339Nano(T(triggerTime)) },
            Labels = new() { ["kubernetes.io/service-name"] = name },
        },
        AddressType = "IPv4",
        Endpoints = [new Endpoint { Addresses = ["1.1.1.1"] }],
        Ports = [new EndpointSlicePort { Name = "p11", Port = 11, Protocol = "TCP" }],
    };

    private static EndpointSlice Modify(EndpointSlice slice, int triggerTime) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = slice.Metadata!.Name,
            Namespace = slice.Metadata.Namespace,
            Annotations = new() { ["endpoints.kubernetes.io/last-change-trigger-time"] = Rfc3339Nano(T(triggerTime)) },
            Labels = slice.Metadata.Labels,
        },
        AddressType = slice.AddressType,
        Endpoints = slice.Endpoints,
        Ports = [new EndpointSlicePort { Name = "p11", Port = slice.Ports![0].Port + 1, Protocol = "TCP" }],
    };

    private static string Rfc3339Nano(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    [Theory]
    [MemberData(nameof(TriggerTimeCases))]
    public void LastChangeTriggerTime_matches_upstream(string name, (EndpointSlice Slice, bool Removed)[] scenario, Dictionary<string, int[]> expected)
    {
        var tracker = new EndpointsChangeTracker("host", new FakeTimeProvider(s_startTime));

        foreach (var (slice, removed) in scenario)
        {
            tracker.EndpointSliceUpdate(slice, removed);
        }

        var got = tracker.CheckoutTriggerTimes();
        Assert.True(expected.Count == got.Count, name);
        foreach (var (service, times) in expected)
        {
            Assert.Equal(times.Select(T), got[new ServiceKey("ns", service["ns/".Length..])]);
        }
        Assert.Empty(tracker.CheckoutTriggerTimes());
    }

    [Theory]
    [InlineData("2018-01-01T00:00:01Z", "2018-01-01T00:00:01.0000000+00:00")]
    [InlineData("2018-01-01T00:00:01.5Z", "2018-01-01T00:00:01.5000000+00:00")]
    [InlineData("2018-01-01T00:00:01.123456789Z", "2018-01-01T00:00:01.1234567+00:00")]
    [InlineData("2018-01-01T02:00:01.25+02:00", "2018-01-01T00:00:01.2500000+00:00")]
    [InlineData("yesterday", null)]
    public void LastChangeTriggerTime_parses_RFC3339Nano(string annotation, string? expected)
    {
        var slice = CreateEndpoints("ns", "ep1", 0);
        slice.Metadata!.Annotations!["endpoints.kubernetes.io/last-change-trigger-time"] = annotation;

        var time = EndpointsChangeTracker.LastChangeTriggerTime(slice);

        Assert.Equal(expected, time?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
    }
}
