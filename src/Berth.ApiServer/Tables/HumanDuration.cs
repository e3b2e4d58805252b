using System.Globalization;

namespace Berth.ApiServer.Tables;

/// Port of k8s.io/apimachinery/pkg/util/duration: the AGE strings kubectl shows. Integer divisions
/// truncate toward zero exactly like Go's int(d / unit).
internal static class HumanDuration
{
    /// HumanDuration: ~2-3 significant figures ("3m10s", "2d1h", "2y1d").
    public static string Format(TimeSpan d)
    {
        // Deviation of up to 2s (excluded) is tolerated as clock skew and reads as "now".
        long seconds = d.Ticks / TimeSpan.TicksPerSecond;
        if (seconds < -1)
        {
            return "<invalid>";
        }

        if (seconds < 0)
        {
            return "0s";
        }

        if (seconds < 60 * 2)
        {
            return Invariant($"{seconds}s");
        }

        long minutes = d.Ticks / TimeSpan.TicksPerMinute;
        if (minutes < 10)
        {
            long s = seconds % 60;
            return s == 0 ? Invariant($"{minutes}m") : Invariant($"{minutes}m{s}s");
        }

        if (minutes < 60 * 3)
        {
            return Invariant($"{minutes}m");
        }

        long hours = d.Ticks / TimeSpan.TicksPerHour;
        if (hours < 8)
        {
            long m = minutes % 60;
            return m == 0 ? Invariant($"{hours}h") : Invariant($"{hours}h{m}m");
        }

        if (hours < 48)
        {
            return Invariant($"{hours}h");
        }

        if (hours < 24 * 8)
        {
            long h = hours % 24;
            return h == 0 ? Invariant($"{hours / 24}d") : Invariant($"{hours / 24}d{h}h");
        }

        if (hours < 24 * 365 * 2)
        {
            return Invariant($"{hours / 24}d");
        }

        if (hours < 24 * 365 * 8)
        {
            long dy = hours / 24 % 365;
            return dy == 0 ? Invariant($"{hours / 24 / 365}y") : Invariant($"{hours / 24 / 365}y{dy}d");
        }

        return Invariant($"{hours / 24 / 365}y");
    }

    /// ShortHumanDuration: one unit only ("59s", "1m", "23h", "364d", "2y").
    public static string FormatShort(TimeSpan d)
    {
        long seconds = d.Ticks / TimeSpan.TicksPerSecond;
        if (seconds < -1)
        {
            return "<invalid>";
        }

        if (seconds < 0)
        {
            return "0s";
        }

        if (seconds < 60)
        {
            return Invariant($"{seconds}s");
        }

        long minutes = d.Ticks / TimeSpan.TicksPerMinute;
        if (minutes < 60)
        {
            return Invariant($"{minutes}m");
        }

        long hours = d.Ticks / TimeSpan.TicksPerHour;
        if (hours < 24)
        {
            return Invariant($"{hours}h");
        }

        if (hours < 24 * 365)
        {
            return Invariant($"{hours / 24}d");
        }

        // Go computes int(d.Hours()/24/365) in floating point; whole hours give the same answer here.
        return Invariant($"{hours / 24 / 365}y");
    }

    /// translateTimestampSince: "<unknown>" for an unset timestamp, else the age relative to now.
    public static string Since(DateTimeOffset? timestamp, DateTimeOffset now) =>
        timestamp is { } t ? Format(now - t) : "<unknown>";

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
