using System.Globalization;
using System.Net.Sockets;
using Berth.Api.Models;

namespace Berth.Node.Kubelet.Probes;

/// <summary>
/// Runs one probe attempt (upstream <c>pkg/kubelet/prober/prober.go</c> with <c>pkg/probe/{exec,http,tcp,grpc}</c>).
/// One instance serves every worker: it holds the HTTP handler, which opens a fresh connection per probe.
/// </summary>
public sealed partial class Prober : IDisposable
{
    // Upstream maxProbeRetries: an attempt that errored (not failed) is retried up to this many times.
    private const int MaxProbeRetries = 3;

    // Upstream's maxReadLength / maxRespBodyLength: exec output and HTTP bodies are cut at 10 KiB.
    internal const int MaxOutputLength = 10 * 1024;

    // kube-probe/<major>.<minor> of the Kubernetes version Berth follows (upstream's userAgent("probe")).
    internal const string UserAgent = "kube-probe/1.32";

    private readonly HttpMessageInvoker _http;

    public Prober()
    {
        _http = new HttpMessageInvoker(CreateHttpHandler(), disposeHandler: true);
    }

    /// <summary>
    /// Runs the probe's handler against the target. Unknown means the probe errored (a missing named port,
    /// an exec that could not run); upstream retries those up to three times before reporting the error.
    /// Throws <see cref="OperationCanceledException"/> only when <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task<ProbeOutcome> RunAsync(Probe probe, ProbeTarget target, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(target);
        var outcome = default(ProbeOutcome);
        for (var i = 0; i < MaxProbeRetries; i++)
        {
            outcome = await RunOnceAsync(probe, target, ct).ConfigureAwait(false);
            if (outcome.Result != ProbeResult.Unknown)
            {
                return outcome;
            }
        }

        return outcome;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Upstream's defaulting of <c>timeoutSeconds</c> (1 when unset).</summary>
    internal static int TimeoutSeconds(Probe probe) => probe.TimeoutSeconds is > 0 ? probe.TimeoutSeconds.Value : 1;

    private async Task<ProbeOutcome> RunOnceAsync(Probe probe, ProbeTarget target, CancellationToken ct)
    {
        var timeoutSeconds = TimeoutSeconds(probe);
        var timeout = TimeSpan.FromSeconds(timeoutSeconds);
        if (probe.Exec is { } exec)
        {
            return await ExecAsync(exec, target, timeout, ct).ConfigureAwait(false);
        }

        if (probe.HttpGet is { } httpGet)
        {
            if (!TryResolveContainerPort(httpGet.Port ?? default, target.Ports, out var port, out var error))
            {
                return new ProbeOutcome(ProbeResult.Unknown, error);
            }

            return await HttpGetAsync(httpGet, target.PodIP, port, timeout, ct).ConfigureAwait(false);
        }

        if (probe.TcpSocket is { } tcp)
        {
            if (!TryResolveContainerPort(tcp.Port ?? default, target.Ports, out var port, out var error))
            {
                return new ProbeOutcome(ProbeResult.Unknown, error);
            }

            var host = string.IsNullOrEmpty(tcp.Host) ? target.PodIP : tcp.Host;
            return await TcpAsync(host, port, timeout, ct).ConfigureAwait(false);
        }

        if (probe.Grpc is { } grpc)
        {
            // Upstream probes gRPC at the pod IP always; GRPCAction has no host.
            return await GrpcAsync(target.PodIP, grpc.Service ?? "", grpc.Port ?? 0, timeoutSeconds, ct).ConfigureAwait(false);
        }

        return new ProbeOutcome(ProbeResult.Unknown, "missing probe handler");
    }

    /// <summary>Upstream <c>probe.ResolveContainerPort</c>: a number, or a named port of the container.</summary>
    internal static bool TryResolveContainerPort(IntOrString param, IReadOnlyList<ContainerPort> ports, out int port, out string error)
    {
        error = "";
        if (param.IsString)
        {
            var name = param.StringValue!;
            var found = ports.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal));
            if (found is null)
            {
                port = 0;
                error = $"port {GoText.Quote(name)} not found";
                return false;
            }

            port = found.ContainerPortNumber ?? 0;
        }
        else
        {
            port = param.IntValue;
        }

        if (port is > 0 and < 65536)
        {
            return true;
        }

        error = string.Create(CultureInfo.InvariantCulture, $"invalid port number: {port}");
        return false;
    }

    // pkg/probe/exec: exit 0 succeeds, another exit code fails with the output; a timeout fails with
    // the runtime's TimeoutError text (ExecProbeTimeout is GA); an exec that could not run errors.
    private static async Task<ProbeOutcome> ExecAsync(ExecAction exec, ProbeTarget target, TimeSpan timeout, CancellationToken ct)
    {
        var command = exec.Command ?? [];
        ExecOutcome result;
        try
        {
            result = await target.Exec(command, timeout, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new ProbeOutcome(ProbeResult.Unknown, ex.Message);
        }

        if (result.TimedOut)
        {
            return new ProbeOutcome(ProbeResult.Failure, $"command {GoText.Quote(string.Join(' ', command))} timed out");
        }

        var output = Truncate(result.Output);
        return new ProbeOutcome(result.ExitCode == 0 ? ProbeResult.Success : ProbeResult.Failure, output);
    }

    // pkg/probe/tcp DoTCPProbe: a connection that opens within the timeout is a success; any error is a failure.
    private static async Task<ProbeOutcome> TcpAsync(string host, int port, TimeSpan timeout, CancellationToken ct)
    {
        var address = GoText.JoinHostPort(host, port);
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(host, port, timeoutCts.Token).ConfigureAwait(false);
            return new ProbeOutcome(ProbeResult.Success, "");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new ProbeOutcome(ProbeResult.Failure, $"dial tcp {address}: i/o timeout");
        }
        catch (SocketException ex)
        {
            return new ProbeOutcome(ProbeResult.Failure, $"dial tcp {address}: {DialErrorText(ex)}");
        }
    }

    /// <summary>The Go syscall text of a failed connect, as in <c>dial tcp ADDR: connect: connection refused</c>.</summary>
    internal static string DialErrorText(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connect: connection refused",
        SocketError.TimedOut => "i/o timeout",
        SocketError.NetworkUnreachable => "connect: network is unreachable",
        SocketError.HostUnreachable => "connect: no route to host",
        SocketError.HostNotFound or SocketError.NoData => "no such host",
        _ => "connect: " + ex.Message,
    };

    private static string Truncate(string text) => text.Length > MaxOutputLength ? text[..MaxOutputLength] : text;
}
