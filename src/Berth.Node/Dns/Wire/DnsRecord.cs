using System.Net;

namespace Berth.Node.Dns.Wire;

/// <summary>
/// One resource record, encoded once when a zone snapshot is built: answering copies <see cref="Data"/> as it is.
/// Names inside RDATA (CNAME, PTR, SRV, SOA targets) are written uncompressed, which RFC 2782 requires for SRV and
/// every resolver accepts for the rest.
/// </summary>
public sealed class DnsRecord
{
    public DnsRecord(string name, DnsType type, uint ttl, byte[] data)
    {
        Name = name;
        Type = type;
        Ttl = ttl;
        Data = data;
    }

    /// <summary>Owner name: lower case, fully qualified, without the trailing dot ("svc1.ns.svc.cluster.local").</summary>
    public string Name { get; }

    public DnsType Type { get; }

    /// <summary>Class IN always.</summary>
    public uint Ttl { get; }

    /// <summary>RDATA in wire form.</summary>
    public byte[] Data { get; }

    public static DnsRecord A(string name, IPAddress address, uint ttl) => throw new NotImplementedException();

    public static DnsRecord Aaaa(string name, IPAddress address, uint ttl) => throw new NotImplementedException();

    /// <summary>A or AAAA by the address family.</summary>
    public static DnsRecord Address(string name, IPAddress address, uint ttl) => throw new NotImplementedException();

    public static DnsRecord Cname(string name, string target, uint ttl) => throw new NotImplementedException();

    public static DnsRecord Ptr(string name, string target, uint ttl) => throw new NotImplementedException();

    public static DnsRecord Srv(string name, ushort priority, ushort weight, ushort port, string target, uint ttl) => throw new NotImplementedException();

    /// <summary>One or more character-strings (each at most 255 bytes).</summary>
    public static DnsRecord Txt(string name, IReadOnlyList<string> texts, uint ttl) => throw new NotImplementedException();

    public static DnsRecord Soa(string name, string mname, string rname, uint serial, uint refresh, uint retry, uint expire, uint minimum, uint ttl) => throw new NotImplementedException();
}
