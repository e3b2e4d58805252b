using Berth.Api.Models;
using Berth.Api.Validation;
using static Berth.Api.Tests.Validation.ServiceFixtures;

namespace Berth.Api.Tests.Validation;

/// <summary>
/// TestValidateServiceUpdate and TestValidateServiceExternalTrafficPolicy from upstream validation_test.go. The two
/// metadata cases of the update table (renaming, moving namespace) belong to the registry's metadata validation.
/// </summary>
public sealed class ServiceValidationUpdateTests
{
    private sealed record UpdateCase(string Name, Action<Service, Service> Tweak, int NumErrs, params string[] Errors);

    private sealed record Case(string Name, Action<Service> Tweak, int NumErrs);

    private static readonly UpdateCase[] s_updateCases =
    [
        new("no change", (_, _) => { }, 0),
        new("change label valid", (_, n) => n.Metadata!.Labels!["key"] = "other-value", 0),
        new("add label", (_, n) => n.Metadata!.Labels!["key2"] = "value2", 0),
        new("change cluster IP", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            IPs(n, "8.6.7.5");
        }, 1, "spec.clusterIPs[0]: Invalid value: []string{\"8.6.7.5\"}: may not change once set"),
        new("remove cluster IP", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            n.Spec!.ClusterIP = "";
            n.Spec.ClusterIPs = null;
        }, 1, "spec.clusterIPs[0]: Invalid value: []string(nil): primary clusterIP can not be unset"),
        new("change affinity", (_, n) =>
        {
            n.Spec!.SessionAffinity = "ClientIP";
            n.Spec.SessionAffinityConfig = new SessionAffinityConfig { ClientIP = new ClientIPConfig { TimeoutSeconds = 90 } };
        }, 0),
        new("remove affinity", (_, n) => n.Spec!.SessionAffinity = "", 1, "spec.sessionAffinity: Required value"),
        new("change type", (_, n) => MakeLoadBalancer(n), 0),
        new("remove type", (_, n) => n.Spec!.Type = "", 1, "spec.type: Required value"),
        new("change type -> nodeport", (_, n) => MakeNodePort(n), 0),
        new("add loadBalancerSourceRanges", (o, n) =>
        {
            OldLoadBalancer(o);
            MakeLoadBalancer(n);
            n.Spec!.LoadBalancerSourceRanges = ["10.0.0.0/8"];
        }, 0),
        new("update loadBalancerSourceRanges", (o, n) =>
        {
            OldLoadBalancer(o);
            o.Spec!.LoadBalancerSourceRanges = ["10.0.0.0/8"];
            MakeLoadBalancer(n);
            n.Spec!.LoadBalancerSourceRanges = ["10.100.0.0/16"];
        }, 0),
        new("LoadBalancer type cannot have None ClusterIP", (_, n) =>
        {
            IPs(n, "None");
            MakeLoadBalancer(n);
        }, 1, "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer services"),
        new("`None` ClusterIP can NOT be changed", (o, n) =>
        {
            IPs(o, "None");
            IPs(n, "1.2.3.4");
        }, 1, "spec.clusterIPs[0]: Invalid value: []string{\"1.2.3.4\"}: may not change once set"),
        new("`None` ClusterIP can NOT be removed", (o, n) =>
        {
            IPs(o, "None");
            n.Spec!.ClusterIP = "";
            n.Spec.ClusterIPs = null;
        }, 1, "spec.clusterIPs[0]: Invalid value: []string(nil): primary clusterIP can not be unset"),
        new("ClusterIP can NOT be changed to None", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            IPs(n, "None");
        }, 1),
        new("Service with ClusterIP type cannot change its set ClusterIP", (o, n) => ChangeIP(o, n, "ClusterIP", "ClusterIP", "1.2.3.4"), 1),
        new("Service with ClusterIP type can change its empty ClusterIP", (o, n) => ChangeIP(o, n, "ClusterIP", "ClusterIP", null), 0),
        new("Service with ClusterIP type cannot change its set ClusterIP when changing type to NodePort", (o, n) => ChangeIP(o, n, "ClusterIP", "NodePort", "1.2.3.4"), 1),
        new("Service with ClusterIP type can change its empty ClusterIP when changing type to NodePort", (o, n) => ChangeIP(o, n, "ClusterIP", "NodePort", null), 0),
        new("Service with ClusterIP type cannot change its ClusterIP when changing type to LoadBalancer", (o, n) => ChangeIP(o, n, "ClusterIP", "LoadBalancer", "1.2.3.4"), 1),
        new("Service with ClusterIP type can change its empty ClusterIP when changing type to LoadBalancer", (o, n) => ChangeIP(o, n, "ClusterIP", "LoadBalancer", null), 0),
        new("Service with LoadBalancer type can change its AllocateLoadBalancerNodePorts from true to false", (o, n) =>
        {
            OldLoadBalancer(o);
            MakeLoadBalancer(n);
            n.Spec!.AllocateLoadBalancerNodePorts = false;
        }, 0),
        new("Service with LoadBalancer type can change its AllocateLoadBalancerNodePorts from false to true", (o, n) =>
        {
            OldLoadBalancer(o);
            o.Spec!.AllocateLoadBalancerNodePorts = false;
            MakeLoadBalancer(n);
        }, 0),
        new("Service with NodePort type cannot change its set ClusterIP", (o, n) => ChangeIP(o, n, "NodePort", "NodePort", "1.2.3.4"), 1),
        new("Service with NodePort type can change its empty ClusterIP", (o, n) => ChangeIP(o, n, "NodePort", "NodePort", null), 0),
        new("Service with NodePort type cannot change its set ClusterIP when changing type to ClusterIP", (o, n) => ChangeIP(o, n, "NodePort", "ClusterIP", "1.2.3.4"), 1),
        new("Service with NodePort type can change its empty ClusterIP when changing type to ClusterIP", (o, n) => ChangeIP(o, n, "NodePort", "ClusterIP", null), 0),
        new("Service with NodePort type cannot change its set ClusterIP when changing type to LoadBalancer", (o, n) => ChangeIP(o, n, "NodePort", "LoadBalancer", "1.2.3.4"), 1),
        new("Service with NodePort type can change its empty ClusterIP when changing type to LoadBalancer", (o, n) => ChangeIP(o, n, "NodePort", "LoadBalancer", null), 0),
        new("Service with LoadBalancer type cannot change its set ClusterIP", (o, n) => ChangeIP(o, n, "LoadBalancer", "LoadBalancer", "1.2.3.4"), 1),
        new("Service with LoadBalancer type can change its empty ClusterIP", (o, n) => ChangeIP(o, n, "LoadBalancer", "LoadBalancer", null), 0),
        new("Service with LoadBalancer type cannot change its set ClusterIP when changing type to ClusterIP", (o, n) => ChangeIP(o, n, "LoadBalancer", "ClusterIP", "1.2.3.4"), 1),
        new("Service with LoadBalancer type can change its empty ClusterIP when changing type to ClusterIP", (o, n) => ChangeIP(o, n, "LoadBalancer", "ClusterIP", null), 0),
        new("Service with LoadBalancer type cannot change its set ClusterIP when changing type to NodePort", (o, n) => ChangeIP(o, n, "LoadBalancer", "NodePort", "1.2.3.4"), 1),
        new("Service with LoadBalancer type can change its empty ClusterIP when changing type to NodePort", (o, n) => ChangeIP(o, n, "LoadBalancer", "NodePort", null), 0),
        new("Service with ExternalName type can change its empty ClusterIP when changing type to ClusterIP", (o, n) => ChangeIP(o, n, "ExternalName", "ClusterIP", null), 0),
        new("Service with ExternalName type can change its set ClusterIP when changing type to ClusterIP", (o, n) => ChangeIP(o, n, "ExternalName", "ClusterIP", "1.2.3.4"), 0),
        new("invalid node port with clusterIP None", (o, n) =>
        {
            o.Spec!.Type = "NodePort";
            MakeNodePort(n);
            o.Spec.Ports!.Add(Port("q", "TCP", 1, 1, nodePort: 1));
            n.Spec!.Ports!.Add(Port("q", "TCP", 1, 1, nodePort: 1));
            IPs(n, "None");
        }, 1),
        // Service IP family.
        new("convert from ExternalName", (o, n) =>
        {
            o.Spec!.Type = "ExternalName";
            n.Spec!.Type = "ClusterIP";
        }, 0),
        // The registry resets clusterIPs, families and policy on the way to ExternalName; left in place they are errors.
        new("invalid: convert to ExternalName", (o, n) =>
        {
            IPs(o, "10.0.0.10");
            Families(o, "SingleStack", "IPv4");
            n.Spec!.Type = "ExternalName";
            n.Spec.ExternalName = "foo";
            IPs(n, "10.0.0.10");
            Families(n, "SingleStack", "IPv4");
        }, 3,
            "spec.clusterIPs: Forbidden: may not be set for ExternalName services",
            "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
            "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services"),
        new("valid: convert to ExternalName", (o, n) =>
        {
            IPs(o, "10.0.0.10");
            Families(o, "SingleStack", "IPv4");
            n.Spec!.Type = "ExternalName";
            n.Spec.ExternalName = "foo";
        }, 0),
        new("same ServiceIPFamily", (o, n) =>
        {
            o.Spec!.IpFamilies = ["IPv4"];
            n.Spec!.IpFamilies = ["IPv4"];
        }, 0),
        new("same ServiceIPFamily, change IPFamilyPolicy to singleStack", (o, n) =>
        {
            o.Spec!.IpFamilies = ["IPv4"];
            Families(n, "SingleStack", "IPv4");
        }, 0),
        new("same ServiceIPFamily, change IPFamilyPolicy singleStack => requireDualStack", (o, n) =>
        {
            Families(o, "SingleStack", "IPv4");
            Families(n, "RequireDualStack", "IPv4");
        }, 0),
        new("add a new ServiceIPFamily", (o, n) =>
        {
            Families(o, "RequireDualStack", "IPv4");
            Families(n, "RequireDualStack", "IPv4", "IPv6");
        }, 0),
        new("ExternalName while changing Service IPFamily", (o, n) =>
        {
            o.Spec!.ExternalName = "somename";
            o.Spec.Type = "ExternalName";
            n.Spec!.ExternalName = "somename";
            n.Spec.Type = "ExternalName";
        }, 0),
        new("setting ipfamily from nil to v4", (o, n) =>
        {
            o.Spec!.IpFamilies = null;
            n.Spec!.ExternalName = "somename";
            n.Spec.IpFamilies = ["IPv4"];
        }, 0),
        new("setting ipfamily from nil to v6", (o, n) =>
        {
            o.Spec!.IpFamilies = null;
            n.Spec!.ExternalName = "somename";
            n.Spec.IpFamilies = ["IPv6"];
        }, 0),
        new("change primary ServiceIPFamily", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            o.Spec!.IpFamilies = ["IPv4"];
            IPs(n, "1.2.3.4");
            n.Spec!.IpFamilies = ["IPv6"];
        }, 2,
            "spec.ipFamilies[0]: Invalid value: []core.IPFamily{\"IPv6\"}: may not change once set",
            "spec.clusterIPs[0]: Invalid value: \"1.2.3.4\": expected an IPv6 value as indicated by `ipFamilies[0]`"),
        // Upgrade and downgrade from or to dual-stack.
        new("valid: upgrade to dual stack with requiredDualStack", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            Families(o, "SingleStack", "IPv4");
            IPs(n, "1.2.3.4");
            o.Spec!.IpFamilyPolicy = "RequireDualStack";
            n.Spec!.IpFamilies = ["IPv4"];
        }, 0),
        new("valid: upgrade to dual stack with preferDualStack", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            Families(o, "SingleStack", "IPv4");
            IPs(n, "1.2.3.4");
            Families(n, "PreferDualStack", "IPv4");
        }, 0),
        new("valid: upgrade to dual stack, no specific secondary ip", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            Families(o, "SingleStack", "IPv4");
            IPs(n, "1.2.3.4");
            Families(n, "RequireDualStack", "IPv4", "IPv6");
        }, 0),
        new("valid: upgrade to dual stack, with specific secondary ip", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            Families(o, "SingleStack", "IPv4");
            IPs(n, "1.2.3.4", "2001::1");
            Families(n, "RequireDualStack", "IPv4", "IPv6");
        }, 0),
        new("valid: downgrade from dual to single", (o, n) =>
        {
            IPs(o, "1.2.3.4", "2001::1");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "1.2.3.4");
            Families(n, "SingleStack", "IPv4");
        }, 0),
        new("valid: change families for a headless service", (o, n) =>
        {
            IPs(o, "None");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "None");
            Families(n, "RequireDualStack", "IPv6", "IPv4");
        }, 0),
        new("valid: upgrade a headless service", (o, n) =>
        {
            IPs(o, "None");
            Families(o, "SingleStack", "IPv4");
            IPs(n, "None");
            Families(n, "RequireDualStack", "IPv6", "IPv4");
        }, 0),
        new("valid: downgrade a headless service", (o, n) =>
        {
            IPs(o, "None");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "None");
            Families(n, "SingleStack", "IPv6");
        }, 0),
        new("invalid flip families", (o, n) =>
        {
            o.Spec!.ClusterIP = "1.2.3.40";
            o.Spec.ClusterIPs = ["1.2.3.4", "2001::1"];
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "2001::1", "1.2.3.5");
            Families(n, "RequireDualStack", "IPv6", "IPv4");
        }, 4,
            "spec.clusterIPs[0]: Invalid value: []string{\"2001::1\", \"1.2.3.5\"}: may not change once set",
            "spec.clusterIPs[1]: Invalid value: []string{\"2001::1\", \"1.2.3.5\"}: may not change once set",
            "spec.ipFamilies[0]: Invalid value: []core.IPFamily{\"IPv6\", \"IPv4\"}: may not change once set",
            "spec.ipFamilies[0]: Invalid value: []core.IPFamily{\"IPv6\", \"IPv4\"}: may not change once set"),
        new("invalid change first ip, in dualstack service", (o, n) =>
        {
            IPs(o, "1.2.3.4", "2001::1");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "1.2.3.5", "2001::1");
            Families(n, "RequireDualStack", "IPv4", "IPv6");
        }, 1),
        new("invalid, change second ip in dualstack service", (o, n) =>
        {
            IPs(o, "1.2.3.4", "2001::1");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "1.2.3.4", "2002::1");
            Families(n, "RequireDualStack", "IPv4", "IPv6");
        }, 1, "spec.clusterIPs[1]: Invalid value: []string{\"1.2.3.4\", \"2002::1\"}: may not change once set"),
        // The registry trims families and IPs; validation sees only the request.
        new("downgrade keeping the families", (o, n) =>
        {
            IPs(o, "1.2.3.4", "2001::1");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "1.2.3.4");
            Families(n, "SingleStack", "IPv4", "IPv6");
        }, 0),
        new("invalid, downgrade without changing to singleStack", (o, n) =>
        {
            IPs(o, "1.2.3.4", "2001::1");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "1.2.3.4");
            Families(n, "RequireDualStack", "IPv4");
        }, 2,
            "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": must be set to 'SingleStack' when releasing the secondary clusterIP",
            "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": must be set to 'SingleStack' when releasing the secondary ipFamily"),
        new("invalid, downgrade and change primary ip", (o, n) =>
        {
            IPs(o, "1.2.3.4", "2001::1");
            Families(o, "RequireDualStack", "IPv4", "IPv6");
            IPs(n, "1.2.3.5");
            Families(n, "SingleStack", "IPv4");
        }, 1, "spec.clusterIPs[0]: Invalid value: []string{\"1.2.3.5\"}: may not change once set"),
        new("invalid: upgrade to dual stack and change primary", (o, n) =>
        {
            IPs(o, "1.2.3.4");
            Families(o, "SingleStack", "IPv4");
            IPs(n, "1.2.3.5");
            Families(n, "RequireDualStack", "IPv4", "IPv6");
        }, 1),
        new("update to valid app protocol", (o, n) =>
        {
            o.Spec!.Ports = [Port("a", "TCP", 443, 3000)];
            n.Spec!.Ports = [Port("a", "TCP", 443, 3000, appProtocol: "https")];
        }, 0),
        new("update to invalid app protocol", (o, n) =>
        {
            o.Spec!.Ports = [Port("a", "TCP", 443, 3000)];
            n.Spec!.Ports = [Port("a", "TCP", 443, 3000, appProtocol: "~https")];
        }, 1),
        new("Set AllocateLoadBalancerNodePorts when type is not LoadBalancer", (_, n) => n.Spec!.AllocateLoadBalancerNodePorts = true, 1),
        new("update LoadBalancer type of service without change LoadBalancerClass", (o, n) => LoadBalancerClasses(o, "test.com/test-old", n, "test.com/test-old"), 0),
        new("invalid: change LoadBalancerClass when update service", (o, n) => LoadBalancerClasses(o, "test.com/test-old", n, "test.com/test-new"), 1,
            "spec.loadBalancerClass: Invalid value: \"test.com/test-new\": may not change once set"),
        new("invalid: unset LoadBalancerClass when update service", (o, n) => LoadBalancerClasses(o, "test.com/test-old", n, null), 1,
            "spec.loadBalancerClass: Invalid value: null: may not change once set"),
        new("invalid: set LoadBalancerClass when update service", (o, n) => LoadBalancerClasses(o, null, n, "test.com/test-new"), 1),
        new("update to LoadBalancer type of service with valid LoadBalancerClass", (o, n) =>
        {
            o.Spec!.Type = "ClusterIP";
            MakeLoadBalancer(n);
            n.Spec!.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 0),
        new("update to LoadBalancer type of service without LoadBalancerClass", (o, n) =>
        {
            o.Spec!.Type = "ClusterIP";
            MakeLoadBalancer(n);
        }, 0),
        new("invalid: set invalid LoadBalancerClass when update service to LoadBalancer", (o, n) =>
        {
            o.Spec!.Type = "ClusterIP";
            MakeLoadBalancer(n);
            n.Spec!.LoadBalancerClass = "Bad/LoadBalancerclass";
        }, 2),
        new("invalid: set LoadBalancerClass when update service to non LoadBalancer type of service", (o, n) =>
        {
            o.Spec!.Type = "ClusterIP";
            n.Spec!.Type = "ClusterIP";
            n.Spec.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 2,
            "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'",
            "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"),
        new("invalid: set LoadBalancerClass when update service to non LoadBalancer type of service (2)", (o, n) =>
        {
            o.Spec!.Type = "ExternalName";
            n.Spec!.Type = "ExternalName";
            n.Spec.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 3),
        new("invalid: set LoadBalancerClass when update service to non LoadBalancer type of service (3)", (o, n) =>
        {
            o.Spec!.Type = "NodePort";
            MakeNodePort(n);
            n.Spec!.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 2),
        new("invalid: set LoadBalancerClass when update from LoadBalancer service to non LoadBalancer type of service", (o, n) =>
        {
            OldLoadBalancer(o);
            o.Spec!.LoadBalancerClass = "test.com/test-load-balancer-class";
            n.Spec!.Type = "ClusterIP";
            n.Spec.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 2),
        new("invalid: set LoadBalancerClass when update from LoadBalancer service to non LoadBalancer type of service (2)", (o, n) =>
        {
            OldLoadBalancer(o);
            o.Spec!.LoadBalancerClass = "test.com/test-load-balancer-class";
            n.Spec!.Type = "ExternalName";
            n.Spec.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 3),
        new("invalid: set LoadBalancerClass when update from LoadBalancer service to non LoadBalancer type of service (3)", (o, n) =>
        {
            OldLoadBalancer(o);
            o.Spec!.LoadBalancerClass = "test.com/test-load-balancer-class";
            MakeNodePort(n);
            n.Spec!.LoadBalancerClass = "test.com/test-load-balancer-class";
        }, 2),
        new("update internalTrafficPolicy from Cluster to Local", (o, n) =>
        {
            o.Spec!.InternalTrafficPolicy = "Cluster";
            n.Spec!.InternalTrafficPolicy = "Local";
        }, 0),
        new("update internalTrafficPolicy from Local to Cluster", (o, n) =>
        {
            o.Spec!.InternalTrafficPolicy = "Local";
            n.Spec!.InternalTrafficPolicy = "Cluster";
        }, 0),
        new("topology annotations are mismatched", (_, n) =>
        {
            n.Metadata!.Annotations!["service.kubernetes.io/topology-aware-hints"] = "original";
            n.Metadata.Annotations["service.kubernetes.io/topology-mode"] = "different";
        }, 1),
    ];

    private static readonly Case[] s_trafficPolicyCases =
    [
        new("valid loadBalancer service with externalTrafficPolicy and healthCheckNodePort set", s =>
        {
            s.Spec!.Type = "LoadBalancer";
            s.Spec.AllocateLoadBalancerNodePorts = true;
            s.Spec.ExternalTrafficPolicy = "Local";
            s.Spec.HealthCheckNodePort = 34567;
        }, 0),
        new("valid nodePort service with externalTrafficPolicy set", s =>
        {
            s.Spec!.Type = "NodePort";
            s.Spec.ExternalTrafficPolicy = "Local";
        }, 0),
        new("valid clusterIP service with none of externalTrafficPolicy and healthCheckNodePort set", s => s.Spec!.Type = "ClusterIP", 0),
        new("cannot set healthCheckNodePort field on loadBalancer service with externalTrafficPolicy!=Local", s =>
        {
            s.Spec!.Type = "LoadBalancer";
            s.Spec.AllocateLoadBalancerNodePorts = true;
            s.Spec.ExternalTrafficPolicy = "Cluster";
            s.Spec.HealthCheckNodePort = 34567;
        }, 1),
        new("cannot set healthCheckNodePort field on nodePort service", s =>
        {
            s.Spec!.Type = "NodePort";
            s.Spec.ExternalTrafficPolicy = "Local";
            s.Spec.HealthCheckNodePort = 34567;
        }, 1),
        new("cannot set externalTrafficPolicy or healthCheckNodePort fields on clusterIP service", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.ExternalTrafficPolicy = "Local";
            s.Spec.HealthCheckNodePort = 34567;
        }, 2),
        new("cannot set externalTrafficPolicy field on ExternalName service", s =>
        {
            s.Spec!.Type = "ExternalName";
            s.Spec.ExternalTrafficPolicy = "Local";
        }, 1),
        new("externalTrafficPolicy is required on NodePort service", s => s.Spec!.Type = "NodePort", 1),
        new("externalTrafficPolicy is required on LoadBalancer service", s => s.Spec!.Type = "LoadBalancer", 1),
        new("externalTrafficPolicy is required on ClusterIP service with externalIPs", s =>
        {
            s.Spec!.Type = "ClusterIP";
            s.Spec.ExternalIPs = ["1.2.3,4"];
        }, 1),
    ];

    public static TheoryData<string> UpdateCaseNames => [.. s_updateCases.Select(c => c.Name)];

    public static TheoryData<string> UpdateCasesWithText => [.. s_updateCases.Where(c => c.Errors.Length > 0).Select(c => c.Name)];

    public static TheoryData<string> TrafficPolicyCaseNames => [.. s_trafficPolicyCases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(UpdateCaseNames))]
    public void ValidateUpdate_UpstreamCase_ReturnsUpstreamErrorCount(string name)
    {
        var testCase = s_updateCases.Single(c => c.Name == name);
        var errors = Update(testCase);
        Assert.True(errors.Count == testCase.NumErrs, $"expected {testCase.NumErrs} errors, got: {string.Join("; ", errors.Select(Render))}");
    }

    [Theory]
    [MemberData(nameof(UpdateCasesWithText))]
    public void ValidateUpdate_UpstreamCase_ReportsUpstreamPathsAndMessages(string name)
    {
        var testCase = s_updateCases.Single(c => c.Name == name);
        Assert.Equal(testCase.Errors, Update(testCase).Select(Render));
    }

    [Fact]
    public void UpdateCases_AreUniquelyNamed() => Assert.Equal(s_updateCases.Length, s_updateCases.Select(c => c.Name).Distinct().Count());

    [Fact]
    public void ValidateUpdate_HealthCheckNodePortChangedWhileNeeded_IsImmutable()
    {
        var old = MakeValidService();
        var updated = MakeValidService();
        foreach (var (service, port) in new[] { (old, 30001), (updated, 30002) })
        {
            service.Spec!.Type = "LoadBalancer";
            service.Spec.AllocateLoadBalancerNodePorts = true;
            service.Spec.ExternalTrafficPolicy = "Local";
            service.Spec.HealthCheckNodePort = port;
        }
        Assert.Equal(["spec.healthCheckNodePort: Forbidden: field is immutable"], ServiceValidation.ValidateUpdate(updated, old).Select(Render));
    }

    [Theory]
    [MemberData(nameof(TrafficPolicyCaseNames))]
    public void ValidateExternalTrafficPolicy_UpstreamCase_ReturnsUpstreamErrorCount(string name)
    {
        var testCase = s_trafficPolicyCases.Single(c => c.Name == name);
        var service = MakeValidService();
        testCase.Tweak(service);
        var errors = ServiceValidation.ValidateExternalTrafficPolicy(service);
        Assert.True(errors.Count == testCase.NumErrs, $"expected {testCase.NumErrs} errors, got: {string.Join("; ", errors.Select(Render))}");
    }

    [Fact]
    public void ValidateExternalTrafficPolicy_ClusterIPWithBoth_ReportsBothWithUpstreamText()
    {
        var service = MakeValidService();
        service.Spec!.ExternalTrafficPolicy = "Local";
        service.Spec.HealthCheckNodePort = 34567;
        Assert.Equal(
        [
            "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services",
            "spec.healthCheckNodePort: Invalid value: 34567: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ], ServiceValidation.ValidateExternalTrafficPolicy(service).Select(Render));
    }

    [Fact]
    public void ValidateExternalTrafficPolicy_LocalLoadBalancerWithoutHealthCheckPort_RequiresIt()
    {
        var service = MakeValidService();
        service.Spec!.Type = "LoadBalancer";
        service.Spec.ExternalTrafficPolicy = "Local";
        Assert.Equal(["spec.healthCheckNodePort: Required value"], ServiceValidation.ValidateExternalTrafficPolicy(service).Select(Render));
    }

    private static List<FieldError> Update(UpdateCase testCase)
    {
        var old = MakeValidService();
        var updated = MakeValidService();
        testCase.Tweak(old, updated);
        return ServiceValidation.ValidateUpdate(updated, old);
    }

    // Old objects in the upstream table are LoadBalancers without externalTrafficPolicy: only the new one is validated.
    private static void OldLoadBalancer(Service old)
    {
        old.Spec!.Type = "LoadBalancer";
        old.Spec.AllocateLoadBalancerNodePorts = true;
    }

    private static void MakeNodePort(Service s)
    {
        s.Spec!.Type = "NodePort";
        s.Spec.ExternalTrafficPolicy = "Cluster";
    }

    private static void IPs(Service s, params string[] clusterIPs)
    {
        s.Spec!.ClusterIP = clusterIPs[0];
        s.Spec.ClusterIPs = [.. clusterIPs];
    }

    private static void Families(Service s, string policy, params string[] families)
    {
        s.Spec!.IpFamilyPolicy = policy;
        s.Spec.IpFamilies = [.. families];
    }

    // The "Service with X type can/cannot change its ClusterIP" cases: old has the IP (or none), new asks for 1.2.3.5.
    private static void ChangeIP(Service old, Service updated, string oldType, string newType, string? oldIP)
    {
        old.Spec!.Type = oldType;
        if (oldType == "LoadBalancer")
        {
            old.Spec.AllocateLoadBalancerNodePorts = true;
        }
        switch (newType)
        {
            case "LoadBalancer":
                MakeLoadBalancer(updated);
                break;
            case "NodePort":
                MakeNodePort(updated);
                break;
            default:
                updated.Spec!.Type = newType;
                break;
        }
        if (oldIP is null)
        {
            old.Spec.ClusterIP = "";
            old.Spec.ClusterIPs = null;
        }
        else
        {
            IPs(old, oldIP);
        }
        IPs(updated, "1.2.3.5");
    }

    private static void LoadBalancerClasses(Service old, string? oldClass, Service updated, string? newClass)
    {
        OldLoadBalancer(old);
        old.Spec!.LoadBalancerClass = oldClass;
        MakeLoadBalancer(updated);
        updated.Spec!.LoadBalancerClass = newClass;
    }
}
