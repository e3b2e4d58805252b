using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;

namespace Berth.Node.Kubelet.Runtime;

// A container's processes are the session its leader started (setsid at spawn): its process group, plus members
// that moved to a group of their own (a shell's background jobs with job control, daemons that only setpgid).
// Processes that called setsid themselves escape; without cgroups nothing finds them.
internal static class SessionSignal
{
    // Signals each member once: the leader's group with kill(-pid), then members of other groups one by one.
    // Returns the members it found (the leader included, if alive). maxAge: see ProcFs.SessionMembers.
    public static List<(int Pid, ProcFs.ProcessStat Stat)> Send(int leader, int signal, TimeSpan maxAge = default)
    {
        LibC.Kill(-leader, signal);
        var members = ProcFs.SessionMembers(leader, maxAge);
        foreach ((int pid, ProcFs.ProcessStat stat) in members)
        {
            if (stat.ProcessGroup != leader)
            {
                LibC.Kill(pid, signal);
            }
        }

        return members;
    }

    // A session member that left the leader's group in the last moments before the leader exited may be missing from
    // the shared scan the exit path used: one fresh scan a little later, shared by every exit of that window, ends
    // such stragglers.
    private static readonly TimeSpan s_sweepDelay = TimeSpan.FromMilliseconds(100);
    private static readonly Lock s_sweepLock = new();
    private static readonly List<int> s_pendingSweeps = [];

    public static void SweepLater(int leader)
    {
        lock (s_sweepLock)
        {
            s_pendingSweeps.Add(leader);
            if (s_pendingSweeps.Count == 1)
            {
                _ = SweepAsync();
            }
        }
    }

    private static async Task SweepAsync()
    {
        await Task.Delay(s_sweepDelay).ConfigureAwait(false);
        int[] leaders;
        lock (s_sweepLock)
        {
            leaders = [.. s_pendingSweeps];
            s_pendingSweeps.Clear();
        }

        foreach (int leader in leaders)
        {
            // The leader is reaped: if its pid names a process again, the session id may have been reused.
            if (ProcFs.Exists(leader))
            {
                continue;
            }

            foreach ((int pid, _) in ProcFs.SessionMembers(leader))
            {
                LibC.Kill(pid, LibC.SigKill);
            }
        }
    }
}
