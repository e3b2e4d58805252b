using System.Runtime.InteropServices;

namespace Berth.Node.Native;

// Mount namespaces for pods' own /etc/resolv.conf and /etc/hosts (Kubelet/Runtime/PodNamespace).
internal static unsafe partial class LibC
{
    public const int CloneFs = 0x200;
    public const int CloneNewNs = 0x20000;

    public const ulong MsRdOnly = 0x1;
    public const ulong MsRemount = 0x20;
    public const ulong MsBind = 0x1000;
    public const ulong MsRec = 0x4000;
    public const ulong MsSlave = 0x80000;

    [LibraryImport(Lib, EntryPoint = "unshare", SetLastError = true)]
    public static partial int Unshare(int flags);

    [LibraryImport(Lib, EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nsType);

    [LibraryImport(Lib, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fileSystemType, ulong flags, void* data);

    [LibraryImport(Lib, EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ChDir(string path);

    [LibraryImport(Lib, EntryPoint = "geteuid")]
    public static partial uint GetEUid();
}
