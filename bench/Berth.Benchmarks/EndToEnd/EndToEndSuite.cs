using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// End-to-end benchmarks of the real `berth server` on loopback (docs/benchmarks.md explains every figure).
/// Every figure has a baseline measured in the same run on the same machine, so the ratios are what to compare
/// across machines; the absolute numbers drift on shared hardware. Every phase is bounded in count and time, and
/// every process and data directory is removed on the way out, also on failure.
/// </summary>
internal sealed class EndToEndSuite : IAsyncDisposable
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";
    private const string TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    private const int ListSamples = 100;
    private const int GetSamples = 1000;

    private static readonly int[] s_concurrency = [1, 16, 64];
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_createCap = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan s_healthzCap = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan s_listCap = TimeSpan.FromSeconds(12);
    private static readonly TimeSpan s_getCap = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_watchCap = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_updateSpacing = TimeSpan.FromMilliseconds(10);

    private readonly EndToEndOptions _options;
    private readonly CancellationToken _ct;
    private readonly string _root;
    private readonly List<BerthProcess> _servers = [];
    private readonly ResultTable _table = new();
    private readonly List<string> _observations = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _loadAtStart = ProcFacts.LoadAverage();
    private int _dirs;

    private EndToEndSuite(EndToEndOptions options, CancellationToken ct)
    {
        _options = options;
        _ct = ct;
        _root = Path.Combine(Path.GetTempPath(), $"berth-bench-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(_root);
        // Last resort for exits that skip the finally blocks (Environment.Exit, an unhandled exception elsewhere).
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        foreach (var server in _servers.ToArray())
        {
            server.Kill();
        }
        DeleteDir(_root);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        EndToEndOptions options;
        try
        {
            options = EndToEndOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"e2e: {e.Message}\n\n{EndToEndOptions.Usage}").ConfigureAwait(false);
            return 2;
        }
        using var cts = new CancellationTokenSource();
        // Ctrl+C or SIGTERM: stop measuring and clean up (the finally blocks stop the servers and remove their
        // data dirs) instead of dying mid-run and leaving servers behind.
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            cts.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await using var suite = new EndToEndSuite(options, cts.Token);
        try
        {
            var markdown = await suite.RunAllAsync().ConfigureAwait(false);
            Console.Write(markdown);
            if (options.Out is { } path)
            {
                await File.WriteAllTextAsync(path, markdown, CancellationToken.None).ConfigureAwait(false);
                await Console.Error.WriteLineAsync($"e2e: results written to {path}").ConfigureAwait(false);
            }
            return 0;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("e2e: cancelled").ConfigureAwait(false);
            return 130;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"e2e: failed after {suite._clock.Elapsed.TotalSeconds:F0} s: {e}").ConfigureAwait(false);
            foreach (var server in suite._servers)
            {
                await Console.Error.WriteLineAsync($"--- output of server {server.Pid} ---\n{server.Output}").ConfigureAwait(false);
            }
            return 1;
        }
    }

    private async Task<string> RunAllAsync()
    {
        Log($"berth binary: {_options.Berth}");
        Log($"scratch data dirs under {_root}");
        await TimeToReadyAsync().ConfigureAwait(false);
        var loaded = await CreateThroughputAsync().ConfigureAwait(false);
        await ListLatencyAsync(loaded).ConfigureAwait(false);
        await WatchLatencyAsync(loaded).ConfigureAwait(false);
        await RestartWithObjectsAsync(loaded).ConfigureAwait(false);
        await ServiceCreatesAsync().ConfigureAwait(false);
        Log($"done in {_clock.Elapsed.TotalSeconds:F0} s");
        return Render();
    }

    // 1. Process start to the ready line; the baseline is the same binary's `berth version` (exec + runtime startup).
    private TimeSpan _warmRestartMedian;

    private async Task TimeToReadyAsync()
    {
        await BerthProcess.TimeVersionAsync(_options.Berth, s_startTimeout, _ct).ConfigureAwait(false); // page cache warm-up, not timed
        var version = new List<double>();
        for (var i = 0; i < _options.Starts; i++)
        {
            version.Add((await BerthProcess.TimeVersionAsync(_options.Berth, s_startTimeout, _ct).ConfigureAwait(false)).TotalMilliseconds);
        }

        var cold = new List<double>();
        var coldSelf = new List<double>();
        string? reused = null;
        for (var i = 0; i < _options.Starts; i++)
        {
            var dir = NewDataDir();
            var server = await StartAsync(dir).ConfigureAwait(false);
            cold.Add(server.TimeToLine.TotalMilliseconds);
            coldSelf.Add(server.SelfReportedMs ?? double.NaN);
            await StopAsync(server).ConfigureAwait(false);
            if (reused is null)
            {
                reused = dir;
            }
            else
            {
                DeleteDir(dir);
            }
        }

        var warm = new List<double>();
        var warmSelf = new List<double>();
        for (var i = 0; i < _options.Starts; i++)
        {
            var server = await StartAsync(reused!).ConfigureAwait(false);
            warm.Add(server.TimeToLine.TotalMilliseconds);
            warmSelf.Add(server.SelfReportedMs ?? double.NaN);
            await StopAsync(server).ConfigureAwait(false);
        }
        DeleteDir(reused!);

        var v = new Samples(version);
        var c = new Samples(cold);
        var w = new Samples(warm);
        _warmRestartMedian = TimeSpan.FromMilliseconds(w.Median);
        _table.Add("1a", $"Time to ready, cold start on a fresh data dir (median of {c.Count})", ResultTable.Ms(c.Median),
            $"{ResultTable.Ms(v.Median)} (`berth version`, median of {v.Count})", ResultTable.Ratio(c.Median, v.Median),
            $"range {ResultTable.Ms(c.Min)}–{ResultTable.Ms(c.Max)}; server's own figure (from Main) {ResultTable.Ms(new Samples(coldSelf).Median)}; includes generating the CA, serving cert and token");
        _table.Add("1b", $"Time to ready, warm restart on an existing data dir (median of {w.Count})", ResultTable.Ms(w.Median),
            $"{ResultTable.Ms(v.Median)} (`berth version`)", ResultTable.Ratio(w.Median, v.Median),
            $"range {ResultTable.Ms(w.Min)}–{ResultTable.Ms(w.Max)}; server's own figure {ResultTable.Ms(new Samples(warmSelf).Median)}; previous run stopped with SIGTERM");
        Log($"time to ready: cold {ResultTable.Ms(c.Median)}, warm {ResultTable.Ms(w.Median)}, `berth version` {ResultTable.Ms(v.Median)}");
    }

    // 2. Durable creates against /healthz at the same count and concurrency; each level on a fresh server.
    private async Task<(BerthProcess Server, int Objects, long IdleRss)> CreateThroughputAsync()
    {
        BerthProcess? last = null;
        long idleRss = 0;
        var objects = 0;
        foreach (var concurrency in s_concurrency)
        {
            var server = await StartAsync(NewDataDir()).ConfigureAwait(false);
            if (concurrency == s_concurrency[^1])
            {
                // Idle: let startup work (JIT, tiering, GC) settle before sampling.
                await Task.Delay(TimeSpan.FromSeconds(1), _ct).ConfigureAwait(false);
                idleRss = server.ReadRssBytes();
            }
            using var client = server.CreateClient(concurrency);
            await LoadGenerator.WarmUpAsync(client, concurrency, _ct).ConfigureAwait(false);
            var healthz = await LoadGenerator.RunAsync(_options.Objects, concurrency, s_healthzCap,
                (_, ct) => Http.GetAsync(client, "/healthz", "*/*", ct), _ct).ConfigureAwait(false);
            var creates = await LoadGenerator.RunAsync(_options.Objects, concurrency, s_createCap,
                (i, ct) => Http.SendJsonAsync(client, HttpMethod.Post, ConfigMaps, ConfigMap(i), null, ct), _ct).ConfigureAwait(false);

            _table.Add($"2{(char)('a' + Array.IndexOf(s_concurrency, concurrency))}",
                $"Create ConfigMap, durable, {concurrency} connection{(concurrency == 1 ? "" : "s")}",
                ResultTable.Rate(creates.PerSecond), $"{ResultTable.Rate(healthz.PerSecond)} (`GET /healthz`)",
                ResultTable.Ratio(creates.PerSecond, healthz.PerSecond),
                $"{Describe(creates)}; healthz p50 {ResultTable.Ms(healthz.Latencies.Median)}");
            Log($"creates x{concurrency}: {ResultTable.Rate(creates.PerSecond)} ({Describe(creates)}); healthz {ResultTable.Rate(healthz.PerSecond)}");
            Observe(creates, $"create at concurrency {concurrency}");
            Observe(healthz, $"healthz at concurrency {concurrency}");

            if (concurrency == s_concurrency[^1])
            {
                last = server;
                objects = creates.Completed;
            }
            else
            {
                await StopAsync(server).ConfigureAwait(false);
                DeleteDir(server.DataDir);
            }
        }
        return (last!, objects, idleRss);
    }

    // 3 and 5. List latency at N objects against a single-object GET, and the RSS it costs.
    private async Task ListLatencyAsync((BerthProcess Server, int Objects, long IdleRss) loaded)
    {
        var server = loaded.Server;
        var afterCreates = server.ReadRssBytes();
        using var client = server.CreateClient(1);

        // Sanity: the list really holds what was created (catches a server that pages or truncates silently).
        using (var check = new HttpRequestMessage(HttpMethod.Get, ConfigMaps))
        using (var response = await client.SendAsync(check, _ct).ConfigureAwait(false))
        {
            response.EnsureSuccessStatusCode();
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(_ct).ConfigureAwait(false), cancellationToken: _ct).ConfigureAwait(false);
            var items = doc.RootElement.GetProperty("items").GetArrayLength();
            if (items != loaded.Objects)
            {
                _observations.Add($"the list returned {items} items after {loaded.Objects} successful creates");
            }
        }

        long jsonBytes = 0;
        long tableBytes = 0;
        await Http.GetAsync(client, ConfigMaps, TableAccept, _ct).ConfigureAwait(false);
        var json = await LoadGenerator.RunAsync(ListSamples, 1, s_listCap,
            async (_, ct) => jsonBytes = await Http.GetAsync(client, ConfigMaps, "application/json", ct).ConfigureAwait(false), _ct).ConfigureAwait(false);
        var table = await LoadGenerator.RunAsync(ListSamples, 1, s_listCap,
            async (_, ct) => tableBytes = await Http.GetAsync(client, ConfigMaps, TableAccept, ct).ConfigureAwait(false), _ct).ConfigureAwait(false);
        var one = await LoadGenerator.RunAsync(GetSamples, 1, s_getCap,
            (_, ct) => Http.GetAsync(client, $"{ConfigMaps}/{Name(0)}", "application/json", ct), _ct).ConfigureAwait(false);
        var afterList = server.ReadRssBytes();
        Observe(json, "list (JSON)");
        Observe(table, "list (Table)");
        Observe(one, "single GET");

        var single = one.Latencies;
        foreach (var (id, label, result, bytes) in new[] { ("3a", "JSON", json, jsonBytes), ("3b", "kubectl Table", table, tableBytes) })
        {
            var l = result.Latencies;
            _table.Add($"{id}", $"List {loaded.Objects:N0} ConfigMaps, {label}: p50", ResultTable.Ms(l.Median),
                $"{ResultTable.Ms(single.Median)} (GET one object, p50 of {single.Count})", ResultTable.Ratio(l.Median, single.Median),
                $"n={l.Count}; {bytes / 1048576.0:F1} MiB per response; {l.Count / result.Elapsed.TotalSeconds:F1} lists/s");
            _table.Add($"{id}′", $"List {loaded.Objects:N0} ConfigMaps, {label}: p99", ResultTable.Ms(l.Percentile(99)),
                $"{ResultTable.Ms(single.Percentile(99))} (GET one object, p99)", ResultTable.Ratio(l.Percentile(99), single.Percentile(99)),
                $"max {ResultTable.Ms(l.Max)}");
            Log($"list {label}: p50 {ResultTable.Ms(l.Median)} p99 {ResultTable.Ms(l.Percentile(99))} ({bytes:N0} bytes); single GET p50 {ResultTable.Ms(single.Median)}");
        }

        _table.Add("5a", "RSS idle after start (fresh data dir)", ResultTable.MiB(loaded.IdleRss), "—", "—", "VmRSS 1 s after the ready line");
        _table.Add("5b", $"RSS after {loaded.Objects:N0} creates", ResultTable.MiB(afterCreates), $"{ResultTable.MiB(loaded.IdleRss)} (idle)",
            ResultTable.Ratio(afterCreates, loaded.IdleRss),
            string.Create(CultureInfo.InvariantCulture, $"{(afterCreates - loaded.IdleRss) / (double)Math.Max(1, loaded.Objects):F0} bytes per object above idle"));
        _table.Add("5c", "RSS after the full lists above", ResultTable.MiB(afterList), $"{ResultTable.MiB(loaded.IdleRss)} (idle)",
            ResultTable.Ratio(afterList, loaded.IdleRss), "after the JSON and Table lists of every object");
        Log($"rss: idle {ResultTable.MiB(loaded.IdleRss)}, after creates {ResultTable.MiB(afterCreates)}, after lists {ResultTable.MiB(afterList)}");
    }

    // 4. Watch fan-out: the same update stream to 1 watcher (baseline) and to N.
    private async Task WatchLatencyAsync((BerthProcess Server, int Objects, long IdleRss) loaded)
    {
        var one = await WatchFanout.RunAsync(loaded.Server, "default", 1, _options.Updates, s_updateSpacing, s_watchCap, _ct).ConfigureAwait(false);
        var many = await WatchFanout.RunAsync(loaded.Server, "default", _options.Watchers, _options.Updates, s_updateSpacing, s_watchCap, _ct).ConfigureAwait(false);
        foreach (var (suffix, label, pick) in new (string, string, Func<Samples, double>)[]
        {
            ("", "p50", s => s.Median),
            ("′", "p99", s => s.Percentile(99)),
            ("″", "max", s => s.Max),
        })
        {
            _table.Add($"4{suffix}", $"Watch delivery, {many.Watchers} watchers: {label}", ResultTable.Ms(pick(many.FromResponse)),
                $"{ResultTable.Ms(pick(one.FromResponse))} (1 watcher)", ResultTable.Ratio(pick(many.FromResponse), pick(one.FromResponse)),
                suffix == ""
                    ? $"{many.Updates} updates × {many.Watchers} watchers = {many.FromResponse.Count} deliveries, {many.Missing} missing; from the update's request: p50 {ResultTable.Ms(many.FromRequest.Median)} (1 watcher {ResultTable.Ms(one.FromRequest.Median)})"
                    : suffix == "′"
                        ? $"from the update's request: p99 {ResultTable.Ms(many.FromRequest.Percentile(99))} (1 watcher {ResultTable.Ms(one.FromRequest.Percentile(99))})"
                        : $"update (PATCH) latency while watched: p50 {ResultTable.Ms(many.WriteLatency.Median)}, p99 {ResultTable.Ms(many.WriteLatency.Percentile(99))} (1 watcher: {ResultTable.Ms(one.WriteLatency.Median)}, {ResultTable.Ms(one.WriteLatency.Percentile(99))})");
        }
        if (one.Missing + many.Missing > 0)
        {
            _observations.Add($"watch: {one.Missing} (1 watcher) and {many.Missing} ({many.Watchers} watchers) events never arrived within {s_watchCap.TotalSeconds:F0} s");
        }
        Log($"watch: {many.Watchers} watchers p50 {ResultTable.Ms(many.FromResponse.Median)} p99 {ResultTable.Ms(many.FromResponse.Percentile(99))} max {ResultTable.Ms(many.FromResponse.Max)}; 1 watcher p50 {ResultTable.Ms(one.FromResponse.Median)}");
    }

    // Extra: does startup time grow with the data? Restart on the loaded dir against the small-dir warm restart.
    private async Task RestartWithObjectsAsync((BerthProcess Server, int Objects, long IdleRss) loaded)
    {
        var dir = loaded.Server.DataDir;
        await StopAsync(loaded.Server).ConfigureAwait(false);
        var times = new List<double>();
        long rss = 0;
        for (var i = 0; i < Math.Min(3, _options.Starts); i++)
        {
            var server = await StartAsync(dir).ConfigureAwait(false);
            times.Add(server.TimeToLine.TotalMilliseconds);
            if (i == 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _ct).ConfigureAwait(false);
                rss = server.ReadRssBytes();
            }
            await StopAsync(server).ConfigureAwait(false);
        }
        DeleteDir(dir);
        var t = new Samples(times);
        _table.Add("1c", $"Time to ready, restart with {loaded.Objects:N0} objects stored (median of {t.Count})", ResultTable.Ms(t.Median),
            $"{ResultTable.Ms(_warmRestartMedian.TotalMilliseconds)} (warm restart, near-empty dir)", ResultTable.Ratio(t.Median, _warmRestartMedian.TotalMilliseconds),
            $"RSS 1 s after ready: {ResultTable.MiB(rss)}");
        Log($"restart with {loaded.Objects} objects: {ResultTable.Ms(t.Median)}, idle RSS {ResultTable.MiB(rss)}");
    }

    private string Render()
    {
        var sb = new StringBuilder()
            .Append("## Berth end-to-end benchmark\n\n")
            .Append(CultureInfo.InvariantCulture, $"- when: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; whole run {_clock.Elapsed.TotalSeconds:F0} s\n")
            .Append(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores ({CpuModel()}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}\n")
            .Append(CultureInfo.InvariantCulture, $"- load average (1/5/15 min) at the start: {_loadAtStart}, at the end: {ProcFacts.LoadAverage()} (other work on the machine skews absolute figures, less so the ratios)\n")
            .Append(CultureInfo.InvariantCulture, $"- data dirs on {FileSystemOf(_root)} (durable commits fsync there)\n")
            .Append(CultureInfo.InvariantCulture, $"- server: {_options.Berth}; client and server on 127.0.0.1, HTTP/1.1 over TLS, bearer token\n\n");
        sb.Append(_table.ToMarkdown(_observations));
        return sb.ToString();
    }

    // 6. Service creates, which allocate a cluster IP and a nodePort (two more durable store writes each), against
    // ConfigMap creates of the same count and concurrency on the same server; then checks nothing was handed out twice.
    private const int ServiceCount = 2000;
    private const int ServiceConcurrency = 16;

    private async Task ServiceCreatesAsync()
    {
        var server = await StartAsync(NewDataDir()).ConfigureAwait(false);
        try
        {
            using var client = server.CreateClient(ServiceConcurrency);
            await LoadGenerator.WarmUpAsync(client, ServiceConcurrency, _ct).ConfigureAwait(false);
            var configMaps = await LoadGenerator.RunAsync(ServiceCount, ServiceConcurrency, s_createCap,
                (i, ct) => Http.SendJsonAsync(client, HttpMethod.Post, ConfigMaps, ConfigMap(i), null, ct), _ct).ConfigureAwait(false);
            var services = await LoadGenerator.RunAsync(ServiceCount, ServiceConcurrency, s_createCap,
                (i, ct) => Http.SendJsonAsync(client, HttpMethod.Post, "/api/v1/namespaces/default/services", NodePortService(i), null, ct), _ct).ConfigureAwait(false);
            Observe(configMaps, "ConfigMap creates before Service creates");
            Observe(services, "NodePort Service creates");

            var (ips, ports, count) = await DistinctAllocationsAsync(client).ConfigureAwait(false);
            if (ips != count || ports != count)
            {
                _observations.Add($"allocations not distinct: {count} Services, {ips} distinct cluster IPs, {ports} distinct nodePorts");
            }
            _table.Add("6a", $"Create NodePort Service (allocates a cluster IP and a nodePort), {ServiceConcurrency} connections",
                ResultTable.Rate(services.PerSecond), $"{ResultTable.Rate(configMaps.PerSecond)} (create ConfigMap, same server)",
                ResultTable.Ratio(services.PerSecond, configMaps.PerSecond),
                $"{Describe(services)}; ConfigMaps p50 {ResultTable.Ms(configMaps.Latencies.Median)}, p99 {ResultTable.Ms(configMaps.Latencies.Percentile(99))}; {ips:N0} distinct IPs and {ports:N0} distinct nodePorts for {count:N0} Services");
            Log($"service creates x{ServiceConcurrency}: {ResultTable.Rate(services.PerSecond)} ({Describe(services)}); configmaps {ResultTable.Rate(configMaps.PerSecond)}");
        }
        finally
        {
            await StopAsync(server).ConfigureAwait(false);
            DeleteDir(server.DataDir);
        }
    }

    private async Task<(int Ips, int Ports, int Count)> DistinctAllocationsAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/default/services?labelSelector=app%3Dbench");
        using var response = await client.SendAsync(request, _ct).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(_ct).ConfigureAwait(false), cancellationToken: _ct).ConfigureAwait(false);
        var ips = new HashSet<string>(StringComparer.Ordinal);
        var ports = new HashSet<int>();
        var count = 0;
        foreach (var item in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            count++;
            var spec = item.GetProperty("spec");
            ips.Add(spec.GetProperty("clusterIP").GetString()!);
            ports.Add(spec.GetProperty("ports")[0].GetProperty("nodePort").GetInt32());
        }
        return (ips.Count, ports.Count, count);
    }

    private static string NodePortService(int i) =>
        $$$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc-{{{i.ToString("D5", CultureInfo.InvariantCulture)}}}","labels":{"app":"bench"}},"spec":{"type":"NodePort","selector":{"app":"bench","shard":"s{{{i % 16}}}"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}""";

    private static string ConfigMap(int i) =>
        $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{Name(i)}}}","labels":{"app":"bench","shard":"s{{{i % 16}}}"}},"data":{"key":"value-{{{i}}}","config.yaml":"replicas: 3\nimage: example/app:1.0\nport: 8080\n"}}""";

    private static string Name(int i) => string.Create(CultureInfo.InvariantCulture, $"cm-{i:D5}");

    private static string Describe(LoadResult r)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{r.Completed:N0} in {r.Elapsed.TotalSeconds:F1} s, p50 {ResultTable.Ms(r.Latencies.Median)}, p99 {ResultTable.Ms(r.Latencies.Percentile(99))}");
        if (r.Capped)
        {
            text += " (stopped by the time cap)";
        }
        return r.Failed > 0 ? $"{text}, {r.Failed} failed" : text;
    }

    private void Observe(LoadResult r, string what)
    {
        if (r.Failed > 0)
        {
            _observations.Add($"{what}: {r.Failed} of {r.Requested} requests failed; first: {r.FirstError}");
        }
        if (r.Capped)
        {
            _observations.Add($"{what}: stopped by the time cap after {r.Completed + r.Failed} of {r.Requested} requests");
        }
    }

    private async Task<BerthProcess> StartAsync(string dir)
    {
        var server = await BerthProcess.StartServerAsync(_options.Berth, dir, s_startTimeout, _ct).ConfigureAwait(false);
        _servers.Add(server);
        return server;
    }

    private async Task StopAsync(BerthProcess server)
    {
        await server.StopAsync(s_stopGrace).ConfigureAwait(false);
        _servers.Remove(server);
        await server.DisposeAsync().ConfigureAwait(false);
    }

    private string NewDataDir()
    {
        var dir = Path.Combine(_root, string.Create(CultureInfo.InvariantCulture, $"data-{++_dirs}"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void DeleteDir(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"e2e: could not remove {dir}: {e.Message}");
        }
    }

    private void Log(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,5:F1}s] {message}"));

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    /// <summary>The filesystem type of the mount holding <paramref name="path"/> (longest matching mount point).</summary>
    private static string FileSystemOf(string path)
    {
        try
        {
            var best = (Mount: "", Type: "unknown filesystem");
            foreach (var line in File.ReadLines("/proc/mounts"))
            {
                var fields = line.Split(' ');
                if (fields.Length > 2 && path.StartsWith(fields[1], StringComparison.Ordinal) && fields[1].Length > best.Mount.Length)
                {
                    best = (fields[1], fields[2]);
                }
            }
            return $"{best.Type} ({best.Mount})";
        }
        catch (IOException)
        {
            return "unknown filesystem";
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (var server in _servers)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
        _servers.Clear();
        DeleteDir(_root);
    }
}
