using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.Api.Validation;

namespace Berth.ApiServer.Allocation;

/// <summary>
/// A service CIDR and its allocatable addresses, as upstream ipallocator.Range lays them out:
/// the network address is never allocatable, nor is the IPv4 broadcast address, and IPv6 ranges are
/// capped at 65536 addresses (65535 allocatable) because the allocator keeps one bit per address. Index 0 is the
/// address after the network address.
/// </summary>
public sealed class IPRange
{
    // Upstream New(): the IPv6 bitmap is capped at 2^16 bits.
    private const int IPv6MaxAddresses = 65536;

    private readonly UInt128 _network;
    private readonly UInt128 _mask;

    private IPRange(bool isIPv6, UInt128 network, int prefixLength)
    {
        IsIPv6 = isIPv6;
        PrefixLength = prefixLength;
        var bits = isIPv6 ? 128 : 32;
        var hostBits = bits - prefixLength;
        _mask = hostBits == bits ? UInt128.Zero : isIPv6 ? UInt128.MaxValue << hostBits : uint.MaxValue << hostBits;
        _network = network & _mask;
        HostBits = hostBits;
        CidrSize = RangeSize(bits, prefixLength);

        var max = CidrSize;
        if (isIPv6)
        {
            max = Math.Min(max, IPv6MaxAddresses);
        }
        else
        {
            max--; // the broadcast address
        }
        max--; // the network address
        Size = (int)Math.Max(0, max);
        Base = ToAddress(_network);
    }

    /// <summary>The CIDR's network (base) address; not allocatable.</summary>
    public IPAddress Base { get; }

    public int PrefixLength { get; }

    /// <summary>Number of allocatable addresses.</summary>
    public int Size { get; }

    /// <summary>"IPv4" or "IPv6", as the Service ipFamilies field spells it.</summary>
    public string Family => IsIPv6 ? "IPv6" : "IPv4";

    public bool IsIPv6 { get; }

    /// <summary>
    /// Upstream netutils.RangeSize: addresses in the CIDR, long.MaxValue when that overflows, and 0 for /0 and /1
    /// (so those ranges have nothing to allocate rather than an unbounded bitmap).
    /// </summary>
    internal long CidrSize { get; }

    private int HostBits { get; }

    /// <summary>Parses a CIDR as upstream ParseCIDRSloppy does: host bits are masked off, IPv4 octets may have leading zeros.</summary>
    /// <exception cref="FormatException">Upstream's "invalid CIDR address: ..." message.</exception>
    public static IPRange Parse(string cidr)
    {
        ArgumentNullException.ThrowIfNull(cidr);
        return TryParse(cidr, out var range) ? range : throw new FormatException($"invalid CIDR address: {cidr}");
    }

    public static bool TryParse([NotNullWhen(true)] string? cidr, [NotNullWhen(true)] out IPRange? range)
    {
        range = null;
        var slash = cidr?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (slash < 0)
        {
            return false;
        }
        var addressText = cidr!.AsSpan(0, slash);
        var prefixText = cidr.AsSpan(slash + 1);
        bool isIPv6;
        UInt128 value;
        if (addressText.Contains(':'))
        {
            // Go's parser refuses zones and brackets, which .NET's accepts.
            if (addressText.ContainsAny('%', '[') || !IPAddress.TryParse(addressText, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }
            isIPv6 = true;
            value = ToValue(v6);
        }
        else if (TryParseIPv4(addressText, out var v4))
        {
            isIPv6 = false;
            value = v4;
        }
        else
        {
            return false;
        }
        if (!TryParseDecimal(prefixText, out var prefix) || prefix > (isIPv6 ? 128 : 32))
        {
            return false;
        }
        range = new IPRange(isIPv6, value, prefix);
        return true;
    }

    /// <summary>"IPv4" or "IPv6" for an address; IPv4-mapped IPv6 addresses count as IPv4 (upstream netutils.IPFamilyOf).</summary>
    public static string FamilyOf(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        return ip.AddressFamily == AddressFamily.InterNetworkV6 && !ip.IsIPv4MappedToIPv6 ? "IPv6" : "IPv4";
    }

    /// <summary>True when <paramref name="ip"/> is allocatable in this range.</summary>
    public bool Contains(IPAddress ip) => IndexOf(ip) >= 0;

    /// <summary>The bitmap index of an allocatable address, or -1.</summary>
    public int IndexOf(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4(); // Go's net.IP treats mapped addresses as IPv4
        }
        if ((ip.AddressFamily == AddressFamily.InterNetworkV6) != IsIPv6)
        {
            return -1;
        }
        var value = ToValue(ip);
        if ((value & _mask) != _network || value == _network)
        {
            return -1;
        }
        var offset = value - _network - 1;
        return offset < (UInt128)Size ? (int)offset : -1;
    }

    /// <summary>The allocatable address at a bitmap index.</summary>
    public IPAddress AddressAt(int index)
    {
        if ((uint)index >= (uint)Size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index {index} is outside the {Size} allocatable addresses of {this}");
        }
        return ToAddress(_network + 1 + (UInt128)index);
    }

    /// <summary>
    /// The address <paramref name="n"/> after the network address (upstream GetIndexedIP): 1 is the
    /// kubernetes Service's address, 10 the cluster DNS address by convention.
    /// </summary>
    public IPAddress Nth(int n)
    {
        if (n < 0 || (HostBits < 31 && n >= 1 << HostBits))
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"can't generate IP with index {n} from subnet. subnet too small. subnet: \"{this}\"");
        }
        return ToAddress(_network + (UInt128)n);
    }

    /// <summary>The CIDR in canonical form (network address / prefix), as Go's IPNet.String prints it.</summary>
    public override string ToString() => $"{Format(Base)}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Formats an address as Go's net.IP.String does (mapped addresses as IPv4, no dotted IPv6 tails).</summary>
    internal static string Format(IPAddress ip) => NetValidation.FormatIP(ip.MapToIPv6().GetAddressBytes());

    private static long RangeSize(int bits, int prefixLength)
    {
        var hostBits = bits - prefixLength;
        if ((bits == 32 && hostBits >= 31) || (bits == 128 && hostBits >= 127))
        {
            return 0;
        }
        return hostBits >= 63 ? long.MaxValue : 1L << hostBits;
    }

    private IPAddress ToAddress(UInt128 value)
    {
        if (!IsIPv6)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)value);
            return new IPAddress(v4);
        }
        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(v6, value);
        return new IPAddress(v6);
    }

    private static UInt128 ToValue(IPAddress ip)
    {
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out var written);
        return written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    // Go's (sloppy) parseIPv4: exactly four decimal octets; leading zeros are decimal, not octal as in .NET's parser.
    private static bool TryParseIPv4(ReadOnlySpan<char> text, out uint value)
    {
        value = 0;
        var octets = 0;
        foreach (var range in text.Split('.'))
        {
            if (++octets > 4 || !TryParseDecimal(text[range], out var octet) || octet > 255)
            {
                return false;
            }
            value = (value << 8) | (uint)octet;
        }
        return octets == 4;
    }

    // Go's dtoi: one or more ASCII digits, nothing else, below 2^24.
    private static bool TryParseDecimal(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            value = (value * 10) + (c - '0');
            if (value >= 0xFFFFFF)
            {
                return false;
            }
        }
        return true;
    }
}
