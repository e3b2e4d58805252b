namespace Berth.Api.Validation;

/// <summary>
/// IP, CIDR and port checks with upstream's messages (k8s.io/apimachinery/pkg/util/validation/ip.go and
/// validation.go, pkg/apis/core/validation ValidateNonSpecialIP). Addresses are parsed like k8s.io/utils/net
/// ParseIPSloppy, the pre-Go-1.17 parser: IPv4 octets may carry leading zeros ("010" is 10), and an IPv4-mapped
/// IPv6 address counts as IPv4. IPAddress.TryParse is not used because it accepts forms Go rejects ("1", "0x7f.1").
/// </summary>
public static class NetValidation
{
    public const string InvalidIPMessage = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
    public const string InvalidCidrMessage = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
    public const string PortRangeMessage = "must be between 1 and 65535, inclusive";

    private const int IPv4Length = 4;
    private const int IPv6Length = 16;

    // Go's dtoi/xtoi give up at this value (big = 0xFFFFFF).
    private const int Big = 0xFFFFFF;

    /// <summary>validation.IsValidIP.</summary>
    public static List<FieldError> IsValidIP(string field, string value) =>
        ParseIPSloppy(value) is null ? [FieldError.Invalid(field, value, InvalidIPMessage)] : [];

    /// <summary>validation.IsValidCIDR.</summary>
    public static List<FieldError> IsValidCidr(string field, string value) =>
        IsCidrSloppy(value) ? [] : [FieldError.Invalid(field, value, InvalidCidrMessage)];

