using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

/// <summary>
/// Server-side apply (<c>application/apply-patch+yaml</c>) without field ownership: the applied
/// configuration is merged into the live object. See README.md in this folder for what differs
/// from upstream's structured-merge-diff.
/// </summary>
public static class ServerSideApply
{
    /// <summary>
    /// Merges <paramref name="applied"/> into <paramref name="live"/> (null: a create) and returns a
    /// new tree. Maps merge; lists whose schema declares a merge key merge item by item; every other
    /// value is replaced. Nulls in the applied configuration and <c>$</c>-keys are ignored.
    /// </summary>
    public static JsonNode Apply(JsonNode? live, JsonObject applied, IPatchSchema schema)
    {
        ArgumentNullException.ThrowIfNull(applied);
        ArgumentNullException.ThrowIfNull(schema);
        var result = live is JsonObject liveObject ? (JsonObject)liveObject.DeepClone() : new JsonObject();
        MergeObject(result, applied, schema);
        return result;
    }

    private static void MergeObject(JsonObject live, JsonObject applied, IPatchSchema schema)
    {
        foreach (var (key, value) in applied)
        {
            // An explicit null in an apply configuration only says "I do not set this"; without
            // ownership records it cannot mean "remove someone else's value".
            if (value is null || key.StartsWith('$'))
            {
                continue;
            }

            live.TryGetPropertyValue(key, out var current);
            var info = schema.FieldInfo(key);
            var fieldSchema = schema.Field(key) ?? NoPatchSchema.Instance;
            if (current is JsonObject currentObject && value is JsonObject valueObject && !info.IsReplace)
            {
                MergeObject(currentObject, valueObject, fieldSchema);
            }
            else if (current is JsonArray currentArray && value is JsonArray valueArray && info.IsMerge && info.MergeKey is { } mergeKey
                && AllKeyed(valueArray, mergeKey) && AllKeyed(currentArray, mergeKey))
            {
                MergeKeyedList(currentArray, valueArray, mergeKey, fieldSchema.Items() ?? NoPatchSchema.Instance);
            }
            else
            {
                live[key] = Strip(value);
            }
        }
    }

    // Live items keep their place and merge with the applied item of the same key; new items are
    // appended in applied order.
    private static void MergeKeyedList(JsonArray live, JsonArray applied, string mergeKey, IPatchSchema itemSchema)
    {
        foreach (var item in applied)
        {
            var appliedItem = (JsonObject)item!;
            var keyValue = appliedItem[mergeKey];
            JsonObject? match = null;
            foreach (var candidate in live)
            {
                if (candidate is JsonObject c && JsonNode.DeepEquals(c[mergeKey], keyValue))
                {
                    match = c;
                    break;
                }
            }

            if (match is null)
            {
                live.Add(Strip(appliedItem));
            }
            else
            {
                MergeObject(match, appliedItem, itemSchema);
            }
        }
    }

    private static bool AllKeyed(JsonArray list, string mergeKey)
    {
        foreach (var item in list)
        {
            if (item is not JsonObject obj || !obj.ContainsKey(mergeKey))
            {
                return false;
            }
        }

        return true;
    }

    private static JsonNode? Strip(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    if (value is not null && !key.StartsWith('$'))
                    {
                        copy[key] = Strip(value);
                    }
                }

                return copy;
            case JsonArray array:
                var list = new JsonArray();
                foreach (var item in array)
                {
                    list.Add(Strip(item));
                }

                return list;
            default:
                return node?.DeepClone();
        }
    }
}
