using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>A JSON watch the suites time events with: each event with its arrival timestamp, resumed if the server ends it.</summary>
internal static class JsonWatch
{
    /// <summary>Watches <paramref name="path"/> from <paramref name="fromRv"/> until <paramref name="ct"/> is cancelled.</summary>
    public static async Task RunAsync(HttpClient client, string path, string fromRv, Action<string, JsonElement, long> onEvent,
        Action<string> log, CancellationToken ct)
    {
        var rv = fromRv;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{path}?watch=true&resourceVersion={rv}&allowWatchBookmarks=false");
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), Encoding.UTF8);
                while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
                {
                    var now = Stopwatch.GetTimestamp();
                    if (line.Length == 0)
                    {
                        continue;
                    }
                    using var doc = JsonDocument.Parse(line);
                    var type = doc.RootElement.GetProperty("type").GetString()!;
                    var obj = doc.RootElement.GetProperty("object");
                    if (type == "ERROR")
                    {
                        throw new InvalidOperationException($"watch of {path} ended with {obj}");
                    }
                    rv = obj.GetProperty("metadata").GetProperty("resourceVersion").GetString()!;
                    onEvent(type, obj, now);
                }
                log($"the server ended the watch of {path}; resuming at {rv}");
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException && ct.IsCancellationRequested)
        {
            // The run is over.
        }
    }
}
