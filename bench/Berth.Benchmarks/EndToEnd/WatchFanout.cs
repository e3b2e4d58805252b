using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Http.Headers;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>Watch delivery latency for one run: per (watcher, update) pair, in milliseconds.</summary>
internal sealed record WatchResult(int Watchers, int Updates, Samples FromResponse, Samples FromRequest, Samples WriteLatency, int Missing, TimeSpan Elapsed);

/// <summary>
/// N watch streams on the configmaps of a namespace, then a paced series of updates to one ConfigMap. Each watcher
/// timestamps every line as it arrives and keys it by the object's resourceVersion, which the update's response
/// also carries; the delivery latency is arrival minus the moment the writer had read the update's response.
/// A negative value means the event reached the watcher before the writer had the response.
/// </summary>
internal static class WatchFanout
{
    private static readonly byte[] s_resourceVersion = "\"resourceVersion\":\""u8.ToArray();

    public static async Task<WatchResult> RunAsync(BerthProcess server, string ns, int watchers, int updates, TimeSpan spacing, TimeSpan cap, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(cap);
        var token = deadline.Token;
        var collection = $"/api/v1/namespaces/{ns}/configmaps";
        var name = $"watched-by-{watchers}";

        using var writer = server.CreateClient(1);
        var created = await Http.SendJsonAsync(writer, HttpMethod.Post, collection, $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}"},"data":{"seq":"start"}}""", null, token).ConfigureAwait(false);
        var fromRv = Http.ResourceVersion(created);

        using var watchClient = server.CreateClient(watchers + 1, Timeout.InfiniteTimeSpan);
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(token);
        var streams = new Watcher[watchers];
        // From just before the create: the replayed ADDED event makes the server send its response headers at once
        // (berth holds them back until the first event, where upstream flushes them as the watch starts).
        var url = $"{collection}?watch=true&resourceVersion={fromRv - 1}";
        for (var i = 0; i < watchers; i++)
        {
            streams[i] = new Watcher();
        }
        // Open every stream (response headers received) before the first write, so the first updates do not
        // measure connection setup. Watching from a past revision replays anything missed, so no event is lost.
        var responses = await Task.WhenAll(streams.Select(_ => OpenAsync(watchClient, url, token))).ConfigureAwait(false);
        var readers = streams.Select((w, i) => w.ReadAsync(responses[i], stopWatching.Token)).ToArray();

        var sent = new List<(long Rv, long RequestAt, long ResponseAt)>(updates);
        var path = $"{collection}/{name}";
        for (var i = 0; i < updates; i++)
        {
            var requestAt = Stopwatch.GetTimestamp();
            var body = await Http.SendJsonAsync(writer, HttpMethod.Patch, path, $$$"""{"data":{"seq":"{{{i}}}"}}""", "application/merge-patch+json", token).ConfigureAwait(false);
            var responseAt = Stopwatch.GetTimestamp();
            sent.Add((Http.ResourceVersion(body), requestAt, responseAt));
            await Task.Delay(spacing, token).ConfigureAwait(false);
        }

        // Wait (bounded by the cap) until every watcher saw the last update.
        var last = sent[^1].Rv;
        while (!token.IsCancellationRequested && streams.Any(s => Volatile.Read(ref s.MaxRv) < last))
        {
            try
            {
                await Task.Delay(10, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                break;
            }
        }
        await stopWatching.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(readers).ConfigureAwait(false);
        foreach (var response in responses)
        {
            response.Dispose();
        }

        var fromResponse = new List<double>(watchers * updates);
        var fromRequest = new List<double>(watchers * updates);
        var missing = 0;
        foreach (var stream in streams)
        {
            foreach (var (rv, requestAt, responseAt) in sent)
            {
                if (stream.Arrivals.TryGetValue(rv, out var at))
                {
                    fromResponse.Add(Stopwatch.GetElapsedTime(responseAt, at).TotalMilliseconds);
                    fromRequest.Add(Stopwatch.GetElapsedTime(requestAt, at).TotalMilliseconds);
                }
                else
                {
                    missing++;
                }
            }
        }
        var writes = new Samples(sent.Select(s => Stopwatch.GetElapsedTime(s.RequestAt, s.ResponseAt).TotalMilliseconds));
        return new WatchResult(watchers, updates, new Samples(fromResponse), new Samples(fromRequest), writes, missing, Stopwatch.GetElapsedTime(started));
    }

    private static async Task<HttpResponseMessage> OpenAsync(HttpClient client, string url, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            response.Dispose();
            throw new HttpRequestException($"watch {url}: {(int)response.StatusCode} {text}");
        }
        return response;
    }

    private sealed class Watcher
    {
        public long MaxRv;

        /// <summary>Stopwatch timestamp at which the event for each resourceVersion arrived; written by the reader only.</summary>
        public Dictionary<long, long> Arrivals { get; } = [];

        public async Task ReadAsync(HttpResponseMessage response, CancellationToken ct)
        {
            try
            {
                var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                var reader = PipeReader.Create(stream);
                while (true)
                {
                    var result = await reader.ReadAsync(ct).ConfigureAwait(false);
                    // One timestamp per read: every line in this buffer arrived together.
                    var now = Stopwatch.GetTimestamp();
                    var buffer = result.Buffer;
                    while (TryReadLine(ref buffer, out var line))
                    {
                        if (TryResourceVersion(line, out var rv))
                        {
                            Arrivals.TryAdd(rv, now);
                            if (rv > MaxRv)
                            {
                                Volatile.Write(ref MaxRv, rv);
                            }
                        }
                    }
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        return;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException && ct.IsCancellationRequested)
            {
                // The run is over.
            }
        }

        private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
        {
            var newline = buffer.PositionOf((byte)'\n');
            if (newline is null)
            {
                line = default;
                return false;
            }
            line = buffer.Slice(0, newline.Value);
            buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
            return true;
        }

        private static bool TryResourceVersion(ReadOnlySequence<byte> line, out long rv)
        {
            ReadOnlySpan<byte> span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
            var at = span.IndexOf(s_resourceVersion);
            rv = 0;
            return at >= 0 && Utf8Parser.TryParse(span[(at + s_resourceVersion.Length)..], out rv, out _);
        }
    }
}
