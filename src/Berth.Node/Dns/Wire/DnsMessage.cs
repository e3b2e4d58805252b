using System.Buffers.Binary;

namespace Berth.Node.Dns.Wire;

/// <summary>
/// A whole message decoded into objects (names in RDATA expanded, so each record's Data stands alone). For what is
/// not on the hot path: reading upstream responses into the forwarder's cache, and tests.
/// </summary>
public sealed class DnsMessage
{
    public ushort Id { get; init; }

    public bool IsResponse { get; init; }

    public ushort OpCode { get; init; }

    public bool Authoritative { get; init; }

    public bool Truncated { get; init; }

    public bool RecursionDesired { get; init; }

    public bool RecursionAvailable { get; init; }

    public bool AuthenticData { get; init; }

    public bool CheckingDisabled { get; init; }

    /// <summary>The rcode, extended with the OPT record's upper bits when there is one.</summary>
    public DnsRcode Rcode { get; init; }

    public IReadOnlyList<DnsQuestion> Questions { get; init; } = [];

    public IReadOnlyList<DnsRecord> Answers { get; init; } = [];

    public IReadOnlyList<DnsRecord> Authority { get; init; } = [];

    /// <summary>Additional records other than OPT.</summary>
    public IReadOnlyList<DnsRecord> Additional { get; init; } = [];

    /// <summary>The OPT record's UDP payload size, or null without EDNS.</summary>
    public ushort? EdnsPayloadSize { get; init; }

    /// <summary>The OPT record's version (0 for RFC 6891), or null without EDNS.</summary>
    public byte? EdnsVersion { get; init; }

    /// <summary>The OPT record's DO bit (RFC 3225).</summary>
    public bool DnssecOk { get; init; }

    /// <summary>Never throws: false for anything malformed.</summary>
    /// <remarks>
    /// Malformed means: a short header, question or record; a bad name (see <see cref="DnsName.TryExpand"/>); RDATA
    /// of a known type that does not parse to exactly its length (A not 4 bytes, a CNAME target running past its
    /// RDATA, ...); an OPT record outside the additional section, not owned by the root, or more than one. Names in
    /// CNAME, PTR, NS, MX, SRV and SOA RDATA are decompressed; other types are copied as they are (RFC 3597 3 forbids
    /// compression in them). Bytes after the last record are ignored, as miekg/dns does.
    /// </remarks>
    public static bool TryParse(ReadOnlySpan<byte> packet, out DnsMessage? message)
    {
        message = null;
        if (packet.Length < DnsName.HeaderLength)
        {
            return false;
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        Span<byte> wire = stackalloc byte[DnsName.MaxWireLength];
        var position = DnsName.HeaderLength;
        var questionCount = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var questions = new List<DnsQuestion>(Math.Min((int)questionCount, 4));
        for (var i = 0; i < questionCount; i++)
        {
            if (!DnsName.TryExpand(packet, position, wire, out var length, out var end) || end + 4 > packet.Length)
            {
                return false;
            }

            questions.Add(new DnsQuestion(DnsName.ToText(wire[..length]), (DnsType)BinaryPrimitives.ReadUInt16BigEndian(packet[end..]), BinaryPrimitives.ReadUInt16BigEndian(packet[(end + 2)..])));
            position = end + 4;
        }

        var sections = new List<DnsRecord>[3];
        uint? optTtl = null;
        ushort payloadSize = 0;
        for (var section = 0; section < 3; section++)
        {
            var count = BinaryPrimitives.ReadUInt16BigEndian(packet[(6 + 2 * section)..]);
            var records = sections[section] = new List<DnsRecord>(Math.Min((int)count, 16));
            for (var i = 0; i < count; i++)
            {
                if (!DnsName.TryExpand(packet, position, wire, out var ownerLength, out var nameEnd) || nameEnd + 10 > packet.Length)
                {
                    return false;
                }

                var type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(packet[nameEnd..]);
                var @class = BinaryPrimitives.ReadUInt16BigEndian(packet[(nameEnd + 2)..]);
                var ttl = BinaryPrimitives.ReadUInt32BigEndian(packet[(nameEnd + 4)..]);
                var rdataLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(nameEnd + 8)..]);
                var rdataStart = nameEnd + 10;
                if (rdataStart + rdataLength > packet.Length)
                {
                    return false;
                }

                position = rdataStart + rdataLength;
                if (type == DnsType.OPT)
                {
                    if (section != 2 || optTtl is not null || ownerLength != 1)
                    {
                        return false;
                    }

                    optTtl = ttl;
                    payloadSize = @class;
                    continue;
                }

                if (!TryReadRdata(packet, type, rdataStart, rdataLength, out var data))
                {
                    return false;
                }

                records.Add(new DnsRecord(wire[..ownerLength], type, ttl, data));
            }
        }

