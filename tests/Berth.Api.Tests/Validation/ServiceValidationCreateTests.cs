using Berth.Api.Models;
using Berth.Api.Validation;
using static Berth.Api.Tests.Validation.ServiceFixtures;

namespace Berth.Api.Tests.Validation;

/// <summary>
/// TestValidateServiceCreate from upstream pkg/apis/core/validation/validation_test.go: each case tweaks
/// makeValidService and expects a number of errors. The nine metadata cases (name, namespace, generateName, labels,
/// annotations) belong to the registry's metadata validation and are not repeated here. Where a case lists the
/// errors, their text is what upstream prints (kubectl shows "field: message").
/// </summary>
public sealed class ServiceValidationCreateTests
{
    private const string IPMessage = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
    private const string CidrMessage = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
    private const string QualifiedNamePartMessage =
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    private const string SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    private const string SourceRangesAnnotation = "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]";

    private sealed record Case(string Name, Action<Service> Tweak, int NumErrs, params string[] Errors);

    private static readonly Case[] s_cases =
    [
        new("nil selector", s => s.Spec!.Selector = null, 0),
        new("invalid selector", s => s.Spec!.Selector!["NoSpecialCharsLike=Equals"] = "bar", 1,
            $"spec.selector: Invalid value: \"NoSpecialCharsLike=Equals\": {QualifiedNamePartMessage}"),
        new("missing session affinity", s => s.Spec!.SessionAffinity = "", 1, "spec.sessionAffinity: Required value"),
        new("missing type", s => s.Spec!.Type = "", 1, "spec.type: Required value"),
        new("missing ports", s => s.Spec!.Ports = null, 1, "spec.ports: Required value"),
        new("missing ports but headless", s =>
        {
            s.Spec!.Ports = null;
            s.Spec.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
        }, 0),
        new("empty port[0] name", s => s.Spec!.Ports![0].Name = "", 0),
        new("empty port[1] name", s => s.Spec!.Ports!.Add(Port("", "TCP", 12345, 12345)), 1, "spec.ports[1].name: Required value"),
        new("empty multi-port port[0] name", s =>
        {
            s.Spec!.Ports![0].Name = "";
            s.Spec.Ports.Add(Port("p", "TCP", 12345, 12345));
        }, 1, "spec.ports[0].name: Required value"),
        new("invalid port name", s => s.Spec!.Ports![0].Name = "INVALID", 1,
            "spec.ports[0].name: Invalid value: \"INVALID\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
        new("missing protocol", s => s.Spec!.Ports![0].Protocol = "", 1, "spec.ports[0].protocol: Required value"),
        new("invalid protocol", s => s.Spec!.Ports![0].Protocol = "INVALID", 1,
            "spec.ports[0].protocol: Unsupported value: \"INVALID\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
        new("invalid cluster ip", s =>
        {
            s.Spec!.ClusterIP = "invalid";
            s.Spec.ClusterIPs = ["invalid"];
        }, 1, $"spec.clusterIPs[0]: Invalid value: \"invalid\": {IPMessage}"),
        new("missing port", s => s.Spec!.Ports![0].Port = 0, 1, "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
        new("invalid port", s => s.Spec!.Ports![0].Port = 65536, 1, "spec.ports[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive"),
        new("invalid TargetPort int", s => s.Spec!.Ports![0].TargetPort = 65536, 1,
            "spec.ports[0].targetPort: Invalid value: 65536: must be between 1 and 65535, inclusive"),
        new("valid port headless", s =>
        {
            s.Spec!.Ports![0].Port = 11722;
            s.Spec.Ports[0].TargetPort = 11722;
            s.Spec.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
        }, 0),
        // v1 tolerated any targetPort on headless Services, so these stay valid.
        new("invalid port headless 1", s =>
        {
            s.Spec!.Ports![0].Port = 11722;
            s.Spec.Ports[0].TargetPort = 11721;
            s.Spec.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
        }, 0),
        new("invalid port headless 2", s =>
        {
            s.Spec!.Ports![0].Port = 11722;
            s.Spec.Ports[0].TargetPort = "target";
            s.Spec.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
        }, 0),
        new("invalid publicIPs localhost", s => ExternalIPs(s, "127.0.0.1"), 1),
        new("invalid publicIPs unspecified", s => ExternalIPs(s, "0.0.0.0"), 1,
            "spec.externalIPs[0]: Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)"),
        new("invalid publicIPs loopback", s => ExternalIPs(s, "127.0.0.1"), 1,
            "spec.externalIPs[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)"),
        new("invalid publicIPs host", s => ExternalIPs(s, "myhost.mydomain"), 1, $"spec.externalIPs[0]: Invalid value: \"myhost.mydomain\": {IPMessage}"),
        new("valid publicIPs", s => ExternalIPs(s, "1.2.3.4"), 0),
        new("dup port name", s =>
        {
            s.Spec!.Ports![0].Name = "p";
            s.Spec.Ports.Add(Port("p", "TCP", 12345, 12345));
        }, 1, "spec.ports[1].name: Duplicate value: \"p\""),
        new("valid load balancer protocol UDP 1", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports![0].Protocol = "UDP";
        }, 0),
        new("valid load balancer protocol UDP 2", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports![0] = Port("q", "UDP", 12345, 12345);
        }, 0),
        new("load balancer with mix protocol", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports!.Add(Port("q", "UDP", 12345, 12345));
        }, 0),
        new("valid 1", _ => { }, 0),
        new("valid 2", s =>
        {
            s.Spec!.Ports![0].Protocol = "UDP";
            s.Spec.Ports[0].TargetPort = 12345;
        }, 0),
        new("valid 3", s => s.Spec!.Ports![0].TargetPort = "http", 0),
        new("valid cluster ip - none ", s =>
        {
            s.Spec!.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
        }, 0),
        new("valid cluster ip - empty", s =>
        {
            s.Spec!.ClusterIPs = null;
            s.Spec.Ports![0].TargetPort = "http";
        }, 0),
        new("valid type - clusterIP", s => s.Spec!.Type = "ClusterIP", 0),
        new("valid type - loadbalancer", MakeLoadBalancer, 0),
        new("valid type - loadbalancer with allocateLoadBalancerNodePorts=false", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.AllocateLoadBalancerNodePorts = false;
        }, 0),
        new("invalid type - missing AllocateLoadBalancerNodePorts for loadbalancer type", s =>
        {
            s.Spec!.Type = "LoadBalancer";
            s.Spec.ExternalTrafficPolicy = "Cluster";
        }, 1, "allocateLoadBalancerNodePorts: Required value"),
        new("valid type loadbalancer 2 ports", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 12345, 12345));
        }, 0),
        new("valid external load balancer 2 ports", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 12345, 12345));
        }, 0),
        new("duplicate nodeports", s =>
        {
            MakeNodePort(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 1, 1, nodePort: 1));
            s.Spec.Ports.Add(Port("r", "TCP", 2, 2, nodePort: 1));
        }, 1, "spec.ports[2].nodePort: Duplicate value: 1"),
        new("duplicate nodeports (different protocols)", s =>
        {
            MakeNodePort(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 1, 1, nodePort: 1));
            s.Spec.Ports.Add(Port("r", "UDP", 2, 2, nodePort: 1));
            s.Spec.Ports.Add(Port("s", "SCTP", 3, 3, nodePort: 1));
        }, 0),
        new("invalid duplicate ports (with same protocol)", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.Ports!.Add(Port("q", "TCP", 12345, 8080));
            s.Spec.Ports.Add(Port("r", "TCP", 12345, 80));
        }, 1, "spec.ports[2]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:12345, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}"),
        new("valid duplicate ports (with different protocols)", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.Ports!.Add(Port("q", "TCP", 12345, 8080));
            s.Spec.Ports.Add(Port("r", "UDP", 12345, 80));
            s.Spec.Ports.Add(Port("s", "SCTP", 12345, 8088));
        }, 0),
        new("valid type - cluster", s => s.Spec!.Type = "ClusterIP", 0),
        new("valid type - nodeport", MakeNodePort, 0),
        new("valid type - loadbalancer with allocateLoadBalancerNodePorts=true", MakeLoadBalancer, 0),
        new("valid type loadbalancer 2 ports (2)", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 12345, 12345));
        }, 0),
        new("valid type loadbalancer with NodePort", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 12345, 12345, nodePort: 12345));
        }, 0),
        new("valid type=NodePort service with NodePort", s =>
        {
            MakeNodePort(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 12345, 12345, nodePort: 12345));
        }, 0),
        new("valid type=NodePort service without NodePort", s =>
        {
            MakeNodePort(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 12345, 12345));
        }, 0),
        new("valid cluster service without NodePort", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.Ports!.Add(Port("q", "TCP", 12345, 12345));
        }, 0),
        new("invalid cluster service with NodePort", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.Ports!.Add(Port("q", "TCP", 12345, 12345, nodePort: 12345));
        }, 1, "spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
        new("invalid public service with duplicate NodePort", s =>
        {
            MakeNodePort(s);
            s.Spec!.Ports!.Add(Port("p1", "TCP", 1, 1, nodePort: 1));
            s.Spec.Ports.Add(Port("p2", "TCP", 2, 2, nodePort: 1));
        }, 1, "spec.ports[2].nodePort: Duplicate value: 1"),
        new("valid type=LoadBalancer", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 12345, 12345));
        }, 0),
        // Upstream removed the limitation on exposing port 10250 externally.
        new("valid port type=LoadBalancer", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.Ports!.Add(Port("kubelet", "TCP", 10250, 12345));
        }, 0),
        new("valid LoadBalancer source range annotation", s => SourceRangesAnnotated(s, "1.2.3.0/24,  5.6.0.0/16"), 0),
        new("valid empty LoadBalancer source range annotation", s => SourceRangesAnnotated(s, ""), 0),
        new("valid whitespace-only LoadBalancer source range annotation", s => SourceRangesAnnotated(s, "  "), 0),
        new("invalid LoadBalancer source range annotation (hostname)", s => SourceRangesAnnotated(s, "foo.bar"), 1,
            $"{SourceRangesAnnotation}: Invalid value: \"foo.bar\": {CidrMessage}"),
        new("invalid LoadBalancer source range annotation (invalid CIDR)", s => SourceRangesAnnotated(s, "1.2.3.4/33"), 1,
            $"{SourceRangesAnnotation}: Invalid value: \"1.2.3.4/33\": {CidrMessage}"),
        new("invalid LoadBalancer source range annotation for non LoadBalancer type service",
            s => s.Metadata!.Annotations!["service.beta.kubernetes.io/load-balancer-source-ranges"] = "1.2.3.0/24", 1,
            $"{SourceRangesAnnotation}: Forbidden: may only be used when `type` is 'LoadBalancer'"),
        new("invalid empty-but-set LoadBalancer source range annotation for non LoadBalancer type service",
            s => s.Metadata!.Annotations!["service.beta.kubernetes.io/load-balancer-source-ranges"] = "", 1,
            $"{SourceRangesAnnotation}: Forbidden: may only be used when `type` is 'LoadBalancer'"),
        new("valid LoadBalancer source range", s => SourceRanges(s, "1.2.3.0/24", "5.6.0.0/16"), 0),
        new("valid LoadBalancer source range with whitespace", s => SourceRanges(s, "1.2.3.0/24  ", " 5.6.0.0/16"), 0),
        new("invalid empty LoadBalancer source range", s => SourceRanges(s, "   "), 1,
            $"spec.LoadBalancerSourceRanges[0]: Invalid value: \"\": {CidrMessage}"),
        new("invalid LoadBalancer source range (hostname)", s => SourceRanges(s, "foo.bar"), 1),
        new("invalid LoadBalancer source range (invalid CIDR)", s => SourceRanges(s, "1.2.3.4/33"), 1,
            $"spec.LoadBalancerSourceRanges[0]: Invalid value: \"1.2.3.4/33\": {CidrMessage}"),
        new("invalid source range for non LoadBalancer type service", s => s.Spec!.LoadBalancerSourceRanges = ["1.2.3.0/24", "5.6.0.0/16"], 1,
            "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"),
        new("invalid source range annotation ignored with valid source range field", s =>
        {
            SourceRangesAnnotated(s, "foo.bar");
            s.Spec!.LoadBalancerSourceRanges = ["1.2.3.0/24", "5.6.0.0/16"];
        }, 0),
        new("valid ExternalName", s => MakeExternalName(s, "foo.bar.example.com"), 0),
        new("valid ExternalName (trailing dot)", s => MakeExternalName(s, "foo.bar.example.com."), 0),
        new("invalid ExternalName clusterIP (valid IP)", s =>
        {
            MakeExternalName(s, "foo.bar.example.com");
            s.Spec!.ClusterIP = "1.2.3.4";
            s.Spec.ClusterIPs = ["1.2.3.4"];
        }, 1, "spec.clusterIPs: Forbidden: may not be set for ExternalName services"),
        new("invalid ExternalName clusterIP (None)", s =>
        {
            MakeExternalName(s, "foo.bar.example.com");
            s.Spec!.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
        }, 1, "spec.clusterIPs: Forbidden: may not be set for ExternalName services"),
        new("invalid ExternalName (not a DNS name)", s => MakeExternalName(s, "-123"), 1, $"spec.externalName: Invalid value: \"-123\": {SubdomainMessage}"),
        new("LoadBalancer type cannot have None ClusterIP", s =>
        {
            s.Spec!.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
            MakeLoadBalancer(s);
        }, 1, "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer services"),
        new("invalid node port with clusterIP None", s =>
        {
            MakeNodePort(s);
            s.Spec!.Ports!.Add(Port("q", "TCP", 1, 1, nodePort: 1));
            s.Spec.ClusterIP = "None";
            s.Spec.ClusterIPs = ["None"];
        }, 1, "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"),
        // ESIPP section.
        new("invalid externalTraffic field", s =>
        {
            s.Spec!.Type = "LoadBalancer";
            s.Spec.AllocateLoadBalancerNodePorts = true;
            s.Spec.ExternalTrafficPolicy = "invalid";
        }, 1, "spec.externalTrafficPolicy: Unsupported value: \"invalid\": supported values: \"Cluster\", \"Local\""),
        new("nil internalTraffic field when feature gate is on", s => s.Spec!.InternalTrafficPolicy = null, 1, "spec.internalTrafficPolicy: Required value"),
        new("internalTrafficPolicy field nil when type is ExternalName", s =>
        {
            s.Spec!.InternalTrafficPolicy = null;
            MakeExternalName(s, "foo.bar.com");
        }, 0),
        // Stored objects from before v1.22 may have it with ExternalName; they must stay valid.
        new("internalTrafficPolicy field is set when type is ExternalName", s =>
        {
            s.Spec!.InternalTrafficPolicy = "Cluster";
            MakeExternalName(s, "foo.bar.com");
        }, 0),
        new("invalid internalTraffic field", s => s.Spec!.InternalTrafficPolicy = "invalid", 1,
            "spec.internalTrafficPolicy: Unsupported value: \"invalid\": supported values: \"Cluster\", \"Local\""),
        new("internalTrafficPolicy field set to Cluster", s => s.Spec!.InternalTrafficPolicy = "Cluster", 0),
        new("internalTrafficPolicy field set to Local", s => s.Spec!.InternalTrafficPolicy = "Local", 0),
        new("negative healthCheckNodePort field", s => LocalLoadBalancer(s, -1), 1,
            "spec.healthCheckNodePort: Invalid value: -1: must be between 1 and 65535, inclusive"),
        new("negative healthCheckNodePort field (2)", s => LocalLoadBalancer(s, 31100), 0),
        // ESIPP section ends.
        new("invalid timeoutSeconds field", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.SessionAffinity = "ClientIP";
            s.Spec.SessionAffinityConfig = new SessionAffinityConfig { ClientIP = new ClientIPConfig { TimeoutSeconds = -1 } };
        }, 1, "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: -1: must be greater than 0 and less than 86400"),
        new("sessionAffinityConfig can't be set when session affinity is None", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.SessionAffinity = "None";
            s.Spec.SessionAffinityConfig = new SessionAffinityConfig { ClientIP = new ClientIPConfig { TimeoutSeconds = 90 } };
        }, 1, "spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"),
        // ip families validation.
        new("invalid, service with invalid ipFamilies", s => s.Spec!.IpFamilies = ["not-a-valid-ip-family"], 1,
            "spec.ipFamilies[0]: Unsupported value: \"not-a-valid-ip-family\": supported values: \"IPv4\", \"IPv6\""),
        new("invalid, service with invalid ipFamilies (2nd)", s => Families(s, "RequireDualStack", "IPv4", "not-a-valid-ip-family"), 1),
        new("IPFamilyPolicy(singleStack) is set for two families", s => Families(s, "SingleStack", "IPv4", "IPv6"), 0), // checked when families are defaulted
        new("valid, IPFamilyPolicy(preferDualStack) is set for two families (note: alloc sets families)", s => Families(s, "PreferDualStack", "IPv4", "IPv6"), 0),
        new("invalid, service with 2+ ipFamilies", s => Families(s, "RequireDualStack", "IPv4", "IPv6", "IPv4"), 1, "spec.ipFamilies[2]: Duplicate value: \"IPv4\""),
        new("invalid, service with same ip families", s => Families(s, "RequireDualStack", "IPv6", "IPv6"), 1, "spec.ipFamilies[1]: Duplicate value: \"IPv6\""),
        new("valid, nil service ipFamilies", s => s.Spec!.IpFamilies = null, 0),
        new("valid, service with valid ipFamilies (v4)", s => s.Spec!.IpFamilies = ["IPv4"], 0),
        new("valid, service with valid ipFamilies (v6)", s => s.Spec!.IpFamilies = ["IPv6"], 0),
        new("valid, service with valid ipFamilies(v4,v6)", s => Families(s, "RequireDualStack", "IPv4", "IPv6"), 0),
        new("valid, service with valid ipFamilies(v6,v4)", s => Families(s, "RequireDualStack", "IPv6", "IPv4"), 0),
        new("valid, service preferred dual stack with single family", s => Families(s, "PreferDualStack", "IPv6"), 0),
        // cluster IPs; some tests are redundant.
        new("invalid, garbage single ip", s =>
        {
            s.Spec!.ClusterIP = "garbage-ip";
            s.Spec.ClusterIPs = ["garbage-ip"];
        }, 1),
        new("invalid, garbage ips", s => IPs(s, "RequireDualStack", "garbage-ip", "garbage-ip", "garbage-second-ip"), 2,
            $"spec.clusterIPs[0]: Invalid value: \"garbage-ip\": {IPMessage}",
            $"spec.clusterIPs[1]: Invalid value: \"garbage-second-ip\": {IPMessage}"),
        new("invalid, garbage first ip", s => IPs(s, "RequireDualStack", "garbage-ip", "garbage-ip", "2001::1"), 1),
        new("invalid, garbage second ip", s => IPs(s, "RequireDualStack", "2001::1", "2001::1", "garbage-ip"), 1),
        new("invalid, NONE + IP", s => IPs(s, "RequireDualStack", "None", "None", "2001::1"), 1,
            "spec.clusterIPs: Invalid value: []string{\"None\", \"2001::1\"}: 'None' must be the first and only value"),
        new("invalid, IP + NONE", s => IPs(s, "RequireDualStack", "2001::1", "2001::1", "None"), 1,
            $"spec.clusterIPs[1]: Invalid value: \"None\": {IPMessage}"),
        new("invalid, EMPTY STRING + IP", s => IPs(s, "RequireDualStack", "", "", "2001::1"), 2,
            "spec.clusterIPs: Invalid value: []string{\"\", \"2001::1\"}: must be empty when `clusterIP` is not specified",
            $"spec.clusterIPs[0]: Invalid value: \"\": {IPMessage}"),
        new("invalid, IP + EMPTY STRING", s => IPs(s, "RequireDualStack", "2001::1", "2001::1", ""), 1),
        new("invalid, same ip family (v6)", s =>
        {
            IPs(s, "RequireDualStack", "2001::1", "2001::1", "2001::4");
            s.Spec!.IpFamilies = ["IPv4", "IPv6"];
        }, 2,
            "spec.clusterIPs: Invalid value: []string{\"2001::1\", \"2001::4\"}: may specify no more than one IP for each IP family",
            "spec.clusterIPs[0]: Invalid value: \"2001::1\": expected an IPv4 value as indicated by `ipFamilies[0]`"),
        new("invalid, same ip family (v4)", s =>
        {
            IPs(s, "RequireDualStack", "10.0.0.1", "10.0.0.1", "10.0.0.10");
            s.Spec!.IpFamilies = ["IPv4", "IPv6"];
        }, 2,
            "spec.clusterIPs: Invalid value: []string{\"10.0.0.1\", \"10.0.0.10\"}: may specify no more than one IP for each IP family",
            "spec.clusterIPs[1]: Invalid value: \"10.0.0.10\": expected an IPv6 value as indicated by `ipFamilies[1]`"),
        new("invalid, more than two ips", s =>
        {
            IPs(s, "RequireDualStack", "10.0.0.1", "10.0.0.1", "2001::1", "10.0.0.10");
            s.Spec!.IpFamilies = ["IPv4", "IPv6"];
        }, 1, "spec.clusterIPs: Invalid value: []string{\"10.0.0.1\", \"2001::1\", \"10.0.0.10\"}: may only hold up to 2 values"),
        new(" multi ip, dualstack not set (request for downgrade)", s =>
        {
            IPs(s, "SingleStack", "10.0.0.1", "10.0.0.1", "2001::1");
            s.Spec!.IpFamilies = ["IPv4", "IPv6"];
        }, 0),
        new("valid, headless-no-selector + multi family + gate off", s =>
        {
            IPs(s, "RequireDualStack", "None", "None");
            s.Spec!.IpFamilies = ["IPv4", "IPv6"];
            s.Spec.Selector = null;
        }, 0),
        new("valid, multi ip, single ipfamilies preferDualStack", s =>
        {
            IPs(s, "PreferDualStack", "10.0.0.1", "10.0.0.1", "2001::1");
            s.Spec!.IpFamilies = ["IPv4"];
        }, 0),
        new("valid, multi ip, single ipfamilies (must match when provided) + requireDualStack", s =>
        {
            IPs(s, "RequireDualStack", "10.0.0.1", "10.0.0.1", "2001::1");
            s.Spec!.IpFamilies = ["IPv4"];
        }, 0),
        new("invalid, families don't match (v4=>v6)", s =>
        {
            IPs(s, null, "10.0.0.1", "10.0.0.1");
            s.Spec!.IpFamilies = ["IPv6"];
        }, 1, "spec.clusterIPs[0]: Invalid value: \"10.0.0.1\": expected an IPv6 value as indicated by `ipFamilies[0]`"),
        new("invalid, families don't match (v6=>v4)", s =>
        {
            IPs(s, null, "2001::1", "2001::1");
            s.Spec!.IpFamilies = ["IPv4"];
        }, 1, "spec.clusterIPs[0]: Invalid value: \"2001::1\": expected an IPv4 value as indicated by `ipFamilies[0]`"),
        new("valid. no field set", _ => { }, 0),
        new("valid, single ip", s => IPs(s, "SingleStack", "10.0.0.1", "10.0.0.1"), 0),
        new("valid, single family", s => Families(s, "SingleStack", "IPv6"), 0),
        new("valid, single ip + single family", s =>
        {
            IPs(s, "SingleStack", "2001::1", "2001::1");
            s.Spec!.IpFamilies = ["IPv6"];
        }, 0),
        new("valid, single ip + single family (dual stack requested)", s =>
        {
            IPs(s, "PreferDualStack", "2001::1", "2001::1");
            s.Spec!.IpFamilies = ["IPv6"];
        }, 0),
        new("valid, single ip, multi ipfamilies", s =>
        {
            IPs(s, "RequireDualStack", "10.0.0.1", "10.0.0.1");
            s.Spec!.IpFamilies = ["IPv4", "IPv6"];
        }, 0),
        new("valid, multi ips, multi ipfamilies (4,6)", s =>
        {
            IPs(s, "RequireDualStack", "10.0.0.1", "10.0.0.1", "2001::1");
            s.Spec!.IpFamilies = ["IPv4", "IPv6"];
        }, 0),
        new("valid, ips, multi ipfamilies (6,4)", s =>
        {
            IPs(s, "RequireDualStack", "2001::1", "2001::1", "10.0.0.1");
            s.Spec!.IpFamilies = ["IPv6", "IPv4"];
        }, 0),
        new("valid, multi ips (6,4)", s => IPs(s, "RequireDualStack", "2001::1", "2001::1", "10.0.0.1"), 0),
        new("valid, multi ipfamilies (6,4)", s => Families(s, "RequireDualStack", "IPv6", "IPv4"), 0),
        new("valid, multi ips (4,6)", s => IPs(s, "RequireDualStack", "10.0.0.1", "10.0.0.1", "2001::1"), 0),
        new("valid,  multi ipfamilies (4,6)", s => Families(s, "RequireDualStack", "IPv4", "IPv6"), 0),
        new("valid, dual stack", s => s.Spec!.IpFamilyPolicy = "RequireDualStack", 0),
        new("valid appProtocol", s => s.Spec!.Ports = [Port(null, "TCP", 12345, 12345, appProtocol: "HTTP")], 0),
        new("valid custom appProtocol", s => s.Spec!.Ports = [Port(null, "TCP", 12345, 12345, appProtocol: "example.com/protocol")], 0),
        new("invalid appProtocol", s => s.Spec!.Ports = [Port(null, "TCP", 12345, 12345, appProtocol: "example.com/protocol_with{invalid}[characters]")], 1,
            $"spec.ports[0].appProtocol: Invalid value: \"example.com/protocol_with{{invalid}}[characters]\": {QualifiedNamePartMessage}"),
        new("invalid cluster ip != clusterIP in multi ip service", s => IPs(s, "RequireDualStack", "10.0.0.10", "10.0.0.1", "2001::1"), 1,
            "spec.clusterIPs: Invalid value: []string{\"10.0.0.1\", \"2001::1\"}: first value must match `clusterIP`"),
        new("invalid cluster ip != clusterIP in single ip service", s => IPs(s, null, "10.0.0.10", "10.0.0.1"), 1,
            "spec.clusterIPs: Invalid value: []string{\"10.0.0.1\"}: first value must match `clusterIP`"),
        new("Use AllocateLoadBalancerNodePorts when type is not LoadBalancer", s => s.Spec!.AllocateLoadBalancerNodePorts = true, 1,
            "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"),
        new("valid LoadBalancerClass when type is LoadBalancer", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 0),
        new("invalid LoadBalancerClass", s =>
        {
            MakeLoadBalancer(s);
            s.Spec!.LoadBalancerClass = "Bad/LoadBalancerClass";
        }, 1, $"spec.loadBalancerClass: Invalid value: \"Bad/LoadBalancerClass\": prefix part {SubdomainMessage}"),
        new("invalid: set LoadBalancerClass when type is not LoadBalancer", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 1, "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"),
        new("topology annotations are mismatched", s =>
        {
            s.Metadata!.Annotations!["service.kubernetes.io/topology-aware-hints"] = "original";
            s.Metadata.Annotations["service.kubernetes.io/topology-mode"] = "different";
        }, 1, "metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: \"different\": must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified"),
        new("valid: trafficDistribution field set to PreferClose", s => s.Spec!.TrafficDistribution = "PreferClose", 0),
        new("invalid: trafficDistribution field set to Random", s => s.Spec!.TrafficDistribution = "Random", 1,
            "spec.trafficDistribution: Unsupported value: \"Random\": supported values: \"PreferClose\""),
    ];

    public static TheoryData<string> CaseNames => [.. s_cases.Select(c => c.Name)];

    public static TheoryData<string> CasesWithText => [.. s_cases.Where(c => c.Errors.Length > 0).Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ValidateCreate_UpstreamCase_ReturnsUpstreamErrorCount(string name)
    {
        var errors = Validate(name, out var numErrs);
        Assert.True(errors.Count == numErrs, $"expected {numErrs} errors, got: {string.Join("; ", errors.Select(Render))}");
    }

    [Theory]
    [MemberData(nameof(CasesWithText))]
    public void ValidateCreate_UpstreamCase_ReportsUpstreamPathsAndMessages(string name)
    {
        var errors = Validate(name, out _);
        Assert.Equal(s_cases.Single(c => c.Name == name).Errors, errors.Select(Render));
    }

    [Fact]
    public void Cases_AreUniquelyNamed() => Assert.Equal(s_cases.Length, s_cases.Select(c => c.Name).Distinct().Count());

    [Fact]
    public void ValidateCreate_ClientIPWithoutConfig_RequiresIt()
    {
        var service = MakeValidService();
        service.Spec!.SessionAffinity = "ClientIP";
        Assert.Equal(["spec.sessionAffinityConfig: Required value: when session affinity type is ClientIP"],
            ServiceValidation.ValidateCreate(service).Select(Render));
    }

    [Fact]
    public void ValidateCreate_NamedTargetPort_ReportsEveryProblem()
    {
        var service = MakeValidService();
        service.Spec!.Ports![0].TargetPort = "-Bad--Name-Too-Long";
        Assert.Equal(
        [
            "spec.ports[0].targetPort: Invalid value: \"-Bad--Name-Too-Long\": must be no more than 15 characters",
            "spec.ports[0].targetPort: Invalid value: \"-Bad--Name-Too-Long\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.ports[0].targetPort: Invalid value: \"-Bad--Name-Too-Long\": must not contain consecutive hyphens",
            "spec.ports[0].targetPort: Invalid value: \"-Bad--Name-Too-Long\": must not begin or end with a hyphen",
        ], ServiceValidation.ValidateCreate(service).Select(Render));
    }

    private static List<FieldError> Validate(string name, out int numErrs)
    {
        var testCase = s_cases.Single(c => c.Name == name);
        var service = MakeValidService();
        testCase.Tweak(service);
        numErrs = testCase.NumErrs;
        return ServiceValidation.ValidateCreate(service);
    }

    private static void MakeNodePort(Service s)
    {
        s.Spec!.Type = "NodePort";
        s.Spec.ExternalTrafficPolicy = "Cluster";
    }

    private static void MakeExternalName(Service s, string externalName)
    {
        s.Spec!.Type = "ExternalName";
        s.Spec.ExternalName = externalName;
    }

    private static void LocalLoadBalancer(Service s, int healthCheckNodePort)
    {
        s.Spec!.Type = "LoadBalancer";
        s.Spec.AllocateLoadBalancerNodePorts = true;
        s.Spec.ExternalTrafficPolicy = "Local";
        s.Spec.HealthCheckNodePort = healthCheckNodePort;
    }

    private static void ExternalIPs(Service s, string ip)
    {
        s.Spec!.ExternalTrafficPolicy = "Cluster";
        s.Spec.ExternalIPs = [ip];
    }

    private static void SourceRangesAnnotated(Service s, string value)
    {
        MakeLoadBalancer(s);
        s.Metadata!.Annotations!["service.beta.kubernetes.io/load-balancer-source-ranges"] = value;
    }

    private static void SourceRanges(Service s, params string[] ranges)
    {
        MakeLoadBalancer(s);
        s.Spec!.LoadBalancerSourceRanges = [.. ranges];
    }

    private static void Families(Service s, string policy, params string[] families)
    {
        s.Spec!.IpFamilyPolicy = policy;
        s.Spec.IpFamilies = [.. families];
    }

    private static void IPs(Service s, string? policy, string clusterIP, params string[] clusterIPs)
    {
        s.Spec!.IpFamilyPolicy = policy;
        s.Spec.ClusterIP = clusterIP;
        s.Spec.ClusterIPs = [.. clusterIPs];
    }
}
