using System.Buffers.Binary;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Tests.Dns.Wire;

/// <summary>Hand-built packets: header fields and raw sections, so malformed ones can be made on purpose.</summary>
internal static class WirePackets
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>Uncompressed wire form of a dotted name (no escapes), letter case kept.</summary>
    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(label.Select(c => (byte)c));
        }

        bytes.Add(0);
        return [.. bytes];
    }

    public static byte[] Header(ushort id = 0x1234, ushort flags = 0x0100, ushort qd = 1, ushort an = 0, ushort ns = 0, ushort ar = 0)
    {
        var header = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(header, id);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), qd);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), an);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), ns);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), ar);
        return header;
    }

    public static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    public static byte[] U32(uint value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    /// <summary>An OPT record: root owner, payload size as class, TTL = extended rcode | version | DO.</summary>
    public static byte[] Opt(ushort payload = 1232, byte version = 0, bool dnssecOk = false, byte[]? options = null) =>
        Concat([0], U16((int)DnsType.OPT), U16(payload), [0, version, (byte)(dnssecOk ? 0x80 : 0), 0], U16(options?.Length ?? 0), options ?? []);

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>An A query built by hand: header (ARCOUNT <paramref name="ar"/>), question, then <paramref name="additional"/> records as given.</summary>
    public static byte[] Query(string name, ushort ar = 0, params byte[][] additional) =>
        Concat(Header(ar: ar), Name(name), U16((int)DnsType.A), U16(1), Concat(additional));

    public static DnsParseResult Parse(byte[] packet, out string name)
    {
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        var result = DnsRequest.TryParse(packet, buffer, out var request);
        name = request.Name.ToString();
        return result;
    }

    /// <summary>Parses <paramref name="query"/> and writes the response to it.</summary>
    public static byte[] Respond(byte[] query, DnsAnswer answer, int maxSize = 512, int destinationSize = 65535)
    {
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(query, buffer, out var request));
        var destination = new byte[destinationSize];
        var length = DnsResponseWriter.Write(request, answer, destination, maxSize);
        return destination[..length];
    }

    public static DnsMessage Decode(byte[] message)
    {
        Assert.True(DnsMessage.TryParse(message, out var decoded));
        return decoded!;
    }
}
