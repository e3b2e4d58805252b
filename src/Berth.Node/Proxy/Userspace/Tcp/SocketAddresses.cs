using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Berth.Node.Native;

namespace Berth.Node.Proxy.Userspace.Tcp;

/// <summary>Conversions between .NET addresses and the raw sockaddr the engine passes to libc.</summary>
internal static class SocketAddresses
{
    public static LibC.SockAddr From(IPEndPoint endPoint)
    {
        LibC.SockAddr address = default;
        address.Port = BinaryPrimitives.ReverseEndianness((ushort)endPoint.Port);
        if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            address.Family = LibC.AfInet6;
            endPoint.Address.TryWriteBytes(address.Addr6, out _);
            address.ScopeId = (uint)endPoint.Address.ScopeId;
        }
        else
        {
            address.Family = LibC.AfInet;
            Span<byte> bytes = stackalloc byte[4];
            endPoint.Address.TryWriteBytes(bytes, out _);
            address.Addr4 = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        }
        return address;
    }

    public static IPAddress ToAddress(in LibC.SockAddr address) =>
        address.Family == LibC.AfInet6 ? new IPAddress(address.Addr6, address.ScopeId) : new IPAddress(address.Addr4);

    /// <summary>127.0.0.1 or ::1: the source the kernel gives an unbound socket connecting to a loopback address.</summary>
    public static bool IsDefaultLoopbackSource(in LibC.SockAddr address)
    {
        if (address.Family == LibC.AfInet)
        {
            return address.Addr4 == 0x0100007F;
        }
        ReadOnlySpan<byte> bytes = address.Addr6;
        return bytes[..15].IndexOfAnyExcept((byte)0) < 0 && bytes[15] == 1;
    }

    /// <summary>127.0.0.0/8, ::1, or 127/8 mapped into IPv6: addresses a local upstream socket can bind to.</summary>
    public static bool IsLoopback(in LibC.SockAddr address)
    {
        if (address.Family == LibC.AfInet)
        {
            return (address.Addr4 & 0xFF) == 127;
        }
        ReadOnlySpan<byte> bytes = address.Addr6;
        return bytes[..15].IndexOfAnyExcept((byte)0) < 0 ? bytes[15] == 1 : bytes[..10].IndexOfAnyExcept((byte)0) < 0 && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127;
    }
}
