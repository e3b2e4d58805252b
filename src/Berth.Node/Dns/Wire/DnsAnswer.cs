namespace Berth.Node.Dns.Wire;

/// <summary>
/// What to answer for one question: built when a zone snapshot is built (or once per forwarded/autopath result),
/// so serving a cluster name allocates nothing.
/// </summary>
public sealed class DnsAnswer
{
    public DnsAnswer(DnsRcode rcode, IReadOnlyList<DnsRecord> answers, IReadOnlyList<DnsRecord> authority, IReadOnlyList<DnsRecord> additional, bool authoritative = true)
    {
        Rcode = rcode;
        Answers = answers;
        Authority = authority;
        Additional = additional;
        Authoritative = authoritative;
    }

    public DnsRcode Rcode { get; }

    public IReadOnlyList<DnsRecord> Answers { get; }

    /// <summary>The zone's SOA for NXDOMAIN and NODATA (RFC 2308), as CoreDNS.</summary>
    public IReadOnlyList<DnsRecord> Authority { get; }

    /// <summary>A/AAAA of SRV targets and of in-zone CNAME targets.</summary>
    public IReadOnlyList<DnsRecord> Additional { get; }

    /// <summary>The AA bit: set for the cluster zone, clear for anything forwarded.</summary>
    public bool Authoritative { get; }
}
