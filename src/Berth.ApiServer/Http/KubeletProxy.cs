using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Security;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

/// <summary>
/// pods/log and pods/exec: found the pod's node and relayed to that node's kubelet API (upstream's
/// LogLocation / ExecLocation + the upgrade-aware proxy). Logs stream through as they come (follow); exec is a
/// WebSocket (v5.channel.k8s.io) on both sides, its frames relayed as they are.
/// </summary>
public sealed class KubeletProxy : IDisposable
{
    private const string ChannelProtocol = "v5.channel.k8s.io";

    private readonly ObjectStore _objects;
    private readonly ResourceCatalog _catalog;
    private readonly string _token;
    private readonly SocketsHttpHandler _handler;
    private readonly HttpClient _http;

    public KubeletProxy(ObjectStore objects, ResourceCatalog catalog, ClusterCredentials credentials)
    {
        _objects = objects;
        _catalog = catalog;
        _token = credentials.Token;
        // As upstream without --kubelet-certificate-authority: the kubelet's serving certificate is not verified.
        _handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        _http = new HttpClient(_handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public async Task LogsAsync(HttpContext http, RequestInfo info, CancellationToken ct)
    {
        var (kubelet, container) = await LocateAsync(info, http.Request.Query["container"].ToString(), ct).ConfigureAwait(false);
        var query = ForwardedQuery(http.Request.Query, ["follow", "previous", "tailLines", "timestamps", "sinceSeconds", "sinceTime", "limitBytes"]);
        var url = $"{kubelet}/containerLogs/{info.Namespace}/{info.Name}/{container}{query}";
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new("Bearer", _token);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(info, e);
        }
        using (response)
        {
            http.Response.StatusCode = (int)response.StatusCode;
            http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "text/plain";
            await http.Response.StartAsync(ct).ConfigureAwait(false);
            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var buffer = new byte[16 * 1024];
            int read;
            // Flush every chunk: `kubectl logs -f` shows lines as they are written.
            while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                await http.Response.Body.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
            }
        }
    }

    public async Task ExecAsync(HttpContext http, RequestInfo info, CancellationToken ct)
    {
        if (!http.WebSockets.IsWebSocketRequest || !http.WebSockets.WebSocketRequestedProtocols.Contains(ChannelProtocol))
        {
            // kubectl falls back to SPDY when the WebSocket upgrade is refused; Berth only speaks the WebSocket protocol.
            throw ApiException.BadRequest("Upgrade request required");
        }
        var (kubelet, container) = await LocateAsync(info, http.Request.Query["container"].ToString(), ct).ConfigureAwait(false);
        var query = ForwardedQuery(http.Request.Query, ["command", "stdin", "stdout", "stderr", "tty"]);
        var upstream = new ClientWebSocket();
        upstream.Options.AddSubProtocol(ChannelProtocol);
        upstream.Options.SetRequestHeader("Authorization", "Bearer " + _token);
        upstream.Options.HttpVersion = System.Net.HttpVersion.Version11;
        using (upstream)
        {
            try
            {
                var target = new Uri("wss" + kubelet["https".Length..] + $"/exec/{info.Namespace}/{info.Name}/{container}{query}");
                using var invoker = new HttpMessageInvoker(_handler, disposeHandler: false);
                await upstream.ConnectAsync(target, invoker, ct).ConfigureAwait(false);
            }
            catch (WebSocketException e)
            {
                throw new ApiException(400, "BadRequest", $"unable to upgrade connection: {e.Message}");
            }
            using var client = await http.WebSockets.AcceptWebSocketAsync(ChannelProtocol).ConfigureAwait(false);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var toKubelet = RelayAsync(client, upstream, done.Token);
            var toClient = RelayAsync(upstream, client, done.Token);
            await Task.WhenAny(toKubelet, toClient).ConfigureAwait(false);
            // The kubelet closes after the final status, the client on Ctrl+C. The other direction then completes
            // the close handshake; disposing before it would reset the connection and lose frames kubectl has not
            // read yet.
            await Task.WhenAny(Task.WhenAll(toKubelet, toClient), Task.Delay(TimeSpan.FromSeconds(5), ct)).ConfigureAwait(false);
            await done.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(Quietly(toKubelet), Quietly(toClient)).ConfigureAwait(false);
        }
    }

