using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api.Serialization;

/// <summary>
/// <c>metav1.Time</c>: reads RFC 3339 (any offset, optional fraction); writes UTC to the second,
/// <c>2006-01-02T15:04:05Z</c>, as upstream <c>Time.MarshalJSON</c> (<c>t.UTC().Format(time.RFC3339)</c>).
/// </summary>
public sealed class TimeConverter : JsonConverter<DateTimeOffset?>
{
    internal const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'";

    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TimeFormats.Read(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options) =>
        TimeFormats.Write(writer, value, Format);
}

/// <summary>
/// <c>metav1.MicroTime</c>: as <see cref="TimeConverter"/> but written with microseconds,
/// <c>2006-01-02T15:04:05.000000Z</c> (upstream <c>RFC3339Micro</c>).
/// </summary>
public sealed class MicroTimeConverter : JsonConverter<DateTimeOffset?>
{
    internal const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'";

    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TimeFormats.Read(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options) =>
        TimeFormats.Write(writer, value, Format);
}

internal static class TimeFormats
{
    public static DateTimeOffset? Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        // Utf8JsonReader's ISO 8601 parser takes RFC 3339 without allocating.
        if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value))
        {
            return value;
        }

        throw new JsonException("expected an RFC 3339 date-time string");
    }

    public static void Write(Utf8JsonWriter writer, DateTimeOffset? value, string format)
    {
        if (value is not { } v)
        {
            writer.WriteNullValue();
            return;
        }

        Span<char> buffer = stackalloc char[32];
        v.UtcDateTime.TryFormat(buffer, out var written, format, CultureInfo.InvariantCulture);
        writer.WriteStringValue(buffer[..written]);
    }

    public static string Format(DateTimeOffset value, bool micro) =>
        value.UtcDateTime.ToString(micro ? MicroTimeConverter.Format : TimeConverter.Format, CultureInfo.InvariantCulture);
}
