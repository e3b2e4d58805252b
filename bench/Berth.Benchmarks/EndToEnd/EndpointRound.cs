using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// One server of the endpoints suite (<see cref="EndpointSuite"/>) with one --endpoint-updates-batch-period: hollow
/// nodes, pods with their status already written, then the Services, then the timed flips and bursts.
/// </summary>
/// <remarks>
/// Hollow nodes as upstream's kubemark: Node objects (at most 110 pods each, the kubelet's default) whose Ready status
/// is posted once and never renewed; the server runs with --node-monitor-grace-period 1h so the node lifecycle
/// controller does not find them silent during the run (renewing hundreds of Leases every 10 s would add writes that
/// are not the endpoint controllers'). Pods are created with spec.nodeName set (the scheduler leaves bound pods alone,
/// and the server's node agent only runs pods of its own node) and get their status as a kubelet writes it, through
/// pods/status: Running, a pod IP from 10.0.0.0/8 that is data only and never contacted, Ready as said. Only the API
/// server on 127.0.0.1 is ever contacted.
/// </remarks>
internal sealed partial class EndpointRound : IAsyncDisposable
{
    public const string Namespace = "bench-ep";
    public const int WarmUpFlips = 20;

    private const string Pods = $"/api/v1/namespaces/{Namespace}/pods";
    private const string Services = $"/api/v1/namespaces/{Namespace}/services";
    private const string SlicesWatch = "/apis/discovery.k8s.io/v1/endpointslices";
    private const string EndpointsWatch = "/api/v1/endpoints";
    private const string ServerNode = "bench-ep-server";
    private const string HollowPrefix = "hollow-";
    private const int PodsPerNode = 110;
    private const int CreateConcurrency = 32;
    private const string ServiceNameLabel = "kubernetes.io/service-name";
    private const string StrategicMerge = "application/strategic-merge-patch+json";
    private const string MergePatch = "application/merge-patch+json";
    private const double GoalP99Ms = 50;
    private const double SlowBurstMs = 500;

    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_setupCap = TimeSpan.FromSeconds(900);
    private static readonly TimeSpan s_quiet = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan s_quietCap = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan s_sampleCap = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_burstCap = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_idleWindow = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(30);

    private readonly EndpointSuite.Options _o;
    private readonly string _period;
    private readonly string _id;
    private readonly string _dataDir;
    private readonly ResultTable _table;
    private readonly List<string> _observations;
    private readonly Action<string> _log;
    private readonly CancellationToken _ct;
    private readonly Dictionary<string, ServiceView> _views = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Flip> _flipsByPod = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Flip> _flipsByIp = new(StringComparer.Ordinal);
    private readonly List<Task> _watches = [];
    private readonly string _startedAt = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
    private Counters _counters;
    private int _slicesComplete;
    private int _endpointsComplete;
    private long _slicesCompleteAt;
    private long _endpointsCompleteAt;
    private long _lastChangeAt;

    public EndpointRound(EndpointSuite.Options options, string batchPeriod, string id, string dataDir, ResultTable table,
        List<string> observations, Action<string> log, CancellationToken ct)
    {
        _o = options;
        _period = batchPeriod;
        _id = id;
        _dataDir = dataDir;
        _table = table;
        _observations = observations;
        _log = message => log($"[{batchPeriod}] {message}");
        _ct = ct;
        var sampled = SampledFlips().GroupBy(f => f.Service).ToDictionary(g => g.Key, g => g.Count());
        for (var s = 0; s < _o.Services; s++)
        {
            _views[ServiceName(s)] = new ServiceView { ExpectedReady = _o.PodsPerService - sampled.GetValueOrDefault(s) };
        }
    }

    public BerthProcess? Server { get; private set; }

    public static int HollowNodes(EndpointSuite.Options o) => ((o.Services * o.PodsPerService) + PodsPerNode - 1) / PodsPerNode;

    public async Task RunAsync()
    {
        var n = _o.Services;
        var m = _o.PodsPerService;
        // A cluster CIDR with room for a /24 per hollow node (node IPAM gives each one), apart from the default one
        // that servers of parallel test runs use. Pods here never get an address from it: their IPs are data.
        Server = await BerthProcess.StartServerAsync(_o.Berth, _dataDir, s_startTimeout, _ct,
            ["--node-name", ServerNode, "--cluster-cidr", "127.128.0.0/14", "--node-monitor-grace-period", "1h",
             "--endpoint-updates-batch-period", _period]).ConfigureAwait(false);
        var server = Server;
        using var client = server.CreateClient(CreateConcurrency + 2);
        await WaitForReadyNodeAsync(client).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(2), _ct).ConfigureAwait(false); // let startup work settle
        var emptyRss = server.ReadRssBytes();
        _log($"server {server.Pid} Ready; RSS {ResultTable.MiB(emptyRss)}");

