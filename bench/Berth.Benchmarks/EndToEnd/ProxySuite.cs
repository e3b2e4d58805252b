using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// The Service proxy against one nginx (docs/benchmarks.md, "Service proxy (issue 7)"): keep-alive requests/s, new
/// connections/s, bulk MB/s and latency, direct to nginx (the baseline), through Berth, and through HAProxy in TCP
/// mode, all in one run with the same client settings for every target. Rounds interleave the targets (A B C A B C…)
/// so that drift on a shared machine hits all of them alike; the report gives the median of the rounds.
/// </summary>
/// <remarks>
/// Two modes. <c>cluster</c> (the published one): a real Release <c>berth server</c>, nginx as a process pod, a
/// ClusterIP Service in front; Berth is the node agent's proxy on the ClusterIP. <c>relay</c>: no server, nginx as a
/// plain process and Berth's TCP relay (<see cref="Berth.Node.Proxy.Userspace.Tcp.TcpProxy"/>) in this process, for
/// tuning the relay alone. Every process started is stopped by its PID and the temp dir removed on the way out.
/// </remarks>
internal sealed partial class ProxySuite : IAsyncDisposable
{
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_pause = TimeSpan.FromSeconds(1);

    private readonly Options _options;
    private readonly CancellationToken _ct;
    private readonly string _root;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _loadAtStart = ProcFacts.LoadAverage();
    private readonly List<Target> _targets = [];
    private readonly List<string> _setup = [];
    private readonly List<string> _rounds = [];
    private readonly List<string> _observations = [];
    private readonly List<IAsyncDisposable> _owned = [];

    // A /24 of its own per run, 127.81.N.0 with N random: two runs side by side (two people tuning on one machine)
    // must not share addresses, and HAProxy is told not to use SO_REUSEPORT, so a clash fails loudly instead of
    // HAProxy silently sharing the port with another run's HAProxy.
    private readonly int _block = Random.Shared.Next(1, 255);
    private BerthProcess? _server;
    private string _nginxPrefix = "";

