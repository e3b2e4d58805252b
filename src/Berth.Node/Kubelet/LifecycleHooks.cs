using System.Net;
using Berth.Api.Models;
using Berth.Node.Kubelet.Probes;

namespace Berth.Node.Kubelet;

/// <summary>Runs a preStop (or postStart) handler: exec in the container, an HTTP GET, or a sleep (upstream lifecycle/handlers.go).</summary>
internal static class LifecycleHooks
{
    private static readonly HttpClient s_http = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.Zero,
        AllowAutoRedirect = false,
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Null when the handler succeeded, else the failure message for the FailedPreStopHook event.</summary>
    public static async Task<string?> RunAsync(LifecycleHandler handler, string podIP, IReadOnlyList<ContainerPort> ports,
        Func<IReadOnlyList<string>, TimeSpan, CancellationToken, Task<ExecOutcome>> exec, TimeProvider time, CancellationToken ct)
    {
        try
        {
            if (handler.Exec?.Command is { Count: > 0 } command)
            {
                var outcome = await exec(command, Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
                return outcome.ExitCode == 0 ? null
                    : $"Exec lifecycle hook ({Go(command)}) failed - error: command '{string.Join(' ', command)}' exited with {outcome.ExitCode}: {outcome.Output}, message: \"{outcome.Output}\"";
            }
            if (handler.HttpGet is { } get)
            {
                var port = get.Port is { IsInt: true } number ? number.IntValue
                    : ports.FirstOrDefault(p => p.Name == get.Port?.StringValue)?.ContainerPortNumber ?? 0;
                if (port == 0)
                {
                    return $"HTTP lifecycle hook ({get.Path}) failed - error: couldn't find port: {get.Port}";
                }
                var scheme = string.Equals(get.Scheme, "HTTPS", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
                var host = string.IsNullOrEmpty(get.Host) ? podIP : get.Host;
                var path = string.IsNullOrEmpty(get.Path) ? "/" : get.Path.StartsWith('/') ? get.Path : "/" + get.Path;
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}{path}");
                foreach (var header in get.HttpHeaders ?? [])
                {
                    request.Headers.TryAddWithoutValidation(header.Name!, header.Value);
                }
                using var response = await s_http.SendAsync(request, ct).ConfigureAwait(false);
                return (int)response.StatusCode is >= 200 and < 400 ? null
                    : $"HTTP lifecycle hook ({path}) failed - error: HTTP lifecycle hook ({path}) returned status {(int)response.StatusCode}";
            }
            if (handler.Sleep is { Seconds: { } seconds })
            {
                await Task.Delay(TimeSpan.FromSeconds(seconds), time, ct).ConfigureAwait(false);
                return null;
            }
            return "lifecycle hook has no exec, httpGet or sleep action that Berth can run";
        }
        catch (OperationCanceledException)
        {
            // The grace period ran out first: upstream just moves on to stopping the container.
            return null;
        }
        catch (HttpRequestException e)
        {
            return $"HTTP lifecycle hook ({handler.HttpGet?.Path}) failed - error: {e.Message}";
        }
    }

    private static string Go(IEnumerable<string> items) => "[" + string.Join(' ', items) + "]";
}
