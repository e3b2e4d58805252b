using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

// Services as stored after defaulting (protocol TCP, clusterIPs filled in), modelled on the
// Kubernetes in Action chapter 11 manifests; expectations follow printService / TestPrintServiceLoadBalancer.
public class ServicePrinterTests
{
    public static TheoryData<string, string, object[]> Cases => new()
    {
        {
            "ClusterIP service",
            """{"metadata":{"name":"kiada","creationTimestamp":"T-5m"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.7","clusterIPs":["10.96.0.7"],"selector":{"app":"kiada"},"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}]},"status":{"loadBalancer":{}}}""",
            ["kiada", "ClusterIP", "10.96.0.7", "<none>", "80/TCP", "5m", "app=kiada"]
        },
        {
            "NodePort service with two ports",
            """{"metadata":{"name":"kiada","creationTimestamp":"T-3h"},"spec":{"type":"NodePort","clusterIPs":["10.96.0.8"],"selector":{"app":"kiada"},"ports":[{"name":"http","port":80,"nodePort":30080,"targetPort":8080,"protocol":"TCP"},{"name":"https","port":443,"nodePort":30443,"targetPort":8443,"protocol":"TCP"}]}}""",
            ["kiada", "NodePort", "10.96.0.8", "<none>", "80:30080/TCP,443:30443/TCP", "3h", "app=kiada"]
        },
        {
            "LoadBalancer without ingress is pending",
            """{"metadata":{"name":"kiada"},"spec":{"type":"LoadBalancer","clusterIPs":["10.96.0.9"],"selector":{"app":"kiada"},"ports":[{"port":80,"nodePort":30080,"protocol":"TCP"}]},"status":{"loadBalancer":{}}}""",
            ["kiada", "LoadBalancer", "10.96.0.9", "<pending>", "80:30080/TCP", "<unknown>", "app=kiada"]
        },
        {
            "LoadBalancer ingress IPs are sorted, deduplicated and never clipped (the table is wide)",
            """{"metadata":{"name":"service4"},"spec":{"type":"LoadBalancer","clusterIPs":["1.5.6.7"],"selector":{"foo":"bar"},"ports":[{"port":80,"protocol":"TCP"},{"port":8090,"protocol":"UDP"},{"port":8000,"protocol":"TCP"}]},"status":{"loadBalancer":{"ingress":[{"ip":"3.4.5.6"},{"ip":"2.3.4.5"},{"ip":"5.6.7.8","hostname":"host5678"},{"ip":"2.3.4.5"}]}}}""",
            ["service4", "LoadBalancer", "1.5.6.7", "2.3.4.5,3.4.5.6,5.6.7.8", "80/TCP,8090/UDP,8000/TCP", "<unknown>", "foo=bar"]
        },
        {
            "LoadBalancer ingress hostname when there is no IP",
            """{"metadata":{"name":"elb"},"spec":{"type":"LoadBalancer","clusterIPs":["10.0.0.1"],"ports":[{"port":443,"nodePort":31443,"protocol":"TCP"}]},"status":{"loadBalancer":{"ingress":[{"hostname":"a1b2.elb.example.com"}]}}}""",
            ["elb", "LoadBalancer", "10.0.0.1", "a1b2.elb.example.com", "443:31443/TCP", "<unknown>", "<none>"]
        },
        {
            "LoadBalancer ingress followed by spec.externalIPs",
            """{"metadata":{"name":"lbx"},"spec":{"type":"LoadBalancer","clusterIPs":["10.0.0.2"],"externalIPs":["192.0.2.10"],"ports":[{"port":80,"nodePort":30001,"protocol":"TCP"}]},"status":{"loadBalancer":{"ingress":[{"ip":"127.100.0.1"}]}}}""",
            ["lbx", "LoadBalancer", "10.0.0.2", "127.100.0.1,192.0.2.10", "80:30001/TCP", "<unknown>", "<none>"]
        },
        {
            "LoadBalancer without ingress but with externalIPs",
            """{"metadata":{"name":"lby"},"spec":{"type":"LoadBalancer","clusterIPs":["10.0.0.3"],"externalIPs":["192.0.2.11"],"ports":[{"port":80,"nodePort":30002,"protocol":"TCP"}]}}""",
            ["lby", "LoadBalancer", "10.0.0.3", "192.0.2.11", "80:30002/TCP", "<unknown>", "<none>"]
        },
        {
            "ClusterIP with externalIPs",
            """{"metadata":{"name":"ext"},"spec":{"type":"ClusterIP","clusterIPs":["10.0.0.4"],"externalIPs":["192.0.2.1","192.0.2.2"],"ports":[{"port":8080,"protocol":"TCP"}]}}""",
            ["ext", "ClusterIP", "10.0.0.4", "192.0.2.1,192.0.2.2", "8080/TCP", "<unknown>", "<none>"]
        },
        {
            "headless service prints None, service without selector prints <none>",
            """{"metadata":{"name":"external-service-headless"},"spec":{"type":"ClusterIP","clusterIP":"None","clusterIPs":["None"],"ports":[{"name":"http","port":80,"protocol":"TCP"}]}}""",
            ["external-service-headless", "ClusterIP", "None", "<none>", "80/TCP", "<unknown>", "<none>"]
        },
        {
            "ExternalName shows the external name and no cluster IP",
            """{"metadata":{"name":"time-api"},"spec":{"type":"ExternalName","externalName":"worldtimeapi.org","ports":[{"port":80,"protocol":"TCP"}]}}""",
            ["time-api", "ExternalName", "<none>", "worldtimeapi.org", "80/TCP", "<unknown>", "<none>"]
        },
        {
            "no ports",
            """{"metadata":{"name":"noports"},"spec":{"type":"ClusterIP","clusterIPs":["10.0.0.5"],"selector":{"b":"2","a":"1"}}}""",
            ["noports", "ClusterIP", "10.0.0.5", "<none>", "<none>", "<unknown>", "a=1,b=2"]
        },
        {
            "UDP and SCTP protocols",
            """{"metadata":{"name":"dns"},"spec":{"type":"ClusterIP","clusterIPs":["10.96.0.10"],"ports":[{"name":"dns","port":53,"protocol":"UDP"},{"name":"dns-tcp","port":53,"protocol":"TCP"},{"port":7777,"protocol":"SCTP"}]}}""",
            ["dns", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP,7777/SCTP", "<unknown>", "<none>"]
        },
        {
            "clusterIP without clusterIPs (v1 conversion fills clusterIPs)",
            """{"metadata":{"name":"old"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.11","ports":[{"port":80}]}}""",
            ["old", "ClusterIP", "10.96.0.11", "<none>", "80/TCP", "<unknown>", "<none>"]
        },
        {
            "dual-stack prints the primary family only",
            """{"metadata":{"name":"ds"},"spec":{"type":"ClusterIP","clusterIP":"fd00::7","clusterIPs":["fd00::7","10.96.0.12"],"ports":[{"port":80,"protocol":"TCP"}]}}""",
            ["ds", "ClusterIP", "fd00::7", "<none>", "80/TCP", "<unknown>", "<none>"]
        },
        {
            "unknown type",
            """{"metadata":{"name":"odd"},"spec":{"clusterIPs":["10.0.0.6"],"ports":[{"port":80,"protocol":"TCP"}]}}""",
            ["odd", "", "10.0.0.6", "<unknown>", "80/TCP", "<unknown>", "<none>"]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cells_Service_MatchesUpstream(string scenario, string json, object[] expected)
    {
        Assert.False(string.IsNullOrEmpty(scenario));
        Assert.Equal(expected, Row("services", json));
    }
}
