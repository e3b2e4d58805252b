using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Berth.Api.Selectors;

/// <summary>One <c>field=value</c> / <c>field!=value</c> term; <c>==</c> parses as <see cref="SelectionOperator.Equals"/>.</summary>
public sealed record FieldRequirement(string Field, SelectionOperator Operator, string Value)
{
    public bool Matches(string? actual) =>
        Operator == SelectionOperator.NotEquals
            ? !string.Equals(actual ?? string.Empty, Value, StringComparison.Ordinal)
            : string.Equals(actual ?? string.Empty, Value, StringComparison.Ordinal);

    public override string ToString() =>
        Field + (Operator == SelectionOperator.NotEquals ? "!=" : "=") + FieldSelector.EscapeValue(Value);
}

/// <summary>
/// A parsed field selector (<c>k8s.io/apimachinery/pkg/fields/selector.go</c>): comma-separated
/// terms ANDed, values escaped with <c>\,</c> <c>\=</c> <c>\\</c>. Which fields a kind supports is
/// the server's business: see <see cref="TryValidateFields"/>.
/// </summary>
public sealed class FieldSelector
{
    private readonly FieldRequirement[] _requirements;

    private FieldSelector(FieldRequirement[] requirements)
    {
        _requirements = requirements;
    }

    public static FieldSelector Everything { get; } = new([]);

    public IReadOnlyList<FieldRequirement> Requirements => _requirements;

    public bool IsEmpty => _requirements.Length == 0;

    /// <summary>
    /// True when every term holds. <paramref name="getField"/> returns a field's value; null counts
    /// as the empty string (upstream <c>fields.Set.Get</c>), so <c>spec.nodeName=</c> matches unset.
    /// </summary>
    public bool Matches(Func<string, string?> getField)
    {
        ArgumentNullException.ThrowIfNull(getField);
        foreach (var requirement in _requirements)
        {
            if (!requirement.Matches(getField(requirement.Field)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The value of a <c>field=value</c> term, if any (upstream <c>RequiresExactMatch</c>).</summary>
    public bool TryGetExactMatch(string field, [NotNullWhen(true)] out string? value)
    {
        foreach (var requirement in _requirements)
        {
            if (requirement.Operator != SelectionOperator.NotEquals && requirement.Field == field)
            {
                value = requirement.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>
    /// Checks every term's field against what the kind supports; the error is upstream's
    /// <c>field label not supported: NAME</c> (the server answers 400 BadRequest).
    /// </summary>
    public bool TryValidateFields(Func<string, bool> isSupported, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(isSupported);
        foreach (var requirement in _requirements)
        {
            if (!isSupported(requirement.Field))
            {
                error = $"field label not supported: {requirement.Field}";
                return false;
            }
        }

        error = null;
        return true;
    }

    public override string ToString() => string.Join(',', _requirements.Select(r => r.ToString()));

    public static bool TryParse(string? selector, [NotNullWhen(true)] out FieldSelector? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        selector ??= string.Empty;
        var terms = SplitTerms(selector);
        // Upstream sorts the raw terms before parsing so the canonical form is stable.
        terms.Sort(StringComparer.Ordinal);
        var requirements = new List<FieldRequirement>(terms.Count);
        foreach (var term in terms)
        {
            if (term.Length == 0)
            {
                continue;
            }

            if (!TrySplitTerm(term, out var field, out var op, out var rawValue))
            {
                error = $"invalid selector: '{selector}'; can't understand '{term}'";
                return false;
            }

            if (!TryUnescapeValue(rawValue, out var value, out error))
            {
                return false;
            }

            requirements.Add(new FieldRequirement(field, op, value));
        }

        result = requirements.Count == 0 ? Everything : new FieldSelector([.. requirements]);
        error = null;
        return true;
    }

    /// <exception cref="FormatException">The selector does not parse.</exception>
    public static FieldSelector Parse(string? selector) =>
        TryParse(selector, out var result, out var error) ? result : throw new FormatException(error);

    /// <summary>Upstream <c>fields.EscapeValue</c>.</summary>
    public static string EscapeValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().IndexOfAny('\\', ',', '=') < 0)
        {
            return value;
        }

        return value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace(",", "\\,", StringComparison.Ordinal)
            .Replace("=", "\\=", StringComparison.Ordinal);
    }

    // Commas preceded by a backslash are data, not separators; the backslash is kept for unescaping.
    private static List<string> SplitTerms(string selector)
    {
        var terms = new List<string>();
        if (selector.Length == 0)
        {
            return terms;
        }

        var start = 0;
        var inSlash = false;
        for (var i = 0; i < selector.Length; i++)
        {
            var c = selector[i];
            if (inSlash)
            {
                inSlash = false;
            }
            else if (c == '\\')
            {
                inSlash = true;
            }
            else if (c == ',')
            {
                terms.Add(selector[start..i]);
                start = i + 1;
            }
        }

        terms.Add(selector[start..]);
        return terms;
    }

    // The first operator occurrence splits the term ("!=" and "==" are tried before "=").
    private static bool TrySplitTerm(string term, out string field, out SelectionOperator op, out string value)
    {
        for (var i = 0; i < term.Length; i++)
        {
            var rest = term.AsSpan(i);
            if (rest.StartsWith("!="))
            {
                (field, op, value) = (term[..i], SelectionOperator.NotEquals, term[(i + 2)..]);
                return true;
            }

            if (rest.StartsWith("=="))
            {
                (field, op, value) = (term[..i], SelectionOperator.Equals, term[(i + 2)..]);
                return true;
            }

            if (rest[0] == '=')
            {
                (field, op, value) = (term[..i], SelectionOperator.Equals, term[(i + 1)..]);
                return true;
            }
        }

        (field, op, value) = (string.Empty, SelectionOperator.Equals, string.Empty);
        return false;
    }

    private static bool TryUnescapeValue(string raw, out string value, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (raw.AsSpan().IndexOfAny('\\', ',', '=') < 0)
        {
            value = raw;
            return true;
        }

        var sb = new StringBuilder(raw.Length);
        var inSlash = false;
        foreach (var c in raw)
        {
            if (inSlash)
            {
                if (c is not ('\\' or ',' or '='))
                {
                    value = string.Empty;
                    error = $"invalid field selector: invalid escape sequence: \\{c}";
                    return false;
                }

                sb.Append(c);
                inSlash = false;
                continue;
            }

            switch (c)
            {
                case '\\':
                    inSlash = true;
                    break;
                case ',' or '=':
                    // Upstream formats the rune with %v, i.e. as its code point.
                    value = string.Empty;
                    error = $"invalid field selector: unescaped character in value: {(int)c}";
                    return false;
                default:
                    sb.Append(c);
                    break;
            }
        }

        if (inSlash)
        {
            value = string.Empty;
            error = "invalid field selector: invalid escape sequence: \\";
            return false;
        }

        value = sb.ToString();
        return true;
    }
}
