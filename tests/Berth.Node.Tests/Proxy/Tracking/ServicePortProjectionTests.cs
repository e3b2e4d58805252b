using System.Net;
using Berth.Api.Models;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Tracking;
using static Berth.Node.Tests.Proxy.Tracking.ProxyObjects;

namespace Berth.Node.Tests.Proxy.Tracking;

// upstream pkg/proxy/servicechangetracker_test.go TestServiceToServiceMap (serviceport.go newBaseServiceInfo). One
// proxy serves both families here, so the per-family filtering cases become "both families kept".
public sealed class ServicePortProjectionTests
{
    public sealed record Case(string Name, Service? Service, ServicePortInfo[] Expected)
    {
        public override string ToString() => Name;
    }

    private static ServicePortInfo Info(ServicePortName name, string clusterIP, int port, int nodePort = 0, int healthCheckNodePort = 0) => new()
    {
        Name = name,
        ClusterIPs = [Ip(clusterIP)],
        Port = port,
        NodePort = nodePort,
        HealthCheckNodePort = healthCheckNodePort,
    };

    private static Service LoadBalancer(string? ipMode) => MakeTestService("ns1", "load-balancer", svc =>
    {
        svc.Spec!.Type = "LoadBalancer";
        svc.Spec.ClusterIP = "172.16.55.11";
        svc.Spec.LoadBalancerIP = "5.6.7.8";
        AddTestPort(svc, "port3", "UDP", 8675, 30061, 7000);
        AddTestPort(svc, "port4", "UDP", 8676, 30062, 7001);
        SetIngress(svc, new LoadBalancerIngress { Ip = "10.1.2.4", IpMode = ipMode });
    });

    private static ServicePortInfo[] LoadBalancerPorts(params string[] vips) =>
    [
        Info(Spn("ns1", "load-balancer", "port3", TransportProtocol.Udp), "172.16.55.11", 8675, 30061) with { LoadBalancerIPs = [.. vips.Select(Ip)] },
        Info(Spn("ns1", "load-balancer", "port4", TransportProtocol.Udp), "172.16.55.11", 8676, 30062) with { LoadBalancerIPs = [.. vips.Select(Ip)] },
    ];

