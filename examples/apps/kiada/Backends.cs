using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Kiada;

/// <summary>
/// The frontend's client for the quote and quiz Services, called by Service name (QUOTE_URL, QUIZ_URL).
/// </summary>
internal sealed class Backends : IDisposable
{
    private readonly HttpClient _client;
    private readonly string _podName;
    private readonly ConcurrentDictionary<string, bool> _fallbackLogged = new(StringComparer.Ordinal);

    public Backends(string podName)
    {
        _podName = podName;
        Quote = new Uri(Environment.GetEnvironmentVariable("QUOTE_URL") is { Length: > 0 } q ? q : "http://quote/quote");
        Quiz = new Uri(Environment.GetEnvironmentVariable("QUIZ_URL") is { Length: > 0 } z ? z : "http://quiz/question");
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(2),
            ConnectCallback = ConnectAsync,
            // A Service balances connections, not requests (kube-proxy and Berth's proxy both pick the endpoint per
            // connection), and a kept-alive connection outlives its endpoint leaving the Service (it drains). So a
            // connection is not reused: every page load is balanced anew, and a pod that turned unready or is
            // shutting down gets no further requests from this frontend.
            PooledConnectionLifetime = TimeSpan.Zero,
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
    }

    public Uri Quote { get; }

    public Uri Quiz { get; }

    /// <summary>
    /// GETs <paramref name="url"/>: the body, or why not. A connection that fails or is reset is tried once more
    /// (the pod behind it may just have gone away); an HTTP error is an answer and is not retried.
    /// </summary>
    public async Task<BackendAnswer> GetAsync(Uri url, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await _client.GetAsync(url, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                return response.IsSuccessStatusCode
                    ? new BackendAnswer(body.TrimEnd(), null)
                    : new BackendAnswer(null, $"HTTP {(int)response.StatusCode}");
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                if (attempt == 1 && e is not HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError })
                {
                    continue;
                }
                return new BackendAnswer(null, Reason(e));
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new BackendAnswer(null, $"no answer within {_client.Timeout.TotalSeconds:0} s");
            }
        }
    }

    public void Dispose() => _client.Dispose();

    private static string Reason(Exception e) => e.InnerException is { } inner && e is not HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError }
        ? inner.Message
        : e.Message;

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = await ResolveAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The Service's name through DNS; without cluster DNS (Berth not running as root leaves pods the host's
    /// resolver), the Service env vars the kubelet sets, as in Kubernetes before cluster DNS:
    /// QUOTE_SERVICE_HOST and QUOTE_SERVICE_PORT for a Service named quote.
    /// </summary>
    private async ValueTask<IPEndPoint> ResolveAsync(DnsEndPoint target, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(target.Host, out var literal))
        {
            return new IPEndPoint(literal, target.Port);
        }
        string why;
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(target.Host, cancellationToken).ConfigureAwait(false);
            if (addresses.Length > 0)
            {
                return new IPEndPoint(addresses[0], target.Port);
            }
            why = "no addresses";
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain)
        {
            why = e.Message;
        }

        // The Service is the first label: quote, or quote.default.svc.cluster.local.
        var prefix = target.Host.Split('.')[0].ToUpperInvariant().Replace('-', '_');
        var host = Environment.GetEnvironmentVariable(prefix + "_SERVICE_HOST");
        var portText = Environment.GetEnvironmentVariable(prefix + "_SERVICE_PORT");
        if (host is null || !IPAddress.TryParse(host, out var address) || !int.TryParse(portText, out var port))
        {
            throw new HttpRequestException(HttpRequestError.NameResolutionError,
                $"cannot resolve {target.Host} ({why}) and {prefix}_SERVICE_HOST/{prefix}_SERVICE_PORT are not set");
        }
        if (_fallbackLogged.TryAdd(target.Host, true))
        {
            Console.Out.WriteLine(
                $"frontend {_podName}: cannot resolve {target.Host} ({why}); using {prefix}_SERVICE_HOST:{prefix}_SERVICE_PORT = {host}:{port}");
        }
        return new IPEndPoint(address, port);
    }
}

/// <summary>A backend's body, or <see cref="Error"/> saying why there is none.</summary>
internal sealed record BackendAnswer(string? Body, string? Error);
