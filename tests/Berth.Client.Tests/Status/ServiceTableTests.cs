using Berth.Api.Models;
using Berth.Client.ClusterStatus;

namespace Berth.Client.Tests.ClusterStatus;

public sealed class ServiceTableTests
{
    [Theory]
    [InlineData("TCP", null, "http", 9000, "http")]
    [InlineData("TCP", null, "http-api", 9000, "http")]
    [InlineData("TCP", null, "https", 9000, "https")]
    [InlineData("TCP", null, "https-admin", 9000, "https")]
    [InlineData("TCP", "https", "web", 80, "https")]
    [InlineData("TCP", "kubernetes.io/h2c", null, 9000, "http")]
    [InlineData("TCP", null, null, 80, "http")]
    [InlineData("TCP", null, null, 8080, "http")]
    [InlineData("TCP", null, null, 8000, "http")]
    [InlineData("TCP", null, null, 443, "https")]
    [InlineData("TCP", null, "metrics", 8443, "https")]
    [InlineData("TCP", null, "db", 5432, "tcp")]
    [InlineData(null, null, null, 5432, "tcp")]
    [InlineData("UDP", null, "http", 80, "udp")]
    [InlineData("SCTP", null, null, 80, "sctp")]
    [InlineData("TCP", null, "httpd", 9000, "tcp")]
    public void Scheme_ByProtocolThenNameOrAppProtocolThenPort(string? protocol, string? appProtocol, string? name, int port, string scheme) =>
        Assert.Equal(scheme, ServiceTable.Scheme(new ServicePort { Protocol = protocol, AppProtocol = appProtocol, Name = name, Port = port }));

    [Fact]
    public void Rows_EveryTypeOfService_SortedByNamespaceAndName()
    {
        Service[] services =
        [
            Svc("kiada", "default", "LoadBalancer", "127.96.0.57", [Port("http", 80, nodePort: 31234)], lbIngress: "127.100.0.1"),
            Svc("db", "default", "ClusterIP", "None", [Port("http", 8080)]),
            new Service
            {
                Metadata = new ObjectMeta { Name = "database", Namespace = "default" },
                Spec = new ServiceSpec { Type = "ExternalName", ExternalName = "db-0.db.default.svc.cluster.local" },
            },
            Svc("kube-dns", "kube-system", "ClusterIP", "127.96.0.10", [Port("dns", 53, protocol: "UDP"), Port("dns-tcp", 53)]),
            Svc("np", "apps", "NodePort", "127.96.0.9", [Port("grpc", 9000, nodePort: 30001)]),
            Svc("v6", "apps", "ClusterIP", "fd00::5", [Port(null, 443)]),
            // Sorted by namespace, then name: "default-x" comes after every Service of "default" ('-' < '/').
            Svc("a", "default-x", "ClusterIP", "127.96.0.11", [Port("http", 80)]),
        ];

        var rows = ServiceTable.Rows(services, ["127.0.0.1", "::1"], "cluster.local");

        Assert.Equal(
        [
            new ServiceRow("apps/np", "NodePort", "tcp://127.96.0.9:9000", "tcp://127.0.0.1:30001,tcp://[::1]:30001", "-", "np.apps.svc.cluster.local"),
            new ServiceRow("apps/v6", "ClusterIP", "https://[fd00::5]:443", "-", "-", "v6.apps.svc.cluster.local"),
            new ServiceRow("default/database", "ExternalName", "-", "-", "-", "database.default.svc.cluster.local->db-0.db.default.svc.cluster.local"),
            new ServiceRow("default/db", "Headless", "-", "-", "-", "db.default.svc.cluster.local"),
            new ServiceRow("default/kiada", "LoadBalancer", "http://127.96.0.57:80", "http://127.0.0.1:31234,http://[::1]:31234", "http://127.100.0.1:80", "kiada.default.svc.cluster.local"),
            new ServiceRow("default-x/a", "ClusterIP", "http://127.96.0.11:80", "-", "-", "a.default-x.svc.cluster.local"),
            new ServiceRow("kube-system/kube-dns", "ClusterIP", "udp://127.96.0.10:53,tcp://127.96.0.10:53", "-", "-", "kube-dns.kube-system.svc.cluster.local"),
        ], rows);
    }

    [Fact]
    public void Rows_LoadBalancerWithoutAnAddressYet_HasNoLoadBalancerUrl()
    {
        var row = ServiceTable.Row(Svc("web", "default", "LoadBalancer", "127.96.0.5", [Port("http", 80, nodePort: 30080)]), ["127.0.0.1"], "example.test");

        Assert.Equal(("-", "web.default.svc.example.test"), (row.LoadBalancer, row.Dns));
    }

    [Fact]
    public void Render_PadsColumnsToTheWidestCellPlusTwoSpaces()
    {
        var text = ServiceTable.Render(
        [
            new ServiceRow("default/database", "ExternalName", "-", "-", "-", "database.default.svc.cluster.local->x.example"),
            new ServiceRow("default/kiada", "LoadBalancer", "http://127.96.0.57:80", "-", "http://127.100.0.1:80", "kiada.default.svc.cluster.local"),
        ]);

        Assert.Equal("""
            SERVICE           TYPE          CLUSTER-IP             NODEPORT  LOADBALANCER           DNS
            default/database  ExternalName  -                      -         -                      database.default.svc.cluster.local->x.example
            default/kiada     LoadBalancer  http://127.96.0.57:80  -         http://127.100.0.1:80  kiada.default.svc.cluster.local

            """.ReplaceLineEndings("\n"), text);
    }

    private static Service Svc(string name, string ns, string type, string clusterIP, List<ServicePort> ports, string? lbIngress = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Spec = new ServiceSpec { Type = type, ClusterIP = clusterIP, ClusterIPs = [clusterIP], Ports = ports },
        Status = lbIngress is null ? null : new ServiceStatus { LoadBalancer = new LoadBalancerStatus { Ingress = [new LoadBalancerIngress { Ip = lbIngress }] } },
    };

    private static ServicePort Port(string? name, int port, int? nodePort = null, string protocol = "TCP") =>
        new() { Name = name, Port = port, NodePort = nodePort, Protocol = protocol };
}
