using System.Text.Json.Nodes;

namespace Berth.ApiServer.Registry;

/// <summary>An object as read from the store: its JSON with metadata.resourceVersion set to its mod-revision.</summary>
public sealed record StoredObject(JsonObject Object, long ModRevision);

/// <summary>Access to metadata fields of an object held as JSON.</summary>
public static class Meta
{
    public static JsonObject Of(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject meta)
        {
            return meta;
        }
        meta = [];
        obj["metadata"] = meta;
        return meta;
    }

    public static string? String(JsonObject obj, string field) =>
        (obj["metadata"] as JsonObject)?[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static string? Name(JsonObject obj) => String(obj, "name");

    public static string? Namespace(JsonObject obj) => String(obj, "namespace");

    public static IReadOnlyDictionary<string, string>? Labels(JsonObject obj) => StringMap((obj["metadata"] as JsonObject)?["labels"]);

    public static Dictionary<string, string>? StringMap(JsonNode? node)
    {
        if (node is not JsonObject map)
        {
            return null;
        }
        var result = new Dictionary<string, string>(map.Count, StringComparer.Ordinal);
        foreach (var (k, v) in map)
        {
            if (v is JsonValue value && value.TryGetValue<string>(out var s))
            {
                result[k] = s;
            }
        }
        return result;
    }

    public static bool HasFinalizers(JsonObject obj) => (obj["metadata"] as JsonObject)?["finalizers"] is JsonArray { Count: > 0 };

    public static bool IsDeleting(JsonObject obj) => String(obj, "deletionTimestamp") is not null;

    /// <summary>Reads a dotted path such as "spec.nodeName" or "involvedObject.kind" as a string, the way field selectors see it.</summary>
    public static string? Field(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (var part in path.Split('.'))
        {
            node = (node as JsonObject)?[part];
            if (node is null)
            {
                return null;
            }
        }
        return node switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
            JsonValue v => v.ToJsonString(),
            _ => null,
        };
    }

    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
