using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// Endpoint programming of a real `berth server` (docs/benchmarks.md, "Endpoints (issue 6)"): how long after a pod's
/// status says Ready its address is ready in its Service's EndpointSlice (and in the v1 Endpoints), at 1,000 Services ×
/// 10 pods or 10,000 × 5, and how many bytes the endpoint controllers write per pod change. The baseline, measured in
/// the same run, is the same status write arriving on a pod watch: the API server's own write → watch latency, which
/// every controller round trip contains.
/// </summary>
/// <remarks>
/// Tens of thousands of real pod processes do not fit on the machine, so the pods are API objects on hollow nodes, as
/// upstream's kubemark does it (<see cref="EndpointRound"/>). One fresh server per batch period, run one after the other;
/// bounded in count and time, and every process started is killed and the temp dir removed on the way out.
/// </remarks>
internal sealed partial class EndpointSuite : IAsyncDisposable
{
    private static readonly TimeSpan s_budget = TimeSpan.FromMinutes(60);

    private readonly Options _options;
    private readonly CancellationToken _ct;
    private readonly string _root;
    private readonly ResultTable _table = new();
    private readonly List<string> _observations = [];
    private readonly List<string> _rounds = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _loadAtStart = ProcFacts.LoadAverage();
    private EndpointRound? _round;

    private EndpointSuite(Options options, CancellationToken ct)
    {
        _options = options;
        _ct = ct;
        _root = Path.Combine(Path.GetTempPath(), $"berth-ep-{Guid.NewGuid():N}"[..20]);
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
            await Console.Error.WriteLineAsync($"endpoints: {e.Message}\n\n{Options.Usage}").ConfigureAwait(false);
            return 2;
        }

