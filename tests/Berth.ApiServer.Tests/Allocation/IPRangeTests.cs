using System.Net;
using Berth.ApiServer.Allocation;

namespace Berth.ApiServer.Tests.Allocation;

public sealed class IPRangeTests
{
    [Theory]
    // Sizes from upstream ipallocator New() and bitmap_test.go: network (and IPv4 broadcast) reserved, IPv6 capped.
    [InlineData("192.168.1.0/24", "IPv4", 254)]
    [InlineData("10.0.0.0/15", "IPv4", 131070)]
    [InlineData("10.96.0.0/12", "IPv4", 1048574)]
    [InlineData("192.168.1.240/30", "IPv4", 2)]
    [InlineData("192.168.1.0/31", "IPv4", 0)]
    [InlineData("192.168.1.0/32", "IPv4", 0)]
    [InlineData("2001:db8:1::/48", "IPv6", 65535)]
    [InlineData("fd00::/64", "IPv6", 65535)]
    [InlineData("2001:db8::/112", "IPv6", 65535)]
    [InlineData("2001:db8::/120", "IPv6", 255)]
    [InlineData("fd00::/126", "IPv6", 3)]
    [InlineData("fd00::/127", "IPv6", 1)]
    [InlineData("fd00::/128", "IPv6", 0)]
    // RangeSize is 0 when the host part has 31 (IPv4) or 127 (IPv6) bits or more.
    [InlineData("0.0.0.0/0", "IPv4", 0)]
    [InlineData("128.0.0.0/1", "IPv4", 0)]
    [InlineData("::/1", "IPv6", 0)]
    [InlineData("::/2", "IPv6", 65535)]
    public void Parse_Cidr_SizeAndFamilyAsUpstream(string cidr, string family, int size)
    {
        var range = IPRange.Parse(cidr);

        Assert.Equal(size, range.Size);
        Assert.Equal(family, range.Family);
        Assert.Equal(cidr, range.ToString());
    }

