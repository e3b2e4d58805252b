using Berth.Api.Models;
using Berth.Api.Validation;
using static Berth.Api.Tests.Validation.ServiceFixtures;

namespace Berth.Api.Tests.Validation;

/// <summary>
/// IP family defaulting, ported from upstream TestCreateInitIPFields (pkg/registry/core/service/storage/storage_test.go):
/// every combination of clusterIPs, ipFamilyPolicy and ipFamilies on a single-stack IPv4 cluster (Berth's), plus the
/// dual-stack rows for IPv4 and IPv6 clusterIPs. Each row lists the outcome for ipFamilies unset, v4, v6, v4v6 and
/// v6v4: "E" is an error, otherwise the defaulted policy and families (SS = SingleStack, P = PreferDualStack,
/// R = RequireDualStack). Case names are upstream's.
/// </summary>
public sealed class ServiceIPFamiliesTests
{
    private static readonly string[] s_familyInputs = ["unset", "v4", "v6", "v4v6", "v6v4"];

    private static readonly (string Cluster, string ClusterIPs, string Policy, string Outcomes)[] s_rows =
    [
        ("singlestack:v4", "ClusterIPs:unset", "unset", "SS:v4 SS:v4 E E E"),
        ("singlestack:v4", "ClusterIPs:unset", "SingleStack", "SS:v4 SS:v4 E E E"),
        ("singlestack:v4", "ClusterIPs:unset", "PreferDualStack", "P:v4 P:v4 E E E"),
        ("singlestack:v4", "ClusterIPs:unset", "RequireDualStack", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v4", "unset", "SS:v4 SS:v4 E E E"),
        ("singlestack:v4", "ClusterIPs:v4", "SingleStack", "SS:v4 SS:v4 E E E"),
        ("singlestack:v4", "ClusterIPs:v4", "PreferDualStack", "P:v4 P:v4 E E E"),
        ("singlestack:v4", "ClusterIPs:v4", "RequireDualStack", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v4v6", "unset", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v4v6", "SingleStack", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v4v6", "PreferDualStack", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v4v6", "RequireDualStack", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v6v4", "unset", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v6v4", "SingleStack", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v6v4", "PreferDualStack", "E E E E E"),
        ("singlestack:v4", "ClusterIPs:v6v4", "RequireDualStack", "E E E E E"),
        ("singlestack:v4", "Headless", "unset", "SS:v4 SS:v4 E E E"),
        ("singlestack:v4", "Headless", "SingleStack", "SS:v4 SS:v4 E E E"),
        ("singlestack:v4", "Headless", "PreferDualStack", "P:v4 P:v4 E E E"),
        ("singlestack:v4", "Headless", "RequireDualStack", "E E E E E"),
        // Headless without a selector may name families the cluster has no range for: nothing is allocated.
        ("singlestack:v4", "HeadlessSelectorless", "unset", "R:v4v6 R:v4v6 R:v6v4 R:v4v6 R:v6v4"),
        ("singlestack:v4", "HeadlessSelectorless", "SingleStack", "SS:v4 SS:v4 SS:v6 E E"),
        ("singlestack:v4", "HeadlessSelectorless", "PreferDualStack", "P:v4v6 P:v4v6 P:v6v4 P:v4v6 P:v6v4"),
        ("singlestack:v4", "HeadlessSelectorless", "RequireDualStack", "R:v4v6 R:v4v6 R:v6v4 R:v4v6 R:v6v4"),
        ("dualstack:v4v6", "ClusterIPs:v4", "unset", "SS:v4 SS:v4 E E E"),
        ("dualstack:v4v6", "ClusterIPs:v4", "SingleStack", "SS:v4 SS:v4 E E E"),
        ("dualstack:v4v6", "ClusterIPs:v4", "PreferDualStack", "P:v4v6 P:v4v6 E P:v4v6 E"),
        ("dualstack:v4v6", "ClusterIPs:v4", "RequireDualStack", "R:v4v6 R:v4v6 E R:v4v6 E"),
        ("dualstack:v4v6", "ClusterIPs:v6", "unset", "SS:v6 E SS:v6 E E"),
        ("dualstack:v4v6", "ClusterIPs:v6", "SingleStack", "SS:v6 E SS:v6 E E"),
        ("dualstack:v4v6", "ClusterIPs:v6", "PreferDualStack", "P:v6v4 E P:v6v4 E P:v6v4"),
        ("dualstack:v4v6", "ClusterIPs:v6", "RequireDualStack", "R:v6v4 E R:v6v4 E R:v6v4"),
        ("dualstack:v4v6", "ClusterIPs:v4v6", "unset", "E E E E E"),
    ];

    public static TheoryData<string, string> CreateCases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var row in s_rows)
            {
                var outcomes = row.Outcomes.Split(' ');
                for (var i = 0; i < s_familyInputs.Length; i++)
                {
                    data.Add(row.Cluster, $"{row.ClusterIPs}_Policy:{row.Policy}_Families:{s_familyInputs[i]} => {outcomes[i]}");
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(CreateCases))]
    public void Apply_Create_DefaultsOrRefusesAsUpstream(string cluster, string testCase)
    {
        var (name, outcome) = (testCase.Split(" => ")[0], testCase.Split(" => ")[1]);
        var parts = name.Split('_');
        var service = MakeService(parts[0]);
        var policy = parts[1]["Policy:".Length..];
        service.Spec!.IpFamilyPolicy = policy == "unset" ? null : policy;
        service.Spec.IpFamilies = Families(parts[2]["Families:".Length..]);

        var errors = ServiceIPFamilies.Apply(service, null, Families(cluster.Split(':')[1])!);

        if (outcome == "E")
        {
            Assert.NotEmpty(errors);
            return;
        }
        Assert.True(errors.Count == 0, string.Join("; ", errors.Select(Render)));
        var (expectedPolicy, expectedFamilies) = (outcome.Split(':')[0], outcome.Split(':')[1]);
        Assert.Equal(expectedPolicy switch { "SS" => "SingleStack", "P" => "PreferDualStack", _ => "RequireDualStack" }, service.Spec.IpFamilyPolicy);
        Assert.Equal(Families(expectedFamilies), service.Spec.IpFamilies);
    }

    [Theory]
    [InlineData("ClusterIPs:unset", "RequireDualStack", "unset",
        "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services")]
    [InlineData("ClusterIPs:unset", "RequireDualStack", "v4v6",
        "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services",
        "spec.ipFamilies[1]: Invalid value: \"IPv6\": not configured on this cluster")]
    [InlineData("ClusterIPs:unset", "unset", "v6", "spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster")]
    [InlineData("ClusterIPs:unset", "SingleStack", "v4v6",
        "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified")]
    [InlineData("ClusterIPs:v4v6", "unset", "unset",
        "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
        "spec.clusterIPs[1]: Invalid value: []string{\"10.0.0.1\", \"2000::1\"}: IPv6 is not configured on this cluster")]
    [InlineData("ClusterIPs:v6v4", "PreferDualStack", "unset",
        "spec.clusterIPs[0]: Invalid value: []string{\"2000::1\", \"10.0.0.1\"}: IPv6 is not configured on this cluster")]
    [InlineData("ClusterIPs:v4", "unset", "v6",
        "spec.clusterIPs[0]: Invalid value: \"10.0.0.1\": expected an IPv6 value as indicated by `ipFamilies[0]`")]
    [InlineData("Headless", "PreferDualStack", "v6", "spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster")]
    public void Apply_SingleStackIPv4Cluster_ReportsUpstreamPathsAndMessages(string clusterIPs, string policy, string families, params string[] expected)
    {
        var service = MakeService(clusterIPs);
        service.Spec!.IpFamilyPolicy = policy == "unset" ? null : policy;
        service.Spec.IpFamilies = Families(families);
        Assert.Equal(expected, ServiceIPFamilies.Apply(service, null, ["IPv4"]).Select(Render));
    }

    [Fact]
    public void Apply_ExternalName_LeavesFamiliesUnset()
    {
        var service = MakeService("ClusterIPs:unset");
        service.Spec!.Type = "ExternalName";
        Assert.Empty(ServiceIPFamilies.Apply(service, null, ["IPv4"]));
        Assert.Null(service.Spec.IpFamilyPolicy);
        Assert.Null(service.Spec.IpFamilies);
    }

    [Fact]
    public void Apply_Twice_ChangesNothingMore()
    {
        var service = MakeService("HeadlessSelectorless");
        Assert.Empty(ServiceIPFamilies.Apply(service, null, ["IPv4"]));
        var (policy, families) = (service.Spec!.IpFamilyPolicy, service.Spec.IpFamilies!.ToList());
        Assert.Empty(ServiceIPFamilies.Apply(service, null, ["IPv4"]));
        Assert.Equal(policy, service.Spec.IpFamilyPolicy);
        Assert.Equal(families, service.Spec.IpFamilies);
    }

    // isMatchingPreferDualStackClusterIPFields: a PreferDualStack Service is not upgraded just because the cluster became dual-stack.
    [Fact]
    public void Apply_UnchangedPreferDualStackUpdateOnDualStackCluster_KeepsOneFamily()
    {
        var old = SingleStackPreferDualStack();
        var updated = SingleStackPreferDualStack();
        Assert.Empty(ServiceIPFamilies.Apply(updated, old, ["IPv4", "IPv6"]));
        Assert.Equal(["IPv4"], updated.Spec!.IpFamilies);
    }

    [Fact]
    public void Apply_PreferDualStackUpgradedToRequire_GainsSecondFamily()
    {
        var old = SingleStackPreferDualStack();
        var updated = SingleStackPreferDualStack();
        updated.Spec!.IpFamilyPolicy = "RequireDualStack";
        Assert.Empty(ServiceIPFamilies.Apply(updated, old, ["IPv4", "IPv6"]));
        Assert.Equal(["IPv4", "IPv6"], updated.Spec.IpFamilies);
    }

    [Fact]
    public void Apply_UpdateWithoutPolicy_KeepsStoredPolicy()
    {
        var old = DualStack("RequireDualStack");
        var updated = DualStack(null);
        Assert.Empty(ServiceIPFamilies.Apply(updated, old, ["IPv4", "IPv6"]));
        Assert.Equal("RequireDualStack", updated.Spec!.IpFamilyPolicy);
    }

    [Fact]
    public void Apply_UpdateToSingleStack_TrimsSecondaryIPAndFamily()
    {
        var old = DualStack("RequireDualStack");
        var updated = DualStack("SingleStack");
        Assert.Empty(ServiceIPFamilies.Apply(updated, old, ["IPv4", "IPv6"]));
        Assert.Equal(["10.0.0.1"], updated.Spec!.ClusterIPs);
        Assert.Equal(["IPv4"], updated.Spec.IpFamilies);
    }

    [Fact]
    public void Apply_ReleasingSecondaryWithoutSingleStack_IsRefused()
    {
        var old = DualStack("RequireDualStack");
        var updated = DualStack("RequireDualStack");
        updated.Spec!.ClusterIPs = ["10.0.0.1"];
        updated.Spec.IpFamilies = ["IPv4"];
        Assert.Equal(
        [
            "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": must be 'SingleStack' to release the secondary cluster IP",
            "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": must be 'SingleStack' to release the secondary IP family",
        ], ServiceIPFamilies.Apply(updated, old, ["IPv4", "IPv6"]).Select(Render));
    }

    [Fact]
    public void Apply_ExternalNameToClusterIP_DefaultsLikeCreate()
    {
        var old = MakeService("ClusterIPs:unset");
        old.Spec!.Type = "ExternalName";
        var updated = MakeService("ClusterIPs:unset");
        Assert.Empty(ServiceIPFamilies.Apply(updated, old, ["IPv4"]));
        Assert.Equal("SingleStack", updated.Spec!.IpFamilyPolicy);
        Assert.Equal(["IPv4"], updated.Spec.IpFamilies);
    }

    // svctest.MakeService: a ClusterIP Service selecting k=v, with svctest.SetClusterIPs / SetHeadless / SetSelector(nil).
    private static Service MakeService(string clusterIPs)
    {
        var service = new Service
        {
            Metadata = new ObjectMeta { Name = "foo", Namespace = "default" },
            Spec = new ServiceSpec { Type = "ClusterIP", Selector = new() { ["k"] = "v" } },
        };
        List<string>? ips = clusterIPs switch
        {
            "ClusterIPs:unset" => null,
            "Headless" or "HeadlessSelectorless" => ["None"],
            _ => [.. Families(clusterIPs["ClusterIPs:".Length..])!.Select(f => f == "IPv4" ? "10.0.0.1" : "2000::1")],
        };
        service.Spec.ClusterIP = ips?[0];
        service.Spec.ClusterIPs = ips;
        if (clusterIPs == "HeadlessSelectorless")
        {
            service.Spec.Selector = null;
        }
        return service;
    }

    private static Service SingleStackPreferDualStack()
    {
        var service = MakeService("ClusterIPs:v4");
        service.Spec!.IpFamilyPolicy = "PreferDualStack";
        service.Spec.IpFamilies = ["IPv4"];
        return service;
    }

    private static Service DualStack(string? policy)
    {
        var service = MakeService("ClusterIPs:v4v6");
        service.Spec!.IpFamilyPolicy = policy;
        service.Spec.IpFamilies = ["IPv4", "IPv6"];
        return service;
    }

    // "v4v6" => [IPv4, IPv6]; "unset" => null.
    private static List<string>? Families(string spec) => spec == "unset"
        ? null
        : [.. Enumerable.Range(0, spec.Length / 2).Select(i => spec.Substring(i * 2, 2) == "v4" ? "IPv4" : "IPv6")];
}
