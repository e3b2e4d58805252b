using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public static class Respond
{
    public static Task JsonAsync(HttpContext http, int status, JsonNode body, string contentType = MediaTypes.Json) =>
        BytesAsync(http, status, JsonBytes.Of(body), contentType);

    public static async Task BytesAsync(HttpContext http, int status, ReadOnlyMemory<byte> body, string contentType = MediaTypes.Json)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = contentType;
        http.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await http.Response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
        }
    }

    public static Task StatusAsync(HttpContext http, ApiException error)
    {
        if (error.RetryAfterSeconds is { } retry)
        {
            http.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return JsonAsync(http, error.Code, error.ToStatus());
    }

    /// <summary>Warnings reach the user as "Warning: text" (RFC 7234 warn-code 299, as upstream).</summary>
    public static void AddWarning(HttpResponse response, string text)
    {
        var escaped = text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        var warning = $"299 - \"{escaped}\"";
        // Retried updates compute the same warnings again; say each once.
        if (!response.Headers["Warning"].Contains(warning))
        {
            response.Headers.Append("Warning", warning);
        }
    }
}
