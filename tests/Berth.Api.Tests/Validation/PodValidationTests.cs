using Berth.Api.Models;
using Berth.Api.Validation;

namespace Berth.Api.Tests.Validation;

/// <summary>Cases from upstream pkg/apis/core/validation/validation_test.go (TestValidatePodDNSConfig, TestValidateDNSPolicy, TestValidateHostAliases).</summary>
public sealed class PodValidationTests
{
    // A valid subdomain of the most characters allowed (253).
    private static readonly string s_longSearch = string.Join('.', new string('a', 63), new string('b', 63), new string('c', 63), new string('d', 61));

    private static readonly string[] s_32Searches = [.. Enumerable.Range(1, 32).Select(i => "search" + i)];

    public static TheoryData<string, PodDNSConfig?> ValidDnsConfigs => new()
    {
        { "ClusterFirst", null },
        { "ClusterFirst", new PodDNSConfig() },
        { "ClusterFirst", new PodDNSConfig { Nameservers = ["127.0.0.1"] } },
        { "ClusterFirst", new PodDNSConfig { Nameservers = ["127.0.0.1", "::1"] } },
        { "ClusterFirst", new PodDNSConfig { Nameservers = ["127.0.0.1", "::1", "1.2.3.4"] } },
        { "ClusterFirst", new PodDNSConfig { Searches = ["custom"] } },
        { "ClusterFirst", new PodDNSConfig { Searches = ["custom", "mydomain.com", "a.b.c.d.e", "f.g.h.i.j", "k.l.m.n.o", "p.q.r.s.t"] } },
        // A trailing dot is fine.
        { "ClusterFirst", new PodDNSConfig { Searches = ["custom.", "mydomain.com.", "a.b.c.d.e.", "f.g.h.i.j.", "k.l.m.n.o.", "p.q.r.s.t."] } },
        { "ClusterFirst", new PodDNSConfig { Searches = [.. s_32Searches] } },
        // 8 × 253 + 7 spaces = 2031 characters.
        { "ClusterFirst", new PodDNSConfig { Searches = [.. Enumerable.Repeat(s_longSearch, 8)] } },
        { "ClusterFirst", new PodDNSConfig { Options = [new() { Name = "ndots", Value = "3" }, new() { Name = "debug" }] } },
        { "None", new PodDNSConfig { Nameservers = ["203.0.113.1"], Searches = ["my.domain"] } },
    };

    [Theory]
    [MemberData(nameof(ValidDnsConfigs))]
    public void ValidateDnsConfig_UpstreamValidCases_NoErrors(string policy, PodDNSConfig? config)
    {
        Assert.Empty(PodValidation.ValidateDnsConfig(config, policy, "dnsConfig"));
    }

    public static TheoryData<string, PodDNSConfig?, string> InvalidDnsConfigs => new()
    {
        {
            "ClusterFirst", new PodDNSConfig { Nameservers = ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"] },
            "dnsConfig.nameservers: Invalid value: []string{\"1.1.1.1\", \"2.2.2.2\", \"3.3.3.3\", \"4.4.4.4\"}: must not have more than 3 nameservers"
        },
        {
            "ClusterFirst", new PodDNSConfig { Nameservers = ["invalid"] },
            "dnsConfig.nameservers[0]: Invalid value: \"invalid\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        },
        {
            "ClusterFirst", new PodDNSConfig { Searches = [.. s_32Searches, "search33"] },
            "dnsConfig.searches: Invalid value: []string{" + string.Join(", ", s_32Searches.Append("search33").Select(s => $"\"{s}\"")) + "}: must not have more than 32 search paths"
        },
        {
            "ClusterFirst", new PodDNSConfig { Searches = ["custom?"] },
            "dnsConfig.searches[0]: Invalid value: \"custom?\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        },
        { "ClusterFirst", new PodDNSConfig { Options = [new() { Value = "3" }] }, "dnsConfig.options[0]: Required value: must not be empty" },
        { "None", null, "dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None" },
        { "None", new PodDNSConfig { Searches = ["custom"] }, "dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None" },
    };

    [Theory]
    [MemberData(nameof(InvalidDnsConfigs))]
    public void ValidateDnsConfig_UpstreamInvalidCases_ErrorAsUpstreamPrintsIt(string policy, PodDNSConfig? config, string expected)
    {
        var error = Assert.Single(PodValidation.ValidateDnsConfig(config, policy, "dnsConfig"));

        Assert.Equal(expected, $"{error.Field}: {error.Message}");
    }

    [Fact]
    public void ValidateDnsConfig_SearchListOver2048Characters_Invalid()
    {
        // 9 × 253 + 8 spaces = 2285 characters.
        var searches = Enumerable.Repeat(s_longSearch, 9).ToList();

        var error = Assert.Single(PodValidation.ValidateDnsConfig(new PodDNSConfig { Searches = searches }, "ClusterFirst", "dnsConfig"));

        Assert.Equal("dnsConfig.searches", error.Field);
        Assert.EndsWith("must not have more than 2048 characters (including spaces) in the search list", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ClusterFirst")]
    [InlineData("ClusterFirstWithHostNet")]
    [InlineData("Default")]
    public void ValidateDns_SupportedPolicies_NoErrors(string policy)
    {
        Assert.Empty(PodValidation.ValidateDns(new PodSpec { DnsPolicy = policy }));
    }

    [Theory]
    [InlineData("", "spec.dnsPolicy: Required value")]
    [InlineData("invalid", "spec.dnsPolicy: Unsupported value: \"invalid\": supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\"")]
    public void ValidateDns_BadPolicy_UpstreamError(string policy, string expected)
    {
        var error = Assert.Single(PodValidation.ValidateDns(new PodSpec { DnsPolicy = policy }));

        Assert.Equal(expected, $"{error.Field}: {error.Message}");
    }

    [Fact]
    public void ValidateHostAliases_ValidAliases_NoErrors()
    {
        var aliases = new List<HostAlias>
        {
            new() { Ip = "12.34.56.78", Hostnames = ["host1", "host2"] },
            new() { Ip = "::1", Hostnames = ["host3.example.com"] },
        };

        Assert.Empty(PodValidation.ValidateHostAliases(aliases, "spec.hostAliases"));
    }

    [Fact]
    public void ValidateHostAliases_BadIPAndHostname_EachNamedByIndex()
    {
        var aliases = new List<HostAlias>
        {
            new() { Ip = "12.34.56.78", Hostnames = ["host1"] },
            new() { Ip = "999.999.999.999", Hostnames = ["host1", "@#$^#@#$"] },
        };

        var errors = PodValidation.ValidateHostAliases(aliases, "spec.hostAliases");

        Assert.Equal(["spec.hostAliases[1].ip", "spec.hostAliases[1].hostnames[1]"], errors.Select(e => e.Field));
        Assert.Equal("Invalid value: \"999.999.999.999\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)", errors[0].Message);
    }

    [Fact]
    public void ValidateDns_BadHostnameAndSubdomain_DnsLabelErrors()
    {
        var errors = PodValidation.ValidateDns(new PodSpec { DnsPolicy = "ClusterFirst", Hostname = "Web_0", Subdomain = "a.b" });

        Assert.Equal(["spec.hostname", "spec.subdomain"], errors.Select(e => e.Field));
        Assert.All(errors, e => Assert.Contains("a lowercase RFC 1123 label must consist of", e.Message, StringComparison.Ordinal));
    }
}
