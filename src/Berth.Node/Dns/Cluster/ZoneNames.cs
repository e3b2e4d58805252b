using System.Net;
using System.Net.Sockets;

namespace Berth.Node.Dns.Cluster;

/// <summary>The names the cluster zone is made of (kubernetes/dns docs/specification.md, CoreDNS plugin/kubernetes).</summary>
internal static class ZoneNames
{
    public const string Svc = "svc";
    public const string Pod = "pod";

    /// <summary>kubernetes.go DNSSchemaVersion.</summary>
    public const string SchemaVersion = "1.1.0";

    /// <summary>kubernetes.go: the dns-version TXT record carries its own TTL.</summary>
    public const uint SchemaVersionTtl = 28800;

    public const string ReverseV4 = "in-addr.arpa";
    public const string ReverseV6 = "ip6.arpa";

    /// <summary>RFC 1035 2.3.4: 255 octets on the wire are 253 characters of text without the trailing dot.</summary>
    private const int MaxNameLength = 253;

    private const int MaxLabelLength = 63;

    /// <summary>
    /// The endpoint's label below its Service (CoreDNS kubernetes.go endpointHostname): its hostname, else its address
    /// with dots (IPv4) or colons (IPv6) turned into dashes ("172-0-0-2", "5678-abcd--1").
    /// </summary>
    public static string EndpointLabel(string? hostname, IPAddress address) =>
        hostname is { Length: > 0 } ? hostname.ToLowerInvariant() : Dashed(address);

    /// <summary>The dashed form of an address, as pod names (a-b-c-d.&lt;ns&gt;.pod) and hostless endpoints use it.</summary>
    public static string Dashed(IPAddress address) => address.ToString().ToLowerInvariant().Replace('.', '-').Replace(':', '-');

    /// <summary>d.c.b.a.in-addr.arpa, or the 32 reversed nibbles of an IPv6 address under ip6.arpa (RFC 1035 3.5, RFC 3596 2.5).</summary>
    public static string Reverse(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        bytes = bytes[..length];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return $"{bytes[3]}.{bytes[2]}.{bytes[1]}.{bytes[0]}.{ReverseV4}";
        }
        Span<char> text = stackalloc char[64 + ReverseV6.Length];
        var at = 0;
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            text[at++] = Nibble(bytes[i] & 0xF);
            text[at++] = '.';
            text[at++] = Nibble(bytes[i] >> 4);
            text[at++] = '.';
        }
        ReverseV6.CopyTo(text[at..]);
        return new string(text[..(at + ReverseV6.Length)]);
    }

    /// <summary>True for in-addr.arpa and ip6.arpa names: the zone answers only PTR there, and only for addresses it knows.</summary>
    public static bool IsReverse(ReadOnlySpan<char> name) =>
        IsAtOrBelow(name, ReverseV4) || IsAtOrBelow(name, ReverseV6);

    /// <summary><paramref name="name"/> equals <paramref name="zone"/> or is a subdomain of it (both lower case, no trailing dot).</summary>
    public static bool IsAtOrBelow(ReadOnlySpan<char> name, ReadOnlySpan<char> zone) =>
        zone.Length == 0 ||
        name.Equals(zone, StringComparison.Ordinal) ||
        (name.Length > zone.Length && name.EndsWith(zone, StringComparison.Ordinal) && name[name.Length - zone.Length - 1] == '.');

    /// <summary>
    /// A name the zone can publish: letters, digits, '-' and '_' in labels of 1-63 characters, 253 in all. API
    /// validation already holds every name to this; the check keeps an odd object from reaching the wire encoder.
    /// </summary>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return false;
        }
        var labelLength = 0;
        foreach (var c in name)
        {
            if (c == '.')
            {
                if (labelLength == 0)
                {
                    return false;
                }
                labelLength = 0;
                continue;
            }
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_') || ++labelLength > MaxLabelLength)
            {
                return false;
            }
        }
        return labelLength > 0;
    }

    /// <summary>A name as Kubernetes gives it (an ExternalName may end with a dot) in the zone's form: lower case, no trailing dot.</summary>
    public static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();

    private static char Nibble(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);
}