    private static Service TestPortService(string name, Action<ServiceSpec> spec) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "test" },
        Spec = ConfigureSpec(new ServiceSpec { Ports = [new ServicePort { Name = "testPort", Port = 12345, Protocol = "TCP" }] }, spec),
        Status = new ServiceStatus { LoadBalancer = new LoadBalancerStatus { Ingress = [new() { Ip = "8.8.8.8" }, new() { Ip = "2001:db8:85a3:0:0:8a2e:370:7335" }] } },
    };

    private static ServiceSpec ConfigureSpec(ServiceSpec spec, Action<ServiceSpec> configure)
    {
        configure(spec);
        return spec;
    }

    private static ServicePortInfo TestPort(string name, string clusterIP) => Info(Spn("test", name, "testPort"), clusterIP, 12345) with
    {
        LoadBalancerIPs = [Ip("8.8.8.8"), Ip("2001:db8:85a3:0:0:8a2e:370:7335")],
    };

    public static TheoryData<Case> Cases() =>
    [
        new("nothing", null, []),
        new("headless service", MakeTestService("ns2", "headless", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "None";
            AddTestPort(svc, "rpc", "UDP", 1234, 0, 0);
        }), []),
        new("headless sctp service", MakeTestService("ns2", "headless", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "None";
            AddTestPort(svc, "sip", "SCTP", 7777, 0, 0);
        }), []),
        new("headless service without port", MakeTestService("ns2", "headless-without-port", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "None";
        }), []),
        new("cluster ip service", MakeTestService("ns2", "cluster-ip", svc =>
        {
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "172.16.55.4";
            AddTestPort(svc, "p1", "UDP", 1234, 4321, 0);
            AddTestPort(svc, "p2", "UDP", 1235, 5321, 0);
        }),
        [
            Info(Spn("ns2", "cluster-ip", "p1", TransportProtocol.Udp), "172.16.55.4", 1234, 4321),
            Info(Spn("ns2", "cluster-ip", "p2", TransportProtocol.Udp), "172.16.55.4", 1235, 5321),
        ]),
        new("nodeport service", MakeTestService("ns2", "node-port", svc =>
        {
            svc.Spec!.Type = "NodePort";
            svc.Spec.ClusterIP = "172.16.55.10";
            AddTestPort(svc, "port1", "UDP", 345, 678, 0);
            AddTestPort(svc, "port2", "TCP", 344, 677, 0);
        }),
        [
            Info(Spn("ns2", "node-port", "port1", TransportProtocol.Udp), "172.16.55.10", 345, 678),
            Info(Spn("ns2", "node-port", "port2"), "172.16.55.10", 344, 677),
        ]),
        new("load balancer service", LoadBalancer(null), LoadBalancerPorts("10.1.2.4")),
        new("load balancer service ipMode VIP", LoadBalancer("VIP"), LoadBalancerPorts("10.1.2.4")),
        new("load balancer service ipMode Proxy", LoadBalancer("Proxy"), LoadBalancerPorts()),
        new("load balancer service with only local traffic policy", MakeTestService("ns1", "only-local-load-balancer", svc =>
        {
            svc.Spec!.Type = "LoadBalancer";
            svc.Spec.ClusterIP = "172.16.55.12";
            svc.Spec.LoadBalancerIP = "5.6.7.8";
            AddTestPort(svc, "portx", "UDP", 8677, 30063, 7002);
            AddTestPort(svc, "porty", "UDP", 8678, 30064, 7003);
            SetIngress(svc, new LoadBalancerIngress { Ip = "10.1.2.3" });
            svc.Spec.ExternalTrafficPolicy = "Local";
            svc.Spec.HealthCheckNodePort = 345;
        }),
        [
            Info(Spn("ns1", "only-local-load-balancer", "portx", TransportProtocol.Udp), "172.16.55.12", 8677, 30063, 345) with { LoadBalancerIPs = [Ip("10.1.2.3")], ExternalPolicyLocal = true },
            Info(Spn("ns1", "only-local-load-balancer", "porty", TransportProtocol.Udp), "172.16.55.12", 8678, 30064, 345) with { LoadBalancerIPs = [Ip("10.1.2.3")], ExternalPolicyLocal = true },
        ]),
        new("external name service", MakeTestService("ns2", "external-name", svc =>
        {
            svc.Spec!.Type = "ExternalName";
            svc.Spec.ClusterIP = "172.16.55.4"; // Should be ignored
            svc.Spec.ExternalName = "foo2.bar.com";
            AddTestPort(svc, "portz", "UDP", 1235, 5321, 0);
        }), []),
        new("service with ipv4 configurations", TestPortService("validIPv4", spec =>
        {
            spec.ClusterIP = "10.0.0.1";
            spec.ExternalIPs = ["8.8.8.8"];
            spec.LoadBalancerSourceRanges = ["0.0.0.0/1"];
        }),
        [TestPort("validIPv4", "10.0.0.1") with { ExternalIPs = [Ip("8.8.8.8")], LoadBalancerSourceRanges = [IPNetwork.Parse("0.0.0.0/1")] }]),
        new("service with ipv6 configurations", TestPortService("validIPv6", spec =>
        {
            spec.ClusterIP = "2001:db8:85a3:0:0:8a2e:370:7334";
            spec.ExternalIPs = ["2001:db8:85a3:0:0:8a2e:370:7335"];
            spec.LoadBalancerSourceRanges = ["2001:db8::/32"];
        }),
        [
            TestPort("validIPv6", "2001:db8:85a3:0:0:8a2e:370:7334") with
            {
                ExternalIPs = [Ip("2001:db8:85a3:0:0:8a2e:370:7335")],
                LoadBalancerSourceRanges = [IPNetwork.Parse("2001:db8::/32")],
            },
        ]),
        new("service with both ipv4 and ipv6 configurations keeps both (one proxy serves both families)", TestPortService("dualStack", spec =>
        {
            spec.ClusterIP = "10.0.0.1";
            spec.ClusterIPs = ["10.0.0.1", "2001:db8:85a3:0:0:8a2e:370:7334"];
            spec.ExternalIPs = ["8.8.8.8", "2001:db8:85a3:0:0:8a2e:370:7335"];
            spec.LoadBalancerSourceRanges = ["0.0.0.0/1", "2001:db8::/32"];
        }),
        [
            TestPort("dualStack", "10.0.0.1") with
            {
                ClusterIPs = [Ip("10.0.0.1"), Ip("2001:db8:85a3:0:0:8a2e:370:7334")],
                ExternalIPs = [Ip("8.8.8.8"), Ip("2001:db8:85a3:0:0:8a2e:370:7335")],
                LoadBalancerSourceRanges = [IPNetwork.Parse("0.0.0.0/1"), IPNetwork.Parse("2001:db8::/32")],
            },
        ]),
        new("service with extra space in LoadBalancerSourceRanges", TestPortService("extra-space", spec =>
        {
            spec.ClusterIP = "10.0.0.1";
            spec.LoadBalancerSourceRanges = [" 10.1.2.0/28"];
        }),
        [TestPort("extra-space", "10.0.0.1") with { LoadBalancerSourceRanges = [IPNetwork.Parse("10.1.2.0/28")] }]),
        new("invalid source ranges are skipped, host bits masked as ParseCIDRSloppy does", TestPortService("ranges", spec =>
        {
            spec.ClusterIP = "10.0.0.1";
            spec.LoadBalancerSourceRanges = ["nonsense", "10.1.2.3/24", "10.0.0.0/33"];
        }),
        [TestPort("ranges", "10.0.0.1") with { LoadBalancerSourceRanges = [IPNetwork.Parse("10.1.2.0/24")] }]),
        new("source ranges annotation when the field is empty", Annotated(new() { ["service.beta.kubernetes.io/load-balancer-source-ranges"] = "192.168.0.0/16, 10.0.0.0/8" }),
        [AnnotatedPort() with { LoadBalancerSourceRanges = [IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("10.0.0.0/8")] }]),
        new("source ranges field wins over the annotation", Annotated(new() { ["service.beta.kubernetes.io/load-balancer-source-ranges"] = "192.168.0.0/16" }, spec => spec.LoadBalancerSourceRanges = ["10.0.0.0/8"]),
        [AnnotatedPort() with { LoadBalancerSourceRanges = [IPNetwork.Parse("10.0.0.0/8")] }]),
        new("sctp ports are not proxied, the others are", MakeTestService("ns", "mixed", svc =>
        {
            svc.Spec!.ClusterIP = "10.0.0.2";
            AddTestPort(svc, "sip", "SCTP", 7777, 0, 0);
            AddTestPort(svc, "dns", "UDP", 53, 0, 0);
        }),
        [Info(Spn("ns", "mixed", "dns", TransportProtocol.Udp), "10.0.0.2", 53)]),
        new("service-proxy-name label: another proxy's Service", Annotated([], spec => { }, ("service.kubernetes.io/service-proxy-name", "other")), []),
        new("headless label", Annotated([], spec => { }, ("service.kubernetes.io/headless", "")), []),
        new("sessionAffinity ClientIP defaults to 10800 s", Annotated([], spec => spec.SessionAffinity = "ClientIP"),
        [AnnotatedPort() with { AffinityTimeout = TimeSpan.FromSeconds(10800) }]),
        new("sessionAffinity ClientIP with a timeout", Annotated([], spec =>
        {
            spec.SessionAffinity = "ClientIP";
            spec.SessionAffinityConfig = new SessionAffinityConfig { ClientIP = new ClientIPConfig { TimeoutSeconds = 60 } };
        }),
        [AnnotatedPort() with { AffinityTimeout = TimeSpan.FromSeconds(60) }]),
        new("sessionAffinity None", Annotated([], spec => spec.SessionAffinity = "None"), [AnnotatedPort()]),
        new("internalTrafficPolicy Local", Annotated([], spec => spec.InternalTrafficPolicy = "Local"), [AnnotatedPort() with { InternalPolicyLocal = true }]),
        new("externalTrafficPolicy Local on a ClusterIP Service without externalIPs is not external", Annotated([], spec => spec.ExternalTrafficPolicy = "Local"), [AnnotatedPort()]),
        new("externalTrafficPolicy Local on a ClusterIP Service with externalIPs", Annotated([], spec =>
        {
            spec.ExternalTrafficPolicy = "Local";
            spec.ExternalIPs = ["1.2.3.4"];
        }),
        [AnnotatedPort() with { ExternalPolicyLocal = true, ExternalIPs = [Ip("1.2.3.4")] }]),
        new("externalTrafficPolicy Local on a NodePort Service: no healthCheckNodePort (LoadBalancer only)", Annotated([], spec =>
        {
            spec.Type = "NodePort";
            spec.ExternalTrafficPolicy = "Local";
            spec.HealthCheckNodePort = 30100;
        }),
        [AnnotatedPort() with { ExternalPolicyLocal = true }]),
        new("load-balancer annotation least-connections", Annotated(new() { ["berth.io/load-balancer"] = "least-connections" }), [AnnotatedPort() with { Algorithm = BalancingAlgorithm.LeastConnections }]),
        new("load-balancer annotation random", Annotated(new() { ["berth.io/load-balancer"] = "random" }), [AnnotatedPort() with { Algorithm = BalancingAlgorithm.Random }]),
        new("load-balancer annotation round-robin", Annotated(new() { ["berth.io/load-balancer"] = "round-robin" }), [AnnotatedPort()]),
        new("load-balancer annotation unknown falls back to round-robin", Annotated(new() { ["berth.io/load-balancer"] = "maglev" }), [AnnotatedPort()]),
        new("topology-mode Auto", Annotated(new() { ["service.kubernetes.io/topology-mode"] = "Auto" }), [AnnotatedPort() with { UsesTopology = true }]),
        new("topology-mode auto", Annotated(new() { ["service.kubernetes.io/topology-mode"] = "auto" }), [AnnotatedPort() with { UsesTopology = true }]),
        new("topology-mode aUto (wrong capitalization)", Annotated(new() { ["service.kubernetes.io/topology-mode"] = "aUto" }), [AnnotatedPort()]),
        new("topology-mode Disabled", Annotated(new() { ["service.kubernetes.io/topology-mode"] = "Disabled" }), [AnnotatedPort()]),
        new("deprecated topology-aware-hints auto", Annotated(new() { ["service.kubernetes.io/topology-aware-hints"] = "auto" }), [AnnotatedPort() with { UsesTopology = true }]),
        new("deprecated topology-aware-hints wins over topology-mode", Annotated(new()
        {
            ["service.kubernetes.io/topology-aware-hints"] = "disabled",
            ["service.kubernetes.io/topology-mode"] = "Auto",
        }), [AnnotatedPort()]),
        new("trafficDistribution PreferClose", Annotated([], spec => spec.TrafficDistribution = "PreferClose"), [AnnotatedPort() with { UsesTopology = true }]),
    ];

    private static Service Annotated(Dictionary<string, string> annotations, Action<ServiceSpec>? spec = null, params (string Key, string Value)[] labels) =>
        MakeTestService("ns", "svc", svc =>
        {
            svc.Metadata!.Annotations = annotations;
            svc.Metadata.Labels = labels.ToDictionary(l => l.Key, l => l.Value);
            svc.Spec!.Type = "ClusterIP";
            svc.Spec.ClusterIP = "10.0.0.9";
            AddTestPort(svc, "http", "TCP", 80, 0, 8080);
            spec?.Invoke(svc.Spec);
        });

    private static ServicePortInfo AnnotatedPort() => Info(Spn("ns", "svc", "http"), "10.0.0.9", 80);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ToServicePortMap_matches_upstream(Case c)
    {
        var map = ServicePortProjection.ToServicePortMap(c.Service);

        Assert.Equal(
            c.Expected.Select(Describe).Order(StringComparer.Ordinal),
            map.Values.Select(Describe).Order(StringComparer.Ordinal));
        foreach (var expected in c.Expected)
        {
            Assert.True(ServicePortInfoComparer.Instance.Equals(expected, map[expected.Name]));
        }
    }

    private static string Describe(ServicePortInfo i) =>
        $"{i.Name} clusterIPs=[{string.Join(",", i.ClusterIPs)}] port={i.Port} nodePort={i.NodePort} externalIPs=[{string.Join(",", i.ExternalIPs)}] " +
        $"lb=[{string.Join(",", i.LoadBalancerIPs)}] ranges=[{string.Join(",", i.LoadBalancerSourceRanges)}] affinity={i.AffinityTimeout} " +
        $"itpLocal={i.InternalPolicyLocal} etpLocal={i.ExternalPolicyLocal} hc={i.HealthCheckNodePort} algorithm={i.Algorithm} topology={i.UsesTopology}";
}
