using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// Tolerant readers over stored objects: a missing or mistyped field reads as Go's zero value,
/// the way the upstream printers see an unset field on a typed struct. Nothing here throws.
internal static class JsonRead
{
    public static JsonObject? Obj(JsonNode? node, string key) =>
        node is JsonObject o && o.TryGetPropertyValue(key, out var v) ? v as JsonObject : null;

    public static JsonArray? Arr(JsonNode? node, string key) =>
        node is JsonObject o && o.TryGetPropertyValue(key, out var v) ? v as JsonArray : null;

    public static int Count(JsonNode? node, string key) => node is JsonObject o && o.TryGetPropertyValue(key, out var v)
        ? v switch
        {
            JsonArray a => a.Count,
            JsonObject m => m.Count,
            _ => 0,
        }
        : 0;

    public static string Str(JsonNode? node, string key) => StrOrNull(node, key) ?? "";

    public static string? StrOrNull(JsonNode? node, string key) =>
        node is JsonObject o && o.TryGetPropertyValue(key, out var v) && v is JsonValue jv
            && jv.GetValueKind() == JsonValueKind.String && jv.TryGetValue(out string? s)
            ? s
            : null;

    public static long Int(JsonNode? node, string key) => IntOrNull(node, key) ?? 0;

    public static long? IntOrNull(JsonNode? node, string key)
    {
        if (node is not JsonObject o || !o.TryGetPropertyValue(key, out var v) || v is not JsonValue jv
            || jv.GetValueKind() != JsonValueKind.Number)
        {
            return null;
        }

        if (jv.TryGetValue(out long l))
        {
            return l;
        }

        return jv.TryGetValue(out double d) ? (long)d : null;
    }

    public static bool Bool(JsonNode? node, string key) =>
        node is JsonObject o && o.TryGetPropertyValue(key, out var v) && v is JsonValue jv
            && jv.GetValueKind() == JsonValueKind.True;

    public static bool Has(JsonNode? node, string key) =>
        node is JsonObject o && o.TryGetPropertyValue(key, out var v) && v is not null;

    /// metav1.Time / metav1.MicroTime in RFC 3339; null when unset (Go's IsZero()).
    public static DateTimeOffset? Time(JsonNode? node, string key)
    {
        var s = StrOrNull(node, key);
        if (string.IsNullOrEmpty(s)
            || !DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            || t == DateTimeOffset.MinValue)
        {
            return null;
        }

        return t;
    }

    /// Each element of an array of objects; non-objects are skipped.
    public static IEnumerable<JsonObject> Objects(JsonArray? array)
    {
        if (array is null)
        {
            yield break;
        }

        foreach (var item in array)
        {
            if (item is JsonObject o)
            {
                yield return o;
            }
        }
    }

    /// Each string element of an array; other kinds are skipped.
    public static IEnumerable<string> Strings(JsonArray? array)
    {
        if (array is null)
        {
            yield break;
        }

        foreach (var item in array)
        {
            if (item is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.TryGetValue(out string? s))
            {
                yield return s;
            }
        }
    }
}
