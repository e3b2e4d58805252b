using System.Collections.Immutable;
using Berth.Api.Models;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;
using Berth.Node.Proxy.Tracking;
using static Berth.Node.Tests.Proxy.Tracking.ProxyObjects;

namespace Berth.Node.Tests.Proxy.Tracking;

// upstream pkg/proxy/servicechangetracker_test.go: the tracker's changes applied to a service port map (upstream's
// ServicePortMap.Update; here RoutingState, which holds that map) and the Services it reports as updated.
public sealed class ServiceChangeTrackerTests
{
    private readonly ServiceChangeTracker _services = new();
    private readonly EndpointsChangeTracker _endpoints = new(TestHostname);
    private readonly RoutingState _state = new();
    private static readonly NodeTopology s_node = new(TestHostname, ImmutableDictionary<string, string>.Empty, []);

    private SyncChanges Sync() => _state.Sync(_services, _endpoints, s_node);

    private Dictionary<ServiceKey, int> HealthCheckNodePorts() =>
        _state.Current.Routes.Values.Where(r => r.Service.HealthCheckNodePort != 0)
            .GroupBy(r => ServiceKey.Of(r.Name)).ToDictionary(g => g.Key, g => g.First().Service.HealthCheckNodePort);

    private static HashSet<ServiceKey> UpdatedServices(SyncChanges changes) => [.. changes.Changed.Select(ServiceKey.Of)];

