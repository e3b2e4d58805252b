using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Berth.Api.Models;

namespace Berth.Node.Kubelet.Probes;

// pkg/probe/http (http.go, request.go) as the kubelet builds it: New(followNonLocalRedirects=false).
public sealed partial class Prober
{
    // Go's http.Client default: refuse the 11th request of a redirect chain.
    private const int MaxRedirectRequests = 10;

    private static SocketsHttpHandler CreateHttpHandler() => new()
    {
        // Redirects are followed here so the hostname rule and the Host header match upstream's RedirectChecker.
        AllowAutoRedirect = false,
        // Upstream: "We do not want the probe use node's local proxy set."
        UseProxy = false,
        UseCookies = false,
        // Upstream DisableCompression: no Accept-Encoding.
        AutomaticDecompression = DecompressionMethods.None,
        // Upstream DisableKeepAlives: every probe opens its own connection.
        PooledConnectionLifetime = TimeSpan.Zero,
        // Upstream InsecureSkipVerify: a probe checks liveness, not the pod's certificate.
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
    };

    private async Task<ProbeOutcome> HttpGetAsync(HTTPGetAction action, string podIP, int port, TimeSpan timeout, CancellationToken ct)
    {
        var scheme = string.IsNullOrEmpty(action.Scheme) ? "http" : action.Scheme.ToLowerInvariant();
        var host = string.IsNullOrEmpty(action.Host) ? podIP : action.Host;
        var path = action.Path ?? "";
        // Go's URL.String() puts a slash between the host and a relative path.
        var url = scheme + "://" + GoText.JoinHostPort(host, port) + (path.Length > 0 && path[0] != '/' && path[0] != '?' ? "/" : "") + path;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return new ProbeOutcome(ProbeResult.Unknown, $"parse {GoText.Quote(url)}: invalid URL");
        }

        var headers = action.HttpHeaders ?? [];
        var hostHeader = headers.FirstOrDefault(h => IsHeader(h, "Host"))?.Value;
        if (string.IsNullOrEmpty(hostHeader))
        {
            hostHeader = null;
        }

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        var requestUri = uri;
        var displayUrl = url;
        var hostOverride = hostHeader;
        var requests = 0;
        while (true)
        {
            requests++;
            HttpResponseMessage response;
            using (var request = CreateProbeRequest(requestUri, headers, hostOverride))
            {
                try
                {
                    response = await _http.SendAsync(request, timeoutCts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return new ProbeOutcome(ProbeResult.Failure, $"Get {GoText.Quote(displayUrl)}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
                }
                catch (HttpRequestException ex)
                {
                    return new ProbeOutcome(ProbeResult.Failure, $"Get {GoText.Quote(displayUrl)}: {SendErrorText(requestUri, ex)}");
                }
            }

            using (response)
            {
                if (IsFollowedRedirect(response.StatusCode) && response.Headers.Location is { } location)
                {
                    var next = new Uri(requestUri, location);
                    // A redirect to another hostname ends the chain: its 3xx answer is the result (a warning).
                    if (string.Equals(next.Host, uri.Host, StringComparison.OrdinalIgnoreCase))
                    {
                        if (requests >= MaxRedirectRequests)
                        {
                            return new ProbeOutcome(ProbeResult.Failure, $"Get {GoText.Quote(next.AbsoluteUri)}: stopped after 10 redirects");
                        }

                        // Go keeps an overridden Host only across relative redirects.
                        hostOverride = location.IsAbsoluteUri ? null : hostHeader;
                        requestUri = next;
                        displayUrl = next.AbsoluteUri;
                        continue;
                    }
                }

                string body;
                try
                {
                    body = await ReadAtMostAsync(response, timeoutCts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return new ProbeOutcome(ProbeResult.Unknown, "context deadline exceeded (Client.Timeout or context cancellation while reading body)");
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    return new ProbeOutcome(ProbeResult.Unknown, ex.Message);
                }

                var status = (int)response.StatusCode;
                if (status is >= 200 and < 400)
                {
                    return status >= 300
                        ? new ProbeOutcome(ProbeResult.Warning, "Probe terminated redirects, Response body: " + body)
                        : new ProbeOutcome(ProbeResult.Success, body);
                }

                // Upstream: until issue 99425 is addressed the failure message must not contain the body.
                return new ProbeOutcome(ProbeResult.Failure, string.Create(CultureInfo.InvariantCulture, $"HTTP probe failed with statuscode: {status}"));
            }
        }
    }

    private static bool IsHeader(HTTPHeader header, string name) => string.Equals(header.Name, name, StringComparison.OrdinalIgnoreCase);

    // Upstream newProbeRequest: the pod's headers, then User-Agent and Accept unless the pod set them
    // (an empty Accept removes it; an empty User-Agent sends none, as Go's request writer does).
    private static HttpRequestMessage CreateProbeRequest(Uri uri, List<HTTPHeader> headers, string? hostOverride)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        foreach (var header in headers)
        {
            if (string.IsNullOrEmpty(header.Name) || IsHeader(header, "Host"))
            {
                continue;
            }

            var value = header.Value ?? "";
            if (value.Length == 0 && (IsHeader(header, "User-Agent") || IsHeader(header, "Accept")))
            {
                continue;
            }

            request.Headers.TryAddWithoutValidation(header.Name, value);
        }

        if (!headers.Any(h => IsHeader(h, "User-Agent")))
        {
            request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        }

        if (!headers.Any(h => IsHeader(h, "Accept")))
        {
            request.Headers.TryAddWithoutValidation("Accept", "*/*");
        }

        if (hostOverride is not null)
        {
            request.Headers.Host = hostOverride;
        }

        // Upstream DisableKeepAlives sends Connection: close.
        request.Headers.ConnectionClose = true;
        return request;
    }

    // Go follows 301, 302, 303, 307 and 308 for a GET; other 3xx answers are returned as they are.
    private static bool IsFollowedRedirect(HttpStatusCode status) => (int)status is 301 or 302 or 303 or 307 or 308;

    private static async Task<string> ReadAtMostAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxOutputLength];
            var length = 0;
            while (length < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            // Past 10 KiB the body is cut, not an error (upstream utilio.ErrLimitReached is non-fatal).
            return Encoding.UTF8.GetString(buffer, 0, length);
        }
    }

    private static string SendErrorText(Uri uri, HttpRequestException ex)
    {
        if (ex.InnerException is SocketException socketError)
        {
            var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
            return $"dial tcp {GoText.JoinHostPort(host, uri.Port)}: {DialErrorText(socketError)}";
        }

        return ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message;
    }
}
