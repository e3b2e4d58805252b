using Berth.Api.Models;
using Berth.ApiServer.Services;
using static Berth.ApiServer.Tests.Services.ServiceMaker;

namespace Berth.ApiServer.Tests.Services;

/// <summary>
/// The tables of upstream's pkg/registry/core/service/strategy_test.go (TestDropTypeDependentFields) and
/// storage/storage_test.go (TestNormalizeClusterIPs, TestPatchAllocatedValues), run against
/// <see cref="ServiceUpdateRules"/>. Go's zero values ("" and 0) are our nulls, so both read as "unset" here.
/// </summary>
public sealed class ServiceUpdateRulesTests
{
    // ---- TestNormalizeClusterIPs ----

    private static Service WithClusterIP(string clusterIP, params string[]? clusterIPs) =>
        new() { Spec = new ServiceSpec { ClusterIP = clusterIP, ClusterIPs = clusterIPs?.ToList() } };

    private static readonly Dictionary<string, (Service? Old, Service New, string ExpectedClusterIP, string[]? ExpectedClusterIPs)> s_normalize = new()
    {
        ["new - only clusterip used"] = (null, WithClusterIP("10.0.0.10", null), "10.0.0.10", ["10.0.0.10"]),
        // A validation issue, and validation will catch it.
        ["new - only clusterips used"] = (null, WithClusterIP("", "10.0.0.10"), "", ["10.0.0.10"]),
        ["new - both used"] = (null, WithClusterIP("10.0.0.10", "10.0.0.10"), "10.0.0.10", ["10.0.0.10"]),
        ["update - no change"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("10.0.0.10", "10.0.0.10"), "10.0.0.10", ["10.0.0.10"]),
        ["update - malformed change"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("10.0.0.11", "10.0.0.11"), "10.0.0.11", ["10.0.0.11"]),
        ["update - malformed change on secondary ip"] =
            (WithClusterIP("10.0.0.10", "10.0.0.10", "2000::1"), WithClusterIP("10.0.0.11", "10.0.0.11", "3000::1"), "10.0.0.11", ["10.0.0.11", "3000::1"]),
        ["update - upgrade"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("10.0.0.10", "10.0.0.10", "2000::1"), "10.0.0.10", ["10.0.0.10", "2000::1"]),
        ["update - downgrade"] = (WithClusterIP("10.0.0.10", "10.0.0.10", "2000::1"), WithClusterIP("10.0.0.10", "10.0.0.10"), "10.0.0.10", ["10.0.0.10"]),
        ["update - user cleared cluster IP"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("", "10.0.0.10"), "", null),
        // *MUST* REMAIN FOR OLD CLIENTS.
        ["update - user cleared clusterIPs"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("10.0.0.10", null), "10.0.0.10", ["10.0.0.10"]),
        ["update - user cleared both"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("", null), "", null),
        ["update - user cleared ClusterIP but changed clusterIPs"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("", "10.0.0.11"), "", ["10.0.0.11"]),
        ["update - user cleared ClusterIPs but changed ClusterIP"] = (WithClusterIP("10.0.0.10", "10.0.0.10", "2000::1"), WithClusterIP("10.0.0.11", null), "10.0.0.11", null),
        ["update - user changed from None to ClusterIP"] = (WithClusterIP("None", "None"), WithClusterIP("10.0.0.10", "None"), "10.0.0.10", ["10.0.0.10"]),
        ["update - user changed from ClusterIP to None"] = (WithClusterIP("10.0.0.10", "10.0.0.10"), WithClusterIP("None", "10.0.0.10"), "None", ["None"]),
        ["update - user changed from ClusterIP to None and changed ClusterIPs in a dual stack (new client making a mistake)"] =
            (WithClusterIP("10.0.0.10", "10.0.0.10", "2000::1"), WithClusterIP("None", "10.0.0.11", "2000::1"), "None", ["10.0.0.11", "2000::1"]),
    };

