using System.Buffers.Text;
using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;

namespace Berth.Node.Kubelet.Runtime;

// /proc/PID/stat, the kernel's view of a process: its state, group, session and start time (clock ticks since
// boot; with the pid it names one process across pid reuse).
internal static class ProcFs
{
    public readonly record struct ProcessStat(char State, int ProcessGroup, int Session, ulong StartTime);

    // open/read/close directly: File.OpenHandle adds an fstat and two flock calls per file, and a scan reads one
    // file per process on the machine.
    public static unsafe bool TryReadStat(int pid, out ProcessStat stat)
    {
        stat = default;
        int fd = LibC.Open($"/proc/{pid}/stat", LibC.ORdOnly | LibC.OCloExec);
        if (fd < 0)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[1024];
        nint length;
        fixed (byte* p = buffer)
        {
            length = LibC.Read(fd, p, buffer.Length);
        }

        LibC.Close(fd);
        return length > 0 && TryParseStat(buffer[..(int)length], out stat);
    }

    // "pid (comm) state ppid pgrp session ... starttime(22) ...": comm may hold spaces and ')', so fields
    // are counted from the last ')'.
    public static bool TryParseStat(ReadOnlySpan<byte> line, out ProcessStat stat)
    {
        stat = default;
        int close = line.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= line.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> rest = line[(close + 2)..];
        char state = (char)rest[0];
        int pgrp = 0;
        int session = 0;
        ulong startTime = 0;
        for (int field = 3; field <= 22; field++)
        {
            int space = rest.IndexOf((byte)' ');
            ReadOnlySpan<byte> value = space < 0 ? rest : rest[..space];
            bool ok = field switch
            {
                5 => Utf8Parser.TryParse(value, out pgrp, out _),
                6 => Utf8Parser.TryParse(value, out session, out _),
                22 => Utf8Parser.TryParse(value, out startTime, out _),
                _ => true,
            };
            if (!ok || (space < 0 && field < 22))
            {
                return false;
            }

            rest = space < 0 ? default : rest[(space + 1)..];
        }

        stat = new ProcessStat(state, pgrp, session, startTime);
        return true;
    }

    // A scan reads every process's stat file (≈10 µs each). Callers that may see a slightly old view (the exit
    // path, hundreds of times a second with busy exec probes) share a scan younger than their maxAge; the others
    // get one that began after they asked, shared only with callers asking at the same time.
    private static readonly Lock s_snapshotLock = new();
    private static List<(int Pid, ProcessStat Stat)> s_snapshot = [];
    private static long s_snapshotStartedAt = long.MinValue;

    // Every live (not zombie) process whose session id is sessionId, the leader included.
    public static List<(int Pid, ProcessStat Stat)> SessionMembers(int sessionId, TimeSpan maxAge = default)
    {
        var members = new List<(int, ProcessStat)>();
        foreach ((int pid, ProcessStat stat) in Snapshot(maxAge))
        {
            if (stat.Session == sessionId && stat.State != 'Z')
            {
                members.Add((pid, stat));
            }
        }

        return members;
    }

    public static bool Exists(int pid) => Directory.Exists($"/proc/{pid}");

    private static List<(int Pid, ProcessStat Stat)> Snapshot(TimeSpan maxAge)
    {
        long asked = System.Diagnostics.Stopwatch.GetTimestamp();
        lock (s_snapshotLock)
        {
            if (s_snapshotStartedAt >= asked
                || (maxAge > TimeSpan.Zero && System.Diagnostics.Stopwatch.GetElapsedTime(s_snapshotStartedAt) < maxAge))
            {
                return s_snapshot;
            }

            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            var all = new List<(int, ProcessStat)>();
            foreach (string directory in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(directory.AsSpan()), out int pid) && TryReadStat(pid, out ProcessStat stat))
                {
                    all.Add((pid, stat));
                }
            }

            s_snapshot = all;
            s_snapshotStartedAt = started;
            return all;
        }
    }
}
