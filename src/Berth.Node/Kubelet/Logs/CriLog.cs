using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace Berth.Node.Kubelet.Logs;

// The CRI log line format (k8s.io/cri-api LogTag*, containerd's internal/cri/io/logger.go writer and
// pkg/kubelet/kuberuntime/logs/logs.go parseCRILog reader):
//   2016-10-06T00:17:09.669794202Z stdout P log content 1
//   2016-10-06T00:17:09.669794203Z stderr F log content 2
internal static class CriLog
{
    // containerd's default max_container_log_line_size.
    public const int MaxLineLength = 16 * 1024;

    // Longest header: RFC3339Nano UTC (30) + " stdout " + "F ".
    public const int MaxHeaderLength = 64;

    private const string TimestampIn = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    // types.RFC3339NanoFixed: the kubelet pads to nine digits when it prefixes --timestamps output.
    private const string TimestampOut = "yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'";

    private static readonly byte[] s_stdout = "stdout"u8.ToArray();
    private static readonly byte[] s_stderr = "stderr"u8.ToArray();

    public static void WriteRecord(IBufferWriter<byte> output, DateTimeOffset timestamp, LogStream stream, bool partial, ReadOnlySpan<byte> content)
    {
        var header = output.GetSpan(MaxHeaderLength + content.Length + 1);
        // time.RFC3339Nano trims trailing zeros, as "FFFFFFF" does; ticks are 100 ns so the 8th and 9th digits are always 0.
        timestamp.UtcDateTime.TryFormat(header, out var n, TimestampIn, CultureInfo.InvariantCulture);
        header[n++] = (byte)' ';
        var name = stream == LogStream.Stdout ? s_stdout : s_stderr;
        name.CopyTo(header[n..]);
        n += name.Length;
        header[n++] = (byte)' ';
        header[n++] = partial ? (byte)'P' : (byte)'F';
        header[n++] = (byte)' ';
        content.CopyTo(header[n..]);
        n += content.Length;
        header[n++] = (byte)'\n';
        output.Advance(n);
    }

    public static int FormatTimestampOut(DateTimeOffset timestamp, Span<byte> destination)
    {
        timestamp.UtcDateTime.TryFormat(destination, out var n, TimestampOut, CultureInfo.InvariantCulture);
        return n;
    }

    /// <summary>Parses one record without its trailing newline; content is what follows the tag.</summary>
    public static bool TryParseRecord(ReadOnlySpan<byte> record, out DateTimeOffset timestamp, out LogStream stream, out bool partial, out int contentStart)
    {
        stream = LogStream.Stdout;
        partial = false;
        contentStart = 0;
        var sp = record.IndexOf((byte)' ');
        if (sp < 0 || !TryParseTimestamp(record[..sp], out timestamp))
        {
            timestamp = default;
            return false;
        }
        var pos = sp + 1;
        sp = record[pos..].IndexOf((byte)' ');
        if (sp < 0)
        {
            return false;
        }
        var name = record.Slice(pos, sp);
        if (name.SequenceEqual(s_stdout))
        {
            stream = LogStream.Stdout;
        }
        else if (name.SequenceEqual(s_stderr))
        {
            stream = LogStream.Stderr;
        }
        else
        {
            return false;
        }
        pos += sp + 1;
        sp = record[pos..].IndexOf((byte)' ');
        if (sp < 0)
        {
            return false;
        }
        // Tags are ':'-separated and only the first is defined; upstream keeps the rest for forward compatibility.
        var tags = record.Slice(pos, sp);
        var colon = tags.IndexOf((byte)':');
        var first = colon < 0 ? tags : tags[..colon];
        partial = first.Length == 1 && first[0] == (byte)'P';
        contentStart = pos + sp + 1;
        return true;
    }

    // types.RFC3339NanoLenient: up to nine fraction digits (we keep the seven a tick can hold), 'Z' or a ±hh:mm offset.
    public static bool TryParseTimestamp(ReadOnlySpan<byte> text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (text.Length < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':')
        {
            return false;
        }
        if (!TryDigits(text[..4], out var year) || !TryDigits(text.Slice(5, 2), out var month) || !TryDigits(text.Slice(8, 2), out var day)
            || !TryDigits(text.Slice(11, 2), out var hour) || !TryDigits(text.Slice(14, 2), out var minute) || !TryDigits(text.Slice(17, 2), out var second))
        {
            return false;
        }
        var pos = 19;
        long ticks = 0;
        if (text[pos] == '.')
        {
            pos++;
            var digits = 0;
            while (pos < text.Length && text[pos] is >= (byte)'0' and <= (byte)'9')
            {
                if (digits < 7)
                {
                    ticks = (ticks * 10) + (text[pos] - '0');
                }
                digits++;
                pos++;
            }
            if (digits is 0 or > 9)
            {
                return false;
            }
            for (var i = digits; i < 7; i++)
            {
                ticks *= 10;
            }
        }
        TimeSpan offset;
        var zone = text[pos..];
        if (zone.Length == 1 && zone[0] == 'Z')
        {
            offset = TimeSpan.Zero;
        }
        else if (zone.Length == 6 && zone[0] is (byte)'+' or (byte)'-' && zone[3] == ':'
            && TryDigits(zone.Slice(1, 2), out var oh) && TryDigits(zone.Slice(4, 2), out var om))
        {
            offset = new TimeSpan(oh, om, 0);
            if (zone[0] == '-')
            {
                offset = -offset;
            }
        }
        else
        {
            return false;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }
        timestamp = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(ticks);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<byte> text, out int value) =>
        Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length && text[0] is >= (byte)'0' and <= (byte)'9';
}
