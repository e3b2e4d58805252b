using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Writes a stored object with metadata.resourceVersion added, straight from its stored bytes. Lists and watches
/// send thousands of objects; splicing the version in avoids parsing and re-serializing each one.
/// Relies on the store invariant that stored bytes never contain a resourceVersion.
/// </summary>
public static class ResourceVersionSplice
{
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> stored, long revision)
    {
        Span<byte> digits = stackalloc byte[20];
        revision.TryFormat(digits, out var length, provider: CultureInfo.InvariantCulture);
        var version = digits[..length];

        var reader = new Utf8JsonReader(stored);
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMetadata = reader.ValueTextEquals("metadata"u8);
                reader.Read();
                if (isMetadata && reader.TokenType == JsonTokenType.StartObject)
                {
                    var insertAt = (int)reader.TokenStartIndex + 1;
                    var empty = stored[insertAt] == (byte)'}';
                    output.Write(stored[..insertAt]);
                    output.Write("\"resourceVersion\":\""u8);
                    output.Write(version);
                    output.Write(empty ? "\""u8 : "\","u8);
                    output.Write(stored[insertAt..]);
                    return;
                }
                reader.Skip();
            }
        }
        // No metadata object (never the case for objects the API server wrote): add one before the closing brace.
        var end = stored.LastIndexOf((byte)'}');
        output.Write(stored[..end]);
        output.Write(end > 1 ? ",\"metadata\":{\"resourceVersion\":\""u8 : "\"metadata\":{\"resourceVersion\":\""u8);
        output.Write(version);
        output.Write("\"}}"u8);
    }
}
