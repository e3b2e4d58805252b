using System.Globalization;
using System.Text;

namespace Berth.Node.Kubelet.Probes;

/// <summary>Go's renderings that upstream probe messages embed (<c>%q</c>, <c>time.Duration</c>, <c>net.JoinHostPort</c>).</summary>
internal static class GoText
{
    /// <summary>Go's <c>%q</c> of a string.</summary>
    public static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x7f)
                    {
                        builder.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('"').ToString();
    }

    /// <summary>Go's <c>time.Duration.String()</c> for a whole number of seconds ("1s", "1m30s", "1h0m0s").</summary>
    public static string Seconds(int seconds)
    {
        var hours = seconds / 3600;
        var minutes = seconds % 3600 / 60;
        var rest = seconds % 60;
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours}h{minutes}m{rest}s")
            : minutes > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{minutes}m{rest}s")
                : string.Create(CultureInfo.InvariantCulture, $"{rest}s");
    }

    /// <summary>Go's <c>net.JoinHostPort</c>: brackets an IPv6 host.</summary>
    public static string JoinHostPort(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");
}
