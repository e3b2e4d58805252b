using Berth.Node.Native;

namespace Berth.Node.Tests.Kubelet.Runtime;

// A fact that needs root on Linux (mount namespaces); elsewhere it is skipped with the reason.
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || LibC.GetEUid() != 0)
        {
            Skip = "needs root on Linux: pods' private mount namespaces (unshare CLONE_NEWNS, mount) need CAP_SYS_ADMIN";
        }
    }
}
