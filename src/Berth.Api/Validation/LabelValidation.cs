using Berth.Api.Validation;
namespace Berth.Api.Validation;

/// <summary>
/// Label key and value checks with upstream's messages
/// (<c>k8s.io/apimachinery/pkg/util/validation/validation.go</c>: IsQualifiedName, IsValidLabelValue,
/// IsDNS1123Subdomain). Hand-written scanners instead of regexes: these run on every selector.
/// </summary>
public static class LabelValidation
{
    public const int QualifiedNameMaxLength = 63;
    public const int LabelValueMaxLength = 63;
    public const int Dns1123SubdomainMaxLength = 253;

    private const string QualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    private const string QualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    private const string LabelValueFmt = "(" + QualifiedNameFmt + ")?";
    private const string LabelValueErrMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    private const string Dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    private const string Dns1123SubdomainFmt = Dns1123LabelFmt + "(\\." + Dns1123LabelFmt + ")*";
    private const string Dns1123SubdomainErrMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

    private static readonly string s_qualifiedNameRegexError = RegexError(QualifiedNameErrMsg, QualifiedNameFmt, "MyName", "my.name", "123-abc");
    private static readonly string s_labelValueRegexError = RegexError(LabelValueErrMsg, LabelValueFmt, "MyValue", "my_value", "12345");
    private static readonly string s_subdomainRegexError = RegexError(Dns1123SubdomainErrMsg, Dns1123SubdomainFmt, "example.com");

    /// <summary>Errors for a label key (optional DNS-1123 subdomain prefix and '/', then a name); empty when valid.</summary>
    public static IReadOnlyList<string> IsQualifiedName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        List<string>? errors = null;
        var span = value.AsSpan();
        var slash = span.IndexOf('/');
        ReadOnlySpan<char> name;
        if (slash < 0)
        {
            name = span;
        }
        else if (span[(slash + 1)..].IndexOf('/') >= 0)
        {
            return [$"a qualified name {s_qualifiedNameRegexError} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
        }
        else
        {
            var prefix = span[..slash];
            name = span[(slash + 1)..];
            if (prefix.IsEmpty)
            {
                (errors ??= []).Add("prefix part must be non-empty");
            }
            else
            {
                if (prefix.Length > Dns1123SubdomainMaxLength)
                {
                    (errors ??= []).Add("prefix part " + MaxLenError(Dns1123SubdomainMaxLength));
                }

                if (!IsDns1123Subdomain(prefix))
                {
                    (errors ??= []).Add("prefix part " + s_subdomainRegexError);
                }
            }
        }

        if (name.IsEmpty)
        {
            (errors ??= []).Add("name part must be non-empty");
        }
        else if (name.Length > QualifiedNameMaxLength)
        {
            (errors ??= []).Add("name part " + MaxLenError(QualifiedNameMaxLength));
        }

        if (!IsQualifiedNamePart(name))
        {
            (errors ??= []).Add("name part " + s_qualifiedNameRegexError);
        }

        return errors ?? (IReadOnlyList<string>)[];
    }

    /// <summary>Errors for a label value (≤63 characters, empty or a qualified-name part); empty when valid.</summary>
    public static IReadOnlyList<string> IsValidLabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        List<string>? errors = null;
        if (value.Length > LabelValueMaxLength)
        {
            (errors ??= []).Add(MaxLenError(LabelValueMaxLength));
        }

        if (value.Length != 0 && !IsQualifiedNamePart(value))
        {
            (errors ??= []).Add(s_labelValueRegexError);
        }

        return errors ?? (IReadOnlyList<string>)[];
    }

    internal static bool IsValidLabelValueFast(string value) =>
        value.Length == 0 || (value.Length <= LabelValueMaxLength && IsQualifiedNamePart(value));

    // ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
    private static bool IsQualifiedNamePart(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_' && c != '.')
            {
                return false;
            }
        }

        return true;
    }

    // [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
    private static bool IsDns1123Subdomain(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }

        foreach (var range in value.Split('.'))
        {
            var label = value[range];
            if (label.IsEmpty || !IsLowerAlnum(label[0]) || !IsLowerAlnum(label[^1]))
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!IsLowerAlnum(c) && c != '-')
                {
                    return false;
                }
            }
        }

        return true;

        static bool IsLowerAlnum(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
    }

    private static string MaxLenError(int length) => $"must be no more than {length} characters";

    private static string RegexError(string message, string format, params string[] examples)
    {
        // Upstream's RegexError renders examples as "'a',  or 'b', " (two spaces, kept verbatim).
        var text = message + " (e.g. ";
        for (var i = 0; i < examples.Length; i++)
        {
            if (i > 0)
            {
                text += " or ";
            }

            text += "'" + examples[i] + "', ";
        }

        return text + "regex used for validation is '" + format + "')";
    }
}
