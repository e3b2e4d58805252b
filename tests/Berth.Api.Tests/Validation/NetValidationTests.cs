using Berth.Api.Validation;

namespace Berth.Api.Tests.Validation;

/// <summary>
/// Address and port syntax as upstream parses it (k8s.io/utils/net ParseIPSloppy and ParseCIDRSloppy, the Go 1.16
/// parsers), TestValidateNonSpecialIP from validation_test.go, and IsValidPortName's rules.
/// </summary>
public sealed class NetValidationTests
{
    [Theory]
    [InlineData("10.9.8.7", true)]
    [InlineData("010.009.008.007", true)] // leading zeros are what "sloppy" tolerates
    [InlineData("2001:db8::ffff", true)]
    [InlineData("::", true)]
    [InlineData("::ffff:1.2.3.4", true)]
    [InlineData("1:2:3:4:5:6:1.2.3.4", true)]
    [InlineData("1.2.3", false)]
    [InlineData("1.2.3.256", false)]
    [InlineData("1.2.3.4.5", false)]
    [InlineData("1", false)]
    [InlineData("0x7f.1.1.1", false)]
    [InlineData("1.2.3,4", false)]
    [InlineData("myhost.mydomain", false)]
    [InlineData("2001:db8::1::2", false)]
    [InlineData("1:2:3:4:5:6:7:8:9", false)]
    [InlineData("1:2:3:4:5:6:7::8", false)] // "::" must stand for at least one group
    [InlineData("fe80::1%eth0", false)]
    [InlineData("", false)]
    [InlineData("None", false)]
    public void IsValidIP_AcceptsWhatGoSloppyParserAccepts(string value, bool valid) =>
        Assert.Equal(valid, NetValidation.IsValidIP("ip", value).Count == 0);

    // Go's net ipStringTests, written as text: the longest zero run (the first of equal ones) becomes "::", a single
    // zero group does not, hex is lowercase; IPv4 and IPv4-mapped print dotted, an IPv6 tail never does.
    [Theory]
    [InlineData("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    [InlineData("2001:db8::123:12:1", "2001:db8::123:12:1")]
    [InlineData("2001:db8:0:1:0:1:0:1", "2001:db8:0:1:0:1:0:1")]
    [InlineData("2001:db8:1:0:1:0:1:0", "2001:db8:1:0:1:0:1:0")]
    [InlineData("2001:0:0:0:1:0:0:1", "2001::1:0:0:1")]
    [InlineData("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("2001:DB8::A:B:C:D", "2001:db8::a:b:c:d")]
    [InlineData("::", "::")]
    [InlineData("::102:304", "::102:304")]
    [InlineData("::ffff:1.2.3.4", "1.2.3.4")]
    [InlineData("192.168.0.1", "192.168.0.1")]
    [InlineData("010.001.002.003", "10.1.2.3")]
    public void FormatIP_PrintsAsGoNetIPString(string value, string expected) =>
        Assert.Equal(expected, NetValidation.FormatIP(NetValidation.ParseIPSloppy(value)!));

    [Theory]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("1.2.3.4/32", true)]
    [InlineData("1.2.3.4/33", false)]
    [InlineData("2001:db8::/64", true)]
    [InlineData("2001:db8::/129", false)]
    [InlineData("1.2.3.0/024", true)]
    [InlineData("1.2.3.0/", false)]
    [InlineData("1.2.3.0", false)]
    [InlineData("foo.bar", false)]
    [InlineData("1.2.3.0/24 ", false)]
    public void IsValidCidr_AcceptsWhatGoSloppyParserAccepts(string value, bool valid) =>
        Assert.Equal(valid, NetValidation.IsValidCidr("cidr", value).Count == 0);

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("244.1.2.3")]
    [InlineData("2000::1")]
    public void ValidateNonSpecialIP_OrdinaryAddress_IsValid(string ip) => Assert.Empty(NetValidation.ValidateNonSpecialIP(ip, "ip"));

    [Theory]
    [InlineData("0.0.0.0", "may not be unspecified (0.0.0.0)")]
    [InlineData("::0", "may not be unspecified (::0)")]
    [InlineData("127.0.0.0", "may not be in the loopback range (127.0.0.0/8, ::1/128)")]
    [InlineData("127.255.255.255", "may not be in the loopback range (127.0.0.0/8, ::1/128)")]
    [InlineData("::1", "may not be in the loopback range (127.0.0.0/8, ::1/128)")]
    [InlineData("169.254.169.254", "may not be in the link-local range (169.254.0.0/16, fe80::/10)")]
    [InlineData("fe80::", "may not be in the link-local range (169.254.0.0/16, fe80::/10)")]
    [InlineData("224.0.0.1", "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")]
    [InlineData("ff02::", "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")]
    public void ValidateNonSpecialIP_SpecialAddress_SaysWhy(string ip, string detail) =>
        Assert.Equal([$"ip: Invalid value: \"{ip}\": {detail}"], NetValidation.ValidateNonSpecialIP(ip, "ip").Select(e => $"{e.Field}: {e.Message}"));

    [Theory]
    [InlineData("http")]
    [InlineData("h2c")]
    [InlineData("a-b-c")]
    [InlineData("abcdefghijklmno")]
    public void IsValidPortName_IanaServiceName_IsValid(string name) => Assert.Empty(NetValidation.IsValidPortName(name));

    [Theory]
    [InlineData("", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)|must contain at least one letter (a-z)")]
    [InlineData("1234", "must contain at least one letter (a-z)")]
    [InlineData("HTTP", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)|must contain at least one letter (a-z)")]
    [InlineData("a--b", "must not contain consecutive hyphens")]
    [InlineData("-ab", "must not begin or end with a hyphen")]
    [InlineData("abcdefghijklmnop", "must be no more than 15 characters")]
    public void IsValidPortName_Invalid_ListsUpstreamMessages(string name, string messages) =>
        Assert.Equal(messages.Split('|'), NetValidation.IsValidPortName(name));
}
