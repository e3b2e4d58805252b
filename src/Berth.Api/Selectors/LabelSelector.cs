using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Selectors;

/// <summary>
/// A parsed label selector (upstream <c>labels.Selector</c>): requirements ANDed, sorted by key.
/// Immutable and safe to share.
/// </summary>
public sealed partial class LabelSelector
{
    private readonly LabelRequirement[] _requirements;
    private readonly bool _nothing;

    private LabelSelector(LabelRequirement[] requirements, bool nothing)
    {
        _requirements = requirements;
        _nothing = nothing;
    }

    /// <summary>Matches every object (the empty selector, upstream <c>labels.Everything()</c>).</summary>
    public static LabelSelector Everything { get; } = new([], nothing: false);

    /// <summary>Matches no object (upstream <c>labels.Nothing()</c>, e.g. a nil metav1.LabelSelector).</summary>
    public static LabelSelector Nothing { get; } = new([], nothing: true);

    public IReadOnlyList<LabelRequirement> Requirements => _requirements;

    /// <summary>True when the selector has no requirements and so selects everything (upstream <c>Empty()</c>).</summary>
    public bool IsEmpty => !_nothing && _requirements.Length == 0;

    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        if (_nothing)
        {
            return false;
        }

        if (_requirements.Length == 0)
        {
            return true;
        }

        labels ??= EmptyLabels.Instance;
        foreach (var requirement in _requirements)
        {
            if (!requirement.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The canonical form, e.g. <c>app=web,tier in (a,b)</c>; empty for Everything and Nothing.</summary>
    public override string ToString() => string.Join(',', _requirements.Select(r => r.ToString()));

    /// <summary>Parses the <c>labelSelector</c> query syntax; <paramref name="error"/> carries upstream's message.</summary>
    public static bool TryParse(string? selector, [NotNullWhen(true)] out LabelSelector? result, [NotNullWhen(false)] out string? error)
    {
        var requirements = new LabelSelectorParser(selector ?? string.Empty).Parse(out error);
        if (requirements is null)
        {
            result = null;
            error ??= "invalid selector";
            return false;
        }

        result = requirements.Count == 0 ? Everything : new LabelSelector(Sort(requirements), nothing: false);
        error = null;
        return true;
    }

    /// <exception cref="FormatException">The selector does not parse.</exception>
    public static LabelSelector Parse(string? selector) =>
        TryParse(selector, out var result, out var error) ? result : throw new FormatException(error);

    /// <summary>
    /// A Service-style equality selector (<c>labels.SelectorFromValidatedSet</c>): a null map selects
    /// nothing (a selectorless Service gets no endpoints), an empty map selects everything.
    /// </summary>
    public static LabelSelector FromDictionary(IReadOnlyDictionary<string, string>? set)
    {
        if (set is null)
        {
            return Nothing;
        }

        if (set.Count == 0)
        {
            return Everything;
        }

        var requirements = new List<LabelRequirement>(set.Count);
        foreach (var (key, value) in set)
        {
            requirements.Add(new LabelRequirement(key, SelectionOperator.Equals, [value]));
        }

        return new LabelSelector(Sort(requirements), nothing: false);
    }

    /// <summary>
    /// Converts a <c>metav1.LabelSelector</c> (<c>matchLabels</c>, <c>matchExpressions</c>) as
    /// upstream <c>LabelSelectorAsSelector</c>: null selects nothing, an empty one everything.
    /// </summary>
    public static bool TryFromMetav1(JsonNode? selector, [NotNullWhen(true)] out LabelSelector? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (selector is null || selector.GetValueKind() == JsonValueKind.Null)
        {
            result = Nothing;
            error = null;
            return true;
        }

        if (selector is not JsonObject obj)
        {
            error = "json: cannot unmarshal into Go value of type v1.LabelSelector";
            return false;
        }

        var requirements = new List<LabelRequirement>();
        if (obj.TryGetPropertyValue("matchLabels", out var matchLabels) && matchLabels is JsonObject labels)
        {
            foreach (var (key, valueNode) in labels)
            {
                var value = AsString(valueNode) ?? string.Empty;
                string[] values = [value];
                error = LabelRequirement.Validate(key, SelectionOperator.Equals, values, keyPath: null);
                if (error is not null)
                {
                    return false;
                }

                requirements.Add(new LabelRequirement(key, SelectionOperator.Equals, values));
            }
        }

        if (obj.TryGetPropertyValue("matchExpressions", out var matchExpressions) && matchExpressions is JsonArray expressions)
        {
            foreach (var expressionNode in expressions)
            {
                var expression = expressionNode as JsonObject;
                var key = AsString(expression?["key"]) ?? string.Empty;
                var opText = AsString(expression?["operator"]) ?? string.Empty;
                SelectionOperator op;
                switch (opText)
                {
                    case "In": op = SelectionOperator.In; break;
                    case "NotIn": op = SelectionOperator.NotIn; break;
                    case "Exists": op = SelectionOperator.Exists; break;
                    case "DoesNotExist": op = SelectionOperator.DoesNotExist; break;
                    default:
                        error = $"{LabelRequirement.Quote(opText)} is not a valid label selector operator";
                        return false;
                }

                var values = expression?["values"] is JsonArray valueArray
                    ? valueArray.Select(v => AsString(v) ?? string.Empty).ToArray()
                    : [];
                error = LabelRequirement.Validate(key, op, values, keyPath: null);
                if (error is not null)
                {
                    return false;
                }

                requirements.Add(new LabelRequirement(key, op, values));
            }
        }

        result = requirements.Count == 0 ? Everything : new LabelSelector(Sort(requirements), nothing: false);
        error = null;
        return true;
    }

    /// <exception cref="FormatException">The selector is invalid.</exception>
    public static LabelSelector FromMetav1(JsonNode? selector) =>
        TryFromMetav1(selector, out var result, out var error) ? result : throw new FormatException(error);

    // Upstream sorts by key (sort.Sort(ByKey)); a stable sort keeps equal keys in input order.
    private static LabelRequirement[] Sort(List<LabelRequirement> requirements) =>
        [.. requirements.OrderBy(r => r.Key, StringComparer.Ordinal)];

    private static string? AsString(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private sealed class EmptyLabels : Dictionary<string, string>
    {
        public static readonly EmptyLabels Instance = new();
    }
}
