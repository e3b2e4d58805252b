using Berth.Api.Models;
using Berth.Node.Kubelet.Dns;

namespace Berth.Node.Tests.Kubelet.Dns;

/// <summary>Ported from pkg/kubelet/kubelet_pods_test.go (TestManagedHostsFileContent, TestNodeHostsFileContent).</summary>
public sealed class PodHostsFileTests
{
    private const string Boilerplate = """
        # Kubernetes-managed hosts file.
        127.0.0.1	localhost
        ::1	localhost ip6-localhost ip6-loopback
        fe00::0	ip6-localnet
        fe00::0	ip6-mcastprefix
        fe00::1	ip6-allnodes
        fe00::2	ip6-allrouters

        """;

    private static readonly HostAlias s_fooBarBaz = new() { Ip = "123.45.67.89", Hostnames = ["foo", "bar", "baz"] };
    private static readonly HostAlias s_parkDooBoo = new() { Ip = "456.78.90.123", Hostnames = ["park", "doo", "boo"] };

    public static TheoryData<string[], string, string, HostAlias[], string> ManagedCases => new()
    {
        { ["123.45.67.89"], "podFoo", "", [], Boilerplate + "123.45.67.89\tpodFoo\n" },
        { ["203.0.113.1"], "podFoo", "domainFoo", [], Boilerplate + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n" },
        {
            ["203.0.113.1"], "podFoo", "domainFoo", [s_fooBarBaz],
            Boilerplate + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\tbaz\n"
        },
        {
            ["203.0.113.1"], "podFoo", "domainFoo", [s_fooBarBaz, s_parkDooBoo],
            Boilerplate + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\tbaz\n456.78.90.123\tpark\tdoo\tboo\n"
        },
        {
            ["203.0.113.1", "fd00::6"], "podFoo", "domainFoo", [],
            Boilerplate + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\nfd00::6\tpodFoo.domainFoo\tpodFoo\n"
        },
    };

    [Theory]
    [MemberData(nameof(ManagedCases))]
    public void ManagedContent_UpstreamCases(string[] ips, string hostName, string domain, HostAlias[] aliases, string expected)
    {
        Assert.Equal(expected, PodHostsFile.ManagedContent(ips, hostName, domain, aliases));
    }

    [Fact]
    public void NodeContent_WithAliases_HostNetworkHeaderNodeFileThenAliases()
    {
        const string node = "# another hosts file for testing.\n127.0.0.1\tlocalhost\n12.34.56.78\tanother.domain\n";

        Assert.Equal("# Kubernetes-managed hosts file (host network).\n" + node, PodHostsFile.NodeContent(node, []));
        Assert.Equal(
            "# Kubernetes-managed hosts file (host network).\n" + node +
            "\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\tbaz\n456.78.90.123\tpark\tdoo\tboo\n",
            PodHostsFile.NodeContent(node, [s_fooBarBaz, s_parkDooBoo]));
    }

    [Fact]
    public void Content_HostNetworkPod_ReadsTheNodesFile()
    {
        var pod = new Pod { Metadata = new() { Name = "p", Namespace = "ns" }, Spec = new() { HostNetwork = true } };

        Assert.Equal("# Kubernetes-managed hosts file (host network).\n127.0.0.1\tnode\n",
            PodHostsFile.Content(pod, ["127.0.0.1"], "p", "", () => "127.0.0.1\tnode\n"));
    }

    [Theory]
    [InlineData("web-0", null, null, "web-0", "")]
    [InlineData("web-0", "host", null, "host", "")]
    [InlineData("web-0", "host", "sub", "host", "sub.ns.svc.cluster.local")]
    [InlineData("web-0", null, "sub", "web-0", "sub.ns.svc.cluster.local")]
    // A name longer than 63 characters is cut, and the cut may not end in '-' or '.'.
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-b", null, null, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "")]
    public void TryHostNameAndDomain_AsGeneratePodHostNameAndDomain(string name, string? hostname, string? subdomain, string expectedHost, string expectedDomain)
    {
        var pod = new Pod { Metadata = new() { Name = name, Namespace = "ns" }, Spec = new() { Hostname = hostname, Subdomain = subdomain } };

        Assert.True(PodHostsFile.TryHostNameAndDomain(pod, "cluster.local", out var host, out var domain, out _));
        Assert.Equal(expectedHost, host);
        Assert.Equal(expectedDomain, domain);
    }

    [Fact]
    public void TryHostNameAndDomain_BadSubdomain_UpstreamError()
    {
        var pod = new Pod { Metadata = new() { Name = "p", Namespace = "ns" }, Spec = new() { Subdomain = "Bad_Sub" } };

        Assert.False(PodHostsFile.TryHostNameAndDomain(pod, "cluster.local", out _, out _, out var error));
        Assert.StartsWith("pod Subdomain \"Bad_Sub\" is not a valid DNS label: a lowercase RFC 1123 label must consist of", error, StringComparison.Ordinal);
    }
}