    [Theory]
    // ParseCIDRSloppy masks host bits and reads IPv4 leading zeros as decimal.
    [InlineData("192.168.1.1/22", "192.168.0.0/22")]
    [InlineData("010.096.0.0/12", "10.96.0.0/12")]
    [InlineData("fd00::1/118", "fd00::/118")]
    [InlineData("2001:DB8:0:0:1::/64", "2001:db8::/64")]
    [InlineData("::102:300/120", "::102:300/120")] // Go prints no dotted tail where .NET would ("::1.2.3.0")
    public void Parse_NonCanonical_PrintsTheNetwork(string cidr, string expected)
    {
        Assert.Equal(expected, IPRange.Parse(cidr).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.96.0.0")]
    [InlineData("10.96.0.0/")]
    [InlineData("10.96.0.0/33")]
    [InlineData("10.96.0/12")]
    [InlineData("10.96.0.0.0/12")]
    [InlineData("10.96.0.256/12")]
    [InlineData("10.96.0.0/+12")]
    [InlineData("10.96.0.0/ 12")]
    [InlineData(" 10.96.0.0/12")]
    [InlineData("fd00::/129")]
    [InlineData("fd00::%eth0/64")]
    [InlineData("[fd00::]/64")]
    [InlineData("fd00:::/64")]
    public void Parse_Invalid_ThrowsUpstreamMessage(string cidr)
    {
        var e = Assert.Throws<FormatException>(() => IPRange.Parse(cidr));

        Assert.Equal($"invalid CIDR address: {cidr}", e.Message);
        Assert.False(IPRange.TryParse(cidr, out _));
    }

    [Theory]
    [InlineData("192.168.1.0/24", "192.168.1.1", 0)]
    [InlineData("192.168.1.0/24", "192.168.1.254", 253)]
    [InlineData("192.168.1.0/24", "192.168.1.0", -1)]      // network address
    [InlineData("192.168.1.0/24", "192.168.1.255", -1)]    // broadcast address
    [InlineData("192.168.1.0/24", "192.168.2.2", -1)]
    [InlineData("192.168.1.0/24", "::ffff:192.168.1.7", 6)] // Go treats IPv4-mapped addresses as IPv4
    [InlineData("192.168.1.0/24", "2001:db8::1", -1)]
    [InlineData("2001:db8:1::/48", "2001:db8:1::1", 0)]
    [InlineData("2001:db8:1::/48", "2001:db8:1::ffff", 65534)]
    [InlineData("2001:db8:1::/48", "2001:db8:1::1:0", -1)] // beyond the 65535-address cap
    [InlineData("2001:db8:1::/48", "2001:db8:1::", -1)]
    [InlineData("2001:db8:1::/48", "2001:db8::1", -1)]
    [InlineData("2001:db8:1::/48", "192.168.1.1", -1)]
    [InlineData("fd00::/126", "fd00::3", 2)]                // IPv6 keeps the last address allocatable
    [InlineData("fd00::/127", "fd00::1", 0)]
    [InlineData("10.0.0.0/31", "10.0.0.1", -1)]
    public void IndexOf_Address_OffsetFromTheFirstAllocatable(string cidr, string ip, int expected)
    {
        var range = IPRange.Parse(cidr);
        var address = IPAddress.Parse(ip);

        Assert.Equal(expected, range.IndexOf(address));
        Assert.Equal(expected >= 0, range.Contains(address));
    }

    [Theory]
    [InlineData("192.168.1.0/24", 0, "192.168.1.1")]
    [InlineData("192.168.1.0/24", 253, "192.168.1.254")]
    [InlineData("10.0.0.0/15", 131069, "10.1.255.254")]
    [InlineData("2001:db8:1::/48", 65534, "2001:db8:1::ffff")]
    public void AddressAt_Index_InvertsIndexOf(string cidr, int index, string expected)
    {
        var range = IPRange.Parse(cidr);

        var address = range.AddressAt(index);

        Assert.Equal(expected, address.ToString());
        Assert.Equal(index, range.IndexOf(address));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(254)]
    public void AddressAt_OutsideTheRange_Throws(int index)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IPRange.Parse("192.168.1.0/24").AddressAt(index));
    }

    [Theory]
    [InlineData("10.96.0.0/12", 1, "10.96.0.1")]
    [InlineData("10.96.0.0/12", 10, "10.96.0.10")]
    [InlineData("10.0.0.0/8", 0, "10.0.0.0")]
    [InlineData("10.0.0.0/30", 3, "10.0.0.3")]
    [InlineData("10.0.0.5/32", 0, "10.0.0.5")]
    [InlineData("fd00:10:96::/112", 10, "fd00:10:96::a")]
    [InlineData("fd00::/64", 65536, "fd00::1:0")]
    public void Nth_Index_AddressFromTheNetworkAddress(string cidr, int n, string expected)
    {
        Assert.Equal(IPAddress.Parse(expected), IPRange.Parse(cidr).Nth(n));
    }

    [Theory]
    [InlineData("10.0.0.0/30", 4)]
    [InlineData("10.0.0.0/32", 1)]
    [InlineData("10.0.0.0/24", -1)]
    public void Nth_OutsideTheCidr_ThrowsUpstreamMessage(string cidr, int n)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => IPRange.Parse(cidr).Nth(n));

        Assert.StartsWith($"can't generate IP with index {n} from subnet. subnet too small. subnet: \"{cidr}\"", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.2.3", "IPv4")]
    [InlineData("::ffff:10.1.2.3", "IPv4")]
    [InlineData("fd00::1", "IPv6")]
    public void FamilyOf_Address_AsUpstreamIPFamilyOf(string ip, string family)
    {
        Assert.Equal(family, IPRange.FamilyOf(IPAddress.Parse(ip)));
    }
}
