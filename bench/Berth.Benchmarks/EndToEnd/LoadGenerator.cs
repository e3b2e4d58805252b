using System.Diagnostics;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>Outcome of a closed-loop run: how many requests finished, in what wall time, and their latencies.</summary>
internal sealed record LoadResult(int Requested, int Completed, int Failed, TimeSpan Elapsed, Samples Latencies, string? FirstError)
{
    public double PerSecond => Completed / Elapsed.TotalSeconds;

    /// <summary>True when the time cap stopped the run before every request was sent.</summary>
    public bool Capped => Completed + Failed < Requested;
}

/// <summary>
/// Closed-loop load: <c>concurrency</c> workers, each with at most one request in flight, take the next request
/// index until <c>count</c> requests were sent or the time cap passes. In-flight requests always finish, so the
/// cap bounds the run without leaving half-sent requests behind.
/// </summary>
internal static class LoadGenerator
{
    private const int MaxFailures = 50;

    public static async Task<LoadResult> RunAsync(int count, int concurrency, TimeSpan cap, Func<int, CancellationToken, Task> request, CancellationToken ct)
    {
        var latencies = new double[count];
        Array.Fill(latencies, double.NaN);
        var next = -1;
        var completed = 0;
        var failed = 0;
        string? firstError = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(cap);

        var started = Stopwatch.GetTimestamp();
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= count)
                    {
                        return;
                    }
                    var t0 = Stopwatch.GetTimestamp();
                    try
                    {
                        await request(i, ct).ConfigureAwait(false);
                        latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                        Interlocked.Increment(ref completed);
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        Interlocked.CompareExchange(ref firstError, $"request {i}: {e.GetType().Name}: {e.Message}", null);
                        if (Interlocked.Increment(ref failed) >= MaxFailures)
                        {
                            await stop.CancelAsync().ConfigureAwait(false);
                        }
                    }
                }
            }, CancellationToken.None);
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        return new LoadResult(count, completed, failed, Stopwatch.GetElapsedTime(started), new Samples(latencies), firstError);
    }

    /// <summary>Opens <c>connections</c> connections (TLS handshakes included) before a timed run, so it measures requests, not handshakes.</summary>
    public static Task WarmUpAsync(HttpClient client, int connections, CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative), ct).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }));
}
