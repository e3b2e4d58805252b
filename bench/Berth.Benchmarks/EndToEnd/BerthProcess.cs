using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// One real `berth` process on loopback. Every process started here is registered so that it is killed when the
/// benchmark exits for any reason (exception, Ctrl+C, SIGTERM); nothing outlives the run.
/// </summary>
internal sealed partial class BerthProcess : IAsyncDisposable
{
    private const int Sigterm = 15;
    private const int ScClkTck = 2;

    private static readonly ConcurrentDictionary<int, Process> s_live = new();
    private static readonly Lazy<long> s_clockTicks = new(() => SysConf(ScClkTck) is > 0 and var hz ? hz : 100);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _firstMatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Regex _waitFor;
    private long _matchedAt;
    private X509Certificate2? _ca;

    static BerthProcess()
    {
        // ProcessExit runs on normal exit, on unhandled exceptions' way out, and on SIGINT/SIGTERM in .NET.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    private BerthProcess(Process process, string dataDir, Regex waitFor, long startedAt)
    {
        _process = process;
        DataDir = dataDir;
        _waitFor = waitFor;
        StartedAt = startedAt;
    }

    public string DataDir { get; }

    public Uri Url { get; private set; } = new("https://127.0.0.1/");

    public int Pid => _process.Id;

    /// <summary>Stopwatch timestamp taken just before the process was spawned.</summary>
    public long StartedAt { get; }

    /// <summary>Wall time from spawning the process to reading its ready (or version) line.</summary>
    public TimeSpan TimeToLine => Stopwatch.GetElapsedTime(StartedAt, _matchedAt);

    /// <summary>The "in N ms" the server reports itself (measured from its Main, so without runtime startup).</summary>
    public double? SelfReportedMs { get; private set; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Runs `berth server` (with extra flags, if any) on an ephemeral loopback port and waits for its ready line.</summary>
    public static async Task<BerthProcess> StartServerAsync(string berth, string dataDir, TimeSpan timeout, CancellationToken ct, IReadOnlyList<string>? extraArgs = null)
    {
        var process = await SpawnAsync(berth, ["server", "--data-dir", dataDir, "--api-port", "0", "--bind-address", "127.0.0.1", "--kubelet-port", "0", .. extraArgs ?? []], dataDir, ReadyLine(), timeout, ct).ConfigureAwait(false);
        var line = await process._firstMatch.Task.ConfigureAwait(false);
        var match = ReadyLine().Match(line);
        process.Url = new Uri(match.Groups["url"].Value);
        if (!IPAddress.TryParse(process.Url.Host, out var ip) || !IPAddress.IsLoopback(ip))
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"refusing to benchmark a server that is not on loopback: {process.Url}");
        }
        process.SelfReportedMs = double.Parse(match.Groups["ms"].Value, CultureInfo.InvariantCulture);
        return process;
    }

    /// <summary>Runs `berth agent` joining a loopback server with its node-token, and waits until it has joined.</summary>
    public static async Task<BerthProcess> StartAgentAsync(string berth, BerthProcess server, string nodeName, string dataDir, TimeSpan timeout, CancellationToken ct)
    {
        var token = File.ReadAllText(Path.Combine(server.DataDir, "node-token")).Trim();
        return await SpawnAsync(berth, ["agent", "--server", server.Url.ToString().TrimEnd('/'), "--token", token, "--node-name", nodeName, "--data-dir", dataDir, "--kubelet-port", "0"], dataDir, AgentLine(), timeout, ct).ConfigureAwait(false);
    }

    /// <summary>Runs `berth version` and waits for its line: process start plus .NET runtime startup, the baseline for time to ready.</summary>
    public static async Task<TimeSpan> TimeVersionAsync(string berth, TimeSpan timeout, CancellationToken ct)
    {
        await using var process = await SpawnAsync(berth, ["version"], "", VersionLine(), timeout, ct).ConfigureAwait(false);
        var elapsed = process.TimeToLine;
        await process._process.WaitForExitAsync(ct).ConfigureAwait(false);
        return elapsed;
    }

