using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Controllers.Deployments;

/// <summary>
/// apimachinery's semantic DeepEqual over the JSON form of a model: absent, null, empty objects and empty arrays
/// compare equal (Go's nil and empty maps and slices), everything else must match exactly.
/// </summary>
internal static class JsonSemantics
{
    /// <summary>Equality of two pod templates with <c>metadata.labels[<paramref name="label"/>]</c> left out of both.</summary>
    public static bool EqualIgnoringLabel(PodTemplateSpec? a, PodTemplateSpec? b, string label) =>
        Equal(WithoutLabel(a, label), WithoutLabel(b, label));

    public static bool Equal(JsonNode? a, JsonNode? b)
    {
        if (IsEmpty(a) || IsEmpty(b))
        {
            return IsEmpty(a) && IsEmpty(b);
        }
        switch (a)
        {
            case JsonObject oa when b is JsonObject ob:
                foreach (var (key, value) in oa)
                {
                    if (!Equal(value, ob[key]))
                    {
                        return false;
                    }
                }
                // Keys only b has must be empty too.
                return ob.All(p => oa.ContainsKey(p.Key) || IsEmpty(p.Value));
            case JsonArray aa when b is JsonArray ab:
                return aa.Count == ab.Count && aa.Select((item, i) => Equal(item, ab[i])).All(e => e);
            case JsonValue when b is JsonValue:
                return JsonNode.DeepEquals(a, b);
            default:
                return false;
        }
    }

    private static bool IsEmpty(JsonNode? node) => node is null || node is JsonObject { Count: 0 } || node is JsonArray { Count: 0 };

    private static JsonNode? WithoutLabel(PodTemplateSpec? template, string label)
    {
        if (template is null)
        {
            return null;
        }
        var node = KubeJson.ToNode(template);
        (node["metadata"]?["labels"] as JsonObject)?.Remove(label);
        return node;
    }
}
