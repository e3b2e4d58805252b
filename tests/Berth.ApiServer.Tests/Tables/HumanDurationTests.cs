using Berth.ApiServer.Tables;

namespace Berth.ApiServer.Tests.Tables;

// Cases from k8s.io/apimachinery/pkg/util/duration/duration_test.go. Go's 1ns steps become one tick (100ns).
public class HumanDurationTests
{
    private const long Tick = 1;
    private const long Ms = TimeSpan.TicksPerMillisecond;
    private const long Sec = TimeSpan.TicksPerSecond;
    private const long Min = TimeSpan.TicksPerMinute;
    private const long Hour = TimeSpan.TicksPerHour;
    private const long Day = 24 * Hour;
    private const long Year = 365 * Day;

    [Theory]
    [InlineData(Sec, "1s")]
    [InlineData(70 * Sec, "70s")]
    [InlineData(190 * Sec, "3m10s")]
    [InlineData(70 * Min, "70m")]
    [InlineData(47 * Hour, "47h")]
    [InlineData(49 * Hour, "2d1h")]
    [InlineData((8 * 24 + 2) * Hour, "8d")]
    [InlineData(367 * 24 * Hour, "367d")]
    [InlineData((365 * 2 * 24 + 25) * Hour, "2y1d")]
    [InlineData((365 * 8 * 24 + 2) * Hour, "8y")]
    public void Format_UpstreamExamples_Match(long ticks, string expected) =>
        Assert.Equal(expected, HumanDuration.Format(TimeSpan.FromTicks(ticks)));

    [Theory]
    [InlineData(-2 * Sec, "<invalid>")]
    [InlineData(-2 * Sec + Tick, "0s")]
    [InlineData(0, "0s")]
    [InlineData(Sec - Ms, "0s")]
    [InlineData(2 * Min - Ms, "119s")]
    [InlineData(2 * Min, "2m")]
    [InlineData(2 * Min + Sec, "2m1s")]
    [InlineData(10 * Min - Ms, "9m59s")]
    [InlineData(10 * Min, "10m")]
    [InlineData(10 * Min + Sec, "10m")]
    [InlineData(3 * Hour - Ms, "179m")]
    [InlineData(3 * Hour, "3h")]
    [InlineData(3 * Hour + Min, "3h1m")]
    [InlineData(8 * Hour - Ms, "7h59m")]
    [InlineData(8 * Hour, "8h")]
    [InlineData(8 * Hour + 59 * Min, "8h")]
    [InlineData(2 * Day - Ms, "47h")]
    [InlineData(2 * Day, "2d")]
    [InlineData(2 * Day + Hour, "2d1h")]
    [InlineData(8 * Day - Ms, "7d23h")]
    [InlineData(8 * Day, "8d")]
    [InlineData(8 * Day + 23 * Hour, "8d")]
    [InlineData(2 * Year - Ms, "729d")]
    [InlineData(2 * Year, "2y")]
    [InlineData(2 * Year + 23 * Hour, "2y")]
    [InlineData(2 * Year + 23 * Hour + 59 * Min, "2y")]
    [InlineData(2 * Year + 24 * Hour - Ms, "2y")]
    [InlineData(2 * Year + 24 * Hour, "2y1d")]
    [InlineData(3 * Year, "3y")]
    [InlineData(4 * Year, "4y")]
    [InlineData(5 * Year, "5y")]
    [InlineData(6 * Year, "6y")]
    [InlineData(7 * Year, "7y")]
    [InlineData(8 * Year - Ms, "7y364d")]
    [InlineData(8 * Year, "8y")]
    [InlineData(8 * Year + 364 * Day, "8y")]
    [InlineData(9 * Year, "9y")]
    public void Format_Boundaries_Match(long ticks, string expected) =>
        Assert.Equal(expected, HumanDuration.Format(TimeSpan.FromTicks(ticks)));

    [Theory]
    [InlineData(-2 * Sec, "<invalid>")]
    [InlineData(-2 * Sec + Tick, "0s")]
    [InlineData(0, "0s")]
    [InlineData(Sec - Ms, "0s")]
    [InlineData(Sec, "1s")]
    [InlineData(2 * Sec - Ms, "1s")]
    [InlineData(Min - Ms, "59s")]
    [InlineData(Min, "1m")]
    [InlineData(2 * Min - Ms, "1m")]
    [InlineData(Hour - Ms, "59m")]
    [InlineData(Hour, "1h")]
    [InlineData(2 * Hour - Ms, "1h")]
    [InlineData(Day - Ms, "23h")]
    [InlineData(Day, "1d")]
    [InlineData(2 * Day - Ms, "1d")]
    [InlineData(Year - Ms, "364d")]
    [InlineData(Year, "1y")]
    [InlineData(2 * Year - Ms, "1y")]
    [InlineData(2 * Year, "2y")]
    public void FormatShort_Boundaries_Match(long ticks, string expected) =>
        Assert.Equal(expected, HumanDuration.FormatShort(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void Since_Unset_IsUnknown() =>
        Assert.Equal("<unknown>", HumanDuration.Since(null, TableTestSupport.Now));

    [Fact]
    public void Since_FiveMinutesAgo_Is5m() =>
        Assert.Equal("5m", HumanDuration.Since(TableTestSupport.Now.AddMinutes(-5), TableTestSupport.Now));
}
