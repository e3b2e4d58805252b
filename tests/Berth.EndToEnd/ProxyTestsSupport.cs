using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>
/// One node-agent cluster shared by the proxy tests, with what they need to know of it: the /16 its ClusterIPs and
/// load balancers come from (so a test can pick externalIPs nobody else uses) and where its proxy serves /metrics.
/// </summary>
public sealed partial class ProxyFixture : IAsyncLifetime
{
    private int _metricsPort;

    public NodeAgentCluster Cluster { get; private set; } = null!;

    /// <summary>An externalIP no other server running beside this one has (from its <see cref="AddressBlocks"/> block).</summary>
    public IPAddress ExternalIP { get; private set; } = IPAddress.None;

    public async Task InitializeAsync()
    {
        Cluster = await NodeAgentCluster.StartAsync();
        ExternalIP = AddressBlocks.ExternalIP(AddressBlocks.For(Cluster.Server.DataDir));
    }

    /// <summary>The port of the proxy's /metrics and /healthz, from the line the server logs once they listen.</summary>
    public async Task<int> MetricsPortAsync()
    {
        if (_metricsPort == 0)
        {
            await WaitForAsync(() => Task.FromResult(MetricsLine().IsMatch(Cluster.Server.Output)),
                () => $"the server's line \"berth: proxy: serving http://127.0.0.1:PORT/metrics\"; server log tail:\n{Tail(Cluster.Server.Output, 40)}", 30);
            _metricsPort = int.Parse(MetricsLine().Match(Cluster.Server.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return _metricsPort;
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    [GeneratedRegex(@"berth: proxy: serving http://127\.0\.0\.1:(\d+)/metrics")]
    private static partial Regex MetricsLine();
}

/// <summary>
/// berth-testpod workloads for the proxy tests: HTTP on $(POD_IP):8080 (container port "http", Ready once /ready
/// answers) and, when asked, the UDP echo on $(POD_IP):9090 (container port "echo").
/// </summary>
public static class ProxyManifests
{
    public const int EchoPort = 9090;

    public static string Deployment(string name, int replicas, string marker, bool udp = false) =>
        $$$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: {{{name}}}}
        spec:
          replicas: {{{replicas}}}
          selector: {matchLabels: {app: {{{name}}}}}
          template:
            metadata: {labels: {app: {{{name}}}}}
            spec:
        {{{Indent(PodSpec(marker, udp ? ["{name: http, containerPort: 8080}", $"{{name: echo, containerPort: {EchoPort}, protocol: UDP}}"] : ["{name: http, containerPort: 8080}"], udp), 6)}}}
        """;

    /// <summary>A bare pod declaring exactly <paramref name="ports"/> (flow-style YAML items), with the UDP echo when asked.</summary>
    public static string Pod(string name, string app, string marker, string[] ports, bool udp) =>
        $$$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{{name}}}, labels: {app: {{{app}}}}}
        spec:
        {{{Indent(PodSpec(marker, ports, udp), 2)}}}
        """;

    // The readiness probe names no port: a pod that declares only its UDP port is still probed on 8080. Its
    // generous timeout and threshold keep endpoints steady on a loaded machine: the tests count answers per pod.
    private static string PodSpec(string marker, string[] ports, bool udp) =>
        $$$"""
        terminationGracePeriodSeconds: 5
        containers:
        - name: app
          image: berth-testpod
          command: ["{{{TestPod}}}", "serve", "--address", "$(POD_IP)", "--port", "8080"{{{(udp ? $", \"--udp-port\", \"{EchoPort}\"" : "")}}}]
          ports:
        {{{string.Join('\n', ports.Select(p => "  - " + p))}}}
          readinessProbe:
            httpGet: {path: /ready, port: 8080}
            periodSeconds: 1
            timeoutSeconds: 5
            failureThreshold: 3
          env:
          - name: POD_IP
            valueFrom: {fieldRef: {fieldPath: status.podIP}}
          - name: POD_NAME
            valueFrom: {fieldRef: {fieldPath: metadata.name}}
        {{{MarkerEnv(marker, 2).TrimEnd('\n')}}}
        """;

    private static string Indent(string yaml, int spaces) =>
        string.Join('\n', yaml.Split('\n').Select(l => l.Length == 0 ? l : new string(' ', spaces) + l));
}

/// <summary>What one curl run got: its exit code, the HTTP status (0 when there was no answer), the body and curl's error.</summary>
public sealed record CurlResult(int ExitCode, int Status, string Body, string Error)
{
    public bool Ok => ExitCode == 0 && Status == 200;

    public override string ToString() => $"curl exit {ExitCode}, HTTP {Status}, body {Body.TrimEnd()}, stderr {Error.TrimEnd()}";
}

/// <summary>Clients on loopback: the real curl (a new connection per run), raw TCP connects and UDP exchanges, and /metrics.</summary>
public static partial class Loopback
{
    /// <summary>One request with the real curl; <paramref name="extra"/> are more curl arguments (e.g. --interface IP).</summary>
    public static async Task<CurlResult> CurlAsync(string url, params string[] extra)
    {
        var psi = new ProcessStartInfo("curl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // --noproxy: the tests talk to loopback only, whatever proxy the environment names.
        foreach (var arg in new[] { "-sS", "--noproxy", "*", "--connect-timeout", "5", "--max-time", "10", "-w", "\n%{http_code}" }.Concat(extra).Append(url))
        {
            psi.ArgumentList.Add(arg);
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("curl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout;
        var cut = output.LastIndexOf('\n');
        var status = int.TryParse(output[(cut + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 0;
        return new CurlResult(process.ExitCode, status, cut < 0 ? "" : output[..cut], await stderr);
    }

    public static string Url(string address, int port, string path = "/") => $"http://{address}:{port}{path}";

    /// <summary>The pod that answered "pod NAME at IP:PORT".</summary>
    public static string PodName(CurlResult result)
    {
        var match = PodLine().Match(result.Body);
        Assert.True(result.Ok && match.Success, $"not a testpod's answer: {result}");
        return match.Groups[1].Value;
    }

    /// <summary>Polls until a request to the URL gets a 200 (the proxy has the route), returning that answer.</summary>
    public static async Task<CurlResult> WaitForAnswerAsync(string url, Func<string> context, int timeoutSeconds = 30, params string[] extra)
    {
        CurlResult? last = null;
        await WaitForAsync(async () => (last = await CurlAsync(url, extra)).Ok, () => $"an answer from {url}; last: {last}\n{context()}", timeoutSeconds);
        return last!;
    }

    /// <summary>Requests in sequence, each its own curl (a new connection); every one must be answered by a pod.</summary>
    public static async Task<List<string>> AnswersAsync(string url, int count, params string[] extra)
    {
        var names = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            names.Add(PodName(await CurlAsync(url, extra)));
        }
        return names;
    }

    /// <summary>
    /// A TCP connect and how long it took to succeed or fail (TimedOut after 2 s). Synchronous and non-blocking, so
    /// the time is the kernel's answer, not the thread pool's latency on a loaded machine.
    /// </summary>
    public static Task<(SocketError Error, TimeSpan Elapsed)> ConnectAsync(IPEndPoint target) => Task.Run(() =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        var watch = Stopwatch.StartNew();
        try
        {
            socket.Connect(target);
            return (SocketError.Success, watch.Elapsed);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // In progress: the outcome is SO_ERROR once the socket is writable or in error.
        }
        catch (SocketException e)
        {
            return (e.SocketErrorCode, watch.Elapsed);
        }
        List<Socket> writable = [socket];
        List<Socket> failed = [socket];
        Socket.Select(null, writable, failed, TimeSpan.FromSeconds(2));
        if (writable.Count == 0 && failed.Count == 0)
        {
            return (SocketError.TimedOut, watch.Elapsed);
        }
        var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        return (error, watch.Elapsed);
    });

    /// <summary>A UDP socket connected to the target (its own source port: one flow to the proxy).</summary>
    public static Socket UdpFlow(IPEndPoint target)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(target);
        return socket;
    }

    /// <summary>
    /// Sends the payload and returns the first reply that echoes it, or null when none came in time (dropped, or
    /// refused by an ICMP port unreachable while nothing is bound there). Older replies are skipped.
    /// </summary>
    public static async Task<string?> UdpAskAsync(Socket socket, string payload, int timeoutMs = 1000)
    {
        using var timeout = new CancellationTokenSource(timeoutMs);
        var buffer = new byte[2048];
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(payload), SocketFlags.None, timeout.Token);
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                var reply = Encoding.UTF8.GetString(buffer, 0, n);
                if (reply.EndsWith(": " + payload, StringComparison.Ordinal))
                {
                    return reply;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return null;
        }
    }

    /// <summary>The pod named by an echo reply "pod NAME: payload".</summary>
    public static string EchoPod(string reply) => reply[4..reply.IndexOf(": ", StringComparison.Ordinal)];

    /// <summary>A free port of the NodePort range held by a listening socket on 127.0.0.1 (no SO_REUSEPORT: nobody else can bind it).</summary>
    public static (Socket Socket, int Port) HoldNodePort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(30000, 32768);
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                socket.Listen();
                return (socket, port);
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
        }
        throw new InvalidOperationException("no free port in 30000-32767 on 127.0.0.1");
    }

    public static async Task<string> MetricsAsync(int port)
    {
        var result = await CurlAsync(Url("127.0.0.1", port, "/metrics"));
        Assert.True(result.Ok, $"GET /metrics: {result}");
        return result.Body;
    }

    /// <summary>The value of the sample of <paramref name="name"/> whose labels include all of <paramref name="labels"/>, or null.</summary>
    public static double? Metric(string text, string name, params (string Key, string Value)[] labels)
    {
        foreach (Match sample in Sample().Matches(text))
        {
            if (sample.Groups[1].Value != name)
            {
                continue;
            }
            var have = Label().Matches(sample.Groups[2].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value, StringComparer.Ordinal);
            if (labels.All(l => have.TryGetValue(l.Key, out var v) && v == l.Value))
            {
                return double.Parse(sample.Groups[3].Value, CultureInfo.InvariantCulture);
            }
        }
        return null;
    }

    [GeneratedRegex(@"^pod (\S+) at \S+\n?$")]
    private static partial Regex PodLine();

    [GeneratedRegex(@"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)")]
    private static partial Regex Sample();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}

/// <summary>Reads of a Service the proxy tests need: its addresses and ports, and its status conditions.</summary>
public static class ServiceReads
{
    public static string ClusterIP(JsonNode service) => Str(service["spec"]!["clusterIP"]);

    public static int NodePort(JsonNode service, int index = 0) => service["spec"]!["ports"]![index]!["nodePort"]?.GetValue<int>() ?? 0;

    public static string? IngressIP(JsonNode service) =>
        service["status"]?["loadBalancer"]?["ingress"] is JsonArray { Count: > 0 } ingress ? ingress[0]!["ip"]?.GetValue<string>() : null;

    /// <summary>The status condition of this type as `kubectl get svc -o jsonpath` prints it, or null.</summary>
    public static async Task<JsonNode?> ConditionAsync(Kubectl kubectl, string ns, string service, string type)
    {
        var text = await kubectl.OkAsync($"get svc {service} -n {ns} -o 'jsonpath={{.status.conditions[?(@.type==\"{type}\")]}}'");
        return text.Trim().Length == 0 ? null : JsonNode.Parse(text);
    }
}
