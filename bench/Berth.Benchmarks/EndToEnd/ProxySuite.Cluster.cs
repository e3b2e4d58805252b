using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Benchmarks.EndToEnd;

internal sealed partial class ProxySuite
{
    private const string Namespace = "default";
    private const string App = "bench-nginx";
    private const int PodPort = 8080;

    // Clear of the defaults (127.96/16, 127.100/16, 127.244/16) and of the end-to-end tests' blocks (127.20-79,
    // 127.160-219), so the bench can run next to them.
    private static readonly string[] s_serverArgs =
    [
        "--service-cidr", "127.82.0.0/17", "--load-balancer-pool", "127.82.128.0/17", "--cluster-cidr", "127.83.0.0/16",
        "--metrics-bind-address", "127.0.0.1:0",
    ];

    private static readonly TimeSpan s_readyCap = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Cluster mode: a real `berth server`, nginx as a process pod listening on its pod IP, and a ClusterIP Service in
    /// front of it; Berth's target is the ClusterIP, served by the node agent's proxy. Returns the pod's address.
    /// </summary>
    private async Task<IPEndPoint> SetUpClusterAsync(string content)
    {
        var dataDir = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        _server = await BerthProcess.StartServerAsync(_options.Berth, dataDir, TimeSpan.FromSeconds(60), _ct, s_serverArgs).ConfigureAwait(false);
        Log($"berth server {_server.Pid} at {_server.Url}");
        using var client = _server.CreateClient(4);

        // The pod learns its address only when it starts: its shell writes nginx.conf from a template, then execs nginx.
        var template = Path.Combine(_nginxPrefix, "nginx.conf.in");
        await File.WriteAllTextAsync(template, Nginx.Config(_nginxPrefix, $"{Nginx.ListenPlaceholder}:{PodPort}", content), _ct).ConfigureAwait(false);
        var conf = Path.Combine(_nginxPrefix, "nginx.conf");
        var script = $"sed \"s/{Nginx.ListenPlaceholder}/$POD_IP/\" '{template}' > '{conf}' && exec {Nginx.Program} {string.Join(' ', Nginx.Arguments(_nginxPrefix).Select(a => $"'{a}'"))}";
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = App, ["labels"] = new JsonObject { ["app"] = App } },
            ["spec"] = new JsonObject
            {
                ["terminationGracePeriodSeconds"] = 5,
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = "nginx",
                    ["image"] = "nginx",
                    ["command"] = new JsonArray("/bin/sh", "-c", script),
                    ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["containerPort"] = PodPort }),
                    ["env"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "POD_IP",
                        ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "status.podIP" } },
                    }),
                    ["readinessProbe"] = new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = PodPort }, ["periodSeconds"] = 1 },
                }),
            },
        };
        var service = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = App },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["app"] = App },
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = 80, ["targetPort"] = PodPort }),
            },
        };
        await Http.SendJsonAsync(client, HttpMethod.Post, $"/api/v1/namespaces/{Namespace}/pods", pod.ToJsonString(), null, _ct).ConfigureAwait(false);
        var created = await Http.SendJsonAsync(client, HttpMethod.Post, $"/api/v1/namespaces/{Namespace}/services", service.ToJsonString(), null, _ct).ConfigureAwait(false);
        string clusterIp;
        using (var doc = JsonDocument.Parse(created))
        {
            clusterIp = doc.RootElement.GetProperty("spec").GetProperty("clusterIP").GetString()!;
        }

        var started = Stopwatch.GetTimestamp();
        var podIp = await WaitForReadyPodAsync(client).ConfigureAwait(false);
        var podEndPoint = new IPEndPoint(IPAddress.Parse(podIp), PodPort);
        var clusterEndPoint = new IPEndPoint(IPAddress.Parse(clusterIp), 80);
        await WaitForAnswerAsync(clusterEndPoint).ConfigureAwait(false);
        Log($"pod {podIp} Ready and ClusterIP {clusterIp} answering {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s after the POSTs");

        _setup.Add($"`berth server` ({_options.Berth}), {string.Join(' ', s_serverArgs)}; its node agent's proxy has one worker per core ({Environment.ProcessorCount})");
        _setup.Add($"nginx ({Nginx.Program}, 1 worker, access log off, sendfile on) as process pod `{App}` on {podEndPoint} (its shell writes nginx.conf with $POD_IP and execs nginx; readiness probe tcpSocket {PodPort}); Service `{App}` ClusterIP {clusterEndPoint} → {PodPort}");
        if (_options.Targets.Contains("direct"))
        {
            _targets.Add(new Target("direct", "direct", podEndPoint, null));
        }
        if (_options.Targets.Contains("berth"))
        {
            var server = _server;
            _targets.Add(new Target("berth", "Berth", clusterEndPoint, server.ReadCpuTime));
        }
        return podEndPoint;
    }

    private async Task<string> WaitForReadyPodAsync(HttpClient client)
    {
        using var cap = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        cap.CancelAfter(s_readyCap);
        try
        {
            while (true)
            {
                using (var doc = JsonDocument.Parse(await client.GetByteArrayAsync($"/api/v1/namespaces/{Namespace}/pods/{App}", cap.Token).ConfigureAwait(false)))
                {
                    var status = doc.RootElement.TryGetProperty("status", out var s) ? s : default;
                    var ready = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("conditions", out var conditions)
                        && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == "Ready" && c.GetProperty("status").GetString() == "True");
                    if (ready && status.TryGetProperty("podIP", out var ip) && ip.GetString() is { Length: > 0 } podIp)
                    {
                        return podIp;
                    }
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100), cap.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!_ct.IsCancellationRequested)
        {
            throw new TimeoutException($"pod {App} was not Ready within {s_readyCap.TotalSeconds:F0} s");
        }
    }

    // The proxy programs the ClusterIP after the EndpointSlice shows the pod ready: poll until nginx answers through it.
    private async Task WaitForAnswerAsync(IPEndPoint clusterIp)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(s_readyCap.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://{clusterIp}/"), _ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (Stopwatch.GetTimestamp() < deadline)
            {
                // Not programmed yet (refused).
            }
            catch (TaskCanceledException) when (!_ct.IsCancellationRequested && Stopwatch.GetTimestamp() < deadline)
            {
                // A connect that hung: retried.
            }
            if (Stopwatch.GetTimestamp() >= deadline)
            {
                throw new TimeoutException($"the ClusterIP {clusterIp} did not answer within {s_readyCap.TotalSeconds:F0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), _ct).ConfigureAwait(false);
        }
    }
}
