using System.Globalization;
using System.Text.Json.Nodes;

namespace Berth.Api.Serialization;

/// <summary>
/// Plain-scalar resolution of go-yaml v2 (resolve.go), which sigs.k8s.io/yaml uses for YAML→JSON.
/// Timestamps stay strings there too ("for backward compatibility" when the target is interface{}).
/// </summary>
internal static class YamlScalars
{
    /// <summary>True when <paramref name="text"/>, unquoted, is null, a bool or a number; <paramref name="node"/> is then that value.</summary>
    public static bool TryResolvePlain(string text, out JsonNode? node)
    {
        node = null;
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return true;
            case "y" or "Y" or "yes" or "Yes" or "YES" or "true" or "True" or "TRUE" or "on" or "On" or "ON":
                node = JsonValue.Create(true);
                return true;
            case "n" or "N" or "no" or "No" or "NO" or "false" or "False" or "FALSE" or "off" or "Off" or "OFF":
                node = JsonValue.Create(false);
                return true;
        }

        var first = text[0];
        if (first is not ((>= '0' and <= '9') or '-' or '+' or '.'))
        {
            return false;
        }

        var plain = text.Contains('_', StringComparison.Ordinal) ? text.Replace("_", "", StringComparison.Ordinal) : text;
        if (TryParseGoInt(plain, out var integer, out var unsigned, out var isUnsigned))
        {
            node = isUnsigned ? JsonValue.Create(unsigned) : JsonValue.Create(integer);
            return true;
        }

        if (IsYamlFloat(plain) && double.TryParse(plain, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            node = JsonValue.Create(real);
            return true;
        }

        return false;
    }

    // strconv.ParseInt(s, 0, 64), then ParseUint: optional sign, 0x/0o/0b prefixes, leading-0 octal.
    private static bool TryParseGoInt(string s, out long value, out ulong unsignedValue, out bool isUnsigned)
    {
        value = 0;
        unsignedValue = 0;
        isUnsigned = false;
        var span = s.AsSpan();
        var negative = false;
        if (span.Length > 0 && (span[0] == '+' || span[0] == '-'))
        {
            negative = span[0] == '-';
            span = span[1..];
        }

        if (span.IsEmpty)
        {
            return false;
        }

        var radix = 10;
        if (span.Length > 1 && span[0] == '0')
        {
            switch (span[1])
            {
                case 'x' or 'X':
                    radix = 16;
                    span = span[2..];
                    break;
                case 'o' or 'O':
                    radix = 8;
                    span = span[2..];
                    break;
                case 'b' or 'B':
                    radix = 2;
                    span = span[2..];
                    break;
                default:
                    radix = 8;
                    span = span[1..];
                    break;
            }

            if (span.IsEmpty)
            {
                return false;
            }
        }

        ulong magnitude = 0;
        foreach (var c in span)
        {
            var digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                return false;
            }

            if (magnitude > (ulong.MaxValue - (ulong)digit) / (ulong)radix)
            {
                return false;
            }

            magnitude = (magnitude * (ulong)radix) + (ulong)digit;
        }

        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1)
            {
                return false;
            }

            value = magnitude == (ulong)long.MaxValue + 1 ? long.MinValue : -(long)magnitude;
            return true;
        }

        if (magnitude <= long.MaxValue)
        {
            value = (long)magnitude;
            return true;
        }

        unsignedValue = magnitude;
        isUnsigned = true;
        return true;
    }

    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    private static bool IsYamlFloat(string s)
    {
        var i = 0;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            i++;
        }

        if (i < s.Length && s[i] == '.')
        {
            i++;
            if (!Digits(s, ref i))
            {
                return false;
            }
        }
        else
        {
            if (!Digits(s, ref i))
            {
                return false;
            }

            if (i < s.Length && s[i] == '.')
            {
                i++;
                Digits(s, ref i);
            }
        }

        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            if (i < s.Length && (s[i] == '+' || s[i] == '-'))
            {
                i++;
            }

            if (!Digits(s, ref i))
            {
                return false;
            }
        }

        return i == s.Length;
    }

    private static bool Digits(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            i++;
        }

        return i > start;
    }
}
