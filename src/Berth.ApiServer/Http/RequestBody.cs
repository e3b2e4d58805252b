using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Serialization;
using Berth.Api.Serialization.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

/// <summary>Reads a request body into JSON, whatever format kubectl sent it in. Bad input is a 400, never a 500.</summary>
public static class RequestBody
{
    /// <summary>Upstream's limit for a request body (apiserver MaxRequestBodyBytes).</summary>
    public const int MaxBytes = 3 * 1024 * 1024;

    public static async Task<byte[]> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes)
        {
            throw TooLarge();
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                throw TooLarge();
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>Parses an object body (create/update) sent as JSON, YAML or Kubernetes protobuf.</summary>
    public static JsonObject ParseObject(string? contentType, byte[] body)
    {
        var essence = MediaTypes.Essence(contentType);
        if (body.Length == 0)
        {
            throw ApiException.BadRequest("the request body is empty");
        }
        switch (essence)
        {
            case MediaTypes.Protobuf:
                if (!KubeProtobuf.TryDecode(body, out var decoded, out var error) || decoded is null)
                {
                    throw ApiException.BadRequest($"the body of the request could not be decoded as protobuf: {error}");
                }
                return decoded;
            case MediaTypes.Yaml or "application/x-yaml" or "text/yaml" or MediaTypes.ApplyPatch:
                return ParseYamlObject(body);
            case MediaTypes.Json or "" or "text/plain" or "*/*":
                return ParseJson(body) as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
            default:
                throw ApiException.UnsupportedMediaType(contentType ?? "");
        }
    }

    /// <summary>
    /// Parses JSON with Go's rule for repeated keys: the last one wins (strict field validation reports them
    /// separately, from the raw bytes). A JsonObject built by JsonNode.Parse would throw on them instead.
    /// </summary>
    public static JsonNode? ParseJson(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256, AllowDuplicateProperties = true });
            return ToNode(document.RootElement);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"couldn't get version/kind; json parse error: {ShortMessage(e.Message)}");
        }
    }

    /// <summary>A string field of a request (kind, apiVersion, preconditions...): absent is null, another type is a 400.</summary>
    public static string? OptionalString(JsonNode? node, string field) => node switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        _ => throw ApiException.BadRequest($"{field} must be a string, got {node.ToJsonString()}"),
    };

    private static JsonNode? ToNode(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[property.Name] = ToNode(property.Value);
                }
                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToNode(item));
                }
                return array;
            case JsonValueKind.Null:
                return null;
            default:
                return JsonValue.Create(element.Clone());
        }
    }

    // System.Text.Json appends " LineNumber: ... | BytePositionInLine: ..." which kubectl users cannot use.
    private static string ShortMessage(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }

    public static JsonObject ParseYamlObject(byte[] body)
    {
        IReadOnlyList<JsonNode> documents;
        try
        {
            documents = YamlJson.ParseDocuments(Encoding.UTF8.GetString(body));
        }
        catch (Exception e) when (e is not ApiException)
        {
            throw ApiException.BadRequest($"error converting YAML to JSON: {e.Message}");
        }
        if (documents.Count != 1 || documents[0] is not JsonObject obj)
        {
            throw ApiException.BadRequest("error converting YAML to JSON: the body must hold exactly one object");
        }
        return obj;
    }

    private static ApiException TooLarge() =>
        new(413, "RequestEntityTooLarge", $"Request entity too large: limit is {MaxBytes}");
}