        var rcode = flags & 0x0F;
        if (optTtl is { } extended)
        {
            rcode |= (int)(extended >> 24) << 4;
        }

        message = new DnsMessage
        {
            Id = BinaryPrimitives.ReadUInt16BigEndian(packet),
            IsResponse = (flags & 0x8000) != 0,
            OpCode = (ushort)((flags >> 11) & 0x0F),
            Authoritative = (flags & 0x0400) != 0,
            Truncated = (flags & 0x0200) != 0,
            RecursionDesired = (flags & 0x0100) != 0,
            RecursionAvailable = (flags & 0x0080) != 0,
            AuthenticData = (flags & 0x0020) != 0,
            CheckingDisabled = (flags & 0x0010) != 0,
            Rcode = (DnsRcode)rcode,
            Questions = questions,
            Answers = sections[0],
            Authority = sections[1],
            Additional = sections[2],
            EdnsPayloadSize = optTtl is null ? null : payloadSize,
            EdnsVersion = optTtl is { } version ? (byte)(version >> 16) : null,
            DnssecOk = optTtl is { } bits && (bits & 0x8000) != 0,
        };
        return true;
    }

    /// <summary>RDATA with names expanded; false when it does not parse to exactly <paramref name="length"/> bytes.</summary>
    private static bool TryReadRdata(ReadOnlySpan<byte> packet, DnsType type, int start, int length, out byte[] data)
    {
        data = [];
        var end = start + length;
        switch (type)
        {
            case DnsType.A when length != 4:
            case DnsType.AAAA when length != 16:
                return false;
            case DnsType.CNAME or DnsType.PTR or DnsType.NS:
                return TryExpandNames(packet, start, end, 0, 1, 0, out data);
            case DnsType.MX:
                return TryExpandNames(packet, start, end, 2, 1, 0, out data);
            case DnsType.SRV:
                return TryExpandNames(packet, start, end, 6, 1, 0, out data);
            case DnsType.SOA:
                return TryExpandNames(packet, start, end, 0, 2, 20, out data);
            case DnsType.TXT:
                // RFC 1035 3.3.14: one or more <character-string>s filling the RDATA exactly.
                if (length == 0)
                {
                    return false;
                }

                for (var position = start; position < end; position += 1 + packet[position])
                {
                    if (position + 1 + packet[position] > end)
                    {
                        return false;
                    }
                }

                break;
        }

        data = packet.Slice(start, length).ToArray();
        return true;
    }

    /// <summary>RDATA of <paramref name="prefix"/> fixed bytes, <paramref name="names"/> names, then <paramref name="suffix"/> fixed bytes.</summary>
    private static bool TryExpandNames(ReadOnlySpan<byte> packet, int start, int end, int prefix, int names, int suffix, out byte[] data)
    {
        data = [];
        Span<byte> expanded = stackalloc byte[prefix + names * DnsName.MaxWireLength + suffix];
        if (start + prefix > end)
        {
            return false;
        }

        packet.Slice(start, prefix).CopyTo(expanded);
        var written = prefix;
        var position = start + prefix;
        for (var i = 0; i < names; i++)
        {
            if (!DnsName.TryExpand(packet, position, expanded[written..], out var length, out var nameEnd) || nameEnd > end)
            {
                return false;
            }

            written += length;
            position = nameEnd;
        }

        if (position + suffix != end)
        {
            return false;
        }

        packet.Slice(position, suffix).CopyTo(expanded[written..]);
        data = expanded[..(written + suffix)].ToArray();
        return true;
    }

    /// <summary>A query in wire form (RD set), with an OPT record when <paramref name="ednsPayloadSize"/> is given.</summary>
    /// <remarks><paramref name="name"/> is kept in the letter case given; throws <see cref="ArgumentException"/> for an invalid name.</remarks>
    public static byte[] Query(ushort id, string name, DnsType type, ushort? ednsPayloadSize = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var nameWire = DnsName.Encode(name, nameof(name));
        var query = new byte[DnsName.HeaderLength + nameWire.Length + 4 + (ednsPayloadSize is null ? 0 : 11)];
        var span = query.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        span[2] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1);
        nameWire.CopyTo(span[DnsName.HeaderLength..]);
        var position = DnsName.HeaderLength + nameWire.Length;
        BinaryPrimitives.WriteUInt16BigEndian(span[position..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(span[(position + 2)..], 1);
        if (ednsPayloadSize is { } payloadSize)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[10..], 1);
            var opt = span[(position + 4)..];
            BinaryPrimitives.WriteUInt16BigEndian(opt[1..], (ushort)DnsType.OPT);
            BinaryPrimitives.WriteUInt16BigEndian(opt[3..], payloadSize);
        }

        return query;
    }
}

/// <summary>One question: the name as received (letter case kept), without the trailing dot.</summary>
public sealed record DnsQuestion(string Name, DnsType Type, ushort Class);