    private static async Task<BerthProcess> SpawnAsync(string berth, string[] args, string dataDir, Regex waitFor, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(berth)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        var startedAt = Stopwatch.GetTimestamp();
        var raw = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {berth}");
        s_live[raw.Id] = raw;
        var process = new BerthProcess(raw, dataDir, waitFor, startedAt);
        raw.OutputDataReceived += (_, e) => process.OnLine(e.Data);
        raw.ErrorDataReceived += (_, e) => process.OnLine(e.Data);
        raw.BeginOutputReadLine();
        raw.BeginErrorReadLine();

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        var exited = raw.WaitForExitAsync(limit.Token);
        try
        {
            var first = await Task.WhenAny(process._firstMatch.Task, exited).ConfigureAwait(false);
            if (first != process._firstMatch.Task)
            {
                await first.ConfigureAwait(false);
                // Exited (as `berth version` does at once): its last lines may still be on their way to OnLine.
                await Task.WhenAny(process._firstMatch.Task, Task.Delay(500, CancellationToken.None)).ConfigureAwait(false);
            }
            if (!process._firstMatch.Task.IsCompleted)
            {
                throw new InvalidOperationException($"`berth {string.Join(' ', args)}` exited with code {raw.ExitCode} before it was ready:\n{process.Output}");
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"`berth {string.Join(' ', args)}` was not ready within {timeout.TotalSeconds:F0} s:\n{process.Output}");
        }
        catch
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return process;
    }

    private void OnLine(string? line)
    {
        var now = Stopwatch.GetTimestamp();
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
        if (!_firstMatch.Task.IsCompleted && _waitFor.IsMatch(line))
        {
            _matchedAt = now;
            _firstMatch.TrySetResult(line);
        }
    }

    /// <summary>VmRSS from /proc/PID/status, in bytes.</summary>
    public long ReadRssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim();
                kb = kb.EndsWith(" kB", StringComparison.Ordinal) ? kb[..^3] : kb;
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"no VmRSS for process {Pid}");
    }

    /// <summary>CPU time the process has used so far, all threads, user + system (utime + stime of /proc/PID/stat).</summary>
    public TimeSpan ReadCpuTime()
    {
        var fields = ProcFacts.Stat(Pid) ?? throw new InvalidOperationException($"process {Pid} is gone");
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / s_clockTicks.Value);
    }

    /// <summary>
    /// An HTTP/1.1 client on its own connection pool (one connection per concurrent request) that trusts only the
    /// cluster CA the server wrote, and sends the bearer token.
    /// </summary>
    public HttpClient CreateClient(int maxConnections, TimeSpan? timeout = null)
    {
        _ca ??= X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(DataDir, "pki", "ca.crt")));
        var ca = _ca;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(cert as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
        };
        var client = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = Url,
            Timeout = timeout ?? TimeSpan.FromSeconds(60),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(DataDir, "token")).Trim());
        return client;
    }

    /// <summary>SIGTERM, then SIGKILL of the whole tree if it has not stopped within the grace period.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }
        _ = Kill(_process.Id, Sigterm);
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            KillTree(_process);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>SIGKILL of the whole tree without waiting (for exit handlers, which cannot await).</summary>
    public void Kill() => KillTree(_process);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            KillTree(_process);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        s_live.TryRemove(_process.Id, out _);
        _process.Dispose();
        _ca?.Dispose();
    }

    private static void KillAll()
    {
        foreach (var process in s_live.Values)
        {
            KillTree(process);
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    private static extern long SysConf(int name);

    [GeneratedRegex(@"berth: node \S+ joined ")]
    private static partial Regex AgentLine();

    [GeneratedRegex(@"API server ready at (?<url>https://\S+) in (?<ms>\d+) ms")]
    private static partial Regex ReadyLine();

    [GeneratedRegex(@"^berth \S")]
    private static partial Regex VersionLine();
}