    /// <summary>
    /// ValidateNonSpecialIP: endpoints and external IPs may not be unspecified, loopback or link-local, which are
    /// nonsensical as destinations or belong to node-local services (the metadata service).
    /// </summary>
    public static List<FieldError> ValidateNonSpecialIP(string value, string field)
    {
        var ip = ParseIPSloppy(value);
        if (ip is null)
        {
            return [FieldError.Invalid(field, value, "must be a valid IP address")];
        }
        var errors = new List<FieldError>();
        if (IsUnspecified(ip))
        {
            errors.Add(FieldError.Invalid(field, value, $"may not be unspecified ({value})"));
        }
        if (IsLoopback(ip))
        {
            errors.Add(FieldError.Invalid(field, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
        }
        if (IsLinkLocalUnicast(ip))
        {
            errors.Add(FieldError.Invalid(field, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
        }
        if (IsLinkLocalMulticast(ip))
        {
            errors.Add(FieldError.Invalid(field, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
        }
        return errors;
    }

    /// <summary>validation.IsValidPortNum.</summary>
    public static IReadOnlyList<string> IsValidPortNum(long port) => port is >= 1 and <= 65535 ? [] : [PortRangeMessage];

    /// <summary>validation.IsValidPortName: an IANA_SVC_NAME (RFC 6335), lower case only.</summary>
    public static IReadOnlyList<string> IsValidPortName(string port)
    {
        var errors = new List<string>();
        if (port.Length > 15)
        {
            errors.Add("must be no more than 15 characters");
        }
        if (port.Length == 0 || !port.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            errors.Add("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
        }
        if (!port.Any(char.IsAsciiLetterLower))
        {
            errors.Add("must contain at least one letter (a-z)");
        }
        if (port.Contains("--", StringComparison.Ordinal))
        {
            errors.Add("must not contain consecutive hyphens");
        }
        if (port.Length > 0 && (port[0] == '-' || port[^1] == '-'))
        {
            errors.Add("must not begin or end with a hyphen");
        }
        return errors;
    }

    /// <summary>netutils.IsIPv4String: parses, and is IPv4 or IPv4-mapped IPv6.</summary>
    public static bool IsIPv4String(string value) => ParseIPSloppy(value) is { } ip && IsIPv4(ip);

    /// <summary>netutils.IsIPv6String: parses, and is not IPv4 (nor IPv4-mapped).</summary>
    public static bool IsIPv6String(string value) => ParseIPSloppy(value) is { } ip && !IsIPv4(ip);

    /// <summary>The 16-byte form of an address, or null when Go's sloppy parser rejects it.</summary>
    public static byte[]? ParseIPSloppy(string value)
    {
        foreach (var c in value)
        {
            if (c == '.')
            {
                return ParseIPv4(value);
            }
            if (c == ':')
            {
                return ParseIPv6(value);
            }
        }
        return null;
    }

    /// <summary>
    /// Go's net.IP.String for a 16-byte address (as <see cref="ParseIPSloppy"/> returns): IPv4 and IPv4-mapped
    /// dotted; IPv6 as lowercase hex groups without leading zeros, the longest run (the first of equal ones) of at
    /// least two zero groups written "::". (.NET's IPAddress would write "::1.2.3.4" for "::102:304".)
    /// </summary>
    public static string FormatIP(byte[] ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (IsIPv4(ip))
        {
            return $"{ip[12]}.{ip[13]}.{ip[14]}.{ip[15]}";
        }
        var (e0, e1) = (-1, -1);
        for (var i = 0; i < 16; i += 2)
        {
            var j = i;
            while (j < 16 && ip[j] == 0 && ip[j + 1] == 0)
            {
                j += 2;
            }
            if (j > i && j - i > e1 - e0)
            {
                (e0, e1) = (i, j);
                i = j;
            }
        }
        if (e1 - e0 <= 2)
        {
            (e0, e1) = (-1, -1);
        }
        var text = new System.Text.StringBuilder(39);
        for (var i = 0; i < 16; i += 2)
        {
            if (i == e0)
            {
                text.Append("::");
                i = e1;
                if (i >= 16)
                {
                    break;
                }
            }
            else if (i > 0)
            {
                text.Append(':');
            }
            text.Append(((ip[i] << 8) | ip[i + 1]).ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    /// <summary>netutils.ParseCIDRSloppy accepts the value: an address, '/', and a decimal prefix length that fits it.</summary>
    public static bool IsCidrSloppy(string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return false;
        }
        var address = value[..slash];
        var mask = value[(slash + 1)..];
        var length = IPv4Length;
        if (ParseIPv4(address) is null)
        {
            length = IPv6Length;
            if (ParseIPv6(address) is null)
            {
                return false;
            }
        }
        var (bits, consumed, ok) = DecimalPrefix(mask);
        return ok && consumed == mask.Length && bits <= 8 * length;
    }

    /// <summary>The 16-byte address (as <see cref="ParseIPSloppy"/> returns) is IPv4 or IPv4-mapped, as Go's To4() != nil.</summary>
    public static bool IsIPv4(byte[] ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        for (var i = 0; i < 10; i++)
        {
            if (ip[i] != 0)
            {
                return false;
            }
        }
        return ip[10] == 0xff && ip[11] == 0xff;
    }

    private static bool IsUnspecified(byte[] ip) => IsIPv4(ip) ? ip[12..].All(b => b == 0) : ip.All(b => b == 0);

    private static bool IsLoopback(byte[] ip) => IsIPv4(ip) ? ip[12] == 127 : ip[..15].All(b => b == 0) && ip[15] == 1;

    private static bool IsLinkLocalUnicast(byte[] ip) =>
        IsIPv4(ip) ? ip[12] == 169 && ip[13] == 254 : ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80;

    private static bool IsLinkLocalMulticast(byte[] ip) =>
        IsIPv4(ip) ? ip[12] == 224 && ip[13] == 0 && ip[14] == 0 : ip[0] == 0xff && (ip[1] & 0x0f) == 0x02;

    // Go's parseIPv4: exactly four decimal octets, leading zeros allowed.
    private static byte[]? ParseIPv4(ReadOnlySpan<char> s)
    {
        var ip = new byte[IPv6Length];
        ip[10] = 0xff;
        ip[11] = 0xff;
        for (var i = 0; i < IPv4Length; i++)
        {
            if (s.IsEmpty)
            {
                return null;
            }
            if (i > 0)
            {
                if (s[0] != '.')
                {
                    return null;
                }
                s = s[1..];
            }
            var (n, consumed, ok) = DecimalPrefix(s);
            if (!ok || n > 0xFF)
            {
                return null;
            }
            s = s[consumed..];
            ip[12 + i] = (byte)n;
        }
        return s.IsEmpty ? ip : null;
    }

    // Go's parseIPv6 (without zones): hex groups, one "::", an optional trailing dotted IPv4.
    private static byte[]? ParseIPv6(ReadOnlySpan<char> s)
    {
        var ip = new byte[IPv6Length];
        var ellipsis = -1;
        if (s.Length >= 2 && s[0] == ':' && s[1] == ':')
        {
            ellipsis = 0;
            s = s[2..];
            if (s.IsEmpty)
            {
                return ip;
            }
        }

        var i = 0;
        while (i < IPv6Length)
        {
            var (n, consumed, ok) = HexPrefix(s);
            if (!ok || n > 0xFFFF)
            {
                return null;
            }
            if (consumed < s.Length && s[consumed] == '.')
            {
                if ((ellipsis < 0 && i != IPv6Length - IPv4Length) || i + IPv4Length > IPv6Length)
                {
                    return null;
                }
                var ip4 = ParseIPv4(s);
                if (ip4 is null)
                {
                    return null;
                }
                Array.Copy(ip4, 12, ip, i, IPv4Length);
                s = [];
                i += IPv4Length;
                break;
            }
            ip[i] = (byte)(n >> 8);
            ip[i + 1] = (byte)n;
            i += 2;
            s = s[consumed..];
            if (s.IsEmpty)
            {
                break;
            }
            if (s[0] != ':' || s.Length == 1)
            {
                return null;
            }
            s = s[1..];
            if (s[0] == ':')
            {
                if (ellipsis >= 0)
                {
                    return null;
                }
                ellipsis = i;
                s = s[1..];
                if (s.IsEmpty)
                {
                    break;
                }
            }
        }

        if (!s.IsEmpty)
        {
            return null;
        }
        if (i < IPv6Length)
        {
            if (ellipsis < 0)
            {
                return null;
            }
            var shift = IPv6Length - i;
            for (var j = i - 1; j >= ellipsis; j--)
            {
                ip[j + shift] = ip[j];
            }
            for (var j = ellipsis + shift - 1; j >= ellipsis; j--)
            {
                ip[j] = 0;
            }
        }
        else if (ellipsis >= 0)
        {
            // "::" must stand for at least one group of zeros.
            return null;
        }
        return ip;
    }

    private static (int Value, int Consumed, bool Ok) DecimalPrefix(ReadOnlySpan<char> s)
    {
        var n = 0;
        var i = 0;
        for (; i < s.Length && char.IsAsciiDigit(s[i]); i++)
        {
            n = n * 10 + (s[i] - '0');
            if (n >= Big)
            {
                return (Big, i, false);
            }
        }
        return (n, i, i > 0);
    }

    private static (int Value, int Consumed, bool Ok) HexPrefix(ReadOnlySpan<char> s)
    {
        var n = 0;
        var i = 0;
        for (; i < s.Length && char.IsAsciiHexDigit(s[i]); i++)
        {
            n = n * 16 + (char.IsAsciiDigit(s[i]) ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
            if (n >= Big)
            {
                return (0, i, false);
            }
        }
        return (n, i, i > 0);
    }
}
