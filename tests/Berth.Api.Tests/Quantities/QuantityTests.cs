using Berth.Api.Quantities;

namespace Berth.Api.Tests.Quantities;

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
        Assert.True(Quantity.TryParse(text, out var valueAlone));
        Assert.Equal(expected, valueAlone);
    }

    [Theory]
    [InlineData(null, Quantity.FormatError)]
    [InlineData("", Quantity.FormatError)]
    [InlineData("m", Quantity.FormatError)]
    [InlineData("1.2.3", Quantity.FormatError)]
    [InlineData("1 Mi", Quantity.FormatError)]
    [InlineData("1Mx", Quantity.FormatError)]
    [InlineData("1K", Quantity.SuffixError)]
    [InlineData("1Mii", Quantity.SuffixError)]
    [InlineData("1e", Quantity.SuffixError)]
    [InlineData("1e99", Quantity.SuffixError)]
    [InlineData("100000000000000000000000000000", Quantity.FormatError)]
    [InlineData("80000000000000000000Ei", Quantity.FormatError)]
    public void TryParse_Invalid_UpstreamError(string? text, string message)
    {
        Assert.False(Quantity.TryParse(text, out var value, out var error));
        Assert.Equal(message, error);
        Assert.Equal(0m, value);
        Assert.False(Quantity.TryParse(text, out _));
    }

    [Theory]
    [InlineData(0.0001, 1, 1)]
    [InlineData(0.5, 1, 500)]
    [InlineData(2, 2, 2000)]
    [InlineData(1.0001, 2, 1001)]
    [InlineData(-1.5, -1, -1500)]
    public void ValueAndMilliValue_RoundUp(double value, long whole, long milli)
    {
        Assert.Equal(whole, Quantity.Value((decimal)value));
        Assert.Equal(milli, Quantity.MilliValue((decimal)value));
    }

    // The scheduler sums quantities into longs; one beyond a long's range counts as the largest (or smallest) long.
    public static TheoryData<string, long, long> OutOfRangeCases => new()
    {
        { "9223372036854775807", long.MaxValue, long.MaxValue },
        { "10E", long.MaxValue, long.MaxValue },
        { "-10E", long.MinValue, long.MinValue },
        { "9223372036854776", 9_223_372_036_854_776, long.MaxValue },
        { "1Ei", 1L << 60, long.MaxValue },
    };

    [Theory]
    [MemberData(nameof(OutOfRangeCases))]
    public void ValueAndMilliValue_OutOfRange_Clamped(string text, long whole, long milli)
    {
        Assert.True(Quantity.TryParse(text, out var value));
        Assert.Equal(whole, Quantity.Value(value));
        Assert.Equal(milli, Quantity.MilliValue(value));
    }
}
