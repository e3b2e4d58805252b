using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Berth.Node.Native;

// The socket calls of the proxy's epoll engine (Linux x86_64 values). Errors come back as -1 with errno in
// Marshal.GetLastPInvokeError, never as exceptions: EAGAIN and ECONNRESET are routine on the relay path.
internal static unsafe partial class LibC
{
    public const int EMFILE = 24;
    public const int ENFILE = 23;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ECONNABORTED = 103;
    public const int EINPROGRESS = 115;

    public const ushort AfInet = 2;
    public const ushort AfInet6 = 10;
    public const int SockStream = 1;
    public const int SockNonBlock = 0x800;
    public const int SockCloExec = 0x80000;

    public const int SolSocket = 1;
    public const int SoReuseAddr = 2;
    public const int SoLinger = 13;
    public const int SolIp = 0;
    public const int IpFreeBind = 15;
    public const int IpBindAddressNoPort = 24;
    public const int SolIpv6 = 41;
    public const int Ipv6V6Only = 26;
    public const int SolTcp = 6;
    public const int TcpNoDelay = 1;

    public const int ShutWr = 1;
    public const int ShutRdWr = 2;

    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;

    public const uint SpliceFMove = 1;
    public const uint SpliceFNonBlock = 2;
    public const int FSetPipeSz = 1031;
    public const int FGetPipeSz = 1032;

    public const uint EpollRdHup = 0x2000;
    public const uint EpollExclusive = 1u << 28;
    public const uint EpollEt = 1u << 31;

    /// <summary>struct sockaddr_in6, big enough for sockaddr_in too (the family field says which).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 28)]
    public struct SockAddr
    {
        [FieldOffset(0)]
        public ushort Family;

        /// <summary>Network byte order.</summary>
        [FieldOffset(2)]
        public ushort Port;

        /// <summary>sin_addr (IPv4, 4 bytes) starts here.</summary>
        [FieldOffset(4)]
        public uint Addr4;

        /// <summary>sin6_addr (16 bytes) starts here.</summary>
        [FieldOffset(8)]
        public Bytes16 Addr6;

        [FieldOffset(24)]
        public uint ScopeId;

        public readonly int Length => Family == AfInet6 ? 28 : 16;
    }

    [InlineArray(16)]
    public struct Bytes16
    {
        private byte _element0;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Linger
    {
        public int OnOff;
        public int Seconds;
    }

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockAddr* address, int length);

    [LibraryImport(Lib, EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport(Lib, EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, SockAddr* address, int* length, int flags);

    [LibraryImport(Lib, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, SockAddr* address, int length);

    [LibraryImport(Lib, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, int length);



    [LibraryImport(Lib, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport(Lib, EntryPoint = "splice", SetLastError = true)]
    public static partial nint Splice(int fdIn, long* offIn, int fdOut, long* offOut, nint length, uint flags);

    public static int SetSockOptInt(int fd, int level, int name, int value) => SetSockOpt(fd, level, name, &value, sizeof(int));
}
