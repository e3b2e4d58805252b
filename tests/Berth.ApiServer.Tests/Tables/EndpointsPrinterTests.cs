using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

// printEndpoints (formatEndpoints) and printEndpointSlice, after TestPrintEndpoint / TestPrintEndpointSlice.
public class EndpointsPrinterTests
{
    public static TheoryData<string, string> EndpointsCases => new()
    {
        { """[]""", "<none>" },
        { """[{"addresses":[{"ip":"1.1.1.1"},{"ip":"2.2.2.2"}],"ports":[{"name":"http","port":88}]}]""", "1.1.1.1:88,2.2.2.2:88" },
        { """[{"addresses":[{"ip":"127.0.0.1"}],"ports":[{"port":8080},{"port":8443}]}]""", "127.0.0.1:8080,127.0.0.1:8443" },
        { """[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}]}]""", "10.0.0.1,10.0.0.2" },
        { """[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"},{"ip":"10.0.0.3"},{"ip":"10.0.0.4"},{"ip":"10.0.0.5"}],"ports":[{"port":80}]}]""", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..." },
        { """[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],"ports":[{"port":80},{"port":443}]}]""", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..." },
        { """[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],"ports":[{"port":80}]},{"addresses":[{"ip":"10.0.1.1"},{"ip":"10.0.1.2"}],"ports":[{"port":81}]}]""", "10.0.0.1:80,10.0.0.2:80,10.0.1.1:81 + 1 more..." },
        { """[{"addresses":[{"ip":"fd00::1"}],"ports":[{"port":80}]}]""", "[fd00::1]:80" },
        // Only ready addresses are listed; notReadyAddresses do not count.
        { """[{"notReadyAddresses":[{"ip":"10.0.0.9"}],"ports":[{"port":80}]}]""", "" },
    };

    [Theory]
    [MemberData(nameof(EndpointsCases))]
    public void Cells_Endpoints_FormatsLikeFormatEndpoints(string subsets, string expected)
    {
        var json = """{"metadata":{"name":"external-service","creationTimestamp":"T-7m"},"subsets":SUBSETS}"""
            .Replace("SUBSETS", subsets, StringComparison.Ordinal);

        Assert.Equal(new object[] { "external-service", expected, "7m" }, Row("endpoints", json));
    }

    [Fact]
    public void Cells_EndpointsWithoutSubsets_IsNone() =>
        Assert.Equal(new object[] { "e", "<none>", "<unknown>" }, Row("endpoints", """{"metadata":{"name":"e"}}"""));

    public static TheoryData<string, string, string> SliceCases => new()
    {
        {
            """[{"name":"http","port":8080,"protocol":"TCP"}]""",
            """[{"addresses":["10.244.0.4"],"conditions":{"ready":true}},{"addresses":["10.244.0.5"],"conditions":{"ready":false}}]""",
            "8080|10.244.0.4,10.244.0.5"
        },
        {
            """[{"port":80},{"port":443},{"name":"metrics"},{"port":9090}]""",
            """[{"addresses":["10.0.0.1"]},{"addresses":["10.0.0.2"]},{"addresses":["10.0.0.3"]},{"addresses":["10.0.0.4"]},{"addresses":["10.0.0.5"]}]""",
            "80,443,metrics + 1 more...|10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."
        },
        { """[{}]""", """[]""", "*|<unset>" },
        { """[]""", """[{"addresses":["10.0.0.1","10.0.0.2"]}]""", "<unset>|10.0.0.1,10.0.0.2" },
    };

    [Theory]
    [MemberData(nameof(SliceCases))]
    public void Cells_EndpointSlice_PortsAndEndpoints(string ports, string endpoints, string expected)
    {
        var json = """{"metadata":{"name":"kiada-x7k2p","creationTimestamp":"T-2m","labels":{"kubernetes.io/service-name":"kiada"}},"addressType":"IPv4","ports":PORTS,"endpoints":ENDPOINTS}"""
            .Replace("PORTS", ports, StringComparison.Ordinal)
            .Replace("ENDPOINTS", endpoints, StringComparison.Ordinal);
        var parts = expected.Split('|');

        Assert.Equal(new object[] { "kiada-x7k2p", "IPv4", parts[0], parts[1], "2m" }, Row("endpointslices.discovery.k8s.io", json));
    }

    [Fact]
    public void Cells_EndpointSliceWithoutPortsOrEndpoints_IsUnset() =>
        Assert.Equal(
            new object[] { "s", "FQDN", "<unset>", "<unset>", "<unknown>" },
            Row("endpointslices.discovery.k8s.io", """{"metadata":{"name":"s"},"addressType":"FQDN"}"""));
}
