using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Node.Dns.Wire;

/// <summary>
/// One resource record, encoded once when a zone snapshot is built: answering copies <see cref="Data"/> as it is.
/// Names inside RDATA (CNAME, PTR, SRV, SOA targets) are written uncompressed, which RFC 2782 requires for SRV and
/// every resolver accepts for the rest.
/// </summary>
public sealed class DnsRecord
{
    /// <summary>
    /// <paramref name="name"/> in text form (any letter case, trailing dot optional, "\DDD" escapes allowed); throws
    /// <see cref="ArgumentException"/> when it is not a valid name or <paramref name="data"/> is over 65535 bytes.
    /// </summary>
    public DnsRecord(string name, DnsType type, uint ttl, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length > ushort.MaxValue)
        {
            throw new ArgumentException("RDATA is at most 65535 bytes.", nameof(data));
        }

        OwnerWire = DnsName.Encode(name, nameof(name));
        DnsName.AsciiLowerInPlace(OwnerWire);
        Name = DnsName.ToText(OwnerWire);
        Type = type;
        Ttl = ttl;
        Data = data;
    }

    /// <summary>From a received message: <paramref name="ownerWire"/> is a checked, uncompressed wire name.</summary>
    internal DnsRecord(ReadOnlySpan<byte> ownerWire, DnsType type, uint ttl, byte[] data)
    {
        OwnerWire = ownerWire.ToArray();
        DnsName.AsciiLowerInPlace(OwnerWire);
        Name = DnsName.ToText(OwnerWire);
        Type = type;
        Ttl = ttl;
        Data = data;
    }

    private DnsRecord(DnsRecord source, uint ttl)
    {
        OwnerWire = source.OwnerWire;
        Name = source.Name;
        Type = source.Type;
        Data = source.Data;
        Ttl = ttl;
    }

    /// <summary>Owner name: lower case, fully qualified, without the trailing dot ("svc1.ns.svc.cluster.local").</summary>
    public string Name { get; }

    public DnsType Type { get; }

    /// <summary>Class IN always.</summary>
    public uint Ttl { get; }

    /// <summary>RDATA in wire form.</summary>
    public byte[] Data { get; }

    /// <summary>The owner name in uncompressed wire form, lower case: what the writer compresses.</summary>
    internal byte[] OwnerWire { get; }

    /// <summary>The same record with another TTL (the forwarder's cache counts TTLs down); shares the encoded bytes.</summary>
    public DnsRecord WithTtl(uint ttl) => ttl == Ttl ? this : new DnsRecord(this, ttl);

    public static DnsRecord A(string name, IPAddress address, uint ttl)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"An A record needs an IPv4 address, not {address}.", nameof(address));
        }

        return new DnsRecord(name, DnsType.A, ttl, address.GetAddressBytes());
    }

    public static DnsRecord Aaaa(string name, IPAddress address, uint ttl)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"An AAAA record needs an IPv6 address, not {address}.", nameof(address));
        }

        return new DnsRecord(name, DnsType.AAAA, ttl, address.GetAddressBytes());
    }

    /// <summary>A or AAAA by the address family.</summary>
    public static DnsRecord Address(string name, IPAddress address, uint ttl)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == AddressFamily.InterNetworkV6 ? Aaaa(name, address, ttl) : A(name, address, ttl);
    }

    public static DnsRecord Cname(string name, string target, uint ttl) => new(name, DnsType.CNAME, ttl, DnsName.Encode(target, nameof(target)));

    public static DnsRecord Ptr(string name, string target, uint ttl) => new(name, DnsType.PTR, ttl, DnsName.Encode(target, nameof(target)));

    public static DnsRecord Srv(string name, ushort priority, ushort weight, ushort port, string target, uint ttl)
    {
        var targetWire = DnsName.Encode(target, nameof(target));
        var data = new byte[6 + targetWire.Length];
        BinaryPrimitives.WriteUInt16BigEndian(data, priority);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2), weight);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(4), port);
        targetWire.CopyTo(data, 6);
        return new DnsRecord(name, DnsType.SRV, ttl, data);
    }

    /// <summary>One or more character-strings (each at most 255 bytes).</summary>
    public static DnsRecord Txt(string name, IReadOnlyList<string> texts, uint ttl)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            // RFC 1035 3.3.14: TXT-DATA is one or more character-strings.
            throw new ArgumentException("A TXT record holds at least one string.", nameof(texts));
        }

        var data = new List<byte>();
        foreach (var text in texts)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            if (bytes.Length > byte.MaxValue)
            {
                throw new ArgumentException($"A TXT character-string is at most 255 bytes; '{text}' has {bytes.Length}.", nameof(texts));
            }

            data.Add((byte)bytes.Length);
            data.AddRange(bytes);
        }

        return new DnsRecord(name, DnsType.TXT, ttl, [.. data]);
    }

    public static DnsRecord Soa(string name, string mname, string rname, uint serial, uint refresh, uint retry, uint expire, uint minimum, uint ttl)
    {
        var mnameWire = DnsName.Encode(mname, nameof(mname));
        var rnameWire = DnsName.Encode(rname, nameof(rname));
        var data = new byte[mnameWire.Length + rnameWire.Length + 20];
        mnameWire.CopyTo(data, 0);
        rnameWire.CopyTo(data, mnameWire.Length);
        var numbers = data.AsSpan(mnameWire.Length + rnameWire.Length);
        BinaryPrimitives.WriteUInt32BigEndian(numbers, serial);
        BinaryPrimitives.WriteUInt32BigEndian(numbers[4..], refresh);
        BinaryPrimitives.WriteUInt32BigEndian(numbers[8..], retry);
        BinaryPrimitives.WriteUInt32BigEndian(numbers[12..], expire);
        BinaryPrimitives.WriteUInt32BigEndian(numbers[16..], minimum);
        return new DnsRecord(name, DnsType.SOA, ttl, data);
    }

    public override string ToString() => $"{Name}. {Ttl} IN {Type} ({Data.Length} bytes)";
}