    public static TheoryData<string> NormalizeCases => [.. s_normalize.Keys];

    [Theory]
    [MemberData(nameof(NormalizeCases))]
    public void NormalizeClusterIPs_UpstreamTable(string name)
    {
        var (old, service, expectedClusterIP, expectedClusterIPs) = s_normalize[name];

        ServiceUpdateRules.NormalizeClusterIPs(old, service);

        Assert.Equal(expectedClusterIP, service.Spec!.ClusterIP ?? "");
        Assert.Equal(expectedClusterIPs ?? [], service.Spec.ClusterIPs ?? []);
    }

    // ---- TestPatchAllocatedValues ----

    private static readonly Dictionary<string, (Service Before, Service Update, bool SameClusterIPs, bool SameNodePorts, bool SameHCNP)> s_patch = new()
    {
        ["all_patched"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local")),
            true, true, true),
        // The before values are not valid for the type, but prove the test.
        ["IPs_patched"] = (
            MakeService("foo", SetTypeClusterIP, SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeClusterIP),
            true, false, false),
        ["NPs_patched"] = (
            MakeService("foo", SetTypeNodePort, SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeNodePort, SetClusterIPs("10.0.0.93", "2000::76")),
            true, true, false),
        ["HCNP_patched"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts),
            true, true, true),
        ["nothing_patched"] = (
            MakeService("foo", SetTypeExternalName, SetExternalTrafficPolicy("Local"), SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeExternalName, SetExternalTrafficPolicy("Local")),
            false, false, false),
        // allocateLoadBalancerNodePorts: false lets a client give its node ports back by setting them to 0
        // (kubernetes/kubernetes#122381): they must not be patched back in.
        ["reset_NodePort"] = (
            MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false), SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false), SetClusterIPs("10.0.0.93", "2000::76"), ServiceMaker.SetNodePorts(0)),
            true, false, false),
        ["reset_partial_NodePorts"] = (
            MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false), SetClusterIPs("10.0.0.93", "2000::76"),
                SetPorts(MakeServicePort("", 93, 76, "TCP"), MakeServicePort("", 94, 76, "TCP")), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false), SetClusterIPs("10.0.0.93", "2000::76"),
                SetPorts(MakeServicePort("", 93, 76, "TCP"), MakeServicePort("", 94, 76, "TCP")), SetUniqueNodePorts, s => s.Spec!.Ports![1].NodePort = null),
            true, false, false),
        ["keep_NodePort"] = (
            MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(true), SetClusterIPs("10.0.0.93", "2000::76"), SetUniqueNodePorts, SetHealthCheckNodePort(31234)),
            MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(true), SetClusterIPs("10.0.0.93", "2000::76"), ServiceMaker.SetNodePorts(0)),
            true, true, false),
    };

    public static TheoryData<string> PatchCases => [.. s_patch.Keys];

    [Theory]
    [MemberData(nameof(PatchCases))]
    public void PatchAllocatedValues_UpstreamTable(string name)
    {
        var (before, update, sameClusterIPs, sameNodePorts, sameHCNP) = s_patch[name];

        ServiceUpdateRules.PatchAllocatedValues(update, before);

        Assert.True(sameClusterIPs == (before.Spec!.ClusterIP == update.Spec!.ClusterIP),
            $"clusterIP: before {before.Spec.ClusterIP}, after {update.Spec.ClusterIP}, expected patched={sameClusterIPs}");
        Assert.True(sameClusterIPs == (before.Spec.ClusterIPs ?? []).SequenceEqual(update.Spec.ClusterIPs ?? []),
            $"clusterIPs: before [{Join(before.Spec.ClusterIPs)}], after [{Join(update.Spec.ClusterIPs)}], expected patched={sameClusterIPs}");
        var beforePorts = NodePorts(before);
        var updatePorts = NodePorts(update);
        Assert.True(sameNodePorts == beforePorts.SequenceEqual(updatePorts),
            $"nodePorts: before [{string.Join(",", beforePorts)}], after [{string.Join(",", updatePorts)}], expected patched={sameNodePorts}");
        Assert.True(sameHCNP == ((before.Spec.HealthCheckNodePort ?? 0) == (update.Spec.HealthCheckNodePort ?? 0)),
            $"healthCheckNodePort: before {before.Spec.HealthCheckNodePort}, after {update.Spec.HealthCheckNodePort}, expected patched={sameHCNP}");
    }

    private static List<int> NodePorts(Service svc) => [.. svc.Spec!.Ports!.Select(p => p.NodePort ?? 0)];

    private static string Join(List<string>? values) => string.Join(",", values ?? []);

    // ---- TestDropTypeDependentFields ----

    // strategy_test.go's makeValidService: a dual-stack ClusterIP Service with two ports.
    private static Service MakeValidService(params Action<Service>[] tweaks)
    {
        var svc = new Service
        {
            Metadata = new ObjectMeta { Name = "valid", Namespace = "default", Labels = [], Annotations = [], ResourceVersion = "1" },
            Spec = new ServiceSpec
            {
                Selector = new() { ["key"] = "val" },
                SessionAffinity = "None",
                Type = "ClusterIP",
                Ports = [ValidPort("p", "TCP", 8675), ValidPort("q", "TCP", 309)],
                ClusterIP = "1.2.3.4",
                ClusterIPs = ["1.2.3.4", "5:6:7::8"],
                IpFamilyPolicy = "PreferDualStack",
                IpFamilies = ["IPv4", "IPv6"],
                InternalTrafficPolicy = "Cluster",
            },
        };
        foreach (var tweak in tweaks)
        {
            tweak(svc);
        }
        return svc;
    }

    private static ServicePort ValidPort(string name, string protocol, int port) => new() { Name = name, Protocol = protocol, Port = port, TargetPort = port };

    // The tweaks of the upstream table; unlike svctest's, setType* here change the type alone.
    private static void ExternalName(Service s) => s.Spec!.Type = "ExternalName";
    private static void NodePort(Service s) => s.Spec!.Type = "NodePort";
    private static void ClusterIP(Service s) => s.Spec!.Type = "ClusterIP";
    private static void LoadBalancer(Service s) => s.Spec!.Type = "LoadBalancer";

    private static void ClearClusterIPs(Service s)
    {
        s.Spec!.ClusterIP = null;
        s.Spec.ClusterIPs = null;
    }

    private static void ChangeClusterIPs(Service s)
    {
        s.Spec!.ClusterIP += "0";
        s.Spec.ClusterIPs![0] += "0";
    }

    private static void SetNodePorts(Service s)
    {
        for (var i = 0; i < s.Spec!.Ports!.Count; i++)
        {
            s.Spec.Ports[i].NodePort = 30000 + i;
        }
    }

    private static void ChangeNodePorts(Service s)
    {
        foreach (var port in s.Spec!.Ports!)
        {
            port.NodePort = (port.NodePort ?? 0) + 100;
        }
    }

    private static void SetExternalIPs(Service s) => s.Spec!.ExternalIPs = ["1.1.1.1"];
    private static void ClearExternalIPs(Service s) => s.Spec!.ExternalIPs = null;
    private static void SetExternalTrafficPolicyCluster(Service s) => s.Spec!.ExternalTrafficPolicy = "Cluster";
    private static void ClearExternalTrafficPolicy(Service s) => s.Spec!.ExternalTrafficPolicy = null;
    private static void ClearIPFamilies(Service s) => s.Spec!.IpFamilies = null;
    private static void ChangeIPFamilies(Service s) => s.Spec!.IpFamilies![0] = s.Spec.IpFamilies[1];
    private static void ClearIPFamilyPolicy(Service s) => s.Spec!.IpFamilyPolicy = null;
    private static void ChangeIPFamilyPolicy(Service s) => s.Spec!.IpFamilyPolicy = "SingleStack";
    private static void AddPort(Service s) => s.Spec!.Ports!.Add(ValidPort("new", "TCP", 0));
    private static void DelPort(Service s) => s.Spec!.Ports!.RemoveAt(s.Spec.Ports.Count - 1);

    private static void ChangePort(Service s)
    {
        s.Spec!.Ports![0].Port += 100;
        s.Spec.Ports[0].Protocol = "UDP";
    }

    private static void SetHCNodePort(Service s)
    {
        s.Spec!.ExternalTrafficPolicy = "Local";
        s.Spec.HealthCheckNodePort = 32000;
    }

    private static void ChangeHCNodePort(Service s) => s.Spec!.HealthCheckNodePort += 100;
    private static void SetAllocateLoadBalancerNodePortsTrue(Service s) => s.Spec!.AllocateLoadBalancerNodePorts = true;
    private static void SetAllocateLoadBalancerNodePortsFalse(Service s) => s.Spec!.AllocateLoadBalancerNodePorts = false;
    private static void ClearAllocateLoadBalancerNodePorts(Service s) => s.Spec!.AllocateLoadBalancerNodePorts = null;
    private static void SetLoadBalancerClass(Service s) => s.Spec!.LoadBalancerClass = "test-load-balancer-class";
    private static void ClearLoadBalancerClass(Service s) => s.Spec!.LoadBalancerClass = null;
    private static void ChangeLoadBalancerClass(Service s) => s.Spec!.LoadBalancerClass = "test-load-balancer-class-changed";

    private static readonly Dictionary<string, (Action<Service>[] Svc, Action<Service>[] Patch, Action<Service>[] Expect)> s_drop = new()
    {
        // clusterIP cases
        ["don't clear clusterIP et al"] = ([], [], []),
        ["clear clusterIP et al"] = ([], [ExternalName], [ExternalName, ClearClusterIPs, ClearIPFamilies, ClearIPFamilyPolicy]),
        ["don't clear changed clusterIP"] = ([], [ExternalName, ChangeClusterIPs], [ExternalName, ChangeClusterIPs, ClearIPFamilies, ClearIPFamilyPolicy]),
        ["don't clear changed ipFamilies"] = ([], [ExternalName, ChangeIPFamilies], [ExternalName, ClearClusterIPs, ChangeIPFamilies, ClearIPFamilyPolicy]),
        ["don't clear changed ipFamilyPolicy"] = ([], [ExternalName, ChangeIPFamilyPolicy], [ExternalName, ClearClusterIPs, ClearIPFamilies, ChangeIPFamilyPolicy]),
        // nodePort cases
        ["don't clear nodePorts for type=NodePort"] = ([NodePort, SetNodePorts], [], [NodePort, SetNodePorts]),
        ["don't clear nodePorts for type=LoadBalancer"] = ([LoadBalancer, SetNodePorts], [], [LoadBalancer, SetNodePorts]),
        ["clear nodePorts"] = ([LoadBalancer, SetNodePorts], [ClusterIP], []),
        ["don't clear changed nodePorts"] = ([LoadBalancer, SetNodePorts], [ClusterIP, ChangeNodePorts], [SetNodePorts, ChangeNodePorts]),
        ["clear nodePorts when adding a port"] = ([LoadBalancer, SetNodePorts], [ClusterIP, AddPort], [AddPort]),
        ["don't clear nodePorts when adding a port with NodePort"] = ([LoadBalancer, SetNodePorts], [ClusterIP, AddPort, SetNodePorts], [AddPort, SetNodePorts]),
        ["clear nodePorts when removing a port"] = ([LoadBalancer, SetNodePorts], [ClusterIP, DelPort], [DelPort]),
        ["clear nodePorts when changing a port"] = ([LoadBalancer, SetNodePorts], [ClusterIP, ChangePort], [ChangePort]),
        // healthCheckNodePort cases
        ["don't clear healthCheckNodePort for type=LoadBalancer"] = ([LoadBalancer, SetHCNodePort], [], [LoadBalancer, SetHCNodePort]),
        ["clear healthCheckNodePort"] = ([LoadBalancer, SetHCNodePort], [ClusterIP], []),
        ["don't clear changed healthCheckNodePort"] = ([LoadBalancer, SetHCNodePort], [ClusterIP, ChangeHCNodePort], [SetHCNodePort, ChangeHCNodePort, ClearExternalTrafficPolicy]),
        // allocatedLoadBalancerNodePorts cases
        ["clear allocatedLoadBalancerNodePorts true -> true"] = ([LoadBalancer, SetAllocateLoadBalancerNodePortsTrue], [NodePort], [NodePort]),
        ["clear allocatedLoadBalancerNodePorts false -> false"] = ([LoadBalancer, SetAllocateLoadBalancerNodePortsFalse], [NodePort], [NodePort]),
        ["set allocatedLoadBalancerNodePorts nil -> true"] = ([LoadBalancer], [NodePort, SetAllocateLoadBalancerNodePortsTrue], [NodePort, SetAllocateLoadBalancerNodePortsTrue]),
        ["set allocatedLoadBalancerNodePorts nil -> false"] = ([LoadBalancer], [NodePort, SetAllocateLoadBalancerNodePortsFalse], [NodePort, SetAllocateLoadBalancerNodePortsFalse]),
        ["set allocatedLoadBalancerNodePorts true -> nil"] = ([LoadBalancer, SetAllocateLoadBalancerNodePortsTrue], [NodePort, ClearAllocateLoadBalancerNodePorts], [NodePort]),
        ["set allocatedLoadBalancerNodePorts false -> nil"] = ([LoadBalancer, SetAllocateLoadBalancerNodePortsFalse], [NodePort, ClearAllocateLoadBalancerNodePorts], [NodePort]),
        ["set allocatedLoadBalancerNodePorts true -> false"] = ([LoadBalancer, SetAllocateLoadBalancerNodePortsTrue], [NodePort, SetAllocateLoadBalancerNodePortsFalse], [NodePort, SetAllocateLoadBalancerNodePortsFalse]),
        ["set allocatedLoadBalancerNodePorts false -> true"] = ([LoadBalancer, SetAllocateLoadBalancerNodePortsFalse], [NodePort, SetAllocateLoadBalancerNodePortsTrue], [NodePort, SetAllocateLoadBalancerNodePortsTrue]),
        // loadBalancerClass cases
        ["clear loadBalancerClass when set Service type LoadBalancer -> non LoadBalancer"] = ([LoadBalancer, SetLoadBalancerClass], [ClusterIP], [ClusterIP, ClearLoadBalancerClass]),
        ["update loadBalancerClass load balancer class name"] = ([LoadBalancer, SetLoadBalancerClass], [ChangeLoadBalancerClass], [LoadBalancer, ChangeLoadBalancerClass]),
        ["clear load balancer class name"] = ([LoadBalancer, SetLoadBalancerClass], [ClearLoadBalancerClass], [LoadBalancer, ClearLoadBalancerClass]),
        ["change service type and load balancer class"] = ([LoadBalancer, SetLoadBalancerClass], [ClusterIP, ChangeLoadBalancerClass], [ClusterIP, ChangeLoadBalancerClass]),
        ["change service type to load balancer and set load balancer class"] = ([ClusterIP], [LoadBalancer, SetLoadBalancerClass], [LoadBalancer, SetLoadBalancerClass]),
        ["don't clear load balancer class for Type=LoadBalancer"] = ([LoadBalancer, SetLoadBalancerClass], [], [LoadBalancer, SetLoadBalancerClass]),
        ["clear externalTrafficPolicy when removing externalIPs for Type=ClusterIP"] =
            ([ClusterIP, SetExternalIPs, SetExternalTrafficPolicyCluster], [ClearExternalIPs], [ClusterIP, ClearExternalTrafficPolicy]),
    };

    public static TheoryData<string> DropCases => [.. s_drop.Keys];

    [Theory]
    [MemberData(nameof(DropCases))]
    public void DropTypeDependentFields_UpstreamTable(string name)
    {
        var (svcTweaks, patch, expectTweaks) = s_drop[name];
        var old = MakeValidService(svcTweaks);
        var result = MakeValidService([.. svcTweaks, .. patch]);
        var expect = MakeValidService(expectTweaks);

        ServiceUpdateRules.DropTypeDependentFields(result, old);

        var (got, want) = (result.Spec!, expect.Spec!);
        Assert.Equal(want.ClusterIP ?? "", got.ClusterIP ?? "");
        Assert.Equal(want.ClusterIPs ?? [], got.ClusterIPs ?? []);
        Assert.Equal(want.IpFamilies ?? [], got.IpFamilies ?? []);
        Assert.Equal(want.IpFamilyPolicy, got.IpFamilyPolicy);
        Assert.Equal(want.Ports!.Select(p => p.NodePort ?? 0), got.Ports!.Select(p => p.NodePort ?? 0));
        Assert.Equal(want.HealthCheckNodePort ?? 0, got.HealthCheckNodePort ?? 0);
        Assert.Equal(want.AllocateLoadBalancerNodePorts, got.AllocateLoadBalancerNodePorts);
        Assert.Equal(want.LoadBalancerClass, got.LoadBalancerClass);
        Assert.Equal(want.ExternalTrafficPolicy ?? "", got.ExternalTrafficPolicy ?? "");
        // The stored object is never touched.
        Assert.Equal(KubeJsonText(MakeValidService(svcTweaks)), KubeJsonText(old));
    }

    private static string KubeJsonText(Service svc) => Berth.Api.Serialization.KubeJson.ToNode(svc).ToJsonString();

    [Theory]
    [InlineData("ClusterIP", true)]
    [InlineData("NodePort", true)]
    [InlineData("ExternalName", true)]
    [InlineData("LoadBalancer", false)]
    public void DropTypeDependentFields_NoLongerLoadBalancer_ClearsLoadBalancerStatus(string newType, bool cleared)
    {
        // dropTypeDependentFields: "Clear the load-balancer status if it is no longer appropriate."
        var old = MakeValidService(LoadBalancer, SetIngressIP("127.100.0.7"));
        var updated = MakeValidService(s => s.Spec!.Type = newType, SetIngressIP("127.100.0.7"));

        ServiceUpdateRules.DropTypeDependentFields(updated, old);

        Assert.Equal(cleared ? [] : ["127.100.0.7"], (updated.Status!.LoadBalancer!.Ingress ?? []).Select(i => i.Ip));
    }

    // ---- trimFieldsForDualStackDowngrade ----

    [Theory]
    [InlineData("RequireDualStack", "SingleStack", true)]
    [InlineData("PreferDualStack", "SingleStack", true)]
    [InlineData("SingleStack", "SingleStack", false)]
    [InlineData("RequireDualStack", "PreferDualStack", false)]
    [InlineData("RequireDualStack", null, false)]
    public void TrimForSingleStackDowngrade_DualToSingle_DropsTheSecondaryIPAndFamily(string oldPolicy, string? newPolicy, bool trimmed)
    {
        var old = MakeValidService(s => s.Spec!.IpFamilyPolicy = oldPolicy);
        var updated = MakeValidService(s => s.Spec!.IpFamilyPolicy = newPolicy);

        ServiceUpdateRules.TrimForSingleStackDowngrade(updated, old);

        Assert.Equal(trimmed ? ["1.2.3.4"] : ["1.2.3.4", "5:6:7::8"], updated.Spec!.ClusterIPs!);
        Assert.Equal(trimmed ? ["IPv4"] : ["IPv4", "IPv6"], updated.Spec.IpFamilies!);
    }
}
