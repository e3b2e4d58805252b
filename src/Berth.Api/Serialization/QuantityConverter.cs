using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api.Serialization;

/// <summary>
/// <c>resource.Quantity</c> fields, typed as strings here: upstream accepts a JSON number as well
/// (<c>cpu: 1</c>) and always writes a string. A number keeps its JSON text (<c>0.5</c> stays
/// <c>"0.5"</c>; upstream would canonicalise it to <c>"500m"</c>).
/// </summary>
public sealed class QuantityConverter : JsonConverter<string?>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        QuantityText.Read(ref reader);

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value);
}

/// <summary>A map of resource name to <c>resource.Quantity</c> (<c>limits</c>, <c>capacity</c>, ...), see <see cref="QuantityConverter"/>.</summary>
public sealed class QuantityMapConverter : JsonConverter<Dictionary<string, string>?>
{
    public override Dictionary<string, string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected an object of quantities");
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            reader.Read();

            // A null quantity decodes to upstream's zero Quantity, written "0".
            map[key] = reader.TokenType == JsonTokenType.Null ? "0" : QuantityText.Read(ref reader);
        }

        return map;
    }

    public override void Write(Utf8JsonWriter writer, Dictionary<string, string>? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartObject();
        foreach (var (key, quantity) in value)
        {
            writer.WriteString(key, quantity);
        }

        writer.WriteEndObject();
    }
}

internal static class QuantityText
{
    public static string Read(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString()!;
            case JsonTokenType.Number:
                return reader.HasValueSequence
                    ? Encoding.UTF8.GetString(reader.ValueSequence)
                    : Encoding.UTF8.GetString(reader.ValueSpan);
            default:
                throw new JsonException("expected a quantity (a string or a number)");
        }
    }
}