    [Fact]
    public void ServiceMapUpdate_headless_services_are_ignored()
    {
        Assert.False(_services.Update(null, MakeTestService("ns2", "headless", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "None";
            AddTestPort(svc, "rpc", "UDP", 1234, 0, 0);
        })));
        Assert.False(_services.Update(null, MakeTestService("ns2", "headless-without-port", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "None";
        })));

        var changes = Sync();
        Assert.Empty(changes.Snapshot.Routes);
        Assert.Empty(changes.Changed);
        Assert.Empty(HealthCheckNodePorts());
    }

    [Fact]
    public void UpdateServiceTypeExternalName_is_ignored()
    {
        Assert.False(_services.Update(null, MakeTestService("ns2", "external-name", svc =>
        {
            svc.Spec!.Type = "ExternalName";
            svc.Spec.ClusterIP = "172.16.55.4"; // Should be ignored
            svc.Spec.ExternalName = "foo2.bar.com";
            AddTestPort(svc, "blah", "UDP", 1235, 5321, 0);
        })));

        var changes = Sync();
        Assert.Empty(changes.Snapshot.Routes);
        Assert.Empty(changes.Changed);
    }

    [Fact]
    public void BuildServiceMapAddRemove()
    {
        Service[] services =
        [
            MakeTestService("ns2", "cluster-ip", svc =>
            {
                svc.Spec!.Type = "ClusterIP";
                svc.Spec.ClusterIP = "172.16.55.4";
                AddTestPort(svc, "port1", "UDP", 1234, 4321, 0);
                AddTestPort(svc, "port2", "UDP", 1235, 5321, 0);
            }),
            MakeTestService("ns2", "node-port", svc =>
            {
                svc.Spec!.Type = "NodePort";
                svc.Spec.ClusterIP = "172.16.55.10";
                AddTestPort(svc, "port1", "UDP", 345, 678, 0);
                AddTestPort(svc, "port2", "TCP", 344, 677, 0);
            }),
            MakeTestService("ns1", "load-balancer", svc =>
            {
                svc.Spec!.Type = "LoadBalancer";
                svc.Spec.ClusterIP = "172.16.55.11";
                svc.Spec.LoadBalancerIP = "5.6.7.8";
                AddTestPort(svc, "foobar", "UDP", 8675, 30061, 7000);
                AddTestPort(svc, "baz", "UDP", 8676, 30062, 7001);
                SetIngress(svc, new LoadBalancerIngress { Ip = "10.1.2.4" });
            }),
            MakeTestService("ns1", "only-local-load-balancer", svc =>
            {
                svc.Spec!.Type = "LoadBalancer";
                svc.Spec.ClusterIP = "172.16.55.12";
                svc.Spec.LoadBalancerIP = "5.6.7.8";
                AddTestPort(svc, "foobar2", "UDP", 8677, 30063, 7002);
                AddTestPort(svc, "baz", "UDP", 8678, 30064, 7003);
                SetIngress(svc, new LoadBalancerIngress { Ip = "10.1.2.3" });
                svc.Spec.ExternalTrafficPolicy = "Local";
                svc.Spec.HealthCheckNodePort = 345;
            }),
        ];
        foreach (var service in services)
        {
            Assert.True(_services.Update(null, service));
        }

        var changes = Sync();
        Assert.Equal(8, changes.Snapshot.Routes.Count);
        Assert.Equal(services.Select(s => new ServiceKey(s.Metadata!.Namespace!, s.Metadata.Name!)).ToHashSet(), UpdatedServices(changes));
        // The only-local-loadbalancer ones get added
        Assert.Equal(new Dictionary<ServiceKey, int> { [new("ns1", "only-local-load-balancer")] = 345 }, HealthCheckNodePorts());

        // Remove some stuff: oneService is services[0] with its first port removed (and the second renamed).
        var oneService = MakeTestService("ns2", "cluster-ip", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "172.16.55.4";
            AddTestPort(svc, "p2", "UDP", 1235, 5321, 0);
        });
        _services.Update(services[0], oneService);
        _services.Update(services[1], null);
        _services.Update(services[2], null);
        _services.Update(services[3], null);

        changes = Sync();
        Assert.Equal([Spn("ns2", "cluster-ip", "p2", TransportProtocol.Udp)], changes.Snapshot.Routes.Keys);
        Assert.Equal(4, UpdatedServices(changes).Count);
        Assert.Empty(HealthCheckNodePorts());
    }

    [Fact]
    public void BuildServiceMapServiceUpdate()
    {
        var servicev1 = MakeTestService("ns1", "svc1", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "172.16.55.4";
            AddTestPort(svc, "p1", "UDP", 1234, 4321, 0);
            AddTestPort(svc, "p2", "TCP", 1235, 5321, 0);
        });
        var servicev2 = MakeTestService("ns1", "svc1", svc =>
        {
            svc.Spec!.Type = "LoadBalancer";
            svc.Spec.ClusterIP = "172.16.55.4";
            svc.Spec.LoadBalancerIP = "5.6.7.8";
            AddTestPort(svc, "p1", "UDP", 1234, 4321, 7002);
            AddTestPort(svc, "p2", "TCP", 1235, 5321, 7003);
            SetIngress(svc, new LoadBalancerIngress { Ip = "10.1.2.3" });
            svc.Spec.ExternalTrafficPolicy = "Local";
            svc.Spec.HealthCheckNodePort = 345;
        });

        _services.Update(null, servicev1);
        var changes = Sync();
        Assert.Equal(2, changes.Snapshot.Routes.Count);
        Assert.Single(UpdatedServices(changes));
        Assert.Empty(HealthCheckNodePorts());

        // Change service to load-balancer
        _services.Update(servicev1, servicev2);
        changes = Sync();
        Assert.Equal(2, changes.Snapshot.Routes.Count);
        Assert.Single(UpdatedServices(changes));
        Assert.Single(HealthCheckNodePorts());

        // No change; make sure the service map stays the same and there are no health-check changes
        Assert.False(_services.Update(servicev2, servicev2));
        changes = Sync();
        Assert.Equal(2, changes.Snapshot.Routes.Count);
        Assert.Empty(UpdatedServices(changes));
        Assert.Single(HealthCheckNodePorts());

        // And back to ClusterIP
        _services.Update(servicev2, servicev1);
        changes = Sync();
        Assert.Equal(2, changes.Snapshot.Routes.Count);
        Assert.Single(UpdatedServices(changes));
        Assert.Empty(HealthCheckNodePorts());
    }

    [Fact]
    public void Update_that_returns_to_the_synced_state_is_dropped()
    {
        var v1 = MakeTestService("ns", "svc", svc =>
        {
            svc.Spec!.ClusterIP = "10.0.0.1";
            AddTestPort(svc, "http", "TCP", 80, 0, 8080);
        });
        var v2 = MakeTestService("ns", "svc", svc =>
        {
            svc.Spec!.ClusterIP = "10.0.0.1";
            AddTestPort(svc, "http", "TCP", 81, 0, 8080);
        });
        _services.Update(null, v1);
        Sync();

        Assert.True(_services.Update(v1, v2));
        Assert.False(_services.Update(v2, v1));
        Assert.Empty(_services.CheckoutChanges());
    }

    [Fact]
    public void Update_of_an_added_service_that_is_then_deleted_leaves_nothing_pending()
    {
        var service = MakeTestService("ns", "svc", svc =>
        {
            svc.Spec!.ClusterIP = "10.0.0.1";
            AddTestPort(svc, "http", "TCP", 80, 0, 8080);
        });

        Assert.True(_services.Update(null, service));
        Assert.False(_services.Update(service, null));
        Assert.False(_services.Update(null, null));
        Assert.Empty(_services.CheckoutChanges());
    }

    [Fact]
    public void Update_relabelled_for_another_proxy_removes_its_ports()
    {
        var ours = MakeTestService("ns", "svc", svc =>
        {
            svc.Spec!.ClusterIP = "10.0.0.1";
            AddTestPort(svc, "http", "TCP", 80, 0, 8080);
        });
        var theirs = MakeTestService("ns", "svc", svc =>
        {
            svc.Metadata!.Labels = new() { ["service.kubernetes.io/service-proxy-name"] = "other" };
            svc.Spec!.ClusterIP = "10.0.0.1";
            AddTestPort(svc, "http", "TCP", 80, 0, 8080);
        });
        _services.Update(null, ours);
        Assert.Single(Sync().Snapshot.Routes);

        Assert.True(_services.Update(ours, theirs));
        var changes = Sync();
        Assert.Empty(changes.Snapshot.Routes);
        Assert.Equal([Spn("ns", "svc", "http")], changes.Changed);
    }

    [Fact]
    public void Update_with_sctp_ports_logs_each_once()
    {
        var log = new List<string>();
        var services = new ServiceChangeTracker(log.Add);
        var service = MakeTestService("ns", "svc", svc =>
        {
            svc.Spec!.ClusterIP = "10.0.0.1";
            AddTestPort(svc, "sip", "SCTP", 5060, 0, 5060);
        });

        Assert.False(services.Update(null, service));
        Assert.False(services.Update(service, service));
        Assert.Equal(["Service port ns/svc:sip/SCTP is SCTP, which this proxy does not relay; it is skipped"], log);
    }
}
