using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.EndToEnd;

/// <summary>
/// The real `berth server` binary in a temp data dir on a free loopback port. Killed (whole process tree) and its
/// directory removed on dispose, also when a test fails.
/// </summary>
public sealed partial class BerthServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _ownsDataDir;

    private BerthServer(Process process, string dataDir, bool ownsDataDir)
    {
        _process = process;
        DataDir = dataDir;
        _ownsDataDir = ownsDataDir;
    }

    public string DataDir { get; }

    public string Url { get; private set; } = "";

    public string KubeconfigPath => Path.Combine(DataDir, "kubeconfig");

    public int ProcessId => _process.Id;

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

    /// <summary>
    /// Starts a server; pass a data dir to restart on existing state (the caller then owns the dir), and extra
    /// `berth server` flags after it.
    /// </summary>
    public static Task<BerthServer> StartAsync(string? dataDir = null, int port = 0, params string[] extraArgs) =>
        LaunchAsync([], dataDir, port, extraArgs);

    /// <summary>
    /// Starts a server through a launcher that execs the binary in its own place, e.g. `ip netns exec NAME` for a
    /// server in a network namespace: the process started is then berth itself, so its PID, its process tree and
    /// its disposal are the same as for a server started directly.
    /// </summary>
    public static Task<BerthServer> StartThroughAsync(IReadOnlyList<string> launcher, params string[] extraArgs) =>
        LaunchAsync(launcher, null, 0, extraArgs);

    private static async Task<BerthServer> LaunchAsync(IReadOnlyList<string> launcher, string? dataDir, int port, string[] extraArgs)
    {
        var owns = dataDir is null;
        dataDir ??= TestDirectories.Create("berth-data");
        string[] command = [.. launcher, Binaries.Berth];
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in command.Skip(1).Concat(["server", "--data-dir", dataDir, "--api-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--kubelet-port", "0"]).Concat(AddressingArgs(dataDir, extraArgs)).Concat(extraArgs))
        {
            psi.ArgumentList.Add(arg);
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("could not start berth");
        }
        catch
        {
            if (owns)
            {
                TestDirectories.Delete(dataDir);
            }
            throw;
        }
        var server = new BerthServer(process, dataDir, owns);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(server._ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(60))).ConfigureAwait(false);
        if (first != server._ready.Task)
        {
            var output = server.Output;
            await server.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"berth server did not become ready:\n{output}");
        }
        server.Url = await server._ready.Task.ConfigureAwait(false);
        return server;
    }

    /// <summary>
    /// Unless the test chooses, each server gets its own ClusterIP, load-balancer and pod ranges
    /// (<see cref="AddressBlocks"/>) and its proxy's metrics listen on a free port.
    /// </summary>
    /// <summary>The upstream DNS every test server forwards to unless told otherwise: the discard port, where nothing listens.</summary>
    public const string NoDnsUpstream = "127.0.0.1:9";

    internal static IEnumerable<string> AddressingArgs(string dataDir, string[] extraArgs)
    {
        var block = AddressBlocks.For(dataDir);
        if (!extraArgs.Contains("--cluster-cidr"))
        {
            yield return "--cluster-cidr";
            yield return AddressBlocks.ClusterCidr(block);
        }
        if (!extraArgs.Contains("--dns-upstream"))
        {
            // Tests never send DNS to the machine's resolver: a server's forwarder gets a loopback port where nothing
            // listens (queries outside the cluster zone fail fast with SERVFAIL) unless the test starts an upstream.
            yield return "--dns-upstream";
            yield return NoDnsUpstream;
        }
        if (!extraArgs.Contains("--service-cidr"))
        {
            yield return "--service-cidr";
            yield return AddressBlocks.ServiceCidr(block);
            if (!extraArgs.Contains("--load-balancer-pool"))
            {
                yield return "--load-balancer-pool";
                yield return AddressBlocks.LoadBalancerPool(block);
            }
        }
        if (!extraArgs.Contains("--metrics-bind-address"))
        {
            yield return "--metrics-bind-address";
            yield return "127.0.0.1:0";
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
        var match = ReadyLine().Match(line);
        if (match.Success)
        {
            _ready.TrySetResult(match.Groups[1].Value);
        }
    }

    /// <summary>An HttpClient that trusts the cluster CA and sends the bearer token.</summary>
    public HttpClient CreateHttpClient(bool authenticated = true)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(DataDir, "pki", "ca.crt")));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            if (cert is null)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(cert));
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(60) };
        if (authenticated)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(DataDir, "token")).Trim());
        }
        return client;
    }

    public Kubectl Kubectl() => new(KubeconfigPath);

    /// <summary>SIGKILL: no shutdown code runs, as after a crash or power loss of the process.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
        if (_ownsDataDir)
        {
            TestDirectories.Delete(DataDir);
        }
    }

    [GeneratedRegex(@"API server ready at (https://\S+)")]
    private static partial Regex ReadyLine();
}