    private static async Task RelayAsync(WebSocket from, WebSocket to, CancellationToken ct)
    {
        var buffer = new byte[32 * 1024];
        while (true)
        {
            var result = await from.ReceiveAsync(buffer, ct).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (to.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await to.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, result.CloseStatusDescription, ct).ConfigureAwait(false);
                }
                return;
            }
            await to.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, ct).ConfigureAwait(false);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            // One side went away; the session is over either way.
        }
    }

    /// <summary>The kubelet URL of the pod's node and the container (upstream's defaulting and messages).</summary>
    private async Task<(string Kubelet, string Container)> LocateAsync(RequestInfo info, string container, CancellationToken ct)
    {
        var pods = _catalog.Get("", "pods");
        var pod = (await _objects.GetAsync(pods, info.Namespace, info.Name!, ct).ConfigureAwait(false))?.Object
            ?? throw ApiException.NotFound("pods", info.Name!);
        var spec = pod["spec"] as JsonObject;
        var names = Names(spec?["containers"]);
        var all = names.Concat(Names(spec?["initContainers"])).Concat(Names(spec?["ephemeralContainers"])).ToList();
        if (string.IsNullOrEmpty(container))
        {
            if (names.Count != 1)
            {
                throw ApiException.BadRequest($"a container name must be specified for pod {info.Name}, choose one of: [{string.Join(' ', names)}]");
            }
            container = names[0];
        }
        else if (!all.Contains(container))
        {
            throw ApiException.BadRequest($"container {container} is not valid for pod {info.Name}");
        }
        var nodeName = spec?["nodeName"]?.GetValue<string>();
        if (string.IsNullOrEmpty(nodeName))
        {
            throw ApiException.BadRequest($"pod {info.Name} does not have a host assigned");
        }
        var node = (await _objects.GetAsync(_catalog.Get("", "nodes"), null, nodeName, ct).ConfigureAwait(false))?.Object
            ?? throw ApiException.BadRequest($"node \"{nodeName}\" of pod {info.Name} not found");
        var status = node["status"] as JsonObject;
        var port = status?["daemonEndpoints"]?["kubeletEndpoint"]?["Port"]?.GetValue<int>() ?? 0;
        var addresses = (status?["addresses"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var address = addresses.FirstOrDefault(a => a["type"]?.GetValue<string>() == "InternalIP")?["address"]?.GetValue<string>()
            ?? addresses.FirstOrDefault()?["address"]?.GetValue<string>();
        if (port == 0 || address is null)
        {
            throw new ApiException(503, "ServiceUnavailable", $"node \"{nodeName}\" has not reported its kubelet endpoint yet");
        }
        var host = address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;
        return ($"https://{host}:{port}", container);
    }

    private static List<string> Names(JsonNode? list) =>
        [.. (list as JsonArray ?? []).OfType<JsonObject>().Select(c => c["name"]?.GetValue<string>()).OfType<string>()];

    private static string ForwardedQuery(IQueryCollection query, string[] names)
    {
        var parts = new List<string>();
        foreach (var name in names)
        {
            foreach (var value in query[name])
            {
                parts.Add($"{name}={Uri.EscapeDataString(value ?? "")}");
            }
        }
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private static ApiException Unreachable(RequestInfo info, HttpRequestException e) =>
        new(502, "InternalError", $"unable to reach the kubelet of pod {info.Name}: {e.Message}");

    public void Dispose()
    {
        _http.Dispose();
        _handler.Dispose();
    }
}
