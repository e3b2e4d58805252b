using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Berth.Node.Dns.Wire;

/// <summary>SRV RDATA (RFC 2782).</summary>
public sealed record DnsSrv(ushort Priority, ushort Weight, ushort Port, string Target);

/// <summary>SOA RDATA (RFC 1035 3.3.13); <see cref="Minimum"/> bounds negative caching (RFC 2308 5).</summary>
public sealed record DnsSoa(string MName, string RName, uint Serial, uint Refresh, uint Retry, uint Expire, uint Minimum);

/// <summary>
/// Reads a record's RDATA back into values: for the forwarder (the SOA minimum of a negative answer) and tests.
/// Records built by <see cref="DnsRecord"/>'s factories or read by <see cref="DnsMessage.TryParse"/> hold names
/// uncompressed, so RDATA reads alone. Throws <see cref="ArgumentException"/> for another type or malformed RDATA.
/// </summary>
public static class DnsRdata
{
    /// <summary>The address of an A or AAAA record.</summary>
    public static IPAddress Address(DnsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Type switch
        {
            DnsType.A when record.Data.Length == 4 => new IPAddress(record.Data),
            DnsType.AAAA when record.Data.Length == 16 => new IPAddress(record.Data),
            _ => throw Malformed(record),
        };
    }

    /// <summary>The target of a CNAME, PTR or NS record, as written (letter case kept), without the trailing dot.</summary>
    public static string Name(DnsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Type is not (DnsType.CNAME or DnsType.PTR or DnsType.NS) || !TryReadName(record.Data, 0, out var name, out var end) || end != record.Data.Length)
        {
            throw Malformed(record);
        }

        return name;
    }

    public static DnsSrv Srv(DnsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var data = record.Data;
        if (record.Type != DnsType.SRV || data.Length < 7 || !TryReadName(data, 6, out var target, out var end) || end != data.Length)
        {
            throw Malformed(record);
        }

        return new DnsSrv(BinaryPrimitives.ReadUInt16BigEndian(data), BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2)), BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(4)), target);
    }

    public static DnsSoa Soa(DnsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var data = record.Data;
        if (record.Type != DnsType.SOA || !TryReadName(data, 0, out var mname, out var afterMName) || !TryReadName(data, afterMName, out var rname, out var afterRName) || afterRName + 20 != data.Length)
        {
            throw Malformed(record);
        }

        var numbers = data.AsSpan(afterRName);
        return new DnsSoa(
            mname,
            rname,
            BinaryPrimitives.ReadUInt32BigEndian(numbers),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[16..]));
    }

    /// <summary>The character-strings of a TXT record, decoded as UTF-8.</summary>
    public static IReadOnlyList<string> Txt(DnsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var data = record.Data;
        if (record.Type != DnsType.TXT)
        {
            throw Malformed(record);
        }

        var texts = new List<string>();
        for (var position = 0; position < data.Length; position += 1 + data[position])
        {
            if (position + 1 + data[position] > data.Length)
            {
                throw Malformed(record);
            }

            texts.Add(Encoding.UTF8.GetString(data, position + 1, data[position]));
        }

        return texts;
    }

    private static bool TryReadName(byte[] data, int offset, out string name, out int end)
    {
        name = "";
        end = -1;
        if (!DnsName.TryMeasureUncompressed(data.AsSpan(offset), out var length))
        {
            return false;
        }

        name = DnsName.ToText(data.AsSpan(offset, length));
        end = offset + length;
        return true;
    }

    private static ArgumentException Malformed(DnsRecord record) =>
        new($"The RDATA of {record.Name} {record.Type} is not what this type holds.", nameof(record));
}
