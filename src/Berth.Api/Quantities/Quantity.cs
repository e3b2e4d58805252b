using System.Globalization;

namespace Berth.Api.Quantities;

/// <summary>
/// Resource quantities as written in the API ("500m", "2", "128Mi", "1G", "1e3"), read as exact decimals
/// (upstream <c>k8s.io/apimachinery/pkg/api/resource/quantity.go</c>): the kubelet's resourceFieldRef and the
/// scheduler's resource accounting read them the same way.
/// </summary>
public static class Quantity
{
    // Upstream's ErrFormatWrong and ErrSuffix texts.
    public const string FormatError = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    public const string SuffixError = "unable to parse quantity's suffix";

    /// <summary>Parses a quantity where only success matters (the API server has validated it already).</summary>
    public static bool TryParse(string? text, out decimal value) => TryParse(text, out value, out _);

    /// <summary>Parses a quantity; on failure <paramref name="error"/> is upstream's ParseQuantity error text.</summary>
    public static bool TryParse(string? text, out decimal value, out string error)
    {
        value = 0;
        error = FormatError;
        var span = text.AsSpan();
        var numberEnd = 0;
        if (numberEnd < span.Length && span[numberEnd] is '+' or '-')
        {
            numberEnd++;
        }

        var digits = 0;
        var dots = 0;
        for (; numberEnd < span.Length; numberEnd++)
        {
            if (char.IsAsciiDigit(span[numberEnd]))
            {
                digits++;
            }
            else if (span[numberEnd] == '.' && dots == 0)
            {
                dots++;
            }
            else
            {
                break;
            }
        }

        if (digits == 0 || !decimal.TryParse(span[..numberEnd], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var suffix = span[numberEnd..];
        if (!IsSuffixShaped(suffix))
        {
            return false;
        }

        error = SuffixError;
        if (!TryMultiplier(suffix, out var multiplier))
        {
            return false;
        }

        // Quantities past decimal's 7.9e28 are not resources a node can have.
        if (Math.Abs(number) > 1 && multiplier > decimal.MaxValue / Math.Abs(number))
        {
            error = FormatError;
            return false;
        }

        value = number * multiplier;
        return true;
    }

    /// <summary>Upstream's Value(): rounded up to the next whole unit, held within the range of a long.</summary>
    public static long Value(decimal quantity) => Clamp(decimal.Ceiling(quantity));

    /// <summary>Upstream's MilliValue(): rounded up to the next thousandth, held within the range of a long.</summary>
    public static long MilliValue(decimal quantity) =>
        Math.Abs(quantity) > long.MaxValue / 1000m
            ? (quantity > 0 ? long.MaxValue : long.MinValue)
            : Clamp(decimal.Ceiling(quantity * 1000));

    private static long Clamp(decimal value) => value >= long.MaxValue ? long.MaxValue : value <= long.MinValue ? long.MinValue : (long)value;

    // The suffix grammar of upstream's parseQuantityString: letters from "eEinumkKMGTP", then an optional sign and digits.
    private static bool IsSuffixShaped(ReadOnlySpan<char> suffix)
    {
        var i = 0;
        while (i < suffix.Length && "eEinumkKMGTP".Contains(suffix[i]))
        {
            i++;
        }

        if (i < suffix.Length && suffix[i] is '+' or '-')
        {
            i++;
        }

        while (i < suffix.Length && char.IsAsciiDigit(suffix[i]))
        {
            i++;
        }

        return i == suffix.Length;
    }

    private static bool TryMultiplier(ReadOnlySpan<char> suffix, out decimal multiplier)
    {
        multiplier = suffix switch
        {
            "" => 1m,
            "n" => 0.000000001m,
            "u" => 0.000001m,
            "m" => 0.001m,
            "k" => 1e3m,
            "M" => 1e6m,
            "G" => 1e9m,
            "T" => 1e12m,
            "P" => 1e15m,
            "E" => 1e18m,
            "Ki" => 1L << 10,
            "Mi" => 1L << 20,
            "Gi" => 1L << 30,
            "Ti" => 1L << 40,
            "Pi" => 1L << 50,
            "Ei" => 1L << 60,
            _ => 0m,
        };
        if (multiplier != 0)
        {
            return true;
        }

        // A decimal exponent: "e3", "E-2".
        if (suffix.Length > 1 && suffix[0] is 'e' or 'E'
            && int.TryParse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent)
            && exponent is >= -28 and <= 28)
        {
            multiplier = 1m;
            for (var i = 0; i < Math.Abs(exponent); i++)
            {
                multiplier = exponent > 0 ? multiplier * 10 : multiplier / 10;
            }

            return true;
        }

        return false;
    }
}
