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

    /// <summary>The rcode, extended with the OPT record's upper bits when there is one.</summary>
    public DnsRcode Rcode { get; init; }

    public IReadOnlyList<DnsQuestion> Questions { get; init; } = [];

    public IReadOnlyList<DnsRecord> Answers { get; init; } = [];

    public IReadOnlyList<DnsRecord> Authority { get; init; } = [];

    /// <summary>Additional records other than OPT.</summary>
    public IReadOnlyList<DnsRecord> Additional { get; init; } = [];

    /// <summary>The OPT record's UDP payload size, or null without EDNS.</summary>
    public ushort? EdnsPayloadSize { get; init; }

    /// <summary>Never throws: false for anything malformed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, out DnsMessage? message) => throw new NotImplementedException();

    /// <summary>A query in wire form (RD set), with an OPT record when <paramref name="ednsPayloadSize"/> is given.</summary>
    public static byte[] Query(ushort id, string name, DnsType type, ushort? ednsPayloadSize = null) => throw new NotImplementedException();
}

/// <summary>One question: the name as received (letter case kept), without the trailing dot.</summary>
public sealed record DnsQuestion(string Name, DnsType Type, ushort Class);