        return await SuiteRunner.RunAsync("endpoints", s_budget, options.Out, ct => new EndpointSuite(options, ct), s => s.RunAllAsync(), ReportFailureAsync)
            .ConfigureAwait(false);
    }

    private static async Task ReportFailureAsync(EndpointSuite s, Exception e)
    {
        await Console.Error.WriteLineAsync($"endpoints: failed after {s._clock.Elapsed.TotalSeconds:F0} s: {e}").ConfigureAwait(false);
    }

    private async Task<string> RunAllAsync()
    {
        if (_options.Csv is { } csv)
        {
            await File.WriteAllTextAsync(csv, "round,batch_period,start_utc,write_ms,pod_watch_ms,slice_ms,endpoints_ms\n", _ct).ConfigureAwait(false);
        }
        Log($"berth binary: {_options.Berth}; load average {_loadAtStart}; {_options.Services} Services × {_options.PodsPerService} pods, batch periods {string.Join(", ", _options.BatchPeriods)}");
        for (var i = 0; i < _options.BatchPeriods.Count; i++)
        {
            var period = _options.BatchPeriods[i];
            var dir = Directory.CreateDirectory(Path.Combine(_root, $"round-{i + 1}")).FullName;
            _round = new EndpointRound(_options, period, (i + 1).ToString(CultureInfo.InvariantCulture), dir, _table, _observations, Log, _ct);
            var load = ProcFacts.LoadAverage();
            try
            {
                await _round.RunAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Before the server is killed: its last words are the clue.
                if (_round.Server is { } server)
                {
                    await Console.Error.WriteLineAsync($"--- output of server {server.Pid} (last 8 KiB) ---\n{ProcFacts.Tail(server.Output, 8192)}").ConfigureAwait(false);
                }
                throw;
            }
            finally
            {
                await _round.DisposeAsync().ConfigureAwait(false);
                TryDelete(dir);
            }
            _rounds.Add($"round {i + 1}: `--endpoint-updates-batch-period {period}`, load average {load} at its start, {ProcFacts.LoadAverage()} at its end");
        }
        Log($"done in {_clock.Elapsed.TotalSeconds:F0} s");
        return Render();
    }

    private string Render()
    {
        var o = _options;
        var sb = new StringBuilder()
            .Append("## Berth endpoints\n\n")
            .Append(CultureInfo.InvariantCulture, $"- when: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; whole run {_clock.Elapsed.TotalSeconds:F0} s\n")
            .Append(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}\n")
            .Append(CultureInfo.InvariantCulture, $"- load average (1/5/15 min) at the start: {_loadAtStart}, at the end: {ProcFacts.LoadAverage()}\n")
            .Append(CultureInfo.InvariantCulture, $"- `berth server` ({o.Berth}) on 127.0.0.1; {o.Services:N0} Services × {o.PodsPerService} pods in `{EndpointRound.Namespace}` on {EndpointRound.HollowNodes(o):N0} hollow nodes; {o.Samples:N0} pods flipped to Ready (+{EndpointRound.WarmUpFlips} not counted) at {o.Rate}/s, at most {o.InFlight} writes in flight; {o.Bursts} bursts\n");
        foreach (var round in _rounds)
        {
            sb.Append("- ").Append(round).Append('\n');
        }
        return sb.Append('\n').Append(_table.ToMarkdown(_observations)).ToString();
    }

    private void Log(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:F1}s] {message}"));

    private void OnProcessExit(object? sender, EventArgs e)
    {
        _round?.Server?.Kill();
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
            Console.Error.WriteLine($"endpoints: could not remove {dir}: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (_round is not null)
        {
            await _round.DisposeAsync().ConfigureAwait(false);
        }
        TryDelete(_root);
    }

    /// <summary>Command line of <c>Berth.Benchmarks endpoints</c>; the defaults are the published first scale.</summary>
    internal sealed partial class Options
    {
        public const string Usage = """
            Usage: Berth.Benchmarks endpoints [--berth PATH] [--out FILE] [--services N] [--pods-per-service M]
                                              [--samples K] [--rate R] [--in-flight F] [--bursts B]
                                              [--batch-periods LIST] [--csv FILE]

              --berth PATH          the berth binary (default: $BERTH_BIN, else src/Berth/bin/Release/net10.0/berth)
              --out FILE            also write the markdown results to FILE
              --services N          Services, each selecting its own pods (default 1000, at most 10000)
              --pods-per-service M  pods per Service (default 10, 2 to 100)
              --samples K           pods flipped from not Ready to Ready and timed (default 2000); K + 20 must not
                                    exceed N × (M - 1): every Service keeps a Ready pod
              --rate R              flips started per second (default 100)
              --in-flight F         status writes in flight at most (default 4)
              --bursts B            Services whose M - 1 other pods go not Ready and then Ready all at once (default 100)
              --batch-periods LIST  one fresh server per value of --endpoint-updates-batch-period, one after the
                                    other (default 10ms,0)
              --csv FILE            also write every counted flip (wall-clock start, latencies in ms) to FILE, to
                                    line slow flips up with what the server did at that moment
            """;

        public string Berth { get; private set; } = "";

        public string? Out { get; private set; }

        public string? Csv { get; private set; }

        public int Services { get; private set; } = 1000;

        public int PodsPerService { get; private set; } = 10;

        public int Samples { get; private set; } = 2000;

        public int Rate { get; private set; } = 100;

        public int InFlight { get; private set; } = 4;

        public int Bursts { get; private set; } = 100;

        public IReadOnlyList<string> BatchPeriods { get; private set; } = ["10ms", "0"];

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
                    case "--csv":
                        options.Csv = i + 1 < args.Length ? args[++i] : throw new ArgumentException("--csv needs a value");
                        break;
                    case "--services":
                        options.Services = Count(args, ref i, 1, 10_000);
                        break;
                    case "--pods-per-service":
                        options.PodsPerService = Count(args, ref i, 2, 100);
                        break;
                    case "--samples":
                        options.Samples = Count(args, ref i, 1, 100_000);
                        break;
                    case "--rate":
                        options.Rate = Count(args, ref i, 1, 1000);
                        break;
                    case "--in-flight":
                        options.InFlight = Count(args, ref i, 1, 32);
                        break;
                    case "--bursts":
                        options.Bursts = Count(args, ref i, 0, 10_000);
                        break;
                    case "--batch-periods":
                        var list = i + 1 < args.Length ? args[++i].Split(',') : [];
                        options.BatchPeriods = list.Length > 0 && list.Length <= 4 && list.All(p => BatchPeriod().IsMatch(p))
                            ? list : throw new ArgumentException("--batch-periods needs 1 to 4 durations such as 10ms,0 (0, Nms or Ns)");
                        break;
                    default:
                        throw new ArgumentException($"unknown option \"{args[i]}\"");
                }
            }
            if (options.Samples + EndpointRound.WarmUpFlips > options.Services * (options.PodsPerService - 1))
            {
                throw new ArgumentException($"--samples {options.Samples} (+{EndpointRound.WarmUpFlips} warm-up flips) exceeds {options.Services} Services × {options.PodsPerService - 1} pods that may be not Ready");
            }
            if (options.Bursts > options.Services)
            {
                throw new ArgumentException($"--bursts {options.Bursts} exceeds the {options.Services} Services");
            }
            var shared = EndToEndOptions.Parse([.. rest]);
            options.Berth = shared.Berth;
            options.Out = shared.Out;
            return options;
        }

        private static int Count(string[] args, ref int i, int min, int max)
        {
            var flag = args[i];
            return i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n : throw new ArgumentException($"{flag} needs a number from {min} to {max}");
        }

        [GeneratedRegex(@"^(0|[1-9]\d*(ms|s))$")]
        private static partial Regex BatchPeriod();
    }
}
