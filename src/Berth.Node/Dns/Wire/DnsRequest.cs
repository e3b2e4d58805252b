using System.Buffers.Binary;

namespace Berth.Node.Dns.Wire;

/// <summary>Why a packet could not be read as a query.</summary>
public enum DnsParseResult
{
    /// <summary>A query with one question: answer it.</summary>
    Ok,

    /// <summary>Readable header, but the rest is malformed (or QDCOUNT != 1, or a bad OPT): answer FORMERR.</summary>
    FormErr,

    /// <summary>Not answerable at all (shorter than a header, or a response (QR set)): send nothing.</summary>
    Drop,

    /// <summary>An opcode other than QUERY: answer NOTIMP.</summary>
    NotImp,

    /// <summary>EDNS version above 0: answer BADVERS (RFC 6891 6.1.3).</summary>
    BadVersion,
}

/// <summary>
/// A parsed query, pointing into the packet it was read from. The question name is decoded into a caller-provided
/// buffer (at most <see cref="DnsRequest.MaxNameChars"/> chars) in lower case without the trailing dot ("" for the
/// root), so looking it up allocates nothing.
/// </summary>
public readonly ref struct DnsRequest
{
    public const int MaxNameChars = 253;

    /// <summary>RFC 6891 6.2.5: payload sizes below 512 are treated as 512.</summary>
    public const ushort MinUdpPayloadSize = 512;

    public ushort Id { get; init; }

    public bool RecursionDesired { get; init; }

    public bool CheckingDisabled { get; init; }

    public ushort OpCode { get; init; }

    /// <summary>Lower-cased question name, no trailing dot.</summary>
    public ReadOnlySpan<char> Name { get; init; }

    public DnsType Type { get; init; }

    public ushort Class { get; init; }

    /// <summary>The question section exactly as received (name with the client's letter case, type, class): echoed in the answer.</summary>
    public ReadOnlySpan<byte> QuestionBytes { get; init; }

    public bool HasEdns { get; init; }

    /// <summary>The client's advertised UDP payload size (at least 512); 512 without EDNS.</summary>
    public ushort UdpPayloadSize { get; init; }

    public bool DnssecOk { get; init; }

    /// <summary>
    /// Reads <paramref name="packet"/>; never throws and never allocates. On <see cref="DnsParseResult.FormErr"/>,
    /// <see cref="DnsParseResult.NotImp"/> and <see cref="DnsParseResult.BadVersion"/> the Id (and what could be read)
    /// is filled so an error response can be written. A question name that text cannot show plainly (a '.' or a byte
    /// outside printable ASCII inside a label), or that does not fit <paramref name="nameBuffer"/>, is FORMERR: no
    /// cluster name has one, and answering FORMERR for it is what RFC 1035 4.1.1 allows.
    /// </summary>
    public static DnsParseResult TryParse(ReadOnlySpan<byte> packet, Span<char> nameBuffer, out DnsRequest request)
    {
        request = default;
        if (packet.Length < DnsName.HeaderLength || (packet[2] & 0x80) != 0)
        {
            return DnsParseResult.Drop;
        }

        var id = BinaryPrimitives.ReadUInt16BigEndian(packet);
        var opCode = (ushort)((packet[2] >> 3) & 0x0F);
        var recursionDesired = (packet[2] & 0x01) != 0;
        var checkingDisabled = (packet[3] & 0x10) != 0;
        request = new DnsRequest { Id = id, OpCode = opCode, RecursionDesired = recursionDesired, CheckingDisabled = checkingDisabled, UdpPayloadSize = MinUdpPayloadSize };
        if (opCode != 0)
        {
            // As miekg/dns's default MsgAcceptFunc: NOTIMP from the header alone, the rest is not read.
            return DnsParseResult.NotImp;
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) != 1)
        {
            return DnsParseResult.FormErr;
        }

        Span<byte> wire = stackalloc byte[DnsName.MaxWireLength];
        if (!DnsName.TryExpand(packet, DnsName.HeaderLength, wire, out var wireLength, out var nameEnd)
            || nameEnd + 4 > packet.Length
            || !DnsName.TryToLowerText(wire[..wireLength], nameBuffer, out var nameLength))
        {
            return DnsParseResult.FormErr;
        }

        var questionEnd = nameEnd + 4;
        request = request with
        {
            Name = nameBuffer[..nameLength],
            Type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(packet[nameEnd..]),
            Class = BinaryPrimitives.ReadUInt16BigEndian(packet[(nameEnd + 2)..]),
            QuestionBytes = packet[DnsName.HeaderLength..questionEnd],
        };

        // Answer and authority records (a query has none, but they must be skipped to reach the OPT record).
        var position = questionEnd;
        var skip = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) + BinaryPrimitives.ReadUInt16BigEndian(packet[8..]);
        for (var i = 0; i < skip; i++)
        {
            if (!TryReadRecord(packet, ref position, out _, out _, out _, out _))
            {
                return DnsParseResult.FormErr;
            }
        }

        var additional = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        var edns = false;
        var result = DnsParseResult.Ok;
        for (var i = 0; i < additional; i++)
        {
            var recordStart = position;
            if (!TryReadRecord(packet, ref position, out var type, out var @class, out var ttl, out var rdata))
            {
                return DnsParseResult.FormErr;
            }

            if (type != DnsType.OPT)
            {
                continue;
            }

            // RFC 6891 6.1.1: one OPT at most, owned by the root; 6.1.2: its options are {code, length, data}.
            if (edns || packet[recordStart] != 0 || !OptionsWellFormed(rdata))
            {
                return DnsParseResult.FormErr;
            }

            edns = true;
            request = request with
            {
                HasEdns = true,
                UdpPayloadSize = Math.Max(@class, MinUdpPayloadSize),
                DnssecOk = (ttl & 0x8000) != 0,
            };

            if (((ttl >> 16) & 0xFF) != 0)
            {
                // RFC 6891 6.1.3: a version we do not implement gets BADVERS; the packet is still read to the end so
                // that a second OPT makes it FORMERR instead.
                result = DnsParseResult.BadVersion;
            }
        }

        return result;
    }

    private static bool TryReadRecord(ReadOnlySpan<byte> packet, ref int position, out DnsType type, out ushort @class, out uint ttl, out ReadOnlySpan<byte> rdata)
    {
        type = default;
        @class = 0;
        ttl = 0;
        rdata = default;
        if (!DnsName.TrySkip(packet, position, out var nameEnd) || nameEnd + 10 > packet.Length)
        {
            return false;
        }

        var fixedPart = packet[nameEnd..];
        var length = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[8..]);
        if (nameEnd + 10 + length > packet.Length)
        {
            return false;
        }

        type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(fixedPart);
        @class = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[2..]);
        ttl = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]);
        rdata = packet.Slice(nameEnd + 10, length);
        position = nameEnd + 10 + length;
        return true;
    }

    private static bool OptionsWellFormed(ReadOnlySpan<byte> options)
    {
        while (options.Length > 0)
        {
            if (options.Length < 4)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (4 + length > options.Length)
            {
                return false;
            }

            options = options[(4 + length)..];
        }

        return true;
    }
}
