using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// Pod startup through the node agent of a real `berth server` (docs/benchmarks.md, "Node agent: pod startup"):
/// create → Running and create → Ready per pod, against upstream's pod startup SLO (p99 ≤ 5 s) and, as the same-run
/// baseline, spawning the same program directly. Then memory with pods running and the time to delete them.
/// Bounded: every phase has a cap and the whole run a budget; the server (and with it every pod process) is
/// killed on the way out.
/// </summary>
internal sealed class PodStartupSuite : IAsyncDisposable
{
    private const string Pods = "/api/v1/namespaces/default/pods";
    private const int Concurrency = 10;
    private const double SloMs = 5000;

    private static readonly TimeSpan s_budget = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_nodeReadyCap = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_phaseCap = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(10);

    private readonly EndToEndOptions _options;
    private readonly int _count;
    private readonly CancellationToken _ct;
    private readonly string _root;
    private readonly ResultTable _table = new();
    private readonly List<string> _observations = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _loadAtStart = ProcFacts.LoadAverage();
    private readonly ConcurrentDictionary<string, PodTimes> _pods = new(StringComparer.Ordinal);
    private BerthProcess? _server;

    private PodStartupSuite(EndToEndOptions options, int count, CancellationToken ct)
    {
        _options = options;
        _count = count;
        _ct = ct;
        _root = Path.Combine(Path.GetTempPath(), $"berth-pods-{Guid.NewGuid():N}"[..22]);
        Directory.CreateDirectory(_root);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        EndToEndOptions options;
        var count = 100;
        try
        {
            var rest = new List<string>();
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == "--pods" && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out count) && count > 0)
                {
                    i++;
                }
                else if (args[i] is "--berth" or "--out")
                {
                    rest.Add(args[i]);
                    if (i + 1 < args.Length)
                    {
                        rest.Add(args[++i]);
                    }
                }
                else
                {
                    throw new ArgumentException($"unknown option \"{args[i]}\"");
                }
            }
            options = EndToEndOptions.Parse([.. rest]);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"pods: {e.Message}\n\nUsage: Berth.Benchmarks pods [--berth PATH] [--out FILE] [--pods N (default 100)]").ConfigureAwait(false);
            return 2;
        }

        return await SuiteRunner.RunAsync("pods", s_budget, options.Out, ct => new PodStartupSuite(options, count, ct), s => s.RunAllAsync(), ReportFailureAsync)
            .ConfigureAwait(false);
    }

    private static async Task ReportFailureAsync(PodStartupSuite s, Exception e)
    {
        await Console.Error.WriteLineAsync($"pods: failed after {s._clock.Elapsed.TotalSeconds:F0} s: {e}").ConfigureAwait(false);
        if (s._server is { } server)
        {
            await Console.Error.WriteLineAsync($"--- output of server {server.Pid} (last 8 KiB) ---\n{ProcFacts.Tail(server.Output, 8192)}").ConfigureAwait(false);
        }
    }

    private async Task<string> RunAllAsync()
    {
        Log($"berth binary: {_options.Berth}");
        var baseline = await SpawnBaselineAsync().ConfigureAwait(false);

        var started = Stopwatch.GetTimestamp();
        var dataDir = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        _server = await BerthProcess.StartServerAsync(_options.Berth, dataDir, s_startTimeout, _ct).ConfigureAwait(false);
        using var client = _server.CreateClient(Concurrency + 2);
        await WaitForReadyNodeAsync(client).ConfigureAwait(false);
        var nodeReady = Stopwatch.GetElapsedTime(started);
        await Task.Delay(TimeSpan.FromSeconds(1), _ct).ConfigureAwait(false); // let startup work settle before sampling
        var idleRss = _server.ReadRssBytes();
        Log($"node Ready {nodeReady.TotalMilliseconds:F0} ms after spawning the server; idle RSS {ResultTable.MiB(idleRss)}");

        using var watchClient = _server.CreateClient(1, Timeout.InfiniteTimeSpan);
        using var stopWatch = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var listRv = await ListResourceVersionAsync(client).ConfigureAwait(false);
        var watch = WatchAsync(watchClient, listRv, stopWatch.Token);

        // 1. Plain pods: create → Running with the container running.
        var sleepNames = Enumerable.Range(0, _count).Select(i => $"sleep-{i}").ToArray();
        await CreateAllAsync(client, sleepNames, readinessProbe: false).ConfigureAwait(false);
        await WaitAsync(sleepNames, t => t.RunningAt != 0, "Running").ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(1), _ct).ConfigureAwait(false);
        var rss100 = _server.ReadRssBytes();
        var podRss100 = ChildrenRss(_server.Pid);

        // 2. Pods with an exec readiness probe every second: create → Ready.
        var readyNames = Enumerable.Range(0, _count).Select(i => $"ready-{i}").ToArray();
        await CreateAllAsync(client, readyNames, readinessProbe: true).ConfigureAwait(false);
        await WaitAsync(readyNames, t => t.ReadyAt != 0, "Ready").ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(1), _ct).ConfigureAwait(false);
        var rss200 = _server.ReadRssBytes();
        var podRss200 = ChildrenRss(_server.Pid);

        // 3. Deletion: the plain pods, then the probed ones, each timed from the first DELETE to the last object gone.
        var deleteSleep = await DeleteAllAsync(client, sleepNames).ConfigureAwait(false);
        var deleteReady = await DeleteAllAsync(client, readyNames).ConfigureAwait(false);
        await stopWatch.CancelAsync().ConfigureAwait(false);
        await watch.ConfigureAwait(false);
        var rssAfter = _server.ReadRssBytes();

        Report(baseline, nodeReady, sleepNames, readyNames, (idleRss, rss100, rss200, rssAfter), (podRss100, podRss200), deleteSleep, deleteReady);
        await _server.StopAsync(s_stopGrace).ConfigureAwait(false);
        Log($"done in {_clock.Elapsed.TotalSeconds:F0} s");
        return Render();
    }

    // Baseline: what the same program costs to spawn directly, N times (Process.Start returns once exec succeeded).
    private async Task<(Samples Spawn, long Rss)> SpawnBaselineAsync()
    {
        var sleep = FindOnPath("sleep") ?? throw new InvalidOperationException("no `sleep` on PATH");
        var spawned = new List<Process>(_count);
        var times = new List<double>(_count);
        long rss = 0;
        try
        {
            for (var i = 0; i < _count; i++)
            {
                var at = Stopwatch.GetTimestamp();
                var process = Process.Start(new ProcessStartInfo(sleep, "3600") { UseShellExecute = false })!;
                times.Add(Stopwatch.GetElapsedTime(at).TotalMilliseconds);
                spawned.Add(process);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), _ct).ConfigureAwait(false);
            rss = spawned.Sum(p => ProcFacts.Rss(p.Id));
        }
        finally
        {
            foreach (var process in spawned)
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                process.Dispose();
            }
        }
        var samples = new Samples(times);
        Log($"baseline: Process.Start(sleep) x{_count}: p50 {ResultTable.Ms(samples.Median)}, p99 {ResultTable.Ms(samples.Percentile(99))}");
        return (samples, rss);
    }

    private async Task WaitForReadyNodeAsync(HttpClient client)
    {
        using var cap = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        cap.CancelAfter(s_nodeReadyCap);
        while (true)
        {
            using (var doc = JsonDocument.Parse(await client.GetByteArrayAsync("/api/v1/nodes", cap.Token).ConfigureAwait(false)))
            {
                foreach (var node in doc.RootElement.GetProperty("items").EnumerateArray())
                {
                    var hasCidr = node.TryGetProperty("spec", out var spec) && spec.TryGetProperty("podCIDR", out var cidr) && cidr.GetString() is { Length: > 0 };
                    if (hasCidr && IsTrue(node, "Ready"))
                    {
                        return;
                    }
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), cap.Token).ConfigureAwait(false);
        }
    }

    private async Task<string> ListResourceVersionAsync(HttpClient client)
    {
        using var doc = JsonDocument.Parse(await client.GetByteArrayAsync(Pods, _ct).ConfigureAwait(false));
        return doc.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString()!;
    }

    private Task CreateAllAsync(HttpClient client, string[] names, bool readinessProbe)
    {
        var probe = readinessProbe ? ""","readinessProbe":{"exec":{"command":["true"]},"initialDelaySeconds":0,"periodSeconds":1}""" : "";
        var options = new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = _ct };
        return Parallel.ForEachAsync(names, options, async (name, ct) =>
        {
            var json = $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","labels":{"bench":"pods"}},"spec":{"terminationGracePeriodSeconds":5,"containers":[{"name":"main","image":"busybox","command":["sleep","3600"]{{{probe}}}}]}}""";
            var times = _pods.GetOrAdd(name, _ => new PodTimes());
            times.CreateAt = Stopwatch.GetTimestamp();
            await Http.SendJsonAsync(client, HttpMethod.Post, Pods, json, null, ct).ConfigureAwait(false);
            times.CreatedAt = Stopwatch.GetTimestamp();
        });
    }

    private async Task WaitAsync(string[] names, Func<PodTimes, bool> done, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(s_phaseCap.TotalSeconds * Stopwatch.Frequency);
        while (names.Any(n => !done(_pods[n])))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                var missing = names.Count(n => !done(_pods[n]));
                _observations.Add($"{missing} of {names.Length} pods were not {what} within {s_phaseCap.TotalSeconds:F0} s");
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), _ct).ConfigureAwait(false);
        }
        Log($"all {names.Length} pods {what}");
    }

    private async Task<double> DeleteAllAsync(HttpClient client, string[] names)
    {
        var started = Stopwatch.GetTimestamp();
        var options = new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = _ct };
        await Parallel.ForEachAsync(names, options, async (name, ct) =>
        {
            using var response = await client.DeleteAsync($"{Pods}/{name}", ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.NotFound)
            {
                throw new HttpRequestException($"DELETE {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
            }
        }).ConfigureAwait(false);
        await WaitAsync(names, t => t.DeletedAt != 0, "gone").ConfigureAwait(false);
        var last = names.Max(n => _pods[n].DeletedAt);
        var total = names.All(n => _pods[n].DeletedAt != 0) ? Stopwatch.GetElapsedTime(started, last).TotalMilliseconds : double.NaN;
        Log($"deleted {names.Length} pods in {ResultTable.Ms(total)}");
        return total;
    }

    // One watch over the namespace's pods: the arrival time of the first event showing each milestone.
    private async Task WatchAsync(HttpClient client, string fromRv, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{Pods}?watch=true&resourceVersion={fromRv}&allowWatchBookmarks=false");
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
                var type = doc.RootElement.GetProperty("type").GetString();
                var pod = doc.RootElement.GetProperty("object");
                var name = pod.GetProperty("metadata").GetProperty("name").GetString()!;
                var times = _pods.GetOrAdd(name, _ => new PodTimes());
                if (type == "DELETED")
                {
                    times.DeletedAt = times.DeletedAt == 0 ? now : times.DeletedAt;
                    continue;
                }
                if (times.RunningAt == 0 && IsRunning(pod))
                {
                    times.RunningAt = now;
                }
                if (times.ReadyAt == 0 && IsTrue(pod, "Ready"))
                {
                    times.ReadyAt = now;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException && ct.IsCancellationRequested)
        {
            // The run is over.
        }
    }

    private static bool IsRunning(JsonElement pod) =>
        pod.TryGetProperty("status", out var status)
        && status.TryGetProperty("phase", out var phase) && phase.GetString() == "Running"
        && status.TryGetProperty("containerStatuses", out var containers)
        && containers.EnumerateArray().Any(c => c.TryGetProperty("state", out var state) && state.TryGetProperty("running", out _));

    private static bool IsTrue(JsonElement obj, string conditionType) =>
        obj.TryGetProperty("status", out var status)
        && status.TryGetProperty("conditions", out var conditions)
        && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == conditionType && c.GetProperty("status").GetString() == "True");

    private void Report((Samples Spawn, long Rss) baseline, TimeSpan nodeReady, string[] sleepNames, string[] readyNames,
        (long Idle, long With100, long With200, long After) rss, (long With100, long With200) podRss, double deleteSleep, double deleteReady)
    {
        double Since(long from, long to) => from == 0 || to == 0 ? double.NaN : Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
        var running = new Samples(sleepNames.Select(n => Since(_pods[n].CreateAt, _pods[n].RunningAt)));
        var createCall = new Samples(sleepNames.Select(n => Since(_pods[n].CreateAt, _pods[n].CreatedAt)));
        var ready = new Samples(readyNames.Select(n => Since(_pods[n].CreateAt, _pods[n].ReadyAt)));
        var readyRunning = new Samples(readyNames.Select(n => Since(_pods[n].CreateAt, _pods[n].RunningAt)));
        var spawn = baseline.Spawn;
        var spawnText = $"{ResultTable.Ms(spawn.Median)} p50 / {ResultTable.Ms(spawn.Percentile(99))} p99 (`Process.Start(sleep)`, {spawn.Count}×)";
        var n = sleepNames.Length;

        _table.Add("1a", $"Pod create → Running, {running.Count} of {n} pods, {Concurrency} concurrent creates: p50", ResultTable.Ms(running.Median),
            spawnText, ResultTable.Ratio(running.Median, spawn.Median),
            $"from the client's POST to the watch event with phase Running and the container running; the POST itself p50 {ResultTable.Ms(createCall.Median)}");
        _table.Add("1b", "Pod create → Running: p99", ResultTable.Ms(running.Percentile(99)), "5000 ms (upstream pod startup SLO, p99)",
            ResultTable.Ratio(running.Percentile(99), SloMs), $"max {ResultTable.Ms(running.Max)}; min {ResultTable.Ms(running.Min)}");
        _table.Add("2a", $"Pod with exec readiness probe (`true`, every 1 s) create → Ready, {ready.Count} of {readyNames.Length}: p50", ResultTable.Ms(ready.Median),
            spawnText, ResultTable.Ratio(ready.Median, spawn.Median), $"create → Running p50 {ResultTable.Ms(readyRunning.Median)}; {n} other pods running meanwhile");
        _table.Add("2b", "Pod create → Ready: p99", ResultTable.Ms(ready.Percentile(99)), "5000 ms (upstream pod startup SLO, p99)",
            ResultTable.Ratio(ready.Percentile(99), SloMs), $"max {ResultTable.Ms(ready.Max)}");
        _table.Add("3a", $"Delete {n} running pods (DELETE ×{n}, {Concurrency} concurrent) until every object is gone", ResultTable.Ms(deleteSleep),
            "", "", "graceful: SIGTERM to `sleep`, final status, the agent deletes the object; timed to the last DELETED watch event");
        _table.Add("3b", $"Delete {readyNames.Length} probed pods until gone", ResultTable.Ms(deleteReady), "", "", "");
        _table.Add("4a", "berth RSS, node Ready, no pods", ResultTable.MiB(rss.Idle), "", "",
            $"API server + scheduler + node IPAM + node agent in one process; node Ready {nodeReady.TotalMilliseconds:F0} ms after spawning it");
        _table.Add("4b", $"berth RSS with {n} pods running", ResultTable.MiB(rss.With100), ResultTable.MiB(rss.Idle) + " (idle)",
            ResultTable.Ratio(rss.With100, rss.Idle), $"+{ResultTable.MiB(rss.With100 - rss.Idle)}, {(rss.With100 - rss.Idle) / 1024.0 / n:F0} KiB per pod");
        _table.Add("4c", $"berth RSS with {n + readyNames.Length} pods running (half probed every second)", ResultTable.MiB(rss.With200), ResultTable.MiB(rss.Idle) + " (idle)",
            ResultTable.Ratio(rss.With200, rss.Idle), $"after deleting them all: {ResultTable.MiB(rss.After)}");
        _table.Add("4d", $"RSS of the pods' own processes ({n} / {n + readyNames.Length} pods), for information", $"{ResultTable.MiB(podRss.With100)} / {ResultTable.MiB(podRss.With200)}",
            $"{ResultTable.MiB(baseline.Rss)} ({spawn.Count} `sleep` spawned directly)", ResultTable.Ratio(podRss.With100, baseline.Rss), "direct children of the berth process");
    }

    private string Render()
    {
        var sb = new StringBuilder()
            .Append("## Berth node agent: pod startup\n\n")
            .Append(CultureInfo.InvariantCulture, $"- when: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; whole run {_clock.Elapsed.TotalSeconds:F0} s\n")
            .Append(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}\n")
            .Append(CultureInfo.InvariantCulture, $"- load average (1/5/15 min) at the start: {_loadAtStart}, at the end: {ProcFacts.LoadAverage()}\n")
            .Append(CultureInfo.InvariantCulture, $"- `berth server` ({_options.Berth}) on 127.0.0.1, pods in `default`, HTTP/1.1 over TLS with the bearer token, one watch on the pods\n\n")
            .Append(_table.ToMarkdown(_observations));
        return sb.ToString();
    }

    // Sum of VmRSS of the direct children of a process (the pods' main processes; `sleep` forks nothing).
    private static long ChildrenRss(int parent) => ProcFacts.Children(parent).Sum(child => ProcFacts.Rss(child.Pid));

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    private void Log(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,5:F1}s] {message}"));

    private void OnProcessExit(object? sender, EventArgs e)
    {
        _server?.Kill();
        DeleteRoot();
    }

    private void DeleteRoot()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"pods: could not remove {_root}: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        DeleteRoot();
    }

    /// <summary>Stopwatch timestamps of one pod's milestones (0 = not yet); each written by one party.</summary>
    private sealed class PodTimes
    {
        public long CreateAt;
        public long CreatedAt;
        public long RunningAt;
        public long ReadyAt;
        public long DeletedAt;
    }
}
