using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// The controllers of a real `berth server` (docs/benchmarks.md, "Controllers"): how long the ReplicaSet controller
/// takes to replace a deleted pod, how long a Deployment takes to roll out and to roll over, and what the server
/// costs in CPU while 1,000 pods sit idle. Each figure is set against a baseline measured in the same run: a bare
/// pod's create → Running, a bare 100-pod create, the same server with no pods.
/// </summary>
/// <remarks>
/// The pods run on separate `berth agent` processes, one per 100 idle pods (a node takes at most 110 pods, the
/// kubelet's default, which the scheduler enforces); the server's own node is cordoned before any pod exists, so the
/// server's CPU is the API server's and the controllers' alone. Bounded: every wait has a cap
/// and the whole run a budget; the server and the agent (and with them every pod process) are killed on the way out,
/// and their temp dirs removed.
/// </remarks>
internal sealed class ControllerSuite : IAsyncDisposable
{
    private const string Pods = "/api/v1/namespaces/default/pods";
    private const string Deployments = "/apis/apps/v1/namespaces/default/deployments";
    private const string ReplicaSets = "/apis/apps/v1/namespaces/default/replicasets";
    private const string Label = "bench-ctl";
    private const string ServerNode = "bench-server";
    private const string AgentNodePrefix = "bench-agent-";
    private const int Concurrency = 10;
    private const int PodsPerIdleDeployment = 100;
    private const int PodsPerAgent = 100;
    private const int WarmUpRounds = 3;

    private static readonly TimeSpan s_budget = TimeSpan.FromMinutes(25);
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_sampleCap = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_phaseCap = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan s_idleStartCap = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(30);

    private readonly Options _options;
    private readonly CancellationToken _ct;
    private readonly string _root;
    private readonly ResultTable _table = new();
    private readonly List<string> _observations = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _loadAtStart = ProcFacts.LoadAverage();
    private readonly ConcurrentDictionary<string, PodState> _pods = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DeploymentState> _deployments = new(StringComparer.Ordinal);
    private long _podEvents;
    private BerthProcess? _server;
    private readonly List<BerthProcess> _agents = [];

