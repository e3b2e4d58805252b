using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Tests.Serialization;

/// <summary>A canonical text of a JSON value (sorted keys, numbers by value) so that structural equality is string equality with a readable diff.</summary>
internal static class JsonCompare
{
    public static string Canonical(JsonNode? node, bool dropNulls)
    {
        var builder = new StringBuilder();
        Write(builder, node, dropNulls, 0);
        return builder.ToString();
    }

    private static void Write(StringBuilder builder, JsonNode? node, bool dropNulls, int depth)
    {
        var indent = new string(' ', depth * 2);
        switch (node)
        {
            case null:
                builder.Append("null");
                break;
            case JsonObject obj:
                builder.Append("{\n");
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (dropNulls && value is null)
                    {
                        continue;
                    }

                    builder.Append(indent).Append("  ").Append(JsonSerializer.Serialize(key)).Append(": ");
                    Write(builder, value, dropNulls, depth + 1);
                    builder.Append('\n');
                }

                builder.Append(indent).Append('}');
                break;
            case JsonArray array:
                builder.Append("[\n");
                foreach (var item in array)
                {
                    builder.Append(indent).Append("  ");
                    Write(builder, item, dropNulls, depth + 1);
                    builder.Append('\n');
                }

                builder.Append(indent).Append(']');
                break;
            default:
                using (var document = JsonDocument.Parse(node.ToJsonString()))
                {
                    var element = document.RootElement;
                    builder.Append(element.ValueKind == JsonValueKind.Number
                    ? element.GetDouble().ToString("R", CultureInfo.InvariantCulture)
                        : element.GetRawText());
                }

                break;
        }
    }
}
