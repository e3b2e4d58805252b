using System.Collections.Immutable;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;
using static Berth.Node.Tests.Proxy.Tracking.ProxyObjects;

namespace Berth.Node.Tests.Proxy.Routing;

// upstream pkg/proxy/topology_test.go TestCategorizeEndpoints. The hints annotation becomes UsesTopology (the
// tracker maps "auto"/"Auto" to true, anything else to false); ProxyTerminatingEndpoints is GA, so the cases that
// turned it off are gone as they are upstream.
public sealed class TopologyTests
{
    public sealed record Case(
        string Name,
        ServicePortInfo Service,
        EndpointInfo[] Endpoints,
        string[]? Cluster,
        string[]? Local,
        ImmutableDictionary<string, string>? NodeLabels = null,
        string[]? All = null,
        bool OnlyRemoteEndpoints = false)
    {
        public override string ToString() => Name;
    }

    private static ServicePortInfo Svc(bool topology = false, bool internalLocal = false, bool externalLocal = false, int nodePort = 0) => new()
    {
        Name = Spn("ns", "svc", "p"),
        Port = 80,
        UsesTopology = topology,
        InternalPolicyLocal = internalLocal,
        ExternalPolicyLocal = externalLocal,
        NodePort = nodePort,
    };

    private static EndpointInfo E(string endpoint, string[]? zones = null, bool ready = true, bool serving = false, bool terminating = false, bool local = false) =>
        Ep(endpoint, isLocal: local, ready: ready, serving: serving, terminating: terminating) with { ZoneHints = zones is null ? [] : [.. zones] };

    private static readonly ImmutableDictionary<string, string> s_zoneA = Labels(("topology.kubernetes.io/zone", "zone-a"));

    private static EndpointInfo[] FourZoned(bool last = true) =>
    [
        E("10.1.2.3:80", ["zone-a"]),
        E("10.1.2.4:80", ["zone-b"]),
        E("10.1.2.5:80", ["zone-c"]),
        E("10.1.2.6:80", ["zone-a"], ready: last),
    ];

    private static readonly string[] s_allFour = ["10.1.2.3:80", "10.1.2.4:80", "10.1.2.5:80", "10.1.2.6:80"];

