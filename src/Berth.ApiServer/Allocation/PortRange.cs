using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Berth.ApiServer.Allocation;

/// <summary>A range of ports (upstream apimachinery net.PortRange); Size 0 is the empty range.</summary>
public sealed record PortRange
{
    public PortRange(int @base, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (@base < 0 || (long)@base + size - 1 > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(@base), @base, "the port range should be between 0 and 65535");
        }
        Base = @base;
        Size = size;
    }

    public int Base { get; }

    public int Size { get; }

    /// <summary>Parses "min-max", "min+offset" or a single port, inclusive at both ends, as upstream PortRange.Set.</summary>
    /// <exception cref="FormatException">Upstream's message for the bad input.</exception>
    public static PortRange Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryParse(value, out var range, out var error) ? range : throw new FormatException(error);
    }

    public static bool TryParse(string value, [NotNullWhen(true)] out PortRange? range, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(value);
        range = null;
        value = value.Trim();
        if (value.Length == 0)
        {
            range = new PortRange(0, 0);
            error = null;
            return true;
        }
        var hyphen = value.IndexOf('-', StringComparison.Ordinal);
        var plus = value.IndexOf('+', StringComparison.Ordinal);
        long low, high;
        if (hyphen < 0 && plus < 0)
        {
            if (!TryAtoi(value, out low, out error))
            {
                return false;
            }
            high = low;
        }
        else if (plus < 0)
        {
            if (!TryAtoi(value[..hyphen], out low, out error) || !TryAtoi(value[(hyphen + 1)..], out high, out error))
            {
                return false;
            }
        }
        else if (hyphen < 0)
        {
            if (!TryAtoi(value[..plus], out low, out error) || !TryAtoi(value[(plus + 1)..], out var offset, out error))
            {
                return false;
            }
            high = unchecked(low + offset); // Go's int arithmetic wraps the same way
        }
        else
        {
            error = $"unable to parse port range: {value}";
            return false;
        }
        if (low > 65535 || high > 65535)
        {
            error = $"the port range cannot be greater than 65535: {value}";
            return false;
        }
        if (high < low)
        {
            error = $"end port cannot be less than start port: {value}";
            return false;
        }
        range = new PortRange((int)low, (int)(1 + high - low));
        error = null;
        return true;
    }

    public bool Contains(int port) => port >= Base && port - Base < Size;

    /// <summary>"min-max", or "" for the empty range (upstream PortRange.String).</summary>
    public override string ToString() =>
        Size == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"{Base}-{Base + Size - 1}");

    // strconv.Atoi on a 64-bit platform, with its error text: PortRange.Set returns it unchanged.
    private static bool TryAtoi(string s, out long value, [NotNullWhen(false)] out string? error)
    {
        value = 0;
        error = null;
        var i = 0;
        var negative = false;
        if (s.Length > 0 && s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            i = 1;
        }
        if (i == s.Length)
        {
            error = AtoiError(s, "invalid syntax");
            return false;
        }
        ulong n = 0;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c is < '0' or > '9')
            {
                error = AtoiError(s, "invalid syntax");
                return false;
            }
            var next = (n * 10) + (ulong)(c - '0');
            if (n > ulong.MaxValue / 10 || next < n)
            {
                error = AtoiError(s, "value out of range");
                return false;
            }
            n = next;
        }
        if (n > (negative ? 1UL << 63 : long.MaxValue))
        {
            error = AtoiError(s, "value out of range");
            return false;
        }
        value = negative ? unchecked(-(long)n) : (long)n;
        return true;
    }

    private static string AtoiError(string s, string reason) => $"strconv.Atoi: parsing {GoQuote(s)}: {reason}";

    // strconv.Quote for the characters a flag value can hold.
    private static string GoQuote(string s)
    {
        var quoted = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            _ = c switch
            {
                '"' => quoted.Append("\\\""),
                '\\' => quoted.Append("\\\\"),
                '\a' => quoted.Append("\\a"),
                '\b' => quoted.Append("\\b"),
                '\f' => quoted.Append("\\f"),
                '\n' => quoted.Append("\\n"),
                '\r' => quoted.Append("\\r"),
                '\t' => quoted.Append("\\t"),
                '\v' => quoted.Append("\\v"),
                < ' ' or '\x7f' => quoted.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => quoted.Append(c),
            };
        }
        return quoted.Append('"').ToString();
    }
}
