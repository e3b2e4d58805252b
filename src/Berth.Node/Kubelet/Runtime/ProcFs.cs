using System.Buffers.Text;
using Microsoft.Win32.SafeHandles;

namespace Berth.Node.Kubelet.Runtime;

// /proc/PID/stat, the kernel's view of a process: its state, group, session and start time (clock ticks since
// boot; with the pid it names one process across pid reuse).
internal static class ProcFs
{
    public readonly record struct ProcessStat(char State, int ProcessGroup, int Session, ulong StartTime);

    public static bool TryReadStat(int pid, out ProcessStat stat)
    {
        stat = default;
        Span<byte> buffer = stackalloc byte[1024];
        int length;
        try
        {
            using SafeFileHandle handle = File.OpenHandle($"/proc/{pid}/stat");
            length = RandomAccess.Read(handle, buffer, 0);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        return TryParseStat(buffer[..length], out stat);
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

    // Every live (not zombie) process whose session id is sessionId, the leader included.
    public static List<(int Pid, ProcessStat Stat)> SessionMembers(int sessionId)
    {
        var members = new List<(int, ProcessStat)>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory.AsSpan()), out int pid)
                && TryReadStat(pid, out ProcessStat stat)
                && stat.Session == sessionId
                && stat.State != 'Z')
            {
                members.Add((pid, stat));
            }
        }

        return members;
    }
}