    private ProxySuite(Options options, CancellationToken ct)
    {
        _options = options;
        _ct = ct;
        _root = Path.Combine(Path.GetTempPath(), $"berth-proxy-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(_root);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    private enum Kind
    {
        KeepAlive,
        Close,
        Bulk,
    }

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == BulkClient.Command)
        {
            return BulkClient.Run(args[1..]);
        }
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"proxy: {e.Message}\n\n{Options.Usage}").ConfigureAwait(false);
            return 2;
        }
        return await SuiteRunner.RunAsync("proxy", options.Budget, options.Out, ct => new ProxySuite(options, ct), s => s.RunAllAsync(), ReportFailureAsync)
            .ConfigureAwait(false);
    }

    private static async Task ReportFailureAsync(ProxySuite s, Exception e)
    {
        await Console.Error.WriteLineAsync($"proxy: failed after {s._clock.Elapsed.TotalSeconds:F0} s: {e}").ConfigureAwait(false);
        if (s._server is { } server)
        {
            await Console.Error.WriteLineAsync($"--- output of server {server.Pid} (last 8 KiB) ---\n{ProcFacts.Tail(server.Output, 8192)}").ConfigureAwait(false);
        }
    }

    private async Task<string> RunAllAsync()
    {
        CheckTools();
        Log($"{_options.Mode} mode; load average {_loadAtStart}; {_options.Rounds} rounds of {_options.Duration.TotalSeconds:F0} s per target and measurement");
        var content = Path.Combine(_root, "html");
        Nginx.WriteContent(content, _options.BulkBytes);
        _nginxPrefix = Path.Combine(_root, "nginx");
        Directory.CreateDirectory(Path.Combine(_nginxPrefix, "tmp"));
        var upstream = _options.Mode == "relay" ? await SetUpRelayAsync(content).ConfigureAwait(false) : await SetUpClusterAsync(content).ConfigureAwait(false);
        if (_options.Targets.Contains("haproxy"))
        {
            var haproxy = await HaProxy.StartAsync(_root, HaProxyAddress, upstream, _options.Workers, _options.HaProxySplice, _ct).ConfigureAwait(false);
            _owned.Add(haproxy);
            _targets.Add(new Target("haproxy", "HAProxy", HaProxyAddress, haproxy.CpuTimeWithChildren));
            _setup.Add($"HAProxy {HaProxyVersion()}: TCP mode on {HaProxyAddress} → {upstream}, `nbthread {_options.Workers}` (as many threads as Berth's proxy has workers), "
                + (_options.HaProxySplice ? "`option splice-auto`" : "no splice") + ", no logging");
        }
        // Order the targets the same way every time: direct, Berth, HAProxy.
        _targets.Sort((a, b) => Order(a.Id).CompareTo(Order(b.Id)));
        await CheckTargetsAsync().ConfigureAwait(false);

        var warm = TimeSpan.FromSeconds(Math.Min(3, _options.Duration.TotalSeconds));
        Log($"warm-up: {warm.TotalSeconds:F0} s of each measurement on each target, not counted");
        foreach (var kind in Enum.GetValues<Kind>())
        {
            foreach (var target in _targets)
            {
                await MeasureAsync(target, kind, warm, record: false).ConfigureAwait(false);
            }
        }
        for (var round = 1; round <= _options.Rounds; round++)
        {
            var load = ProcFacts.LoadAverage();
            foreach (var kind in Enum.GetValues<Kind>())
            {
                foreach (var target in _targets)
                {
                    await MeasureAsync(target, kind, _options.Duration, record: true).ConfigureAwait(false);
                }
            }
            _rounds.Add($"round {round}: load average {load} at its start, {ProcFacts.LoadAverage()} at its end");
        }
        AddRelayCounters();
        Log($"done in {_clock.Elapsed.TotalSeconds:F0} s");
        return Render();
    }

    private IPEndPoint HaProxyAddress => Address(4, 80);

    private IPEndPoint Address(int host, int port) => new(IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"127.81.{_block}.{host}")), port);

    private static int Order(string id) => id switch
    {
        "direct" => 0,
        "berth" => 1,
        _ => 2,
    };

    private async Task MeasureAsync(Target target, Kind kind, TimeSpan duration, bool record)
    {
        await Task.Delay(s_pause, _ct).ConfigureAwait(false);
        var proxyCpu = target.ProxyCpu?.Invoke() ?? TimeSpan.Zero;
        var nginxCpu = NginxCpu();
        var started = Stopwatch.GetTimestamp();
        string line;
        if (kind == Kind.Bulk)
        {
            var bytesPerSecond = await BulkClient.MeasureAsync(target.EndPoint, "/bulk", duration, _ct).ConfigureAwait(false);
            line = string.Create(CultureInfo.InvariantCulture, $"{bytesPerSecond / 1e6:F0} MB/s");
            if (record)
            {
                target.Bulk.Add(bytesPerSecond);
            }
        }
        else
        {
            var result = await Wrk.RunAsync(target.Url, _options.Threads, _options.Connections, duration, kind == Kind.Close, _ct).ConfigureAwait(false);
            line = string.Create(CultureInfo.InvariantCulture, $"{result.RequestsPerSecond:F0} req/s, p50 {ResultTable.Ms(result.P50Ms)}, p99 {ResultTable.Ms(result.P99Ms)}");
            if (result.Errors > 0 || result.Non2xx > 0)
            {
                line += $"; {result.ErrorLine} non-2xx {result.Non2xx}";
                if (record)
                {
                    _observations.Add($"{target.Name}, {Describe(kind)}: {result.ErrorLine}; non-2xx or 3xx responses {result.Non2xx} (of {result.Requests})");
                }
            }
            if (record)
            {
                (kind == Kind.Close ? target.Close : target.KeepAlive).Add(result);
            }
        }
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (target.Id == "berth" && _relayStats is { } stats)
        {
            line += $"; relay counters now: {stats.Connections} connections, {stats.Refused} refused, {stats.Retried} retried";
        }
        if (record)
        {
            target.Cores[kind].Add(target.ProxyCpu is null ? double.NaN : ((target.ProxyCpu() - proxyCpu).TotalSeconds / wall));
            target.NginxCores[kind].Add((NginxCpu() - nginxCpu).TotalSeconds / wall);
        }
        Log($"{(record ? "" : "warm-up ")}{target.Name,-8} {Describe(kind),-16} {line}");
    }

    private static string Describe(Kind kind) => kind switch
    {
        Kind.KeepAlive => "keep-alive",
        Kind.Close => "new connections",
        _ => "bulk",
    };

    // Every target must serve the same page before anything is measured.
    private async Task CheckTargetsAsync()
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var target in _targets)
        {
            var body = await http.GetStringAsync(new Uri(target.Url), _ct).ConfigureAwait(false);
            if (body != Nginx.DefaultPage.ReplaceLineEndings("\n"))
            {
                throw new InvalidOperationException($"{target.Name} at {target.Url} did not serve nginx's page: {ProcFacts.Tail(body, 300)}");
            }
        }
    }

    private void CheckTools()
    {
        var missing = new[] { Wrk.Program, HaProxy.Program, Nginx.Program }.Where(p => FindProgram(p) is null).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"missing {string.Join(", ", missing)}: install them with `sudo apt-get install -y wrk haproxy nginx-light` (Debian/Ubuntu)");
        }
    }

    private static string? FindProgram(string program) => program.Contains('/', StringComparison.Ordinal)
        ? (File.Exists(program) ? program : null)
        : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/sbin").Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    private static string HaProxyVersion()
    {
        using var process = Process.Start(new ProcessStartInfo(HaProxy.Program, "-v") { RedirectStandardOutput = true, UseShellExecute = false });
        var first = process?.StandardOutput.ReadLine() ?? "";
        process?.WaitForExit();
        return first.Split(' ') is [_, _, var version, ..] ? version : "(unknown version)";
    }

    /// <summary>
    /// CPU of the nginx serving every target: its master, found by the prefix nginx writes into its process title
    /// ("nginx: master process /usr/sbin/nginx -p PREFIX …"), and the master's children (the worker).
    /// </summary>
    private TimeSpan NginxCpu()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (cmdline.StartsWith("nginx: master process", StringComparison.Ordinal) && cmdline.Contains(_nginxPrefix, StringComparison.Ordinal))
            {
                return ToolProcess.CpuTime(pid) + ProcFacts.Children(pid).Aggregate(TimeSpan.Zero, (sum, child) => sum + ToolProcess.CpuTime(child.Pid));
            }
        }
        return TimeSpan.Zero;
    }

    private string Render()
    {
        var o = _options;
        var sb = new StringBuilder()
            .Append("## Berth service proxy\n\n")
            .Append(CultureInfo.InvariantCulture, $"- when: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; whole run {_clock.Elapsed.TotalSeconds:F0} s; mode `{o.Mode}`\n")
            .Append(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}\n")
            .Append(CultureInfo.InvariantCulture, $"- load average (1/5/15 min) at the start: {_loadAtStart}, at the end: {ProcFacts.LoadAverage()}\n");
        foreach (var line in _setup)
        {
            sb.Append("- ").Append(line).Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture, $"- client: `wrk {string.Join(' ', Wrk.Arguments("URL", o.Threads, o.Connections, o.Duration, close: false))}` (keep-alive) and the same with `-H \"Connection: close\"` (new connections: nginx closes every connection after its response); bulk: one connection of the bench's own client (`proxy bulk-client`, 1 MiB reads) fetching the {o.BulkBytes / 1048576} MiB file over and over for {o.Duration.TotalSeconds:F0} s; MB = 10^6 bytes\n")
            .Append(CultureInfo.InvariantCulture, $"- rounds: {o.Rounds}, each: keep-alive on every target, then new connections on every target, then bulk on every target ({o.Duration.TotalSeconds:F0} s each, 1 s apart), after an uncounted warm-up of each; figures are the median of the rounds\n");
        foreach (var round in _rounds)
        {
            sb.Append("- ").Append(round).Append('\n');
        }
        return sb.Append('\n').Append(ProxyTable()).ToString();
    }

    private string ProxyTable()
    {
        var direct = _targets.FirstOrDefault(t => t.Id == "direct");
        var berth = _targets.FirstOrDefault(t => t.Id == "berth");
        var haproxy = _targets.FirstOrDefault(t => t.Id == "haproxy");
        var sb = new StringBuilder()
            .Append("| # | Measurement (median of the rounds) | Direct to nginx | Berth | HAProxy | Berth ÷ direct | Berth ÷ HAProxy | Target | Notes |\n")
            .Append("|---|---|---|---|---|---|---|---|---|\n");

        void Row(string id, string what, Func<Target, double> value, Func<double, string> format, string target, bool higherIsBetter, string notes, bool added = false)
        {
            double V(Target? t) => t is null ? double.NaN : value(t);
            string Cell(Target? t)
            {
                if (t is null)
                {
                    return "—";
                }
                var v = V(t);
                var more = v - V(direct);
                return added && t != direct && !double.IsNaN(more) ? $"{format(v)} ({(more < 0 ? "−" : "+")}{format(Math.Abs(more))})" : format(v);
            }
            var verdict = target switch
            {
                "haproxy" when berth is not null && haproxy is not null => Verdict(V(berth) / V(haproxy), 1.0, higherIsBetter, "≥ HAProxy"),
                "direct90" when berth is not null && direct is not null => Verdict(V(berth) / V(direct), 0.9, higherIsBetter, "≥ 0.9 × direct"),
                _ => "",
            };
            sb.Append(CultureInfo.InvariantCulture,
                $"| {id} | {what} | {Cell(direct)} | {Cell(berth)} | {Cell(haproxy)} | {Ratio(V(berth), V(direct))} | {Ratio(V(berth), V(haproxy))} | {verdict} | {notes.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }

        static double Median(IEnumerable<double> values) => new Samples(values).Median;
        var rate = ResultTable.Rate;
        var ms = ResultTable.Ms;
        static string Mb(double bytesPerSecond) => string.Create(CultureInfo.InvariantCulture, $"{bytesPerSecond / 1e6:N0} MB/s");
        static string Cores(double cores) => double.IsNaN(cores) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{cores:F2}");

        Row("1a", "Keep-alive requests/s", t => Median(t.KeepAlive.Select(r => r.RequestsPerSecond)), rate, "haproxy", true, PerRound(t => t.KeepAlive.Select(r => r.RequestsPerSecond), v => v.ToString("N0", CultureInfo.InvariantCulture)));
        Row("1b", "Keep-alive latency p50 (added vs direct)", t => Median(t.KeepAlive.Select(r => r.P50Ms)), ms, "", false, "wrk's latency distribution, median of the rounds' p50", added: true);
        Row("1c", "Keep-alive latency p99 (added vs direct)", t => Median(t.KeepAlive.Select(r => r.P99Ms)), ms, "", false, "median of the rounds' p99", added: true);
        Row("2a", "New connections/s (one request per connection)", t => Median(t.Close.Select(r => r.RequestsPerSecond)), rate, "haproxy", true, PerRound(t => t.Close.Select(r => r.RequestsPerSecond), v => v.ToString("N0", CultureInfo.InvariantCulture)));
        Row("2b", "New connection + request latency p50 (added vs direct)", t => Median(t.Close.Select(r => r.P50Ms)), ms, "", false, "", added: true);
        Row("2c", "New connection + request latency p99 (added vs direct)", t => Median(t.Close.Select(r => r.P99Ms)), ms, "", false, "", added: true);
        Row("3a", "Bulk throughput, one connection", t => Median(t.Bulk), Mb, "direct90", true, PerRound(t => t.Bulk, v => (v / 1e6).ToString("N0", CultureInfo.InvariantCulture)));
        var cpuNote = _options.Mode == "relay"
            ? "Berth: this whole benchmark process (the relay runs in it; it only waits for wrk meanwhile)"
            : "Berth: the whole `berth server` process (API server, controllers and node agent, idle but for the proxy)";
        foreach (var (kind, id) in new[] { (Kind.KeepAlive, "4a"), (Kind.Close, "4b"), (Kind.Bulk, "4c") })
        {
            var nginx = string.Join(", ", _targets.Select(t => $"{t.Name} {Cores(Median(t.NginxCores[kind]))}"));
            var proxies = _targets.Where(t => t.ProxyCpu is not null).ToList();
            // CPU per unit of work, per round (cores ÷ rate), so a proxy that does less work is not shown as cheaper.
            var perUnit = kind == Kind.Bulk
                ? "CPU per GB moved: " + string.Join(", ", proxies.Select(t => $"{t.Name} {Median(t.Cores[kind].Zip(t.Bulk, (c, b) => c / b * 1e12)):F0} ms"))
                : "CPU per request: " + string.Join(", ", proxies.Select(t => $"{t.Name} {Median(t.Cores[kind].Zip(kind == Kind.Close ? t.Close : t.KeepAlive, (c, r) => c / r.RequestsPerSecond * 1e6)):F1} µs"));
            Row(id, $"Proxy CPU during {Describe(kind)}, cores (utime + stime ÷ wall time)", t => Median(t.Cores[kind]), Cores, "", false,
                $"{perUnit}; nginx itself meanwhile: {nginx} cores" + (kind == Kind.KeepAlive ? $"; {cpuNote}" : ""));
        }
        if (_observations.Count > 0)
        {
            sb.Append("\nObservations:\n");
            foreach (var o in _observations)
            {
                sb.Append("- ").Append(o).Append('\n');
            }
        }
        return sb.ToString();

        // The targets of one round ran minutes apart at most, so the ratio within a round is the least disturbed by
        // the load of a shared machine changing between rounds.
        string PerRound(Func<Target, IEnumerable<double>> values, Func<double, string> format)
        {
            var text = "rounds: " + string.Join("; ", _targets.Select(t => $"{t.Name} {string.Join(" / ", values(t).Select(format))}"));
            if (berth is null)
            {
                return text;
            }
            foreach (var other in new[] { direct, haproxy })
            {
                if (other is not null)
                {
                    var ratios = values(berth).Zip(values(other), (b, o) => b / o).ToList();
                    text += $"; Berth ÷ {other.Name} per round {string.Join(" / ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))} (median {Median(ratios).ToString("F2", CultureInfo.InvariantCulture)})";
                }
            }
            return text;
        }
    }

    private static string Ratio(double value, double baseline) => ResultTable.Ratio(value, baseline);

    private static string Verdict(double ratio, double goal, bool higherIsBetter, string what) =>
        double.IsNaN(ratio) ? "" : (higherIsBetter ? ratio >= goal : ratio <= goal) ? $"{what}: met" : $"{what}: **missed**";

    private void Log(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:F1}s] {message}"));

    private void OnProcessExit(object? sender, EventArgs e)
    {
        _server?.Kill();
        TryDelete(_root);
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"proxy: could not remove {dir}: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync().ConfigureAwait(false);
        }
        if (_server is not null)
        {
            await _server.StopAsync(s_stopGrace).ConfigureAwait(false);
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        TryDelete(_root);
    }

    /// <summary>One way to reach nginx, and what was measured through it.</summary>
    private sealed class Target(string id, string name, IPEndPoint endPoint, Func<TimeSpan>? proxyCpu)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public IPEndPoint EndPoint { get; } = endPoint;

        public string Url => $"http://{EndPoint}/";

        /// <summary>CPU time so far of what relays this target's traffic; null for direct.</summary>
        public Func<TimeSpan>? ProxyCpu { get; } = proxyCpu;

        public List<WrkResult> KeepAlive { get; } = [];

        public List<WrkResult> Close { get; } = [];

        public List<double> Bulk { get; } = [];

        public Dictionary<Kind, List<double>> Cores { get; } = Enum.GetValues<Kind>().ToDictionary(k => k, _ => new List<double>());

        public Dictionary<Kind, List<double>> NginxCores { get; } = Enum.GetValues<Kind>().ToDictionary(k => k, _ => new List<double>());
    }
}
