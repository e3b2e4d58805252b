using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Berth.Api.Models;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;
using Berth.Node.Proxy.Tracking;
using Microsoft.Extensions.Time.Testing;
using static Berth.Node.Tests.Proxy.Tracking.ProxyObjects;

namespace Berth.Node.Tests.Proxy.Routing;

public sealed class RoutingStateTests
{
    private static readonly DateTimeOffset s_start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly ServiceChangeTracker _services = new();
    private readonly EndpointsChangeTracker _endpoints = new(TestHostname, new FakeTimeProvider(s_start));
    private readonly RoutingState _state = new();
    private NodeTopology _node = Node();

    private static NodeTopology Node(string? zone = null, params string[] nodePortAddresses) => new(
        TestHostname,
        zone is null ? ImmutableDictionary<string, string>.Empty : Labels(("topology.kubernetes.io/zone", zone), ("kubernetes.io/hostname", TestHostname)),
        nodePortAddresses.Length == 0 ? [IPAddress.Loopback] : [.. nodePortAddresses.Select(IPAddress.Parse)]);

    private SyncChanges Sync() => _state.Sync(_services, _endpoints, _node);

    private static Service Svc(string name, Action<Service>? configure = null, params (string Name, int Port)[] ports) => MakeTestService("ns", name, svc =>
    {
        svc.Spec!.Type = "ClusterIP";
        svc.Spec.ClusterIP = "10.96.0.10";
        foreach (var (portName, port) in ports.Length == 0 ? [("http", 80)] : ports)
        {
            AddTestPort(svc, portName, "TCP", port, 0, port + 8000);
        }
        configure?.Invoke(svc);
    });

    /// <summary>A slice of <paramref name="service"/>: each endpoint (ip, node, ready, zone hint) on each named port (port + 8000).</summary>
    private static EndpointSlice Slice(string service, string sliceName, (string Ip, string? Node, bool Ready, string? Zone)[] endpoints, params (string Name, int Port)[] ports) => new()
    {
        Metadata = new ObjectMeta { Namespace = "ns", Name = sliceName, Labels = new() { ["kubernetes.io/service-name"] = service } },
        AddressType = "IPv4",
        Ports = [.. (ports.Length == 0 ? [("http", 80)] : ports).Select(p => new EndpointSlicePort { Name = p.Name, Port = p.Port + 8000, Protocol = "TCP" })],
        Endpoints =
        [
            .. endpoints.Select(e => new Endpoint
            {
                Addresses = [e.Ip],
                NodeName = e.Node,
                Conditions = new EndpointConditions { Ready = e.Ready, Serving = e.Ready, Terminating = false },
                Hints = e.Zone is null ? null : new EndpointHints { ForZones = [new ForZone { Name = e.Zone }] },
            }),
        ],
    };

    private static string[] Strings<T>(IEnumerable<T> items) => [.. items.Select(i => i!.ToString()!)];

    [Fact]
    public void Sync_frontends_one_per_address_and_kind()
    {
        _node = Node(null, "127.0.0.1", "192.168.1.10");
        _services.Update(null, Svc("lb", svc =>
        {
            svc.Spec!.Type = "LoadBalancer";
            svc.Spec.ClusterIPs = ["10.96.0.10", "fd00::10"];
            svc.Spec.Ports![0].NodePort = 30080;
            svc.Spec.ExternalIPs = ["1.2.3.4"];
            SetIngress(svc, new LoadBalancerIngress { Ip = "127.100.0.1" }, new LoadBalancerIngress { Ip = "127.100.0.2", IpMode = "Proxy" }, new LoadBalancerIngress { Hostname = "lb.example" });
        }));

        var route = Sync().Snapshot.Routes[Spn("ns", "lb", "http")];

        Assert.Equal(
            [
                "ClusterIP 10.96.0.10:80/TCP", "ClusterIP [fd00::10]:80/TCP",
                "NodePort 127.0.0.1:30080/TCP", "NodePort 192.168.1.10:30080/TCP",
                "ExternalIP 1.2.3.4:80/TCP",
                "LoadBalancer 127.100.0.1:80/TCP",
            ],
            route.Frontends.Select(f => $"{f.Kind} {f}"));
    }

