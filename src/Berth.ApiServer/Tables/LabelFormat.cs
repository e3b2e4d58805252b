using System.Text;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// The label/selector strings the upstream printers use (k8s.io/apimachinery labels and metav1 helpers).
internal static class LabelFormat
{
    /// labels.FormatLabels: "k=v" sorted by key, joined by ","; "<none>" when empty.
    public static string FormatLabels(JsonObject? labels)
    {
        var s = SetString(labels);
        return s.Length == 0 ? "<none>" : s;
    }

    /// metav1.FormatLabelSelector: the selector's String(), "<none>" when it selects everything
    /// or nothing, "<error>" when it cannot be converted.
    public static string FormatLabelSelector(JsonObject? selector)
    {
        if (!TrySelectorString(selector, out var s))
        {
            return "<error>";
        }

        return s.Length == 0 ? "<none>" : s;
    }

    /// metav1.LabelSelectorAsSelector(sel).String(): "" for nil/empty selectors, false when invalid.
    public static bool TrySelectorString(JsonObject? selector, out string result)
    {
        result = "";
        if (selector is null)
        {
            return true;
        }

        var requirements = new List<(string Key, string Text)>();
        if (JsonRead.Obj(selector, "matchLabels") is { } matchLabels)
        {
            foreach (var (key, value) in matchLabels)
            {
                requirements.Add((key, key + "=" + AsString(value)));
            }
        }

        foreach (var expression in JsonRead.Objects(JsonRead.Arr(selector, "matchExpressions")))
        {
            var key = JsonRead.Str(expression, "key");
            var values = JsonRead.Strings(JsonRead.Arr(expression, "values")).ToList();
            string text;
            switch (JsonRead.Str(expression, "operator"))
            {
                case "In":
                    if (values.Count == 0)
                    {
                        return false;
                    }

                    text = key + " in (" + JoinSorted(values) + ")";
                    break;
                case "NotIn":
                    if (values.Count == 0)
                    {
                        return false;
                    }

                    text = key + " notin (" + JoinSorted(values) + ")";
                    break;
                case "Exists":
                    text = key;
                    break;
                case "DoesNotExist":
                    text = "!" + key;
                    break;
                default:
                    return false;
            }

            requirements.Add((key, text));
        }

        // internalSelector.Add sorts requirements by key; values of In/NotIn print sorted.
        var ordered = requirements.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Text);
        result = string.Join(",", ordered);
        return true;
    }

    private static string SetString(JsonObject? labels)
    {
        if (labels is null || labels.Count == 0)
        {
            return "";
        }

        var keys = new List<string>(labels.Count);
        foreach (var (key, _) in labels)
        {
            keys.Add(key);
        }

        keys.Sort(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var key in keys)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(key).Append('=').Append(AsString(labels[key]));
        }

        return sb.ToString();
    }

    private static string JoinSorted(List<string> values)
    {
        values.Sort(StringComparer.Ordinal);
        return string.Join(",", values);
    }

    private static string AsString(JsonNode? value) =>
        value is JsonValue v && v.TryGetValue(out string? s) ? s : "";
}
