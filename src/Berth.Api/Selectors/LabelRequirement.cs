using Berth.Api.Validation;
using System.Globalization;
using System.Text;

namespace Berth.Api.Selectors;

/// <summary>The operators of <c>k8s.io/apimachinery/pkg/selection</c>.</summary>
public enum SelectionOperator
{
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// <summary>One term of a label selector (upstream <c>labels.Requirement</c>); immutable.</summary>
public sealed class LabelRequirement
{
    private readonly string[] _values;

    internal LabelRequirement(string key, SelectionOperator op, string[] values)
    {
        Key = key;
        Operator = op;
        _values = values;
    }

    public string Key { get; }

    public SelectionOperator Operator { get; }

    public IReadOnlyList<string> Values => _values;

    /// <summary>Upstream <c>Requirement.Matches</c>: a missing key satisfies only !=, notin and !key.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var has = labels.TryGetValue(Key, out var value);
        switch (Operator)
        {
            case SelectionOperator.In:
            case SelectionOperator.Equals:
            case SelectionOperator.DoubleEquals:
                return has && HasValue(value!);
            case SelectionOperator.NotIn:
            case SelectionOperator.NotEquals:
                return !has || !HasValue(value!);
            case SelectionOperator.Exists:
                return has;
            case SelectionOperator.DoesNotExist:
                return !has;
            case SelectionOperator.GreaterThan:
            case SelectionOperator.LessThan:
                if (!has || _values.Length != 1
                    || !long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var actual)
                    || !long.TryParse(_values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound))
                {
                    return false;
                }

                return Operator == SelectionOperator.GreaterThan ? actual > bound : actual < bound;
            default:
                return false;
        }
    }

    /// <summary>Upstream <c>Requirement.String</c>: <c>key=v</c>, <c>key in (a,b)</c>, <c>!key</c>; several values sorted.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Operator == SelectionOperator.DoesNotExist)
        {
            sb.Append('!');
        }

        sb.Append(Key);
        switch (Operator)
        {
            case SelectionOperator.Equals: sb.Append('='); break;
            case SelectionOperator.DoubleEquals: sb.Append("=="); break;
            case SelectionOperator.NotEquals: sb.Append("!="); break;
            case SelectionOperator.In: sb.Append(" in ("); break;
            case SelectionOperator.NotIn: sb.Append(" notin ("); break;
            case SelectionOperator.GreaterThan: sb.Append('>'); break;
            case SelectionOperator.LessThan: sb.Append('<'); break;
            default: return sb.ToString();
        }

        if (_values.Length == 1)
        {
            sb.Append(_values[0]);
        }
        else
        {
            var sorted = (string[])_values.Clone();
            Array.Sort(sorted, StringComparer.Ordinal);
            sb.AppendJoin(',', sorted);
        }

        if (Operator is SelectionOperator.In or SelectionOperator.NotIn)
        {
            sb.Append(')');
        }

        return sb.ToString();
    }

    private bool HasValue(string value)
    {
        foreach (var candidate in _values)
        {
            if (string.Equals(candidate, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    // Upstream NewRequirement validation; errors are field errors rendered like field.Error.Error().
    internal static string? Validate(string key, SelectionOperator op, string[] values, string? keyPath)
    {
        List<string>? errors = null;
        var keyErrors = LabelValidation.IsQualifiedName(key);
        if (keyErrors.Count > 0)
        {
            (errors ??= []).Add(Invalid(keyPath ?? "key", Quote(key), string.Join("; ", keyErrors)));
        }

        switch (op)
        {
            case SelectionOperator.In or SelectionOperator.NotIn when values.Length == 0:
                (errors ??= []).Add(Invalid("values", RenderList(values), "for 'in', 'notin' operators, values set can't be empty"));
                break;
            case SelectionOperator.Equals or SelectionOperator.DoubleEquals or SelectionOperator.NotEquals when values.Length != 1:
                (errors ??= []).Add(Invalid("values", RenderList(values), "exact-match compatibility requires one single value"));
                break;
            case SelectionOperator.Exists or SelectionOperator.DoesNotExist when values.Length != 0:
                (errors ??= []).Add(Invalid("values", RenderList(values), "values set must be empty for exists and does not exist"));
                break;
            case SelectionOperator.GreaterThan or SelectionOperator.LessThan:
                if (values.Length != 1)
                {
                    (errors ??= []).Add(Invalid("values", RenderList(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
                }

                for (var i = 0; i < values.Length; i++)
                {
                    if (!long.TryParse(values[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                    {
                        (errors ??= []).Add(Invalid($"values[{i}]", Quote(values[i]), "for 'Gt', 'Lt' operators, the value must be an integer"));
                    }
                }

                break;
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!LabelValidation.IsValidLabelValueFast(values[i]))
            {
                (errors ??= []).Add(Invalid($"values[{i}][{key}]", Quote(values[i]), string.Join("; ", LabelValidation.IsValidLabelValue(values[i]))));
            }
        }

        // utilerrors.Aggregate prints one error as itself, several as "[a, b]".
        return errors switch
        {
            null => null,
            [var single] => single,
            _ => "[" + string.Join(", ", errors) + "]",
        };
    }

    internal static string Invalid(string path, string renderedValue, string detail) => $"{path}: Invalid value: {renderedValue}: {detail}";

    internal static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string RenderList(string[] values) => "[" + string.Join(",", values.Select(Quote)) + "]";
}
