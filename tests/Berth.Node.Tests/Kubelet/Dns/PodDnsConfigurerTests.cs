using Berth.Api.Models;
using Berth.Node.Dns;
using Berth.Node.Kubelet.Dns;

namespace Berth.Node.Tests.Kubelet.Dns;

/// <summary>Ported from pkg/kubelet/network/dns/dns_test.go.</summary>
public sealed class PodDnsConfigurerTests
{
    private const string ClusterNameserver = "10.0.0.10";
    private const string ClusterDomain = "kubernetes.io";
    private const string HostNameserver = "8.8.8.8";
    private const string HostDomain = "host.domain";

    private readonly List<(string Reason, string Message)> _events = [];

    private void Warn(string reason, string message) => _events.Add((reason, message));

    private static readonly string[] s_searchList2048Chars =
        [new string('A', 128), .. Enumerable.Repeat(new string('A', 127), 15)];

    public static TheoryData<string, string[], string[], string?> SearchLimitCases => new()
    {
        { "valid: 3 search paths", ["testNS.svc.TEST", "svc.TEST", "TEST"], ["testNS.svc.TEST", "svc.TEST", "TEST"], null },
        { "valid: 5 search paths", ["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB"], ["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB"], null },
        {
            "invalid: a 256-character search path",
            ["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", new string('B', 256), "BBB"],
            ["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB"],
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: testNS.svc.TEST svc.TEST TEST AAA BBB"
        },
        { "valid: 2048 characters in search path list", s_searchList2048Chars, s_searchList2048Chars, null },
        {
            "invalid: 2050 characters in search path list",
            [.. s_searchList2048Chars, "B"],
            s_searchList2048Chars,
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " + string.Join(' ', s_searchList2048Chars)
        },
        {
            "valid: 32 search paths",
            ["testNS.svc.TEST", "svc.TEST", "TEST", .. Enumerable.Range(4, 29).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            ["testNS.svc.TEST", "svc.TEST", "TEST", .. Enumerable.Range(4, 29).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            null
        },
        {
            "invalid: 33 search paths",
            ["testNS.svc.TEST", "svc.TEST", "TEST", .. Enumerable.Range(4, 30).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            ["testNS.svc.TEST", "svc.TEST", "TEST", .. Enumerable.Range(4, 29).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: testNS.svc.TEST svc.TEST TEST " +
                string.Join(' ', Enumerable.Range(4, 29))
        },
    };

    [Theory]
    [MemberData(nameof(SearchLimitCases))]
    public void SearchesFitLimits_UpstreamCases_TrimmedWithEvent(string description, string[] searches, string[] expected, string? expectedEvent)
    {
        var result = PodDnsConfigurer.SearchesFitLimits(searches, Warn);

        Assert.True(expected.SequenceEqual(result), description);
        Assert.Equal(expectedEvent is null ? [] : [("DNSConfigForming", expectedEvent)], _events);
    }

    [Theory]
    [InlineData(new[] { "127.0.0.1" }, new[] { "127.0.0.1" }, false)]
    [InlineData(new[] { "127.0.0.1", "10.0.0.10", "8.8.8.8" }, new[] { "127.0.0.1", "10.0.0.10", "8.8.8.8" }, false)]
    [InlineData(new[] { "127.0.0.1", "10.0.0.10", "8.8.8.8", "1.2.3.4" }, new[] { "127.0.0.1", "10.0.0.10", "8.8.8.8" }, true)]
    public void NameserversFitLimits_UpstreamCases_FirstThreeWithEvent(string[] nameservers, string[] expected, bool expectEvent)
    {
        var result = PodDnsConfigurer.NameserversFitLimits(nameservers, Warn);

        Assert.Equal(expected, result);
        Assert.Equal(expectEvent
            ? [("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 127.0.0.1 10.0.0.10 8.8.8.8")]
            : [], _events);
    }

    public static TheoryData<string[], PodDNSConfigOption[], string[]> MergeCases => new()
    {
        { ["ndots:5", "debug"], [], ["ndots:5", "debug"] },
        { ["ndots:5", "debug"], [new() { Name = "single-request" }, new() { Name = "attempts", Value = "3" }], ["ndots:5", "debug", "single-request", "attempts:3"] },
        {
            ["ndots:5", "debug"],
            [new() { Name = "ndots", Value = "3" }, new() { Name = "debug" }, new() { Name = "single-request" }, new() { Name = "attempts", Value = "3" }],
            ["ndots:3", "debug", "single-request", "attempts:3"]
        },
    };

    [Theory]
    [MemberData(nameof(MergeCases))]
    public void MergeOptions_UpstreamCases_DnsConfigOverwrites(string[] existing, PodDNSConfigOption[] overrides, string[] expected)
    {
        Assert.Equal(expected, PodDnsConfigurer.MergeOptions(existing, overrides));
    }

    [Theory]
    [InlineData("ClusterFirst", false, "Cluster")]
    [InlineData("ClusterFirstWithHostNet", true, "Cluster")]
    [InlineData("ClusterFirstWithHostNet", false, "Cluster")]
    [InlineData("Default", false, "Host")]
    [InlineData("Default", true, "Host")]
    [InlineData("ClusterFirst", true, "Host")]
    [InlineData("None", false, "None")]
    [InlineData("invalidPolicy", false, null)]
    public void GetPodDnsType_UpstreamCases(string policy, bool hostNetwork, string? expected)
    {
        Assert.Equal(expected, PodDnsConfigurer.GetPodDnsType(policy, hostNetwork)?.ToString());
    }

    // testGetPodDNS: pods without a namespace (the search starts ".svc."), host network, no resolv.conf first.
    [Fact]
    public void GetPodDns_NoHostResolvConf_ClusterPoliciesGetClusterDnsOthersLocalResolver()
    {
        var configurer = new PodDnsConfigurer(ClusterDomain, ["203.0.113.1"], Host: null);
        var pods = new[] { "ClusterFirstWithHostNet", "ClusterFirst", "ClusterFirst", "Default" }
            .Select((policy, i) => NewPod("", policy, hostNetwork: i != 2)).ToArray();

        var results = pods.Select(p => configurer.GetPodDns(p, Warn)).ToArray();

        Assert.Equal(["203.0.113.1"], results[0].Nameservers);
        Assert.Equal(".svc." + ClusterDomain, results[0].Searches[0]);
        Assert.Equal(["127.0.0.1"], results[1].Nameservers);
        Assert.Equal(["."], results[1].Searches);
        Assert.Equal(["203.0.113.1"], results[2].Nameservers);
        Assert.Equal(".svc." + ClusterDomain, results[2].Searches[0]);
        Assert.Equal(["127.0.0.1"], results[3].Nameservers);
        Assert.Equal(["."], results[3].Searches);
        Assert.Empty(_events);
    }

    [Fact]
    public void GetPodDns_HostResolvConf_ClusterSearchesPrependedToTheHosts()
    {
        var host = new ResolvConf(["192.0.2.53"], ["a.example", "b.example"], ["rotate"]);
        var configurer = new PodDnsConfigurer(ClusterDomain, ["203.0.113.1"], host);

        var cluster = configurer.GetPodDns(NewPod("", "ClusterFirstWithHostNet", hostNetwork: true), Warn);
        var hostPolicy = configurer.GetPodDns(NewPod("", "ClusterFirst", hostNetwork: true), Warn);

        Assert.Equal(["203.0.113.1"], cluster.Nameservers);
        Assert.Equal([".svc." + ClusterDomain, "svc." + ClusterDomain, ClusterDomain, "a.example", "b.example"], cluster.Searches);
        Assert.Equal(["ndots:5"], cluster.Options);
        Assert.Equal(["192.0.2.53"], hostPolicy.Nameservers);
        Assert.Equal(["a.example", "b.example"], hostPolicy.Searches);
        Assert.Equal(["rotate"], hostPolicy.Options);
    }

    public static TheoryData<string, bool, PodDNSConfig?, string[], string[], string[]> CustomCases => new()
    {
        { "None", false, null, [], [], [] },
        {
            "None", false,
            new() { Nameservers = ["203.0.113.1"], Searches = ["my.domain", "second.domain"], Options = [new() { Name = "ndots", Value = "3" }, new() { Name = "debug" }] },
            ["203.0.113.1"], ["my.domain", "second.domain"], ["ndots:3", "debug"]
        },
        {
            "ClusterFirst", false,
            new() { Nameservers = ["10.0.0.11"], Searches = ["my.domain"], Options = [new() { Name = "ndots", Value = "3" }, new() { Name = "debug" }] },
            [ClusterNameserver, "10.0.0.11"], ["testNS.svc." + ClusterDomain, "svc." + ClusterDomain, ClusterDomain, HostDomain, "my.domain"], ["ndots:3", "debug"]
        },
        {
            "ClusterFirstWithHostNet", true,
            new() { Nameservers = ["10.0.0.11"], Searches = ["my.domain"], Options = [new() { Name = "ndots", Value = "3" }, new() { Name = "debug" }] },
            [ClusterNameserver, "10.0.0.11"], ["testNS.svc." + ClusterDomain, "svc." + ClusterDomain, ClusterDomain, HostDomain, "my.domain"], ["ndots:3", "debug"]
        },
        {
            "Default", false,
            new() { Nameservers = ["10.0.0.11"], Searches = ["my.domain"], Options = [new() { Name = "ndots", Value = "3" }, new() { Name = "debug" }] },
            [HostNameserver, "10.0.0.11"], [HostDomain, "my.domain"], ["ndots:3", "debug"]
        },
    };

    // TestGetPodDNSCustom, with the host resolv.conf "nameserver 8.8.8.8 / search host.domain".
    [Theory]
    [MemberData(nameof(CustomCases))]
    public void GetPodDns_DnsConfig_MergedAsUpstream(string policy, bool hostNetwork, PodDNSConfig? dnsConfig, string[] nameservers, string[] searches, string[] options)
    {
        var host = ResolvConf.Parse($"nameserver {HostNameserver}\nsearch {HostDomain}\n");
        var configurer = new PodDnsConfigurer(ClusterDomain, [ClusterNameserver], host);
        var pod = NewPod("testNS", policy, hostNetwork);
        pod.Spec!.DnsConfig = dnsConfig;

        var result = configurer.GetPodDns(pod, Warn);

        Assert.Equal(nameservers, result.Nameservers);
        Assert.Equal(searches, result.Searches);
        Assert.Equal(options.Order(StringComparer.Ordinal), result.Options.Order(StringComparer.Ordinal));
        Assert.Empty(_events);
    }

    [Fact]
    public void GetPodDns_ClusterFirstWithoutClusterDns_FallsBackToDefaultWithMissingClusterDnsEvent()
    {
        var host = ResolvConf.Parse($"nameserver {HostNameserver}\nsearch {HostDomain}\noptions edns0\n");
        var configurer = new PodDnsConfigurer("cluster.local", [], host);
        var pod = NewPod("web", "ClusterFirst", hostNetwork: false);

        var result = configurer.GetPodDns(pod, Warn);

        Assert.Equal([HostNameserver], result.Nameservers);
        Assert.Equal([HostDomain], result.Searches);
        Assert.Equal(["edns0"], result.Options);
        var (reason, message) = Assert.Single(_events);
        Assert.Equal("MissingClusterDNS", reason);
        Assert.Equal(
            "pod: \"pod_web(uid-1)\". kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy.",
            message);
    }

    [Fact]
    public void GetPodDns_DefaultWithoutClusterDns_NoEvent()
    {
        var configurer = new PodDnsConfigurer("cluster.local", [], ResolvConf.Parse("nameserver 1.1.1.1"));

        var result = configurer.GetPodDns(NewPod("web", "Default", hostNetwork: false), Warn);

        Assert.Equal(["1.1.1.1"], result.Nameservers);
        Assert.Empty(_events);
    }

    [Fact]
    public void GetPodDns_TooManyNameserversFromDnsConfig_TrimmedToThreeWithEvent()
    {
        var configurer = new PodDnsConfigurer("cluster.local", ["127.96.0.10"], ResolvConf.Empty);
        var pod = NewPod("web", "ClusterFirst", hostNetwork: false);
        pod.Spec!.DnsConfig = new PodDNSConfig { Nameservers = ["10.0.0.1", "10.0.0.2", "10.0.0.3"] };

        var result = configurer.GetPodDns(pod, Warn);

        Assert.Equal(["127.96.0.10", "10.0.0.1", "10.0.0.2"], result.Nameservers);
        Assert.Equal(
            "search web.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.96.0.10\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions ndots:5\n",
            result.Format());
        Assert.Equal("DNSConfigForming", Assert.Single(_events).Reason);
    }

    private static Pod NewPod(string ns, string policy, bool hostNetwork) => new()
    {
        Metadata = new ObjectMeta { Name = "pod", Namespace = ns, Uid = "uid-1" },
        Spec = new PodSpec { DnsPolicy = policy, HostNetwork = hostNetwork },
    };
}
