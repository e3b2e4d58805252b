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
    /// is filled so an error response can be written.
    /// </summary>
    public static DnsParseResult TryParse(ReadOnlySpan<byte> packet, Span<char> nameBuffer, out DnsRequest request) => throw new NotImplementedException();
}
