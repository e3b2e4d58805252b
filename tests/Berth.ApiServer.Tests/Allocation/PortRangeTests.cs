using Berth.ApiServer.Allocation;

namespace Berth.ApiServer.Tests.Allocation;

// Ported from upstream staging/src/k8s.io/apimachinery/pkg/util/net/port_range_test.go (TestPortRange),
// with the error text of PortRange.Set for each failing row.
public sealed class PortRangeTests
{
    [Theory]
    [InlineData("100-200", "100-200", 200, 201)]
    [InlineData(" 100-200 ", "100-200", 200, 201)]
    [InlineData("0-0", "0-0", 0, 1)]
    [InlineData("", "", -1, 0)]
    [InlineData("100", "100-100", 100, 101)]
    [InlineData("1+0", "1-1", 1, 2)]
    [InlineData("0+0", "0-0", 0, 1)]
    [InlineData("100+200", "100-300", 300, 301)]
    [InlineData("0+65535", "0-65535", 65535, 65536)]
    [InlineData("30000-32767", "30000-32767", 32767, 32768)]
    [InlineData("30000+2767", "30000-32767", 30000, 29999)]
    [InlineData("010-020", "10-20", 20, 21)]
    public void Parse_Valid_RoundTripsAndBounds(string input, string expected, int included, int excluded)
    {
        var range = PortRange.Parse(input);

        Assert.Equal(expected, range.ToString());
        if (included >= 0)
        {
            Assert.True(range.Contains(included), $"{expected} should include {included}");
        }
        Assert.False(range.Contains(excluded), $"{expected} should exclude {excluded}");
    }

    [Theory]
    [InlineData("100 - 200", "strconv.Atoi: parsing \"100 \": invalid syntax")]
    [InlineData("-100", "strconv.Atoi: parsing \"\": invalid syntax")]
    [InlineData("100-", "strconv.Atoi: parsing \"\": invalid syntax")]
    [InlineData("200-100", "end port cannot be less than start port: 200-100")]
    [InlineData("60000-70000", "the port range cannot be greater than 65535: 60000-70000")]
    [InlineData("70000-80000", "the port range cannot be greater than 65535: 70000-80000")]
    [InlineData("70000+80000", "the port range cannot be greater than 65535: 70000+80000")]
    [InlineData("1+-1", "unable to parse port range: 1+-1")]
    [InlineData("1-+1", "unable to parse port range: 1-+1")]
    [InlineData("1+65535", "the port range cannot be greater than 65535: 1+65535")]
    [InlineData("70000", "the port range cannot be greater than 65535: 70000")]
    [InlineData("abc", "strconv.Atoi: parsing \"abc\": invalid syntax")]
    [InlineData("1--5", "end port cannot be less than start port: 1--5")]
    [InlineData("1-99999999999999999999", "strconv.Atoi: parsing \"99999999999999999999\": value out of range")]
    [InlineData("1-\"2", "strconv.Atoi: parsing \"\\\"2\": invalid syntax")]
    public void Parse_Invalid_ThrowsUpstreamMessage(string input, string message)
    {
        var e = Assert.Throws<FormatException>(() => PortRange.Parse(input));

        Assert.Equal(message, e.Message);
        Assert.False(PortRange.TryParse(input, out _, out var error));
        Assert.Equal(message, error);
    }

    [Fact]
    public void Parse_DefaultNodePortRange_BaseAndSize()
    {
        var range = PortRange.Parse("30000-32767");

        Assert.Equal(30000, range.Base);
        Assert.Equal(2768, range.Size);
        Assert.Equal(new PortRange(30000, 2768), range);
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(65535, 2)]
    [InlineData(0, -1)]
    public void Constructor_OutsidePortSpace_Throws(int @base, int size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PortRange(@base, size));
    }
}
