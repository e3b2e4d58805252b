using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

/// <summary>JSON merge patch (RFC 7386, <c>application/merge-patch+json</c>).</summary>
public static class JsonMergePatch
{
    /// <summary>
    /// Applies <paramref name="patch"/> to <paramref name="target"/> and returns the result as a new
    /// tree; neither input is modified. A non-object patch replaces the target (RFC 7386 section 2).
    /// </summary>
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : new JsonObject();
        MergeInto(result, patchObject);
        return result;
    }

    private static void MergeInto(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject valueObject)
            {
                if (target.TryGetPropertyValue(name, out var existing) && existing is JsonObject existingObject)
                {
                    MergeInto(existingObject, valueObject);
                }
                else
                {
                    // A fresh object still goes through the algorithm so nulls inside it are dropped
                    // (RFC 7386 appendix A: {} + {"a":{"bb":{"ccc":null}}} gives {"a":{"bb":{}}}).
                    var fresh = new JsonObject();
                    MergeInto(fresh, valueObject);
                    target[name] = fresh;
                }
            }
            else
            {
                target[name] = value.DeepClone();
            }
        }
    }
}