    public static TheoryData<Case> Cases() =>
    [
        new("hints enabled, hints annotation == auto", Svc(topology: true), FourZoned(), ["10.1.2.3:80", "10.1.2.6:80"], null, s_zoneA),
        new("hints, hints annotation == disabled, hints ignored", Svc(), FourZoned(), s_allFour, null, s_zoneA),
        new("hints, hints annotation == aUto (wrong capitalization), hints ignored", Svc(), FourZoned(), s_allFour, null, s_zoneA),
        new("hints, hints annotation empty, hints ignored", Svc(), FourZoned(), s_allFour, null, s_zoneA),
        new("externalTrafficPolicy: Local, topology ignored for Local endpoints",
            Svc(topology: true, externalLocal: true, nodePort: 8080),
            [E("10.1.2.3:80", ["zone-a"], local: true), E("10.1.2.4:80", ["zone-b"], local: true), E("10.1.2.5:80", ["zone-c"]), E("10.1.2.6:80", ["zone-a"])],
            ["10.1.2.3:80", "10.1.2.6:80"], ["10.1.2.3:80", "10.1.2.4:80"], s_zoneA, ["10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"]),
        new("internalTrafficPolicy: Local, topology ignored for Local endpoints",
            Svc(topology: true, internalLocal: true, nodePort: 8080),
            [E("10.1.2.3:80", ["zone-a"], local: true), E("10.1.2.4:80", ["zone-b"], local: true), E("10.1.2.5:80", ["zone-c"]), E("10.1.2.6:80", ["zone-a"])],
            ["10.1.2.3:80", "10.1.2.6:80"], ["10.1.2.3:80", "10.1.2.4:80"], s_zoneA, ["10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"]),
        new("empty node labels", Svc(topology: true), [E("10.1.2.3:80", ["zone-a"])], ["10.1.2.3:80"], null, Labels()),
        new("empty zone label", Svc(topology: true), [E("10.1.2.3:80", ["zone-a"])], ["10.1.2.3:80"], null, Labels(("topology.kubernetes.io/zone", ""))),
        new("node in different zone, no endpoint filtering", Svc(topology: true), [E("10.1.2.3:80", ["zone-a"])], ["10.1.2.3:80"], null,
            Labels(("topology.kubernetes.io/zone", "zone-b"))),
        new("normal endpoint filtering, auto annotation", Svc(topology: true), FourZoned(), ["10.1.2.3:80", "10.1.2.6:80"], null, s_zoneA),
        new("unready endpoint", Svc(topology: true), FourZoned(last: false), ["10.1.2.3:80"], null, s_zoneA),
        new("only unready endpoints in same zone (should not filter)", Svc(topology: true),
            [E("10.1.2.3:80", ["zone-a"], ready: false), E("10.1.2.4:80", ["zone-b"]), E("10.1.2.5:80", ["zone-c"]), E("10.1.2.6:80", ["zone-a"], ready: false)],
            ["10.1.2.4:80", "10.1.2.5:80"], null, s_zoneA),
        new("normal endpoint filtering, Auto annotation", Svc(topology: true), FourZoned(), ["10.1.2.3:80", "10.1.2.6:80"], null, s_zoneA),
        new("hintsAnnotation empty, no filtering applied", Svc(), FourZoned(), s_allFour, null, s_zoneA),
        new("hintsAnnotation disabled, no filtering applied", Svc(), FourZoned(), s_allFour, null, s_zoneA),
        new("missing hints, no filtering applied", Svc(topology: true),
            [E("10.1.2.3:80", ["zone-a"]), E("10.1.2.4:80", ["zone-b"]), E("10.1.2.5:80"), E("10.1.2.6:80", ["zone-a"])],
            s_allFour, null, s_zoneA),
        new("multiple hints per endpoint, filtering includes any endpoint with zone included", Svc(topology: true),
            [E("10.1.2.3:80", ["zone-a", "zone-b", "zone-c"]), E("10.1.2.4:80", ["zone-b", "zone-c"]), E("10.1.2.5:80", ["zone-b", "zone-d"]), E("10.1.2.6:80", ["zone-c"])],
            ["10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"], null, Labels(("topology.kubernetes.io/zone", "zone-c"))),
        new("conflicting topology and localness require merging allEndpoints",
            Svc(topology: true, externalLocal: true, nodePort: 8080),
            [E("10.0.0.0:80", ["zone-a"], local: true), E("10.0.0.1:80", ["zone-b"], local: true), E("10.0.0.2:80", ["zone-a"]), E("10.0.0.3:80", ["zone-b"])],
            ["10.0.0.0:80", "10.0.0.2:80"], ["10.0.0.0:80", "10.0.0.1:80"], s_zoneA, ["10.0.0.0:80", "10.0.0.1:80", "10.0.0.2:80"]),
        new("internalTrafficPolicy: Local, with empty endpoints", Svc(internalLocal: true), [], null, []),
        new("internalTrafficPolicy: Local, but all endpoints are remote", Svc(internalLocal: true),
            [E("10.0.0.0:80"), E("10.0.0.1:80")], null, [], OnlyRemoteEndpoints: true),
        new("internalTrafficPolicy: Local, all endpoints are local", Svc(internalLocal: true),
            [E("10.0.0.0:80", local: true), E("10.0.0.1:80", local: true)], null, ["10.0.0.0:80", "10.0.0.1:80"]),
        new("internalTrafficPolicy: Local, some endpoints are local", Svc(internalLocal: true),
            [E("10.0.0.0:80", local: true), E("10.0.0.1:80")], null, ["10.0.0.0:80"]),
        new("Cluster traffic policy, endpoints not Ready", Svc(), [E("10.0.0.0:80", ready: false), E("10.0.0.1:80", ready: false)], [], null),
        new("Cluster traffic policy, some endpoints are Ready", Svc(), [E("10.0.0.0:80", ready: false), E("10.0.0.1:80")], ["10.0.0.1:80"], null),
        new("Cluster traffic policy, all endpoints are terminating", Svc(),
            [E("10.0.0.0:80", ready: false, serving: true, terminating: true, local: true), E("10.0.0.1:80", ready: false, serving: true, terminating: true)],
            ["10.0.0.0:80", "10.0.0.1:80"], null),
        new("iTP: Local, eTP: Cluster, some endpoints local", Svc(internalLocal: true, nodePort: 8080),
            [E("10.0.0.0:80", local: true), E("10.0.0.1:80")], ["10.0.0.0:80", "10.0.0.1:80"], ["10.0.0.0:80"], All: ["10.0.0.0:80", "10.0.0.1:80"]),
        new("iTP: Cluster, eTP: Local, some endpoints local", Svc(externalLocal: true, nodePort: 8080),
            [E("10.0.0.0:80", local: true), E("10.0.0.1:80")], ["10.0.0.0:80", "10.0.0.1:80"], ["10.0.0.0:80"], All: ["10.0.0.0:80", "10.0.0.1:80"]),
        new("iTP: Local, eTP: Local, some endpoints local", Svc(internalLocal: true, externalLocal: true, nodePort: 8080),
            [E("10.0.0.0:80", local: true), E("10.0.0.1:80")], ["10.0.0.0:80", "10.0.0.1:80"], ["10.0.0.0:80"], All: ["10.0.0.0:80", "10.0.0.1:80"]),
        new("iTP: Local, eTP: Local, all endpoints remote", Svc(internalLocal: true, externalLocal: true, nodePort: 8080),
            [E("10.0.0.0:80"), E("10.0.0.1:80")], ["10.0.0.0:80", "10.0.0.1:80"], [], All: ["10.0.0.0:80", "10.0.0.1:80"]),
        new("iTP: Local, eTP: Local, all endpoints remote and terminating", Svc(internalLocal: true, externalLocal: true, nodePort: 8080),
            [E("10.0.0.0:80", ready: false, serving: true, terminating: true), E("10.0.0.1:80", ready: false, serving: true, terminating: true)],
            ["10.0.0.0:80", "10.0.0.1:80"], [], All: ["10.0.0.0:80", "10.0.0.1:80"], OnlyRemoteEndpoints: true),
        new("iTP: Cluster, eTP: Local, with terminating endpoints", Svc(externalLocal: true, nodePort: 8080),
            [
                E("10.0.0.0:80"),
                E("10.0.0.1:80", ready: false, serving: false, local: true),
                E("10.0.0.2:80", ready: false, serving: true, terminating: true, local: true),
                E("10.0.0.3:80", ready: false, serving: true, terminating: true),
            ],
            ["10.0.0.0:80"], ["10.0.0.2:80"], All: ["10.0.0.0:80", "10.0.0.2:80"]),
        new("externalTrafficPolicy ignored if not externally accessible", Svc(externalLocal: true),
            [E("10.0.0.0:80"), E("10.0.0.1:80", local: true)], ["10.0.0.0:80", "10.0.0.1:80"], null, All: ["10.0.0.0:80", "10.0.0.1:80"]),
        new("no cluster endpoints for iTP:Local internal-only service", Svc(internalLocal: true),
            [E("10.0.0.0:80"), E("10.0.0.1:80", local: true)], null, ["10.0.0.1:80"], All: ["10.0.0.1:80"]),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void CategorizeEndpoints_matches_upstream(Case c)
    {
        var result = Topology.CategorizeEndpoints([.. c.Endpoints], c.Service, c.NodeLabels ?? Labels());

        AssertSet("cluster", c.Cluster, result.Cluster);
        AssertSet("local", c.Local, result.Local);
        // As upstream: allEndpoints may be left out when only one list is expected, and then equals it.
        var expectedAll = c.Cluster is not null && c.Local is null ? c.Cluster : c.Local is not null && c.Cluster is null ? c.Local : c.All;
        Assert.Equal((expectedAll ?? []).Order(StringComparer.Ordinal), (result.AllReachable ?? []).Select(e => e.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal((expectedAll?.Length ?? 0) > 0 || c.OnlyRemoteEndpoints, result.HasAnyEndpoints);
    }

    // upstream checks nil one way only: an expected nil list must come back nil; an expected empty one may be nil.
    private static void AssertSet(string kind, string[]? expected, ImmutableArray<EndpointInfo>? actual)
    {
        if (expected is null)
        {
            Assert.True(actual is null, $"expected no {kind} endpoints but got {string.Join(",", actual ?? [])}");
            return;
        }
        Assert.Equal(expected.Order(StringComparer.Ordinal), (actual ?? []).Select(e => e.ToString()).Order(StringComparer.Ordinal));
    }
}
