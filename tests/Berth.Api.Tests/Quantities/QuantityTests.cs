using Berth.Node.Kubelet.Env;

namespace Berth.Node.Tests.Kubelet.Env;

public class QuantityTests
{
    public static TheoryData<string, decimal> ValidCases => new()
    {
        { "0", 0m },
        { "2", 2m },
        { "500m", 0.5m },
        { "0.5", 0.5m },
        { ".5", 0.5m },
        { "+1.5", 1.5m },
        { "-2", -2m },
        { "100n", 0.0000001m },
        { "3u", 0.000003m },
        { "1k", 1000m },
        { "1M", 1_000_000m },
        { "1G", 1_000_000_000m },
        { "2T", 2e12m },
        { "1P", 1e15m },
        { "1E", 1e18m },
        { "1Ki", 1024m },
        { "128Mi", 134_217_728m },
        { "1.5Gi", 1_610_612_736m },
        { "1Ti", 1_099_511_627_776m },
        { "1Pi", 1_125_899_906_842_624m },
        { "1Ei", 1_152_921_504_606_846_976m },
        { "1e3", 1000m },
        { "1E3", 1000m },
        { "5e-3", 0.005m },
        { "12e+2", 1200m },
    };

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void TryParse_Valid_ExactValue(string text, decimal expected)
    {
        Assert.True(Quantity.TryParse(text, out var value, out var error), error);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("", Quantity.FormatError)]
    [InlineData("m", Quantity.FormatError)]
    [InlineData("1.2.3", Quantity.FormatError)]
    [InlineData("1 Mi", Quantity.FormatError)]
    [InlineData("1Mx", Quantity.FormatError)]
    [InlineData("1K", Quantity.SuffixError)]
    [InlineData("1Mii", Quantity.SuffixError)]
    [InlineData("1e", Quantity.SuffixError)]
    [InlineData("1e99", Quantity.SuffixError)]
    public void TryParse_Invalid_UpstreamError(string text, string message)
    {
        Assert.False(Quantity.TryParse(text, out _, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData(0.0001, 1, 1)]
    [InlineData(0.5, 1, 500)]
    [InlineData(2, 2, 2000)]
    [InlineData(1.0001, 2, 1001)]
    public void Ceiling_RoundsUp(double value, long whole, long milli)
    {
        Assert.Equal(whole, Quantity.CeilingValue((decimal)value));
        Assert.Equal(milli, Quantity.CeilingMilliValue((decimal)value));
    }
}
