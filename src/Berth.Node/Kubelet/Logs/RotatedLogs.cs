using System.Globalization;

namespace Berth.Node.Kubelet.Logs;

// Rotated files sit next to the live log as "<name>.<yyyyMMdd-HHmmss>" (upstream container_log_manager.go
// timestampFormat), with ".<n>" added when two rotations land in the same second.
internal static class RotatedLogs
{
    private const string TimestampFormat = "yyyyMMdd-HHmmss";

    /// <summary>The rotated predecessors of <paramref name="path"/>, oldest first.</summary>
    public static List<string> List(string path)
    {
        var dir = Path.GetDirectoryName(path)!;
        var prefix = Path.GetFileName(path) + ".";
        var found = new List<(string Stamp, int Counter, string Path)>();
        if (!Directory.Exists(dir))
        {
            return [];
        }
        // Simple matching: the default (Win32) would let "0.log.*" match "0.log" itself.
        foreach (var file in Directory.EnumerateFiles(dir, prefix + "*", new EnumerationOptions { MatchType = MatchType.Simple }))
        {
            if (TryParseSuffix(Path.GetFileName(file).AsSpan(prefix.Length), out var stamp, out var counter))
            {
                found.Add((stamp, counter, file));
            }
        }
        found.Sort((a, b) => a.Stamp != b.Stamp ? string.CompareOrdinal(a.Stamp, b.Stamp) : a.Counter.CompareTo(b.Counter));
        return found.ConvertAll(f => f.Path);
    }

    public static string NextName(string path, DateTimeOffset now)
    {
        var name = path + "." + now.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);
        var candidate = name;
        for (var counter = 1; File.Exists(candidate); counter++)
        {
            candidate = name + "." + counter.ToString(CultureInfo.InvariantCulture);
        }
        return candidate;
    }

    private static bool TryParseSuffix(ReadOnlySpan<char> suffix, out string stamp, out int counter)
    {
        stamp = "";
        counter = 0;
        if (suffix.Length < TimestampFormat.Length
            || !DateTime.TryParseExact(suffix[..TimestampFormat.Length], TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            return false;
        }
        var rest = suffix[TimestampFormat.Length..];
        if (!rest.IsEmpty && (rest[0] != '.' || !int.TryParse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture, out counter)))
        {
            return false;
        }
        stamp = suffix[..TimestampFormat.Length].ToString();
        return true;
    }
}
