using System.Runtime.InteropServices;

namespace Berth.Node.Native;

// glibc on x86_64 only (PlatformGuard checks before anything here runs): the opaque posix_spawn types are
// allocated oversized as raw memory, and epoll_event is the packed 12-byte x86_64 layout.
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    public const int EPERM = 1;
    public const int EINTR = 4;
    public const int ESRCH = 3;
    public const int EAGAIN = 11;
    public const int EIO = 5;
    public const int ENOSYS = 38;
    public const int ENOENT = 2;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EACCES = 13;

    public const int ORdWr = 0x2;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;
    public const int ORdOnly = 0;

    public const short PosixSpawnSetSigDef = 0x04;
    public const short PosixSpawnSetSigMask = 0x08;
    public const short PosixSpawnSetSid = 0x80;

    // Generous upper bounds for glibc's posix_spawnattr_t (336 bytes), posix_spawn_file_actions_t (80) and sigset_t (128).
    public const int SpawnAttrSize = 1024;
    public const int FileActionsSize = 512;
    public const int SigSetSize = 128;

    public const int SigKill = 9;
    public const int SigTerm = 15;

    public const int WNoHang = 1;
    public const int WExited = 4;
    public const int WNoWait = 0x01000000;
    public const int PPid = 1;
    public const int CldExited = 1;
    public const int CldKilled = 2;
    public const int CldDumped = 3;

    public const int XOk = 1;
    public const int AtFdCwd = -100;
    public const uint StatxType = 0x1;
    public const uint StatxMode = 0x2;
    public const ushort SIfMt = 0xF000;
    public const ushort SIfDir = 0x4000;
    public const ushort SIfReg = 0x8000;

    public const int EpollCloExec = 0x80000;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const uint EpollIn = 0x1;
    public const uint EpollOut = 0x4;
    public const uint EpollErr = 0x8;
    public const uint EpollHup = 0x10;
    public const uint EpollOneShot = 0x40000000;
    public const int EfdCloExec = 0x80000;
    public const int EfdNonBlock = 0x800;

    public const short PollIn = 0x1;
    public const short PollOut = 0x4;

    public const int FGetFl = 3;
    public const int FSetFl = 4;
    public const int FDupFdCloExec = 1030;
    public const ulong TiocSWinSz = 0x5414;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixel;
        public ushort YPixel;
    }

    // The start of struct statx (arch-independent): only type and mode are read.
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(28)]
        public ushort Mode;
    }

    // The start of siginfo_t for SIGCHLD-style results from waitid.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    public struct SigInfo
    {
        [FieldOffset(8)]
        public int Code;
        [FieldOffset(16)]
        public int Pid;
        [FieldOffset(24)]
        public int Status;
    }

    [LibraryImport(Lib, EntryPoint = "posix_spawn")]
    public static partial int PosixSpawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_init")]
    public static partial int PosixSpawnAttrInit(void* attr);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_destroy")]
    public static partial int PosixSpawnAttrDestroy(void* attr);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setflags")]
    public static partial int PosixSpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigmask")]
    public static partial int PosixSpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigdefault")]
    public static partial int PosixSpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int FileActionsInit(void* actions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int FileActionsDestroy(void* actions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int FileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addopen", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FileActionsAddOpen(void* actions, int fd, string path, int flags, uint mode);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addchdir_np", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FileActionsAddChdir(void* actions, string path);

    [LibraryImport(Lib, EntryPoint = "sigemptyset")]
    public static partial int SigEmptySet(void* set);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "posix_openpt", SetLastError = true)]
    public static partial int PosixOpenPt(int flags);

    [LibraryImport(Lib, EntryPoint = "grantpt", SetLastError = true)]
    public static partial int GrantPt(int fd);

    [LibraryImport(Lib, EntryPoint = "unlockpt", SetLastError = true)]
    public static partial int UnlockPt(int fd);

    [LibraryImport(Lib, EntryPoint = "ptsname_r")]
    public static partial int PtsNameR(int fd, byte* buffer, nuint length);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, void* argument);

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Lib, EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, int* status, int options);

    [LibraryImport(Lib, EntryPoint = "waitid", SetLastError = true)]
    public static partial int WaitId(int idType, int id, SigInfo* info, int options);

    [LibraryImport(Lib, EntryPoint = "pidfd_open", SetLastError = true)]
    public static partial int PidFdOpen(int pid, uint flags);

    [LibraryImport(Lib, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Access(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatX(int dirFd, string path, int flags, uint mask, Statx* result);

    [LibraryImport(Lib, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport(Lib, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport(Lib, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epfd, EpollEvent* events, int maxEvents, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    // strerror text in Go's spelling (lower-case first letter), as runc's messages carry it.
    public static string ErrorText(int errno)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        return text.Length == 0 ? text : char.ToLowerInvariant(text[0]) + text[1..];
    }
}
