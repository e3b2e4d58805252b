using System.Buffers;
using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Text;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>Small helpers for JSON requests against the Kubernetes REST surface.</summary>
internal static class Http
{
    private static readonly byte[] s_resourceVersion = "\"resourceVersion\":\""u8.ToArray();

    /// <summary>Sends a JSON body and returns the response body; anything but 2xx throws with the server's Status.</summary>
    public static async Task<byte[]> SendJsonAsync(HttpClient client, HttpMethod method, string path, string json, string? contentType, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/json");
        using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{method} {path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }
        return body;
    }

    /// <summary>GET with an Accept header; returns the body length (the body is read fully).</summary>
    public static async Task<long> GetAsync(HttpClient client, string path, string accept, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
        }
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                total += read;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>metadata.resourceVersion of an object body: the first resourceVersion in it.</summary>
    public static long ResourceVersion(ReadOnlySpan<byte> body)
    {
        var at = body.IndexOf(s_resourceVersion);
        return at >= 0 && Utf8Parser.TryParse(body[(at + s_resourceVersion.Length)..], out long rv, out _)
            ? rv
            : throw new InvalidOperationException($"no resourceVersion in {Encoding.UTF8.GetString(body)}");
    }
}
