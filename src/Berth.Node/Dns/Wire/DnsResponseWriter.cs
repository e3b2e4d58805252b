namespace Berth.Node.Dns.Wire;

/// <summary>Writes responses: header, the question echoed, records with name compression, EDNS OPT, truncation.</summary>
public static class DnsResponseWriter
{
    /// <summary>
    /// Writes the response to <paramref name="request"/> into <paramref name="destination"/> and returns its length.
    /// Owner names equal to the question name are written as a pointer to it. If the whole message would exceed
    /// <paramref name="maxSize"/> (UDP: the client's payload size, 512 without EDNS; TCP: 65535), whole records are
    /// left off from the end and TC is set, as CoreDNS does (UDP only; on TCP everything fits or the additional
    /// section is cut). With EDNS in the request, an OPT record (payload size <paramref name="serverPayloadSize"/>) is added.
    /// </summary>
    public static int Write(in DnsRequest request, DnsAnswer answer, Span<byte> destination, int maxSize, bool recursionAvailable = true, ushort serverPayloadSize = 1232) => throw new NotImplementedException();

    /// <summary>A response carrying only an rcode (FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS) and, when it was read, the question.</summary>
    public static int WriteError(ReadOnlySpan<byte> packet, in DnsRequest request, DnsRcode rcode, Span<byte> destination) => throw new NotImplementedException();
}