    private ControllerSuite(Options options, CancellationToken ct)
    {
        _options = options;
        _ct = ct;
        _root = Path.Combine(Path.GetTempPath(), $"berth-ctl-{Guid.NewGuid():N}"[..21]);
        Directory.CreateDirectory(_root);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"controllers: {e.Message}\n\n{Options.Usage}").ConfigureAwait(false);
            return 2;
        }

        return await SuiteRunner.RunAsync("controllers", s_budget, options.Out, ct => new ControllerSuite(options, ct), s => s.RunAllAsync(), ReportFailureAsync)
            .ConfigureAwait(false);
    }

    private static async Task ReportFailureAsync(ControllerSuite s, Exception e)
    {
        await Console.Error.WriteLineAsync($"controllers: failed after {s._clock.Elapsed.TotalSeconds:F0} s: {e}").ConfigureAwait(false);
        if (s._server is { } server)
        {
            await Console.Error.WriteLineAsync($"--- output of server {server.Pid} (last 8 KiB) ---\n{ProcFacts.Tail(server.Output, 8192)}").ConfigureAwait(false);
        }
        foreach (var agent in s._agents)
        {
            await Console.Error.WriteLineAsync($"--- output of agent {agent.Pid} (last 2 KiB) ---\n{ProcFacts.Tail(agent.Output, 2048)}").ConfigureAwait(false);
        }
    }

    private async Task<string> RunAllAsync()
    {
        Log($"berth binary: {_options.Berth}; load average {_loadAtStart}");
        // A cluster CIDR of its own: servers of parallel test runs name their pods' IPs from the default one.
        _server = await BerthProcess.StartServerAsync(_options.Berth, Dir("server"), s_startTimeout, _ct,
            ["--node-name", ServerNode, "--cluster-cidr", "127.232.0.0/16"]).ConfigureAwait(false);
        using var client = _server.CreateClient(Concurrency + 2);
        await WaitForReadyNodeAsync(client, ServerNode).ConfigureAwait(false);
        // Cordoned before any pod exists: everything is scheduled to the separate agent.
        await Http.SendJsonAsync(client, HttpMethod.Patch, $"/api/v1/nodes/{ServerNode}", """{"spec":{"unschedulable":true}}""", "application/merge-patch+json", _ct).ConfigureAwait(false);
        var agents = (_options.IdlePods + PodsPerAgent - 1) / PodsPerAgent;
        var server = _server;
        var started = await Task.WhenAll(Enumerable.Range(0, agents).Select(i =>
            BerthProcess.StartAgentAsync(_options.Berth, server, AgentNodePrefix + i, Dir($"agent-{i}"), s_startTimeout, _ct))).ConfigureAwait(false);
        _agents.AddRange(started);
        for (var i = 0; i < agents; i++)
        {
            await WaitForReadyNodeAsync(client, AgentNodePrefix + i).ConfigureAwait(false);
        }
        Log($"server {_server.Pid} and {agents} agents ({string.Join(", ", _agents.Select(a => a.Pid))}) Ready; {ServerNode} cordoned");

        using var podWatchClient = _server.CreateClient(1, Timeout.InfiniteTimeSpan);
        using var deployWatchClient = _server.CreateClient(1, Timeout.InfiniteTimeSpan);
        using var stopWatches = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var podWatch = WatchAsync(podWatchClient, Pods, await ListResourceVersionAsync(client, Pods).ConfigureAwait(false), OnPodEvent, stopWatches.Token);
        var deployWatch = WatchAsync(deployWatchClient, Deployments, await ListResourceVersionAsync(client, Deployments).ConfigureAwait(false), OnDeploymentEvent, stopWatches.Token);

        await ReconcileAsync(client).ConfigureAwait(false);
        await RolloutAsync(client).ConfigureAwait(false);
        await IdleAsync(client).ConfigureAwait(false);

        var misplaced = _pods.Values.Count(p => p.Node == ServerNode);
        if (misplaced > 0)
        {
            _observations.Add($"{misplaced} pods were bound to the cordoned node {ServerNode}");
        }
        await stopWatches.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(podWatch, deployWatch).ConfigureAwait(false);
        await Task.WhenAll(_agents.Select(StopAsync)).ConfigureAwait(false);
        await StopAsync(_server).ConfigureAwait(false);
        Log($"done in {_clock.Elapsed.TotalSeconds:F0} s");
        return Render();
    }

    // 1. A Deployment of N pods; one pod deleted at a time, timed from the DELETE's return to its replacement
    // Running (and, with a readiness probe, Ready). Baseline: a bare pod's create → Running / Ready, one at a time.
    private async Task ReconcileAsync(HttpClient client)
    {
        var n = _options.Replicas;
        var k = _options.Samples;
        await CreateDeploymentAsync(client, "rs-plain", n, probe: false).ConfigureAwait(false);
        await CreateDeploymentAsync(client, "rs-probed", n, probe: true).ConfigureAwait(false);
        await WaitForCompleteAsync("rs-plain", 1, s_phaseCap).ConfigureAwait(false);
        await WaitForCompleteAsync("rs-probed", 1, s_phaseCap).ConfigureAwait(false);
        Log($"2 Deployments of {n} pods complete");

        // Interleaved, so that warm-up and drift in the machine's load fall on every kind alike; the first rounds
        // (JIT, connection setup) are not counted.
        var bare = new List<Timing>();
        var bareProbed = new List<Timing>();
        var plain = new List<Timing>();
        var probed = new List<Timing>();
        for (var i = -WarmUpRounds; i < k; i++)
        {
            var round = i + WarmUpRounds;
            var samples = new[]
            {
                await BarePodAsync(client, $"bare-{round}", probe: false).ConfigureAwait(false),
                await BarePodAsync(client, $"bare-probed-{round}", probe: true).ConfigureAwait(false),
                await ReplaceOneAsync(client, "rs-plain", probe: false).ConfigureAwait(false),
                await ReplaceOneAsync(client, "rs-probed", probe: true).ConfigureAwait(false),
            };
            if (i >= 0)
            {
                bare.Add(samples[0]);
                bareProbed.Add(samples[1]);
                plain.Add(samples[2]);
                probed.Add(samples[3]);
            }
        }
        Log($"{k} rounds (+{WarmUpRounds} not counted) of a bare pod, a bare probed pod and a replacement in each Deployment");
        await DeleteDeploymentAsync(client, "rs-plain").ConfigureAwait(false);
        await DeleteDeploymentAsync(client, "rs-probed").ConfigureAwait(false);

        var baseRunning = new Samples(bare.Select(t => t.Running));
        var baseReady = new Samples(bareProbed.Select(t => t.Ready));
        var running = new Samples(plain.Select(t => t.Running));
        var ready = new Samples(probed.Select(t => t.Ready));
        var replaced = plain.Concat(probed).ToList();
        var bareBoth = bare.Concat(bareProbed).ToList();
        string P50(IEnumerable<Timing> timings, Func<Timing, double> f) => ResultTable.Ms(new Samples(timings.Select(f)).Median);
        string Base(Samples s, string what) => $"{ResultTable.Ms(s.Median)} p50 (bare pod create → {what}, {s.Count} of {k})";

        _table.Add("1a", $"Pod of a {n}-replica Deployment deleted → replacement Running, {running.Count} of {k}: p50", ResultTable.Ms(running.Median),
            Base(baseRunning, "Running"), ResultTable.Ratio(running.Median, baseRunning.Median),
            $"from the DELETE's return (the call itself p50 {P50(replaced, t => t.Call)}) to the watch event of the new pod Running; p50 of both Deployments: new pod on the watch {P50(replaced, t => t.Seen)}, bound {P50(replaced, t => t.Scheduled)}. Bare pods: POST p50 {P50(bareBoth, t => t.Call)}, on the watch {P50(bareBoth, t => t.Seen)}, bound {P50(bareBoth, t => t.Scheduled)}");
        _table.Add("1b", "Deleted → replacement Running: p99 / max", $"{ResultTable.Ms(running.Percentile(99))} / {ResultTable.Ms(running.Max)}",
            $"{ResultTable.Ms(baseRunning.Percentile(99))} / {ResultTable.Ms(baseRunning.Max)}", ResultTable.Ratio(running.Percentile(99), baseRunning.Percentile(99)), "");
        _table.Add("1c", $"With an exec readiness probe (`true`, every 1 s): deleted → replacement Ready, {ready.Count} of {k}: p50", ResultTable.Ms(ready.Median),
            Base(baseReady, "Ready"), ResultTable.Ratio(ready.Median, baseReady.Median),
            $"deleted → replacement Running p50 {P50(probed, t => t.Running)}; bare probed pod create → Running p50 {P50(bareProbed, t => t.Running)}");
        _table.Add("1d", "Deleted → replacement Ready: p99 / max", $"{ResultTable.Ms(ready.Percentile(99))} / {ResultTable.Ms(ready.Max)}",
            $"{ResultTable.Ms(baseReady.Percentile(99))} / {ResultTable.Ms(baseReady.Max)}", ResultTable.Ratio(ready.Percentile(99), baseReady.Percentile(99)), "");
    }

    // 2. A Deployment of R replicas: create → rollout complete, then a template change → complete.
    // Baseline: R bare pods created the same way (10 in flight) until all are Ready.
    private async Task RolloutAsync(HttpClient client)
    {
        var r = _options.Rollout;
        var names = Enumerable.Range(0, r).Select(i => $"bulk-{i}").ToArray();
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = _ct },
            async (name, ct) => await Http.SendJsonAsync(client, HttpMethod.Post, Pods, PodJson(name, "bulk", probe: false), null, ct).ConfigureAwait(false)).ConfigureAwait(false);
        var allReady = await WaitUntilAsync(() => names.All(n => _pods.TryGetValue(n, out var p) && p.ReadyAt != 0), s_phaseCap, $"{r} bare pods Ready").ConfigureAwait(false);
        var bare = allReady ? Stopwatch.GetElapsedTime(started, names.Max(n => _pods[n].ReadyAt)).TotalMilliseconds : double.NaN;
        Log($"baseline: {r} bare pods Ready in {ResultTable.Ms(bare)}");
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = _ct },
            async (name, ct) => await DeleteAsync(client, $"{Pods}/{name}", ct).ConfigureAwait(false)).ConfigureAwait(false);
        await WaitUntilAsync(() => LivePods("bulk") == 0, s_phaseCap, $"{r} bare pods gone").ConfigureAwait(false);

        const string Name = "rollout";
        started = Stopwatch.GetTimestamp();
        await CreateDeploymentAsync(client, Name, r, probe: false).ConfigureAwait(false);
        var create = await WaitForCompleteAsync(Name, 1, s_phaseCap).ConfigureAwait(false)
            ? Stopwatch.GetElapsedTime(started, _deployments[Name].CompleteAt[1]).TotalMilliseconds : double.NaN;
        var lastReady = Since(started, _pods.Values.Where(p => p.Owner == Name && p.ReadyAt != 0).Select(p => p.ReadyAt).DefaultIfEmpty().Max());
        Log($"Deployment of {r}: rollout complete in {ResultTable.Ms(create)}");

        started = Stopwatch.GetTimestamp();
        var patched = await Http.SendJsonAsync(client, HttpMethod.Patch, $"{Deployments}/{Name}",
            """{"spec":{"template":{"spec":{"containers":[{"name":"main","env":[{"name":"BENCH_ROLL","value":"1"}]}]}}}}""",
            "application/strategic-merge-patch+json", _ct).ConfigureAwait(false);
        using (var doc = JsonDocument.Parse(patched))
        {
            var generation = doc.RootElement.GetProperty("metadata").GetProperty("generation").GetInt64();
            var update = await WaitForCompleteAsync(Name, generation, s_phaseCap).ConfigureAwait(false)
                ? Stopwatch.GetElapsedTime(started, _deployments[Name].CompleteAt[generation]).TotalMilliseconds : double.NaN;
            Log($"rolling update of {r}: complete in {ResultTable.Ms(update)}");
            var ratioNote = $"{r} bare pods, {Concurrency} creates in flight, first POST → last pod Ready";
            _table.Add("2a", $"Deployment of {r} replicas: create → rollout complete (`observedGeneration`, updated = available = {r})", Seconds(create),
                $"{Seconds(bare)} ({ratioNote})", ResultTable.Ratio(create, bare),
                $"the last of its pods Ready after {Seconds(lastReady)}; completion as `kubectl rollout status` judges it, seen on a watch of the Deployments");
            _table.Add("2b", $"Rolling update of it (env change, default 25% surge / 25% unavailable) → complete", Seconds(update),
                $"{Seconds(bare)} (the same)", ResultTable.Ratio(update, bare), $"{r} new pods started and {r} old ones stopped; generation {generation}");
        }
        await DeleteDeploymentAsync(client, Name).ConfigureAwait(false);
    }

    // 3. CPU and RSS of the server (API server + controllers) and of the agents, idle with no pods, then idle with
    // 1,000 pods of 10 Deployments Running, nothing changing.
    private async Task IdleAsync(HttpClient client)
    {
        await Task.Delay(s_settle, _ct).ConfigureAwait(false);
        var empty = await MeasureIdleAsync(client, "no pods").ConfigureAwait(false);

        var total = _options.IdlePods;
        var deployments = new List<(string Name, int Replicas)>();
        for (var d = 0; d * PodsPerIdleDeployment < total; d++)
        {
            deployments.Add(($"idle-{d}", Math.Min(PodsPerIdleDeployment, total - (d * PodsPerIdleDeployment))));
        }
        var started = Stopwatch.GetTimestamp();
        foreach (var (name, replicas) in deployments)
        {
            await CreateDeploymentAsync(client, name, replicas, probe: false).ConfigureAwait(false);
        }
        var complete = await WaitUntilAsync(() => deployments.All(d => _deployments.TryGetValue(d.Name, out var s) && s.CompleteAt.ContainsKey(1))
            && _pods.Values.Count(p => p.Owner.StartsWith("idle-", StringComparison.Ordinal) && p.RunningAt != 0 && p.DeletedAt == 0 && !p.Terminating) >= total,
            s_idleStartCap, $"{total} pods of {deployments.Count} Deployments Running").ConfigureAwait(false);
        var startup = Stopwatch.GetElapsedTime(started);
        var idlePods = _pods.Values.Where(p => p.Owner.StartsWith("idle-", StringComparison.Ordinal) && p.DeletedAt == 0).ToList();
        var runningCount = idlePods.Count(p => p.RunningAt != 0);
        Log($"{runningCount} of {total} pods Running after {startup.TotalSeconds:F1} s");
        if (!complete)
        {
            _observations.Add($"of the idle pods {idlePods.Count} exist, {idlePods.Count(p => p.Node is not null)} are bound, {runningCount} Running; "
                + await PendingReasonAsync(client, idlePods).ConfigureAwait(false));
        }
        await Task.Delay(s_settle, _ct).ConfigureAwait(false);
        var full = await MeasureIdleAsync(client, $"{total} pods").ConfigureAwait(false);

        var window = $"{_options.IdleSeconds} s";
        var agents = $"{_agents.Count} `berth agent` processes";
        _table.Add("3a", $"`berth server` CPU, {total} pods idle ({deployments.Count} Deployments, pods on {agents}), over {window}", Pct(full.ServerCpu),
            $"{Pct(empty.ServerCpu)} (the same server, no pods)", ResultTable.Ratio(full.ServerCpu, empty.ServerCpu),
            $"% of one core, utime + stime from /proc; API server + controllers (its own node cordoned); {full.Writes} writes (resourceVersion +{full.Writes}) and {full.PodEvents} pod watch events in the window, {empty.Writes} writes with no pods");
        _table.Add("3b", $"CPU of the {agents} together, {total} pods idle, over {window}", Pct(full.AgentCpu), $"{Pct(empty.AgentCpu)} (no pods)",
            ResultTable.Ratio(full.AgentCpu, empty.AgentCpu), $"the node agents running the `sleep` pods ({PodsPerAgent} each); {runningCount} of {total} Running {startup.TotalSeconds:F0} s after the first Deployment was created");
        _table.Add("3c", $"`berth server` RSS, {total} pods idle", ResultTable.MiB(full.ServerRss), $"{ResultTable.MiB(empty.ServerRss)} (no pods)",
            ResultTable.Ratio(full.ServerRss, empty.ServerRss), $"+{(full.ServerRss - empty.ServerRss) / 1024.0 / total:F0} KiB per pod (objects, watch caches, informers)");
        _table.Add("3d", $"RSS of the {agents} together, {total} pods idle", ResultTable.MiB(full.AgentRss), $"{ResultTable.MiB(empty.AgentRss)} (no pods)",
            ResultTable.Ratio(full.AgentRss, empty.AgentRss), (complete ? "" : "not every pod was Running (see the observations); ")
                + $"+{(full.AgentRss - empty.AgentRss) / 1024.0 / Math.Max(1, runningCount):F0} KiB per running pod");
    }

    // Why a pod is not bound: the message of its PodScheduled condition (the scheduler's FitError).
    private async Task<string> PendingReasonAsync(HttpClient client, List<PodState> pods)
    {
        if (_pods.FirstOrDefault(p => p.Value.Owner.StartsWith("idle-", StringComparison.Ordinal) && p.Value.DeletedAt == 0 && p.Value.Node is null).Key is not { } name)
        {
            return "none is unbound";
        }
        using var doc = JsonDocument.Parse(await client.GetByteArrayAsync($"{Pods}/{name}", _ct).ConfigureAwait(false));
        var scheduled = doc.RootElement.TryGetProperty("status", out var status) && status.TryGetProperty("conditions", out var conditions)
            ? conditions.EnumerateArray().FirstOrDefault(c => c.GetProperty("type").GetString() == "PodScheduled") : default;
        var message = scheduled.ValueKind == JsonValueKind.Object && scheduled.TryGetProperty("message", out var m) ? m.GetString() : "no PodScheduled message";
        return $"unbound pod {name} ({pods.Count(p => p.Node is null)} unbound): {message}";
    }

    private async Task<Idle> MeasureIdleAsync(HttpClient client, string what)
    {
        var server = _server!;
        TimeSpan AgentsCpu() => _agents.Aggregate(TimeSpan.Zero, (sum, a) => sum + a.ReadCpuTime());
        var rv = await CurrentResourceVersionAsync(client).ConfigureAwait(false);
        var events = Interlocked.Read(ref _podEvents);
        var at = Stopwatch.GetTimestamp();
        var serverCpu = server.ReadCpuTime();
        var agentCpu = AgentsCpu();
        await Task.Delay(TimeSpan.FromSeconds(_options.IdleSeconds), _ct).ConfigureAwait(false);
        var serverUsed = server.ReadCpuTime() - serverCpu;
        var agentUsed = AgentsCpu() - agentCpu;
        var elapsed = Stopwatch.GetElapsedTime(at);
        var idle = new Idle(
            serverUsed / elapsed * 100,
            agentUsed / elapsed * 100,
            server.ReadRssBytes(),
            _agents.Sum(a => a.ReadRssBytes()),
            await CurrentResourceVersionAsync(client).ConfigureAwait(false) - rv,
            Interlocked.Read(ref _podEvents) - events);
        Log($"idle, {what}: server {Pct(idle.ServerCpu)} CPU, {ResultTable.MiB(idle.ServerRss)}; agent {Pct(idle.AgentCpu)}, {ResultTable.MiB(idle.AgentRss)}; {idle.Writes} writes, {idle.PodEvents} pod events");
        return idle;
    }

    // A bare pod: POST → Running (and Ready), then DELETE and wait until it is gone, so samples do not overlap.
    private async Task<Timing> BarePodAsync(HttpClient client, string name, bool probe)
    {
        var at = Stopwatch.GetTimestamp();
        await Http.SendJsonAsync(client, HttpMethod.Post, Pods, PodJson(name, "bare", probe), null, _ct).ConfigureAwait(false);
        var call = Stopwatch.GetElapsedTime(at).TotalMilliseconds;
        await WaitUntilAsync(() => _pods.TryGetValue(name, out var p) && p.RunningAt != 0 && (!probe || p.ReadyAt != 0), s_sampleCap, $"bare pod {name} {(probe ? "Ready" : "Running")}").ConfigureAwait(false);
        var pod = _pods.GetValueOrDefault(name);
        await DeleteAsync(client, $"{Pods}/{name}", _ct).ConfigureAwait(false);
        await WaitUntilAsync(() => _pods.TryGetValue(name, out var p) && p.DeletedAt != 0, s_sampleCap, $"bare pod {name} gone").ConfigureAwait(false);
        return Timing.Of(call, at, pod);
    }

    // Deletes one serving pod of the Deployment and times its replacement, then waits until the old one is gone.
    private async Task<Timing> ReplaceOneAsync(HttpClient client, string deployment, bool probe)
    {
        var known = _pods.Where(p => p.Value.Owner == deployment).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var victim = _pods.Where(p => p.Value.Owner == deployment && p.Value.DeletedAt == 0 && !p.Value.Terminating && p.Value.RunningAt != 0 && (!probe || p.Value.ReadyAt != 0))
            .Select(p => p.Key).Order(StringComparer.Ordinal).FirstOrDefault()
            ?? throw new InvalidOperationException($"no serving pod of Deployment {deployment} to delete");
        var sent = Stopwatch.GetTimestamp();
        await DeleteAsync(client, $"{Pods}/{victim}", _ct).ConfigureAwait(false);
        var returned = Stopwatch.GetTimestamp();
        PodState? replacement = null;
        bool Serving()
        {
            replacement ??= _pods.Where(p => p.Value.Owner == deployment && !known.Contains(p.Key)).Select(p => p.Value).FirstOrDefault();
            return replacement is { RunningAt: not 0 } r && (!probe || r.ReadyAt != 0);
        }
        await WaitUntilAsync(Serving, s_sampleCap, $"a replacement for {victim} {(probe ? "Ready" : "Running")}").ConfigureAwait(false);
        await WaitUntilAsync(() => _pods[victim].DeletedAt != 0, s_sampleCap, $"deleted pod {victim} gone").ConfigureAwait(false);
        return Timing.Of(Stopwatch.GetElapsedTime(sent, returned).TotalMilliseconds, returned, replacement);
    }

    private async Task CreateDeploymentAsync(HttpClient client, string name, int replicas, bool probe)
    {
        var template = PodJson(null, name, probe);
        var json = $$$"""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"{{{name}}}"},"spec":{"replicas":{{{replicas}}},"selector":{"matchLabels":{"{{{Label}}}":"{{{name}}}"}},"template":{{{template}}}}}""";
        await Http.SendJsonAsync(client, HttpMethod.Post, Deployments, json, null, _ct).ConfigureAwait(false);
    }

    // Deletes a Deployment (background propagation: the garbage collector removes its ReplicaSets and their pods)
    // and waits until none of its pods is left; if the collector does not get there, cleans up by hand and says so.
    private async Task DeleteDeploymentAsync(HttpClient client, string name)
    {
        using (var request = new HttpRequestMessage(HttpMethod.Delete, $"{Deployments}/{name}"))
        {
            request.Content = new StringContent("""{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}""", Encoding.UTF8, "application/json");
            using var response = await client.SendAsync(request, _ct).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }
        var at = Stopwatch.GetTimestamp();
        if (await WaitUntilAsync(() => LivePods(name) == 0, s_phaseCap, $"the pods of deleted Deployment {name} gone").ConfigureAwait(false))
        {
            Log($"Deployment {name} and its pods gone in {ResultTable.Ms(Stopwatch.GetElapsedTime(at).TotalMilliseconds)}");
            return;
        }
        foreach (var rs in await NamesAsync(client, $"{ReplicaSets}?labelSelector={Label}%3D{name}").ConfigureAwait(false))
        {
            await DeleteAsync(client, $"{ReplicaSets}/{rs}", _ct).ConfigureAwait(false);
        }
        foreach (var pod in await NamesAsync(client, $"{Pods}?labelSelector={Label}%3D{name}").ConfigureAwait(false))
        {
            await DeleteAsync(client, $"{Pods}/{pod}", _ct).ConfigureAwait(false);
        }
        await WaitUntilAsync(() => LivePods(name) == 0, s_phaseCap, $"the pods of {name} gone after deleting its ReplicaSets and pods by hand").ConfigureAwait(false);
    }

    private static string PodJson(string? name, string owner, bool probe)
    {
        var labels = $$$"""{"labels":{"{{{Label}}}":"{{{owner}}}"}}""";
        var meta = name is null ? labels : $$$"""{"name":"{{{name}}}",{{{labels[1..]}}}""";
        var readiness = probe ? ""","readinessProbe":{"exec":{"command":["true"]},"initialDelaySeconds":0,"periodSeconds":1}""" : "";
        var spec = $$$"""{"terminationGracePeriodSeconds":5,"containers":[{"name":"main","image":"busybox","command":["sleep","3600"]{{{readiness}}}}]}""";
        return name is null ? $$$"""{"metadata":{{{meta}}},"spec":{{{spec}}}}""" : $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{{{meta}}},"spec":{{{spec}}}}""";
    }

    private int LivePods(string owner) => _pods.Values.Count(p => p.Owner == owner && p.DeletedAt == 0);

    private async Task<bool> WaitForCompleteAsync(string deployment, long generation, TimeSpan cap) =>
        await WaitUntilAsync(() => _deployments.TryGetValue(deployment, out var d) && d.CompleteAt.ContainsKey(generation), cap,
            $"Deployment {deployment} generation {generation} rolled out").ConfigureAwait(false);

    /// <summary>Polls a condition over the watches' state until it holds or the cap passes (then noted as an observation).</summary>
    private async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan cap, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(cap.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                _observations.Add($"not within {cap.TotalSeconds:F0} s: {what}");
                Log($"timed out: {what}");
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(5), _ct).ConfigureAwait(false);
        }
        return true;
    }

    private async Task WaitForReadyNodeAsync(HttpClient client, string node)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(s_startTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            using var response = await client.GetAsync($"/api/v1/nodes/{node}", _ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(_ct).ConfigureAwait(false));
                var hasCidr = doc.RootElement.TryGetProperty("spec", out var spec) && spec.TryGetProperty("podCIDR", out var cidr) && cidr.GetString() is { Length: > 0 };
                if (hasCidr && IsTrue(doc.RootElement, "Ready"))
                {
                    return;
                }
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"node {node} not Ready with a pod CIDR within {s_startTimeout.TotalSeconds:F0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), _ct).ConfigureAwait(false);
        }
    }

    private async Task<string> ListResourceVersionAsync(HttpClient client, string path)
    {
        using var doc = JsonDocument.Parse(await client.GetByteArrayAsync(path, _ct).ConfigureAwait(false));
        return doc.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString()!;
    }

    // The store's resourceVersion grows by one per write of any object, so its difference counts writes.
    private async Task<long> CurrentResourceVersionAsync(HttpClient client) =>
        long.Parse(await ListResourceVersionAsync(client, "/api/v1/namespaces").ConfigureAwait(false), CultureInfo.InvariantCulture);

    private async Task<List<string>> NamesAsync(HttpClient client, string path)
    {
        using var doc = JsonDocument.Parse(await client.GetByteArrayAsync(path, _ct).ConfigureAwait(false));
        return [.. doc.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("metadata").GetProperty("name").GetString()!)];
    }

    private static async Task DeleteAsync(HttpClient client, string path, CancellationToken ct)
    {
        using var response = await client.DeleteAsync(path, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.NotFound)
        {
            throw new HttpRequestException($"DELETE {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
        }
    }

    private Task WatchAsync(HttpClient client, string path, string fromRv, Action<string, JsonElement, long> onEvent, CancellationToken ct) =>
        JsonWatch.RunAsync(client, path, fromRv, onEvent, Log, ct);

    private void OnPodEvent(string type, JsonElement pod, long now)
    {
        Interlocked.Increment(ref _podEvents);
        var meta = pod.GetProperty("metadata");
        var name = meta.GetProperty("name").GetString()!;
        var state = _pods.GetOrAdd(name, _ => new PodState
        {
            FirstSeenAt = now,
            Owner = meta.TryGetProperty("labels", out var labels) && labels.TryGetProperty(Label, out var owner) ? owner.GetString()! : "",
        });
        if (type == "DELETED")
        {
            state.DeletedAt = state.DeletedAt == 0 ? now : state.DeletedAt;
            return;
        }
        state.Terminating = meta.TryGetProperty("deletionTimestamp", out _);
        if (pod.GetProperty("spec").TryGetProperty("nodeName", out var node))
        {
            state.Node = node.GetString();
            state.ScheduledAt = state.ScheduledAt == 0 ? now : state.ScheduledAt;
        }
        if (state.RunningAt == 0 && IsRunning(pod))
        {
            state.RunningAt = now;
        }
        if (state.ReadyAt == 0 && IsTrue(pod, "Ready"))
        {
            state.ReadyAt = now;
        }
    }

    // What `kubectl rollout status` waits for (polymorphichelpers.DeploymentStatusViewer): the controller has seen
    // this generation, every replica is updated, no old replica is left, and every updated one is available.
    private void OnDeploymentEvent(string type, JsonElement deployment, long now)
    {
        var name = deployment.GetProperty("metadata").GetProperty("name").GetString()!;
        var state = _deployments.GetOrAdd(name, _ => new DeploymentState());
        if (type == "DELETED")
        {
            return;
        }
        var generation = deployment.GetProperty("metadata").TryGetProperty("generation", out var g) ? g.GetInt64() : 0;
        var spec = deployment.GetProperty("spec");
        var replicas = spec.TryGetProperty("replicas", out var r) ? r.GetInt64() : 1;
        var status = deployment.TryGetProperty("status", out var s) ? s : default;
        long Status(string field) => status.ValueKind == JsonValueKind.Object && status.TryGetProperty(field, out var v) ? v.GetInt64() : 0;
        var updated = Status("updatedReplicas");
        if (Status("observedGeneration") >= generation && updated >= replicas && Status("replicas") <= updated && Status("availableReplicas") >= updated)
        {
            state.CompleteAt.TryAdd(generation, now);
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

    private static double Since(long from, long to) => from == 0 || to == 0 ? double.NaN : Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    private static string Seconds(double ms) => double.IsNaN(ms) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{ms / 1000:F2} s");

    private static string Pct(double percent) => string.Create(CultureInfo.InvariantCulture, $"{percent:F1} %");

    private string Render()
    {
        var sb = new StringBuilder()
            .Append("## Berth controllers\n\n")
            .Append(CultureInfo.InvariantCulture, $"- when: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; whole run {_clock.Elapsed.TotalSeconds:F0} s\n")
            .Append(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}\n")
            .Append(CultureInfo.InvariantCulture, $"- load average (1/5/15 min) at the start: {_loadAtStart}, at the end: {ProcFacts.LoadAverage()}\n")
            .Append(CultureInfo.InvariantCulture, $"- `berth server` ({_options.Berth}) on 127.0.0.1 with its node cordoned, pods on {_agents.Count} separate `berth agent` processes, in `default`; one watch on the pods, one on the Deployments\n\n")
            .Append(_table.ToMarkdown(_observations));
        return sb.ToString();
    }

    // SIGTERM (the agent stops its pods gracefully), SIGKILL of the tree after the grace period; then any child it
    // had that is still alive (a pod process left behind) is killed by PID, if it is still the same process.
    private async Task StopAsync(BerthProcess process)
    {
        var children = ProcFacts.Children(process.Pid);
        await process.StopAsync(s_stopGrace).ConfigureAwait(false);
        var left = 0;
        foreach (var (pid, startTime) in children)
        {
            if (StartTime(pid) == startTime)
            {
                left++;
                try
                {
                    using var child = Process.GetProcessById(pid);
                    child.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // Exited meanwhile.
                }
            }
        }
        if (left > 0)
        {
            _observations.Add($"{left} child processes of berth {process.Pid} were still alive after it stopped (killed)");
        }
    }

    private static string? StartTime(int pid) => ProcFacts.Stat(pid)?[19];

    private string Dir(string name) => Directory.CreateDirectory(Path.Combine(_root, name)).FullName;

    private void Log(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:F1}s] {message}"));

    private void OnProcessExit(object? sender, EventArgs e)
    {
        foreach (var agent in _agents)
        {
            agent.Kill();
        }
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
            Console.Error.WriteLine($"controllers: could not remove {_root}: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        DeleteRoot();
    }

    /// <summary>One sample, in ms from its origin (a bare pod's POST, a deleted pod's DELETE returning); NaN = never.</summary>
    private sealed record Timing(double Call, double Seen, double Scheduled, double Running, double Ready)
    {
        public static Timing Of(double call, long origin, PodState? pod) => new(call,
            Since(origin, pod?.FirstSeenAt ?? 0), Since(origin, pod?.ScheduledAt ?? 0), Since(origin, pod?.RunningAt ?? 0), Since(origin, pod?.ReadyAt ?? 0));
    }

    private sealed record Idle(double ServerCpu, double AgentCpu, long ServerRss, long AgentRss, long Writes, long PodEvents);

    /// <summary>Stopwatch timestamps (0 = not yet) and facts of one pod as the watch saw them; written by the watch only.</summary>
    private sealed class PodState
    {
        public required string Owner { get; init; }
        public long FirstSeenAt { get; init; }
        public long ScheduledAt { get; set; }
        public long RunningAt { get; set; }
        public long ReadyAt { get; set; }
        public long DeletedAt { get; set; }
        public bool Terminating { get; set; }
        public string? Node { get; set; }
    }

    /// <summary>When each generation of a Deployment was first seen rolled out.</summary>
    private sealed class DeploymentState
    {
        public ConcurrentDictionary<long, long> CompleteAt { get; } = new();
    }

    /// <summary>Command line of <c>Berth.Benchmarks controllers</c>; the defaults are the published configuration.</summary>
    private sealed class Options
    {
        public const string Usage = """
            Usage: Berth.Benchmarks controllers [--berth PATH] [--out FILE] [--replicas N] [--samples K] [--rollout N]
                                                [--idle-pods N] [--idle-seconds S]

              --berth PATH      the berth binary (default: $BERTH_BIN, else src/Berth/bin/Release/net10.0/berth)
              --out FILE        also write the markdown results to FILE
              --replicas N      replicas of the Deployments whose pods are deleted one at a time (default 20)
              --samples K       pods deleted (and bare pods created) per kind, one at a time (default 50)
              --rollout N       replicas of the Deployment rolled out and updated (default 100)
              --idle-pods N     pods left idle, in Deployments of 100 (default 1000)
              --idle-seconds S  length of each idle CPU window (default 30)
            """;

        public string Berth { get; private set; } = "";

        public string? Out { get; private set; }

        public int Replicas { get; private set; } = 20;

        public int Samples { get; private set; } = 50;

        public int Rollout { get; private set; } = 100;

        public int IdlePods { get; private set; } = 1000;

        public int IdleSeconds { get; private set; } = 30;

        public static Options Parse(string[] args)
        {
            var options = new Options();
            var rest = new List<string>();
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--berth" or "--out":
                        rest.Add(args[i]);
                        rest.Add(i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value"));
                        break;
                    case "--replicas":
                        options.Replicas = Count(args, ref i, 1000);
                        break;
                    case "--samples":
                        options.Samples = Count(args, ref i, 1000);
                        break;
                    case "--rollout":
                        options.Rollout = Count(args, ref i, 1000);
                        break;
                    case "--idle-pods":
                        options.IdlePods = Count(args, ref i, 2000);
                        break;
                    case "--idle-seconds":
                        options.IdleSeconds = Count(args, ref i, 300);
                        break;
                    default:
                        throw new ArgumentException($"unknown option \"{args[i]}\"");
                }
            }
            var shared = EndToEndOptions.Parse([.. rest]);
            options.Berth = shared.Berth;
            options.Out = shared.Out;
            return options;
        }

        private static int Count(string[] args, ref int i, int max)
        {
            var flag = args[i];
            return i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= max
                ? n : throw new ArgumentException($"{flag} needs a number from 1 to {max}");
        }
    }
}