        var setupCpu = server.ReadCpuTime();
        var logAt = server.Output.Length;
        await Http.SendJsonAsync(client, HttpMethod.Post, "/api/v1/namespaces", $$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{Namespace}}}"}}""", null, _ct).ConfigureAwait(false);
        var nodes = HollowNodes(_o);
        await ForEachAsync(Enumerable.Range(0, nodes), async (i, ct) =>
        {
            await Http.SendJsonAsync(client, HttpMethod.Post, "/api/v1/nodes", NodeJson(i), null, ct).ConfigureAwait(false);
            await Http.SendJsonAsync(client, HttpMethod.Patch, $"/api/v1/nodes/{HollowPrefix}{i}/status", NodeStatusJson(), MergePatch, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        _log($"{nodes} hollow nodes Ready");

        using var slicesClient = server.CreateClient(1, Timeout.InfiniteTimeSpan);
        using var endpointsClient = server.CreateClient(1, Timeout.InfiniteTimeSpan);
        using var podsClient = server.CreateClient(1, Timeout.InfiniteTimeSpan);
        using var stopWatches = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var rv = await CurrentResourceVersionAsync(client).ConfigureAwait(false);
        _watches.Add(WatchAsync(slicesClient, SlicesWatch, rv, OnSliceEvent, stopWatches.Token));
        _watches.Add(WatchAsync(endpointsClient, EndpointsWatch, rv, OnEndpointsEvent, stopWatches.Token));

        // Pods first, each with its status, so that each Service then finds all of its pods in one sync.
        var sampled = SampledFlips().Select(f => f.Pod).ToHashSet(StringComparer.Ordinal);
        var started = Stopwatch.GetTimestamp();
        await ForEachAsync(Enumerable.Range(0, n * m), async (g, ct) =>
        {
            var (s, k) = (g / m, g % m);
            var name = PodName(s, k);
            await Http.SendJsonAsync(client, HttpMethod.Post, Pods, PodJson(s, k), null, ct).ConfigureAwait(false);
            await Http.SendJsonAsync(client, HttpMethod.Patch, $"{Pods}/{name}/status", InitialStatusJson(s, k, ready: !sampled.Contains(name)), StrategicMerge, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        var podsTook = Stopwatch.GetElapsedTime(started);
        _log($"{n * m} pods created with their status in {podsTook.TotalSeconds:F1} s");

        started = Stopwatch.GetTimestamp();
        await ForEachAsync(Enumerable.Range(0, n), async (s, ct) =>
            await Http.SendJsonAsync(client, HttpMethod.Post, Services, ServiceJson(s), null, ct).ConfigureAwait(false)).ConfigureAwait(false);
        var servicesPosted = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        _log($"{n} Services created in {servicesPosted / 1000:F1} s");
        var complete = await WaitUntilAsync(() => Volatile.Read(ref _slicesComplete) == n && Volatile.Read(ref _endpointsComplete) == n, s_setupCap,
            $"all {n} Services with complete EndpointSlices and Endpoints").ConfigureAwait(false);
        var slicesDone = Since(started, Volatile.Read(ref _slicesCompleteAt));
        var endpointsDone = Since(started, Volatile.Read(ref _endpointsCompleteAt));
        var setupDone = complete ? Math.Max(slicesDone, endpointsDone) : double.NaN;
        _log($"slices complete after {ResultTable.Ms(slicesDone)}, Endpoints after {ResultTable.Ms(endpointsDone)}"
            + (complete ? "" : $"; only {_slicesComplete} / {_endpointsComplete} of {n}"));
        await WaitQuietAsync().ConfigureAwait(false);
        setupCpu = server.ReadCpuTime() - setupCpu;
        var setupRss = server.ReadRssBytes();
        logAt = ObserveSyncErrors("setup", logAt);

        var idle = await MeasureIdleAsync(client).ConfigureAwait(false);
        _watches.Add(WatchAsync(podsClient, Pods, await CurrentResourceVersionAsync(client).ConfigureAwait(false), OnPodEvent, stopWatches.Token));

        var flips = await FlipAsync(client).ConfigureAwait(false);
        logAt = ObserveSyncErrors("flips", logAt);
        var bursts = _o.Bursts > 0 ? await BurstsAsync(client).ConfigureAwait(false) : [];
        ObserveSyncErrors("bursts", logAt);

        await stopWatches.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_watches).ConfigureAwait(false);
        await server.StopAsync(s_stopGrace).ConfigureAwait(false);

        var goal = n == 1000 && m == 10 ? "the goal (issue 6, at 1,000 Services × 10 pods): p99 < 50 ms" : "the issue's 50 ms goal is for 1,000 Services × 10 pods";
        ReportFlips(flips, goal);
        if (_o.Csv is { } csv)
        {
            await File.AppendAllLinesAsync(csv, flips.Flips.Skip(WarmUpFlips).Select(f => string.Join(',', _id, _period,
                WallClock(f.T0).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture),
                Ms(f.T0, f.TResp), Ms(f.T0, f.TPod), Ms(f.T0, f.TSlice), Ms(f.T0, f.TEndpoints))), _ct).ConfigureAwait(false);
        }
        ReportBursts(bursts);
        var totalPods = n * m;
        _table.Add(Id("f"), $"{B(n)} Services created (their {B(totalPods)} pods already Running) → every Service's EndpointSlices and Endpoints complete",
            Seconds(setupDone), $"{Seconds(servicesPosted)} ({B(n)} Service POSTs, {CreateConcurrency} in flight)", ResultTable.Ratio(setupDone, servicesPosted),
            $"slices complete {Seconds(slicesDone)}, Endpoints {Seconds(endpointsDone)} after the first POST; before that the {B(totalPods)} pods on {B(nodes)} hollow nodes were created and given their status in {podsTook.TotalSeconds:F1} s ({totalPods * 2 / podsTook.TotalSeconds:N0} writes/s); server CPU for the whole setup {setupCpu.TotalSeconds:F0} s");
        _table.Add(Id("g"), $"`berth server` CPU while pods flip at {flips.Rate:F0}/s", Pct(flips.Cpu), $"{Pct(idle.Cpu)} (the same server idle after setup, {s_idleWindow.TotalSeconds:F0} s)",
            ResultTable.Ratio(flips.Cpu, idle.Cpu), $"% of one core (utime + stime from /proc), from the first flip until every flip was seen; {idle.Writes} writes in the idle window");
        _table.Add(Id("h"), $"`berth server` RSS with {B(n)} Services, {B(totalPods)} pods, {B(nodes)} nodes, their slices and Endpoints", ResultTable.MiB(setupRss),
            $"{ResultTable.MiB(emptyRss)} (the same server before any object)", ResultTable.Ratio(setupRss, emptyRss),
            $"+{(setupRss - emptyRss) / 1024.0 / totalPods:F1} KiB per pod (objects, watch caches, the controllers' informers)");
    }

    // Pods flipped to Ready one Service after another (round robin, so one Service's flips are N flips apart), paced
    // at the rate with a bound on writes in flight. The first WarmUpFlips are not counted (JIT, fresh connections).
    private async Task<FlipResult> FlipAsync(HttpClient client)
    {
        var server = Server!;
        var flips = SampledFlips().Select(f => new Flip(f.Pod, f.Ip, ready: true)).ToList();
        var before = Snapshot();
        var rv = await CurrentResourceVersionAsync(client).ConfigureAwait(false);
        var cpu = server.ReadCpuTime();
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var writerStates = SampleStoreWriterAsync(server.Pid, stopSampling.Token);
        var started = Stopwatch.GetTimestamp();
        using (var gate = new SemaphoreSlim(_o.InFlight))
        {
            var writes = new List<Task>(flips.Count);
            for (var i = 0; i < flips.Count; i++)
            {
                var due = started + (long)((double)i / _o.Rate * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, _ct).ConfigureAwait(false);
                }
                await gate.WaitAsync(_ct).ConfigureAwait(false);
                writes.Add(WriteAndReleaseAsync(client, flips[i], gate));
            }
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
        var sent = Stopwatch.GetElapsedTime(started);
        await WaitUntilAsync(() => flips.All(f => f.Seen), s_sampleCap, $"{flips.Count} flips on the slice, Endpoints and pod watches").ConfigureAwait(false);
        var busy = Stopwatch.GetElapsedTime(started);
        var cpuUsed = server.ReadCpuTime() - cpu;
        await stopSampling.CancelAsync().ConfigureAwait(false);
        var states = await writerStates.ConfigureAwait(false);
        await WaitQuietAsync().ConfigureAwait(false);
        var after = Snapshot();
        var writesInWindow = await CurrentResourceVersionAsync(client).ConfigureAwait(false) - rv;
        _log($"{flips.Count} flips sent in {sent.TotalSeconds:F1} s");
        return new FlipResult(flips, flips.Count / sent.TotalSeconds, cpuUsed / busy * 100, after - before, writesInWindow, states);
    }

    // The server commits every write on one thread ("berth-sqlite-writer", its name cut to 15 characters by Linux)
    // with an fsync of the WAL. Its state every 10 ms — D is uninterruptible sleep, i.e. waiting for the disk — shows
    // whether a slow flip waited for the disk rather than for a controller. Empty if the thread is not found.
    private async Task<List<(long At, char State)>> SampleStoreWriterAsync(int pid, CancellationToken ct)
    {
        var samples = new List<(long, char)>();
        var writer = Directory.EnumerateDirectories($"/proc/{pid}/task").FirstOrDefault(task =>
            File.Exists($"{task}/comm") && File.ReadAllText($"{task}/comm").StartsWith("berth-sqlite", StringComparison.Ordinal));
        if (writer is null)
        {
            _observations.Add($"round {_id} ({_period}): no berth-sqlite-writer thread in /proc/{pid}/task; the store's disk waits were not sampled");
            return samples;
        }
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var stat = await File.ReadAllTextAsync($"{writer}/stat", ct).ConfigureAwait(false);
                samples.Add((Stopwatch.GetTimestamp(), stat[stat.LastIndexOf(')') + 2]));
                await Task.Delay(TimeSpan.FromMilliseconds(10), ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Sampling is over (or the server is gone).
        }
        return samples;
    }

    private async Task WriteAndReleaseAsync(HttpClient client, Flip flip, SemaphoreSlim gate)
    {
        try
        {
            await WriteAsync(client, flip).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The kubelet's status write of a readiness change, timed from just before it is sent.</summary>
    private async Task WriteAsync(HttpClient client, Flip flip)
    {
        _flipsByPod[flip.Pod] = flip;
        _flipsByIp[flip.Ip] = flip;
        Volatile.Write(ref flip.T0, Stopwatch.GetTimestamp());
        await Http.SendJsonAsync(client, HttpMethod.Patch, $"{Pods}/{flip.Pod}/status", ReadyPatchJson(flip.Pod, flip.Ready), StrategicMerge, _ct).ConfigureAwait(false);
        flip.TResp = Stopwatch.GetTimestamp();
    }

    // A rollout's worth of changes to one Service at once: its pods but the first go not Ready (the Service keeps one
    // ready endpoint, so the diagnosis controller has nothing to say), then all of them Ready again at once, timed
    // until its slice shows every address ready. What the batch period is for: folding such a burst into few writes.
    private async Task<List<BurstResult>> BurstsAsync(HttpClient client)
    {
        var n = _o.Services;
        var m = _o.PodsPerService;
        var results = new List<(ServiceView View, Counters Before, List<Flip> Up)>();
        for (var b = 0; b < _o.Bursts; b++)
        {
            var s = b * (n / _o.Bursts);
            var view = _views[ServiceName(s)];
            var down = Enumerable.Range(1, m - 1).Select(k => new Flip(PodName(s, k), PodIp(s, k), ready: false)).ToList();
            await Task.WhenAll(down.Select(f => WriteAsync(client, f))).ConfigureAwait(false);
            if (!await WaitUntilAsync(() => Volatile.Read(ref view.SliceReady) == 1 && Volatile.Read(ref view.EndpointsReady) == 1, s_burstCap,
                $"{ServiceName(s)} down to 1 ready endpoint").ConfigureAwait(false))
            {
                continue;
            }
            var before = view.Snapshot();
            var up = Enumerable.Range(1, m - 1).Select(k => new Flip(PodName(s, k), PodIp(s, k), ready: true)).ToList();
            await Task.WhenAll(up.Select(f => WriteAsync(client, f))).ConfigureAwait(false);
            await WaitUntilAsync(() => up.All(f => f.Seen), s_burstCap, $"burst of {m - 1} pods of {ServiceName(s)} on the watches").ConfigureAwait(false);
            results.Add((view, before, up));
        }
        await WaitQuietAsync().ConfigureAwait(false);
        _log($"{results.Count} bursts of {m - 1} pods");
        return [.. results.Select(r =>
        {
            var t0 = r.Up.Min(f => f.T0);
            double Last(Func<Flip, long> at) => r.Up.Any(f => at(f) == 0) ? double.NaN : Since(t0, r.Up.Max(at));
            return new BurstResult(Last(f => f.TSlice), Last(f => f.TEndpoints), Last(f => f.TPod), r.View.Snapshot() - r.Before);
        })];
    }

    private void ReportFlips(FlipResult r, string goal)
    {
        var counted = r.Flips.Skip(WarmUpFlips).ToList();
        Samples Of(Func<Flip, long> at) => new(counted.Select(f => Since(f.T0, at(f))));
        var slice = Of(f => f.TSlice);
        var endpoints = Of(f => f.TEndpoints);
        var pod = Of(f => f.TPod);
        var call = Of(f => f.TResp);
        var controllers = new Samples(counted.Select(f => Since(f.TPod, f.TSlice)));
        var k = counted.Count;
        var p99 = slice.Percentile(99);
        _table.Add(Id("a"), $"`--endpoint-updates-batch-period {_period}`: pod Ready → its address ready in its Service's EndpointSlice, {slice.Count} of {k}: p50",
            ResultTable.Ms(slice.Median), $"{ResultTable.Ms(pod.Median)} p50 (the same status write on a pod watch)", ResultTable.Ratio(slice.Median, pod.Median),
            $"from just before the PATCH of pods/status to the EndpointSlice watch event (all namespaces) with the address ready; the PATCH returned after p50 {ResultTable.Ms(call.Median)}; {r.Rate:F0} flips/s, ≤ {_o.InFlight} in flight");
        _table.Add(Id("b"), "Pod Ready → address ready in the EndpointSlice: p99 / max", $"{ResultTable.Ms(p99)} / {ResultTable.Ms(slice.Max)}",
            $"{ResultTable.Ms(pod.Percentile(99))} / {ResultTable.Ms(pod.Max)}", ResultTable.Ratio(p99, pod.Percentile(99)),
            $"{goal}{(double.IsNaN(p99) ? "" : p99 < GoalP99Ms ? " — met" : " — missed")}; p90 {ResultTable.Ms(slice.Percentile(90))}; per flip, slice event minus pod event (what the controller adds): p50 {ResultTable.Ms(controllers.Median)}, p99 {ResultTable.Ms(controllers.Percentile(99))}, max {ResultTable.Ms(controllers.Max)}");
        ReportDiskWaits(r, counted);
        _table.Add(Id("c"), "Pod Ready → address in the v1 Endpoints' `addresses`: p50 / p99", $"{ResultTable.Ms(endpoints.Median)} / {ResultTable.Ms(endpoints.Percentile(99))}",
            $"{ResultTable.Ms(pod.Median)} / {ResultTable.Ms(pod.Percentile(99))}", ResultTable.Ratio(endpoints.Median, pod.Median), "the Endpoints controller, on a watch of all Endpoints");
        var c = r.Counters;
        var flips = (double)r.Flips.Count;
        var bytes = (c.SliceBytes + c.EndpointsBytes) / flips;
        var podBytes = c.PodEvents == 0 ? double.NaN : (double)c.PodBytes / c.PodEvents;
        var other = r.Writes - c.PodEvents - c.SliceEvents - c.EndpointsEvents;
        _table.Add(Id("d"), "Bytes the endpoint controllers write per pod change (EndpointSlice + Endpoints objects, JSON)", $"{bytes:N0} B",
            $"{podBytes:N0} B (the pod object its status write produced)", ResultTable.Ratio(bytes, podBytes),
            $"per change: {c.SliceEvents / flips:F2} EndpointSlice writes ({c.SliceBytes / flips:N0} B), {c.EndpointsEvents / flips:F2} Endpoints writes ({c.EndpointsBytes / flips:N0} B); every write in the window: resourceVersion +{r.Writes} for {r.Flips.Count} flips = {r.Writes / flips:F2} per change ({c.PodEvents} pods, {c.SliceEvents} slices, {c.EndpointsEvents} Endpoints, {other} others: the server node's heartbeats and Lease, Events)");
    }

    // Splits the flips by whether the store's writer thread was seen waiting for the disk (two or more D samples,
    // ≈ 20 ms) between the flip's status write and its slice event: the p99 of the flips that never met such a wait
    // is what the controllers do on their own; the slow flips that did are the disk's.
    private void ReportDiskWaits(FlipResult r, List<Flip> counted)
    {
        var states = r.WriterStates;
        if (states.Count == 0)
        {
            return;
        }
        var at = states.Select(s => s.At).ToArray();
        int DiskWaits(Flip f)
        {
            var from = Array.BinarySearch(at, f.T0);
            from = from < 0 ? ~from : from;
            var count = 0;
            for (var i = from; i < at.Length && at[i] <= f.TSlice; i++)
            {
                count += states[i].State == 'D' ? 1 : 0;
            }
            return count;
        }
        var waited = counted.Where(f => f.TSlice != 0 && DiskWaits(f) >= 2).ToHashSet();
        var clear = counted.Where(f => f.TSlice != 0 && DiskWaits(f) == 0).ToList();
        var slice = new Samples(clear.Select(f => Since(f.T0, f.TSlice)));
        var pod = new Samples(clear.Select(f => Since(f.T0, f.TPod)));
        var slow = counted.Where(f => Since(f.T0, f.TSlice) >= GoalP99Ms).ToList();
        var inD = 100.0 * states.Count(s => s.State == 'D') / states.Count;
        _table.Add(Id("b2"), $"The same, p99 / max of the {clear.Count} flips during which the store's writer thread never waited for the disk",
            $"{ResultTable.Ms(slice.Percentile(99))} / {ResultTable.Ms(slice.Max)}", $"{ResultTable.Ms(pod.Percentile(99))} / {ResultTable.Ms(pod.Max)}",
            ResultTable.Ratio(slice.Percentile(99), pod.Percentile(99)),
            $"of the {slow.Count} flips at {GoalP99Ms:F0} ms or more, {slow.Count(waited.Contains)} met the writer (`berth-sqlite-writer`, which commits every write with an fsync of the WAL) in state D, waiting for the disk, for ≈ 20 ms or more; it was in D in {inD:F1} % of the {states.Count} samples (every 10 ms) of the window");
    }

    private void ReportBursts(List<BurstResult> bursts)
    {
        if (bursts.Count == 0)
        {
            return;
        }
        var m = _o.PodsPerService;
        var slice = new Samples(bursts.Select(b => b.Slice));
        var endpoints = new Samples(bursts.Select(b => b.Endpoints));
        var pods = new Samples(bursts.Select(b => b.Pods));
        double Mean(Func<Counters, long> f) => bursts.Average(b => (double)f(b.Counters));
        var perChange = (Mean(c => c.SliceBytes) + Mean(c => c.EndpointsBytes)) / (m - 1);
        _table.Add(Id("e"), $"Burst: {m - 1} pods of one Service Ready at once → all {m} ready in its EndpointSlice, {slice.Count} of {_o.Bursts} bursts: p50 / p99",
            $"{ResultTable.Ms(slice.Median)} / {ResultTable.Ms(slice.Percentile(99))}",
            $"{ResultTable.Ms(pods.Median)} / {ResultTable.Ms(pods.Percentile(99))} (the last of the {m - 1} writes on the pod watch)", ResultTable.Ratio(slice.Median, pods.Median),
            $"per burst: {Mean(c => c.SliceEvents):F2} EndpointSlice writes, {Mean(c => c.EndpointsEvents):F2} Endpoints writes, {perChange:N0} B per pod change; all ready in the Endpoints p50 {ResultTable.Ms(endpoints.Median)} / p99 {ResultTable.Ms(endpoints.Percentile(99))}; {bursts.Count(b => !(b.Slice < SlowBurstMs))} bursts took {SlowBurstMs:F0} ms or more");
    }

    // The controllers log a sync that failed (and is retried with backoff): which ones, how often, in this phase.
    private int ObserveSyncErrors(string phase, int from)
    {
        var output = Server!.Output;
        var errors = SyncError().Matches(output, Math.Min(from, output.Length))
            // Numbers (resourceVersions, Service names) vary from one failure to the next; the kind of failure does not.
            .GroupBy(m => $"{m.Groups["controller"].Value}: {Digits().Replace(m.Groups["message"].Value, "N")}", StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ToList();
        if (errors.Count > 0)
        {
            _observations.Add($"round {_id} ({_period}), {phase}: the server logged {errors.Sum(g => g.Count())} failed syncs (retried after a backoff): "
                + string.Join("; ", errors.Take(5).Select(g => $"{g.Count()}× `{g.Key}`")));
        }
        return output.Length;
    }

    private async Task<(double Cpu, long Writes)> MeasureIdleAsync(HttpClient client)
    {
        var server = Server!;
        var rv = await CurrentResourceVersionAsync(client).ConfigureAwait(false);
        var at = Stopwatch.GetTimestamp();
        var cpu = server.ReadCpuTime();
        await Task.Delay(s_idleWindow, _ct).ConfigureAwait(false);
        var used = server.ReadCpuTime() - cpu;
        var pct = used / Stopwatch.GetElapsedTime(at) * 100;
        return (pct, await CurrentResourceVersionAsync(client).ConfigureAwait(false) - rv);
    }

    // The flips of the measurement, in order: flip j is pod 1 + j / N of Service j % N (pod 0 of every Service stays
    // Ready throughout). These pods start not Ready; every other pod starts Ready, as one without a readiness probe does.
    private IEnumerable<(int Service, string Pod, string Ip)> SampledFlips()
    {
        var n = _o.Services;
        for (var j = 0; j < WarmUpFlips + _o.Samples; j++)
        {
            var (s, k) = (j % n, 1 + (j / n));
            yield return (s, PodName(s, k), PodIp(s, k));
        }
    }

    private Task ForEachAsync(IEnumerable<int> items, Func<int, CancellationToken, ValueTask> body) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = CreateConcurrency, CancellationToken = _ct }, body);

    private static string ServiceName(int s) => $"svc-{s}";

    private static string PodName(int s, int k) => $"svc-{s}-{k}";

    private string PodIp(int s, int k)
    {
        var g = (s * _o.PodsPerService) + k;
        return $"10.{1 + (g >> 16)}.{(g >> 8) & 255}.{g & 255}";
    }

    private static string NodeJson(int i) =>
        $$$$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"{{{{HollowPrefix}}}}{{{{i}}}}","labels":{"kubernetes.io/hostname":"{{{{HollowPrefix}}}}{{{{i}}}}","kubernetes.io/os":"linux","bench":"hollow"}}}""";

    private string NodeStatusJson() =>
        $$$"""{"status":{"capacity":{"pods":"{{{PodsPerNode}}}"},"allocatable":{"pods":"{{{PodsPerNode}}}"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"hollow node of the endpoints benchmark: status posted once","lastHeartbeatTime":"{{{_startedAt}}}","lastTransitionTime":"{{{_startedAt}}}"}]}}""";

    private string PodJson(int s, int k)
    {
        var node = HollowPrefix + (((s * _o.PodsPerService) + k) % HollowNodes(_o));
        return $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{PodName(s, k)}}}","labels":{"app":"{{{ServiceName(s)}}}"}},"spec":{"nodeName":"{{{node}}}","terminationGracePeriodSeconds":0,"containers":[{"name":"main","image":"registry.k8s.io/pause:3.10","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}]}]}}""";
    }

    private static string ServiceJson(int s) =>
        $$$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"{{{ServiceName(s)}}}"},"spec":{"selector":{"app":"{{{ServiceName(s)}}}"},"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080}]}}""";

    // What a kubelet writes once the container runs: phase, IPs, start time, conditions, container status.
    private string InitialStatusJson(int s, int k, bool ready)
    {
        var ip = PodIp(s, k);
        var r = ready ? "True" : "False";
        var t = _startedAt;
        return $$$"""{"status":{"phase":"Running","podIP":"{{{ip}}}","podIPs":[{"ip":"{{{ip}}}"}],"startTime":"{{{t}}}","qosClass":"BestEffort","conditions":[{"type":"PodReadyToStartContainers","status":"True","lastTransitionTime":"{{{t}}}"},{"type":"Initialized","status":"True","lastTransitionTime":"{{{t}}}"},{"type":"Ready","status":"{{{r}}}","lastTransitionTime":"{{{t}}}"},{"type":"ContainersReady","status":"{{{r}}}","lastTransitionTime":"{{{t}}}"},{"type":"PodScheduled","status":"True","lastTransitionTime":"{{{t}}}"}],"containerStatuses":[{{{ContainerStatusJson(PodName(s, k), ready)}}}]}}""";
    }

    // The kubelet's patch when readiness changes: the Ready and ContainersReady conditions (merged by type) and the
    // container status (replaced: the list has no merge key).
    private string ReadyPatchJson(string pod, bool ready)
    {
        var r = ready ? "True" : "False";
        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        return $$$"""{"status":{"conditions":[{"type":"Ready","status":"{{{r}}}","lastTransitionTime":"{{{now}}}"},{"type":"ContainersReady","status":"{{{r}}}","lastTransitionTime":"{{{now}}}"}],"containerStatuses":[{{{ContainerStatusJson(pod, ready)}}}]}}""";
    }

    private string ContainerStatusJson(string pod, bool ready) =>
        $$$$"""{"name":"main","ready":{{{{(ready ? "true" : "false")}}}},"started":true,"restartCount":0,"image":"registry.k8s.io/pause:3.10","imageID":"","containerID":"hollow://{{{{pod}}}}","state":{"running":{"startedAt":"{{{{_startedAt}}}}"}}}""";

    private void OnSliceEvent(string type, JsonElement slice, long now)
    {
        var meta = slice.GetProperty("metadata");
        if (meta.GetProperty("namespace").GetString() != Namespace
            || !meta.TryGetProperty("labels", out var labels) || !labels.TryGetProperty(ServiceNameLabel, out var service)
            || !_views.TryGetValue(service.GetString()!, out var view))
        {
            return;
        }
        Volatile.Write(ref _lastChangeAt, now);
        var bytes = Encoding.UTF8.GetByteCount(slice.GetRawText());
        Interlocked.Increment(ref _counters.SliceEvents);
        Interlocked.Add(ref _counters.SliceBytes, bytes);
        view.Own.SliceEvents++;
        view.Own.SliceBytes += bytes;
        var (total, ready) = (0, 0);
        if (type != "DELETED" && slice.TryGetProperty("endpoints", out var endpoints) && endpoints.ValueKind == JsonValueKind.Array)
        {
            foreach (var endpoint in endpoints.EnumerateArray())
            {
                var isReady = endpoint.TryGetProperty("conditions", out var conditions) && conditions.TryGetProperty("ready", out var r) && r.ValueKind == JsonValueKind.True;
                total++;
                ready += isReady ? 1 : 0;
                if (endpoint.GetProperty("addresses")[0].GetString() is { } ip && _flipsByIp.TryGetValue(ip, out var flip) && flip.Ready == isReady)
                {
                    flip.Mark(ref flip.TSlice, now);
                }
            }
        }
        var name = meta.GetProperty("name").GetString()!;
        if (type == "DELETED")
        {
            view.Slices.Remove(name);
        }
        else
        {
            view.Slices[name] = (total, ready);
        }
        Volatile.Write(ref view.SliceReady, view.Slices.Values.Sum(v => v.Ready));
        var complete = view.Slices.Values.Sum(v => v.Total) == _o.PodsPerService && view.SliceReady == view.ExpectedReady;
        if (complete != view.SliceComplete)
        {
            view.SliceComplete = complete;
            if ((complete ? Interlocked.Increment(ref _slicesComplete) : Interlocked.Decrement(ref _slicesComplete)) == _o.Services)
            {
                Interlocked.CompareExchange(ref _slicesCompleteAt, now, 0);
            }
        }
    }

    private void OnEndpointsEvent(string type, JsonElement endpoints, long now)
    {
        var meta = endpoints.GetProperty("metadata");
        if (meta.GetProperty("namespace").GetString() != Namespace || !_views.TryGetValue(meta.GetProperty("name").GetString()!, out var view))
        {
            return;
        }
        Volatile.Write(ref _lastChangeAt, now);
        var bytes = Encoding.UTF8.GetByteCount(endpoints.GetRawText());
        Interlocked.Increment(ref _counters.EndpointsEvents);
        Interlocked.Add(ref _counters.EndpointsBytes, bytes);
        view.Own.EndpointsEvents++;
        view.Own.EndpointsBytes += bytes;
        var (total, ready) = (0, 0);
        if (type != "DELETED" && endpoints.TryGetProperty("subsets", out var subsets) && subsets.ValueKind == JsonValueKind.Array)
        {
            foreach (var subset in subsets.EnumerateArray())
            {
                foreach (var (field, isReady) in new[] { ("addresses", true), ("notReadyAddresses", false) })
                {
                    if (!subset.TryGetProperty(field, out var addresses))
                    {
                        continue;
                    }
                    foreach (var address in addresses.EnumerateArray())
                    {
                        total++;
                        ready += isReady ? 1 : 0;
                        if (address.GetProperty("ip").GetString() is { } ip && _flipsByIp.TryGetValue(ip, out var flip) && flip.Ready == isReady)
                        {
                            flip.Mark(ref flip.TEndpoints, now);
                        }
                    }
                }
            }
        }
        Volatile.Write(ref view.EndpointsReady, ready);
        var complete = total == _o.PodsPerService && ready == view.ExpectedReady;
        if (complete != view.EndpointsComplete)
        {
            view.EndpointsComplete = complete;
            if ((complete ? Interlocked.Increment(ref _endpointsComplete) : Interlocked.Decrement(ref _endpointsComplete)) == _o.Services)
            {
                Interlocked.CompareExchange(ref _endpointsCompleteAt, now, 0);
            }
        }
    }

    private void OnPodEvent(string type, JsonElement pod, long now)
    {
        Volatile.Write(ref _lastChangeAt, now);
        Interlocked.Increment(ref _counters.PodEvents);
        Interlocked.Add(ref _counters.PodBytes, Encoding.UTF8.GetByteCount(pod.GetRawText()));
        if (type != "DELETED" && _flipsByPod.TryGetValue(pod.GetProperty("metadata").GetProperty("name").GetString()!, out var flip) && flip.Ready == IsReady(pod))
        {
            flip.Mark(ref flip.TPod, now);
        }
    }

    private static bool IsReady(JsonElement pod) =>
        pod.TryGetProperty("status", out var status)
        && status.TryGetProperty("conditions", out var conditions)
        && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == "Ready" && c.GetProperty("status").GetString() == "True");

    private Task WatchAsync(HttpClient client, string path, string fromRv, Action<string, JsonElement, long> onEvent, CancellationToken ct) =>
        JsonWatch.RunAsync(client, path, fromRv, onEvent, _log, ct);

    /// <summary>Polls a condition over the watches' state until it holds or the cap passes (then noted as an observation).</summary>
    private async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan cap, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(cap.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (_watches.FirstOrDefault(w => w.IsFaulted) is { } failed)
            {
                await failed.ConfigureAwait(false);
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                _observations.Add($"round {_id} ({_period}): not within {cap.TotalSeconds:F0} s: {what}");
                _log($"timed out: {what}");
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(5), _ct).ConfigureAwait(false);
        }
        return true;
    }

    // Until no slice, Endpoints or pod of the namespace has changed for a few seconds: the controllers are done.
    private Task WaitQuietAsync() =>
        WaitUntilAsync(() => Stopwatch.GetElapsedTime(Volatile.Read(ref _lastChangeAt)) >= s_quiet, s_quietCap, "the endpoint controllers quiet");

    private async Task WaitForReadyNodeAsync(HttpClient client)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(s_startTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            using var response = await client.GetAsync($"/api/v1/nodes/{ServerNode}", _ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(_ct).ConfigureAwait(false));
                if (doc.RootElement.TryGetProperty("status", out var status) && status.TryGetProperty("conditions", out var conditions)
                    && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == "Ready" && c.GetProperty("status").GetString() == "True"))
                {
                    return;
                }
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"node {ServerNode} not Ready within {s_startTimeout.TotalSeconds:F0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), _ct).ConfigureAwait(false);
        }
    }

    // The store's resourceVersion grows by one per write of any object: a list of the (few) namespaces reads it cheaply,
    // and any watch may start from it.
    private async Task<long> CurrentResourceVersionAsync(HttpClient client)
    {
        using var doc = JsonDocument.Parse(await client.GetByteArrayAsync("/api/v1/namespaces", _ct).ConfigureAwait(false));
        return long.Parse(doc.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString()!, CultureInfo.InvariantCulture);
    }

    private Task WatchAsync(HttpClient client, string path, long fromRv, Action<string, JsonElement, long> onEvent, CancellationToken ct) =>
        WatchAsync(client, path, fromRv.ToString(CultureInfo.InvariantCulture), onEvent, ct);

    private Counters Snapshot() => new()
    {
        SliceEvents = Interlocked.Read(ref _counters.SliceEvents),
        SliceBytes = Interlocked.Read(ref _counters.SliceBytes),
        EndpointsEvents = Interlocked.Read(ref _counters.EndpointsEvents),
        EndpointsBytes = Interlocked.Read(ref _counters.EndpointsBytes),
        PodEvents = Interlocked.Read(ref _counters.PodEvents),
        PodBytes = Interlocked.Read(ref _counters.PodBytes),
    };

    private string Id(string letter) => _id + letter;

    private static string B(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    // A Stopwatch timestamp as UTC wall-clock time: now, less the time since it (the two clocks drift far less than a ms in a run).
    private static DateTime WallClock(long timestamp) => DateTime.UtcNow - Stopwatch.GetElapsedTime(timestamp);

    private static string Ms(long from, long to) => Since(from, to).ToString("F3", CultureInfo.InvariantCulture);

    private static double Since(long from, long to) => from == 0 || to == 0 ? double.NaN : Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    private static string Seconds(double ms) => double.IsNaN(ms) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{ms / 1000:F2} s");

    private static string Pct(double percent) => string.Create(CultureInfo.InvariantCulture, $"{percent:F1} %");

    public async ValueTask DisposeAsync()
    {
        if (Server is { } server)
        {
            Server = null;
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Events and JSON bytes seen on the watches (slices and Endpoints of the namespace, its pods).</summary>
    private struct Counters
    {
        public long SliceEvents;
        public long SliceBytes;
        public long EndpointsEvents;
        public long EndpointsBytes;
        public long PodEvents;
        public long PodBytes;

        public static Counters operator -(Counters a, Counters b) => new()
        {
            SliceEvents = a.SliceEvents - b.SliceEvents,
            SliceBytes = a.SliceBytes - b.SliceBytes,
            EndpointsEvents = a.EndpointsEvents - b.EndpointsEvents,
            EndpointsBytes = a.EndpointsBytes - b.EndpointsBytes,
            PodEvents = a.PodEvents - b.PodEvents,
            PodBytes = a.PodBytes - b.PodBytes,
        };
    }

    /// <summary>
    /// What the watches show of one Service: its slices (written by the slice watch only) and Endpoints (by the
    /// Endpoints watch only); the ready counts are read by the driver.
    /// </summary>
    private sealed class ServiceView
    {
        public readonly Dictionary<string, (int Total, int Ready)> Slices = new(StringComparer.Ordinal);
        public int ExpectedReady;
        public int SliceReady;
        public bool SliceComplete;
        public int EndpointsReady;
        public bool EndpointsComplete;
        public Counters Own;

        public Counters Snapshot() => new()
        {
            SliceEvents = Volatile.Read(ref Own.SliceEvents),
            SliceBytes = Volatile.Read(ref Own.SliceBytes),
            EndpointsEvents = Volatile.Read(ref Own.EndpointsEvents),
            EndpointsBytes = Volatile.Read(ref Own.EndpointsBytes),
        };
    }

    /// <summary>One status write changing a pod's readiness, and when each watch first showed the new state (0 = not yet).</summary>
    private sealed class Flip(string pod, string ip, bool ready)
    {
        public long T0;
        public long TResp;
        public long TPod;
        public long TSlice;
        public long TEndpoints;

        public string Pod { get; } = pod;

        public string Ip { get; } = ip;

        public bool Ready { get; } = ready;

        public bool Seen => Volatile.Read(ref TSlice) != 0 && Volatile.Read(ref TEndpoints) != 0 && Volatile.Read(ref TPod) != 0;

        /// <summary>Records the first arrival, and only for a write already under way (a watch can show the state we want only after it).</summary>
        public void Mark(ref long at, long now)
        {
            if (Volatile.Read(ref T0) != 0)
            {
                Interlocked.CompareExchange(ref at, now, 0);
            }
        }
    }

    [GeneratedRegex(@"berth: (?<controller>[\w-]+): error syncing \S+: (?<message>[^\r\n]*)")]
    private static partial Regex SyncError();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();

    private sealed record FlipResult(List<Flip> Flips, double Rate, double Cpu, Counters Counters, long Writes, List<(long At, char State)> WriterStates);

    private sealed record BurstResult(double Slice, double Endpoints, double Pods, Counters Counters);
}
