using Berth.Node.Kubelet.Runtime.Native;

namespace Berth.Node.Kubelet.Runtime;

// A container's processes are the session its leader started (setsid at spawn): its process group, plus members
// that moved to a group of their own (a shell's background jobs with job control, daemons that only setpgid).
// Processes that called setsid themselves escape; without cgroups nothing finds them.
internal static class SessionSignal
{
    // Signals each member once: the leader's group with kill(-pid), then members of other groups one by one.
    public static void Send(int leader, int signal)
    {
        LibC.Kill(-leader, signal);
        foreach ((int pid, ProcFs.ProcessStat stat) in ProcFs.SessionMembers(leader))
        {
            if (stat.ProcessGroup != leader)
            {
                LibC.Kill(pid, signal);
            }
        }
    }
}
