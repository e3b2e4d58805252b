using Berth.Api.Models;
using Berth.Node.Kubelet.Env;

namespace Berth.Node.Tests.Kubelet.Env;

public class ServiceEnvironmentTests
{
    internal static Service Svc(string name, string ns, string clusterIP, params ServicePort[] ports) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Spec = new ServiceSpec { ClusterIP = clusterIP, Ports = [.. ports] },
    };

    internal static ServicePort Port(int port, string protocol = "TCP", string? name = null, string? appProtocol = null) =>
        new() { Port = port, Protocol = protocol, Name = name, AppProtocol = appProtocol };

    private static List<KeyValuePair<string, string>> KubernetesOnly(IEnumerable<KeyValuePair<string, string>> vars) =>
        [.. vars.Where(v => !v.Key.StartsWith("services__", StringComparison.Ordinal))];

    // pkg/kubelet/envvars/envvars_test.go TestFromServices (services given in name order: the output is sorted by name).
    [Fact]
    public void Build_UpstreamFromServices_SameVariablesInOrder()
    {
        Service[] services =
        [
            Svc("abc-123", "ns", "5.6.7.8", Port(8081, "UDP", "u-d-p"), Port(8081, "TCP", "t-c-p")),
            Svc("foo-bar", "ns", "1.2.3.4", Port(8080)),
            Svc("q-u-u-x", "ns", "9.8.7.6", Port(8082), Port(8083, "TCP", "8083")),
            Svc("svrc-clusterip-none", "ns", "None", Port(8082)),
            Svc("svrc-clusterip-empty", "ns", "", Port(8082)),
        ];
        KeyValuePair<string, string>[] expected =
        [
            new("ABC_123_SERVICE_HOST", "5.6.7.8"),
            new("ABC_123_SERVICE_PORT", "8081"),
            new("ABC_123_SERVICE_PORT_U_D_P", "8081"),
            new("ABC_123_SERVICE_PORT_T_C_P", "8081"),
            new("ABC_123_PORT", "udp://5.6.7.8:8081"),
            new("ABC_123_PORT_8081_UDP", "udp://5.6.7.8:8081"),
            new("ABC_123_PORT_8081_UDP_PROTO", "udp"),
            new("ABC_123_PORT_8081_UDP_PORT", "8081"),
            new("ABC_123_PORT_8081_UDP_ADDR", "5.6.7.8"),
            new("ABC_123_PORT_8081_TCP", "tcp://5.6.7.8:8081"),
            new("ABC_123_PORT_8081_TCP_PROTO", "tcp"),
            new("ABC_123_PORT_8081_TCP_PORT", "8081"),
            new("ABC_123_PORT_8081_TCP_ADDR", "5.6.7.8"),
            new("FOO_BAR_SERVICE_HOST", "1.2.3.4"),
            new("FOO_BAR_SERVICE_PORT", "8080"),
            new("FOO_BAR_PORT", "tcp://1.2.3.4:8080"),
            new("FOO_BAR_PORT_8080_TCP", "tcp://1.2.3.4:8080"),
            new("FOO_BAR_PORT_8080_TCP_PROTO", "tcp"),
            new("FOO_BAR_PORT_8080_TCP_PORT", "8080"),
            new("FOO_BAR_PORT_8080_TCP_ADDR", "1.2.3.4"),
            new("Q_U_U_X_SERVICE_HOST", "9.8.7.6"),
            new("Q_U_U_X_SERVICE_PORT", "8082"),
            new("Q_U_U_X_SERVICE_PORT_8083", "8083"),
            new("Q_U_U_X_PORT", "tcp://9.8.7.6:8082"),
            new("Q_U_U_X_PORT_8082_TCP", "tcp://9.8.7.6:8082"),
            new("Q_U_U_X_PORT_8082_TCP_PROTO", "tcp"),
            new("Q_U_U_X_PORT_8082_TCP_PORT", "8082"),
            new("Q_U_U_X_PORT_8082_TCP_ADDR", "9.8.7.6"),
            new("Q_U_U_X_PORT_8083_TCP", "tcp://9.8.7.6:8083"),
            new("Q_U_U_X_PORT_8083_TCP_PROTO", "tcp"),
            new("Q_U_U_X_PORT_8083_TCP_PORT", "8083"),
            new("Q_U_U_X_PORT_8083_TCP_ADDR", "9.8.7.6"),
        ];

        Assert.Equal(expected, KubernetesOnly(ServiceEnvironment.Build(services, "ns", enableServiceLinks: true)));
    }

    // The service set of pkg/kubelet/kubelet_pods_test.go TestMakeEnvironmentVariables.
    internal static Service[] KubeletTestServices =>
    [
        Svc("kubernetes", "default", "1.2.3.1", Port(8081)),
        Svc("test", "test1", "1.2.3.3", Port(8083)),
        Svc("kubernetes", "test2", "1.2.3.4", Port(8084)),
        Svc("test", "test2", "1.2.3.5", Port(8085)),
        Svc("test", "test2", "None", Port(8085)),
        Svc("test", "test2", "", Port(8085)),
        Svc("not-special", "default", "1.2.3.8", Port(8088)),
        Svc("not-special", "default", "None", Port(8088)),
        Svc("not-special", "default", "", Port(8088)),
    ];

    // Which Services' HOST variables each case of TestMakeEnvironmentVariables shows.
    public static TheoryData<string, string, bool, string[]> MasterServiceCases => new()
    {
        { "links off: only the master service", "test1", false, ["KUBERNETES_SERVICE_HOST=1.2.3.1"] },
        { "links on: the namespace's services too", "test1", true, ["KUBERNETES_SERVICE_HOST=1.2.3.1", "TEST_SERVICE_HOST=1.2.3.3"] },
        { "master service in pod ns, links off", "test2", false, ["KUBERNETES_SERVICE_HOST=1.2.3.1"] },
        { "master service in pod ns, links on: the pod's namespace wins", "test2", true, ["KUBERNETES_SERVICE_HOST=1.2.3.4", "TEST_SERVICE_HOST=1.2.3.5"] },
        { "pod in master service ns, links off", "default", false, ["KUBERNETES_SERVICE_HOST=1.2.3.1"] },
        { "pod in master service ns, links on", "default", true, ["KUBERNETES_SERVICE_HOST=1.2.3.1", "NOT_SPECIAL_SERVICE_HOST=1.2.3.8"] },
    };

    [Theory]
    [MemberData(nameof(MasterServiceCases))]
    public void Build_MasterServiceAndLinks_UpstreamSelection(string name, string ns, bool links, string[] hosts)
    {
        Assert.True(name.Length > 0);
        var vars = ServiceEnvironment.Build(KubeletTestServices, ns, links);
        Assert.Equal(hosts, vars.Where(v => v.Key.EndsWith("_SERVICE_HOST", StringComparison.Ordinal)).Select(v => $"{v.Key}={v.Value}"));
    }

    [Fact]
    public void Build_PodNamespaceServiceListedFirst_StillReplacesMaster()
    {
        Service[] services = [Svc("kubernetes", "test2", "1.2.3.4", Port(8084)), Svc("kubernetes", "default", "1.2.3.1", Port(8081))];
        var vars = ServiceEnvironment.Build(services, "test2", enableServiceLinks: true);
        Assert.Contains(new KeyValuePair<string, string>("KUBERNETES_SERVICE_HOST", "1.2.3.4"), vars);
    }

    public static TheoryData<string, Service, string[]> AspireCases => new()
    {
        {
            "one unnamed port: http", Svc("api", "ns", "10.0.0.5", Port(8080)),
            ["services__api__http__0=http://10.0.0.5:8080"]
        },
        {
            "443 is https", Svc("kubernetes", "ns", "10.96.0.1", Port(443, name: "https")),
            ["services__kubernetes__https__0=https://10.96.0.1:443"]
        },
        {
            "named ports under their names, schemes picked by name",
            Svc("basket", "ns", "10.0.0.7", Port(9090, name: "metrics"), Port(8080, name: "http"), Port(8443, name: "https"), Port(5000, name: "grpc", appProtocol: "https")),
            [
                "services__basket__metrics__0=http://10.0.0.7:9090",
                "services__basket__http__0=http://10.0.0.7:8080",
                "services__basket__https__0=https://10.0.0.7:8443",
                "services__basket__grpc__0=https://10.0.0.7:5000",
            ]
        },
        {
            "no port named for the scheme: the first of that scheme", Svc("cache", "ns", "10.0.0.8", Port(6379, name: "redis"), Port(9121, name: "exporter")),
            ["services__cache__redis__0=http://10.0.0.8:6379", "services__cache__exporter__0=http://10.0.0.8:9121", "services__cache__http__0=http://10.0.0.8:6379"]
        },
        {
            "UDP ports left out", Svc("dns", "ns", "10.0.0.10", Port(53, "UDP", "dns"), Port(53, "TCP", "dns-tcp")),
            ["services__dns__dns-tcp__0=http://10.0.0.10:53", "services__dns__http__0=http://10.0.0.10:53"]
        },
        {
            "IPv6 cluster IP in brackets", Svc("v6", "ns", "fd00::a", Port(80)),
            ["services__v6__http__0=http://[fd00::a]:80"]
        },
    };

    [Theory]
    [MemberData(nameof(AspireCases))]
    public void Build_AspireForm_EndpointsByNameAndScheme(string name, Service service, string[] expected)
    {
        Assert.True(name.Length > 0);
        var vars = ServiceEnvironment.Build([service], "ns", enableServiceLinks: true);
        Assert.Equal(expected, vars.Where(v => v.Key.StartsWith("services__", StringComparison.Ordinal)).Select(v => $"{v.Key}={v.Value}"));
    }

    [Fact]
    public void Build_AspireForm_FollowsEachServiceKubernetesVariables()
    {
        var vars = ServiceEnvironment.Build([Svc("api", "ns", "10.0.0.5", Port(8080))], "ns", enableServiceLinks: true);
        Assert.Equal("API_PORT_8080_TCP_ADDR", vars[^2].Key);
        Assert.Equal("services__api__http__0", vars[^1].Key);
    }

    [Fact]
    public void Build_HeadlessAndExternalName_NoVariables()
    {
        var external = new Service { Metadata = new ObjectMeta { Name = "ext", Namespace = "ns" }, Spec = new ServiceSpec { Type = "ExternalName", ExternalName = "example.com" } };
        Assert.Empty(ServiceEnvironment.Build([external, Svc("headless", "ns", "None", Port(80))], "ns", enableServiceLinks: true));
    }
}
