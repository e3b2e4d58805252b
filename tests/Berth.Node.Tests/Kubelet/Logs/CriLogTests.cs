using System.Buffers;
using System.Text;
using Berth.Node.Kubelet.Logs;

namespace Berth.Node.Tests.Kubelet.Logs;

public class CriLogTests
{
    public static TheoryData<string, string> Timestamps => new()
    {
        // RFC3339Nano trims trailing zeros, and the dot with them.
        { "2016-10-06T00:17:09.669794200Z", "2016-10-06T00:17:09.6697942Z" },
        { "2016-10-06T00:17:09.500000000Z", "2016-10-06T00:17:09.5Z" },
        { "2016-10-06T00:17:09Z", "2016-10-06T00:17:09Z" },
    };

    [Theory]
    [MemberData(nameof(Timestamps))]
    public void WriteRecord_Timestamp_IsRfc3339NanoUtc(string at, string expected)
    {
        Assert.True(CriLog.TryParseTimestamp(Encoding.ASCII.GetBytes(at), out var time));
        var buffer = new ArrayBufferWriter<byte>();
        CriLog.WriteRecord(buffer, time, LogStream.Stderr, partial: false, "x"u8);
        Assert.Equal(expected + " stderr F x\n", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Theory]
    [InlineData("2016-10-06T00:17:09.669794202Z", "2016-10-06T00:17:09.6697942Z")]
    [InlineData("2016-10-06T00:17:09.6Z", "2016-10-06T00:17:09.6000000Z")]
    [InlineData("2016-10-06T00:17:09Z", "2016-10-06T00:17:09.0000000Z")]
    [InlineData("2016-10-06T02:17:09.1+02:00", "2016-10-06T00:17:09.1000000Z")]
    [InlineData("2016-10-05T22:17:09.1-02:00", "2016-10-06T00:17:09.1000000Z")]
    public void TryParseTimestamp_Lenient_ParsesToUtc(string text, string utc)
    {
        Assert.True(CriLog.TryParseTimestamp(Encoding.ASCII.GetBytes(text), out var time));
        Assert.Equal(utc, time.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("2016-10-06T00:17:09.669794202Z", "2016-10-06T00:17:09.669794200Z")]
    [InlineData("2016-10-06T00:17:09Z", "2016-10-06T00:17:09.000000000Z")]
    public void FormatTimestampOut_IsRfc3339NanoFixed(string text, string expected)
    {
        Assert.True(CriLog.TryParseTimestamp(Encoding.ASCII.GetBytes(text), out var time));
        var output = new byte[64];
        var n = CriLog.FormatTimestampOut(time, output);
        Assert.Equal(expected, Encoding.ASCII.GetString(output, 0, n));
    }

    [Theory]
    [InlineData("")]
    [InlineData("2016-10-06")]
    [InlineData("2016-13-06T00:17:09Z")]
    [InlineData("2016-02-30T00:17:09Z")]
    [InlineData("2016-10-06T00:17:09")]
    [InlineData("2016-10-06T00:17:09.Z")]
    [InlineData("2016-10-06T00:17:09.1234567890Z")]
    [InlineData("2016-10-06 00:17:09Z")]
    [InlineData("2016-10-06T00:17:09+0200")]
    public void TryParseTimestamp_Invalid_False(string text) =>
        Assert.False(CriLog.TryParseTimestamp(Encoding.ASCII.GetBytes(text), out _));

    // Upstream logs_test.go TestParseLog (CRI cases).
    [Theory]
    [InlineData("2016-10-20T18:39:20.57606443Z stdout F cri stdout test log", LogStream.Stdout, false, "cri stdout test log")]
    [InlineData("2016-10-20T18:39:20.57606443Z stderr F cri stderr test log", LogStream.Stderr, false, "cri stderr test log")]
    [InlineData("2016-10-20T18:39:20.57606443Z stdout P cri stdout partial test log", LogStream.Stdout, true, "cri stdout partial test log")]
    [InlineData("2016-10-20T18:39:20.57606443Z stdout P:TAG1:TAG2 cri stdout partial test log", LogStream.Stdout, true, "cri stdout partial test log")]
    [InlineData("2016-10-20T18:39:20.57606443Z stdout F ", LogStream.Stdout, false, "")]
    public void TryParseRecord_Cri_SplitsFields(string record, LogStream stream, bool partial, string content)
    {
        var bytes = Encoding.UTF8.GetBytes(record);
        Assert.True(CriLog.TryParseRecord(bytes, out var time, out var s, out var p, out var start));
        Assert.Equal(new DateTimeOffset(2016, 10, 20, 18, 39, 20, TimeSpan.Zero).AddTicks(5760644), time);
        Assert.Equal(stream, s);
        Assert.Equal(partial, p);
        Assert.Equal(content, Encoding.UTF8.GetString(bytes.AsSpan(start)));
    }

    [Theory]
    [InlineData("not a log line")]
    [InlineData("2016-10-20T18:39:20.57606443Z stdout")]
    [InlineData("2016-10-20T18:39:20.57606443Z stdin F content")]
    [InlineData("2016-10-20T18:39:20.57606443Z stdout F")]
    [InlineData("{\"log\":\"docker\",\"stream\":\"stdout\",\"time\":\"2016-10-20T18:39:20.57606443Z\"}")]
    public void TryParseRecord_Malformed_False(string record) =>
        Assert.False(CriLog.TryParseRecord(Encoding.UTF8.GetBytes(record), out _, out _, out _, out _));
}
