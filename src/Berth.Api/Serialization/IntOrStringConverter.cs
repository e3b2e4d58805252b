using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Api.Models;

namespace Berth.Api.Serialization;

/// <summary>
/// Reads a JSON int32 or string and writes the same kind back, as upstream
/// <c>intstr.IntOrString.UnmarshalJSON</c>/<c>MarshalJSON</c> do.
/// </summary>
public sealed class IntOrStringConverter : JsonConverter<IntOrString>
{
    public override IntOrString Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new IntOrString(reader.GetString()!);
            case JsonTokenType.Number when reader.TryGetInt32(out var value):
                return new IntOrString(value);
            default:
                throw new JsonException("expected an int32 or a string for an IntOrString field");
        }
    }

    public override void Write(Utf8JsonWriter writer, IntOrString value, JsonSerializerOptions options)
    {
        if (value.IsString)
        {
            writer.WriteStringValue(value.StringValue);
        }
        else
        {
            writer.WriteNumberValue(value.IntValue);
        }
    }
}
