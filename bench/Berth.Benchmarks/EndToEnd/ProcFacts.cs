using System.Globalization;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>What the suites read from /proc: the load average, a process's stat fields, its children, its RSS.</summary>
internal static class ProcFacts
{
    /// <summary>The 1/5/15-minute load averages, "a/b/c".</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join('/', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>
    /// The fields of /proc/PID/stat after "pid (comm) " (comm may hold spaces, so they start after the last ')'):
    /// [0] state, [1] ppid, [11] utime, [12] stime, [19] starttime; null once the process is gone.
    /// </summary>
    public static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The direct children of a process, with their start times (to tell a reused PID apart).</summary>
    public static List<(int Pid, string StartTime)> Children(int parent)
    {
        var found = new List<(int, string)>();
        var ppid = parent.ToString(CultureInfo.InvariantCulture);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Stat(pid) is { } fields && fields[1] == ppid)
            {
                found.Add((pid, fields[19]));
            }
        }
        return found;
    }

    /// <summary>VmRSS from /proc/PID/status, in bytes; 0 once the process is gone.</summary>
    public static long Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
            // Exited meanwhile.
        }
        return 0;
    }

    public static string Tail(string text, int chars) => text.Length <= chars ? text : text[^chars..];
}