    [Fact]
    public void Sync_udp_port_frontends_carry_udp()
    {
        _services.Update(null, MakeTestService("ns", "dns", svc =>
        {
            svc.Spec!.ClusterIP = "10.96.0.53";
            AddTestPort(svc, "dns", "UDP", 53, 0, 53);
            AddTestPort(svc, "dns-tcp", "TCP", 53, 0, 53);
        }));

        var routes = Sync().Snapshot.Routes;

        Assert.Equal(["10.96.0.53:53/UDP"], Strings(routes[Spn("ns", "dns", "dns", TransportProtocol.Udp)].Frontends));
        Assert.Equal(["10.96.0.53:53/TCP"], Strings(routes[Spn("ns", "dns", "dns-tcp")].Frontends));
    }

    [Fact]
    public void Sync_keeps_unchanged_routes_and_rebuilds_changed_ones()
    {
        _services.Update(null, Svc("a"));
        _services.Update(null, Svc("b"));
        _endpoints.EndpointSliceUpdate(Slice("a", "a-1", [("10.0.0.1", "n1", true, null)]), removed: false);
        _endpoints.EndpointSliceUpdate(Slice("b", "b-1", [("10.0.1.1", "n1", true, null)]), removed: false);
        var first = Sync();
        Assert.Equal(1, first.Snapshot.Version);
        Assert.Equal(["ns/a:http", "ns/b:http"], Names(first.Changed));

        _endpoints.EndpointSliceUpdate(Slice("a", "a-1", [("10.0.0.1", "n1", true, null), ("10.0.0.2", "n2", true, null)]), removed: false);
        var second = Sync();

        Assert.Equal(2, second.Snapshot.Version);
        Assert.Equal(["ns/a:http"], Names(second.Changed));
        Assert.Same(first.Snapshot.Routes[Spn("ns", "b", "http")], second.Snapshot.Routes[Spn("ns", "b", "http")]);
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Strings(second.Snapshot.Routes[Spn("ns", "a", "http")].ClusterEndpoints));
    }

    [Fact]
    public void Sync_without_changes_keeps_the_snapshot()
    {
        _services.Update(null, Svc("a"));
        var first = Sync();

        var second = Sync();

        Assert.Same(first.Snapshot, second.Snapshot);
        Assert.Empty(second.Changed);
        Assert.Equal(1, second.Snapshot.Version);
    }

    [Fact]
    public void Sync_changed_is_exactly_the_added_changed_and_removed_ports()
    {
        var v1 = Svc("a", null, ("http", 80), ("https", 443), ("admin", 9000));
        _services.Update(null, v1);
        var first = Sync();

        // http untouched, https renumbered, admin gone, metrics new.
        var v2 = Svc("a", null, ("http", 80), ("https", 8443), ("metrics", 9090));
        _services.Update(v1, v2);
        var second = Sync();

        Assert.Equal(["ns/a:admin", "ns/a:https", "ns/a:metrics"], Names(second.Changed));
        Assert.Equal(["ns/a:http", "ns/a:https", "ns/a:metrics"], Names(second.Snapshot.Routes.Keys));
        Assert.Same(first.Snapshot.Routes[Spn("ns", "a", "http")], second.Snapshot.Routes[Spn("ns", "a", "http")]);

        _services.Update(v2, null);
        var third = Sync();
        Assert.Equal(["ns/a:http", "ns/a:https", "ns/a:metrics"], Names(third.Changed));
        Assert.Empty(third.Snapshot.Routes);
        Assert.Equal(3, third.Snapshot.Version);
    }

    [Fact]
    public void Sync_endpoints_of_a_service_not_yet_seen_wait_for_it()
    {
        _endpoints.EndpointSliceUpdate(Slice("a", "a-1", [("10.0.0.1", "n1", true, null)]), removed: false);
        var first = Sync();
        Assert.Empty(first.Changed);
        Assert.Empty(first.Snapshot.Routes);

        _services.Update(null, Svc("a"));
        var route = Sync().Snapshot.Routes[Spn("ns", "a", "http")];
        Assert.Equal(["10.0.0.1:8080"], Strings(route.ClusterEndpoints));
    }

    public static TheoryData<string, string?, string?, string[], string[]> PolicyCases() => new()
    {
        // name, internalTrafficPolicy, externalTrafficPolicy, cluster endpoints, external endpoints
        { "Cluster/Cluster: everything ready everywhere", null, null, ["10.0.0.1:8080", "10.0.0.2:8080"], ["10.0.0.1:8080", "10.0.0.2:8080"] },
        { "iTP Local: ClusterIP traffic stays on the node", "Local", null, ["10.0.0.1:8080"], ["10.0.0.1:8080", "10.0.0.2:8080"] },
        { "eTP Local: external traffic stays on the node", null, "Local", ["10.0.0.1:8080", "10.0.0.2:8080"], ["10.0.0.1:8080"] },
        { "both Local", "Local", "Local", ["10.0.0.1:8080"], ["10.0.0.1:8080"] },
    };

    [Theory]
    [MemberData(nameof(PolicyCases))]
    public void Sync_traffic_policies_choose_the_endpoint_sets(string name, string? internalPolicy, string? externalPolicy, string[] cluster, string[] external)
    {
        _services.Update(null, Svc("np", svc =>
        {
            svc.Spec!.Type = "NodePort";
            svc.Spec.Ports![0].NodePort = 30080;
            svc.Spec.InternalTrafficPolicy = internalPolicy;
            svc.Spec.ExternalTrafficPolicy = externalPolicy;
        }));
        _endpoints.EndpointSliceUpdate(Slice("np", "np-1", [("10.0.0.1", TestHostname, true, null), ("10.0.0.2", "other", true, null), ("10.0.0.3", TestHostname, false, null)]), removed: false);

        var route = Sync().Snapshot.Routes[Spn("ns", "np", "http")];

        Assert.True(cluster.SequenceEqual(Strings(route.ClusterEndpoints)), name);
        Assert.Equal(external, Strings(route.ExternalEndpoints));
        Assert.Equal(external, Strings(route.EndpointsFor(FrontendKind.NodePort)));
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"], Strings(route.AllEndpoints));
    }

    [Fact]
    public void Sync_internal_policy_local_with_only_remote_endpoints_refuses()
    {
        _services.Update(null, Svc("a", svc => svc.Spec!.InternalTrafficPolicy = "Local"));
        _endpoints.EndpointSliceUpdate(Slice("a", "a-1", [("10.0.0.2", "other", true, null)]), removed: false);

        var route = Sync().Snapshot.Routes[Spn("ns", "a", "http")];

        Assert.Empty(route.ClusterEndpoints);
        Assert.Equal(["10.0.0.2:8080"], Strings(route.AllEndpoints));
    }

    [Fact]
    public void Sync_local_ready_endpoints_counts_distinct_ips_over_the_services_ports()
    {
        // upstream EndpointsMap.LocalReadyEndpoints: 10.0.0.1:80 and :443 are one endpoint; terminating and remote ones don't count.
        _services.Update(null, Svc("lb", svc =>
        {
            svc.Spec!.Type = "LoadBalancer";
            svc.Spec.ExternalTrafficPolicy = "Local";
            svc.Spec.HealthCheckNodePort = 30999;
        }, ("http", 80), ("https", 443)));
        var slice = Slice("lb", "lb-1", [("10.0.0.1", TestHostname, true, null), ("10.0.0.2", "other", true, null), ("10.0.0.3", TestHostname, false, null)], ("http", 80), ("https", 443));
        slice.Endpoints![2].Conditions = new EndpointConditions { Ready = false, Serving = true, Terminating = true };
        slice.Endpoints.Add(new Endpoint { Addresses = ["10.0.0.4"], NodeName = TestHostname });
        _endpoints.EndpointSliceUpdate(slice, removed: false);

        var routes = Sync().Snapshot.Routes;

        Assert.Equal(2, routes[Spn("ns", "lb", "http")].LocalReadyEndpoints);
        Assert.Equal(2, routes[Spn("ns", "lb", "https")].LocalReadyEndpoints);
        Assert.Equal(30999, routes[Spn("ns", "lb", "https")].Service.HealthCheckNodePort);
    }

    [Fact]
    public void Sync_node_zone_change_rebuilds_routes_with_topology()
    {
        _node = Node("zone-a");
        _services.Update(null, Svc("topo", svc => svc.Metadata!.Annotations!["service.kubernetes.io/topology-mode"] = "Auto"));
        _services.Update(null, Svc("plain"));
        _endpoints.EndpointSliceUpdate(Slice("topo", "topo-1", [("10.0.0.1", "n1", true, "zone-a"), ("10.0.0.2", "n2", true, "zone-b")]), removed: false);
        _endpoints.EndpointSliceUpdate(Slice("plain", "plain-1", [("10.0.1.1", "n1", true, "zone-a"), ("10.0.1.2", "n2", true, "zone-b")]), removed: false);
        var first = Sync();
        Assert.Equal(["10.0.0.1:8080"], Strings(first.Snapshot.Routes[Spn("ns", "topo", "http")].ClusterEndpoints));

        // The same labels in a new object are the same node.
        _node = Node("zone-a");
        var same = Sync();
        Assert.Same(first.Snapshot, same.Snapshot);
        Assert.Empty(same.Changed);

        _node = Node("zone-b");
        var moved = Sync();
        Assert.Equal(["ns/topo:http"], Names(moved.Changed));
        Assert.Equal(["10.0.0.2:8080"], Strings(moved.Snapshot.Routes[Spn("ns", "topo", "http")].ClusterEndpoints));
        Assert.Same(first.Snapshot.Routes[Spn("ns", "plain", "http")], moved.Snapshot.Routes[Spn("ns", "plain", "http")]);

        // No zone label: hints ignored.
        _node = Node();
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Strings(Sync().Snapshot.Routes[Spn("ns", "topo", "http")].ClusterEndpoints));
    }

    [Fact]
    public void Sync_node_port_addresses_change_rebuilds_node_port_routes()
    {
        _services.Update(null, Svc("np", svc =>
        {
            svc.Spec!.Type = "NodePort";
            svc.Spec.Ports![0].NodePort = 30080;
        }));
        _services.Update(null, Svc("cip"));
        var first = Sync();

        _node = Node(null, "127.0.0.2");
        var second = Sync();

        Assert.Equal(["ns/np:http"], Names(second.Changed));
        Assert.Equal(["10.96.0.10:80/TCP", "127.0.0.2:30080/TCP"], Strings(second.Snapshot.Routes[Spn("ns", "np", "http")].Frontends));
        Assert.Same(first.Snapshot.Routes[Spn("ns", "cip", "http")], second.Snapshot.Routes[Spn("ns", "cip", "http")]);
    }

    [Fact]
    public void Sync_returns_the_trigger_times_it_took_in()
    {
        _services.Update(null, Svc("a"));
        var slice = Slice("a", "a-1", [("10.0.0.1", "n1", true, null)]);
        var triggered = s_start.AddSeconds(5);
        slice.Metadata!.Annotations = new() { ["endpoints.kubernetes.io/last-change-trigger-time"] = triggered.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) };
        _endpoints.EndpointSliceUpdate(slice, removed: false);

        Assert.Equal([triggered], Sync().TriggerTimes);
        Assert.Empty(Sync().TriggerTimes);
    }

    [Fact]
    public void Sync_service_spec_change_without_endpoint_change_is_a_change()
    {
        var v1 = Svc("a");
        _services.Update(null, v1);
        _endpoints.EndpointSliceUpdate(Slice("a", "a-1", [("10.0.0.1", "n1", true, null)]), removed: false);
        var first = Sync();

        _services.Update(v1, Svc("a", svc => svc.Metadata!.Annotations!["berth.io/load-balancer"] = "least-connections"));
        var second = Sync();

        Assert.Equal(["ns/a:http"], Names(second.Changed));
        Assert.Equal(BalancingAlgorithm.LeastConnections, second.Snapshot.Routes[Spn("ns", "a", "http")].Service.Algorithm);
        Assert.Equal(Strings(first.Snapshot.Routes[Spn("ns", "a", "http")].ClusterEndpoints), Strings(second.Snapshot.Routes[Spn("ns", "a", "http")].ClusterEndpoints));
    }
}
