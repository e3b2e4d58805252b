using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static Berth.EndToEnd.EndpointReads;
using static Berth.EndToEnd.Loopback;
using static Berth.EndToEnd.NodeAgentCluster;
using static Berth.EndToEnd.ProxyManifests;
using static Berth.EndToEnd.ServiceReads;
using static Berth.EndToEnd.Workloads;

namespace Berth.EndToEnd;

/// <summary>
/// The node agent's Service proxy through the real binary, the real kubectl and the real curl, with pods that are
/// local processes on their own loopback addresses: every frontend a Service has (ClusterIP, NodePort, load-balancer
/// ingress, externalIPs) answers on loopback, spreads over the ready pods, refuses at once without them, survives a
/// pod killed mid-stream and a rolling update without a failed request, and reports what it cannot bind.
/// </summary>
/// <remarks>
/// Service ports are 1024 and up so the proxy needs no privilege to bind them; NodePorts and health-check ports
/// listen on the node address 127.0.0.1. Each test has its own namespace and removes its workloads when done.
/// </remarks>
public sealed class ProxyTests : IClassFixture<ProxyFixture>, IAsyncLifetime
{
    private const string ServiceProxyNameLabel = "service.kubernetes.io/service-proxy-name";

    private readonly ProxyFixture _fixture;
    private readonly NodeAgentCluster _cluster;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly List<string> _namespaces = [];

    // A fresh HOME and discovery cache per test (xunit makes an instance per test); the cluster is the class's.
    private readonly Kubectl _kubectl;

    public ProxyTests(ProxyFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _cluster = fixture.Cluster;
        _output = output;
        _kubectl = _cluster.Server.Kubectl();
    }

    [Fact]
    public async Task ClusterIP_ThreeReplicas_ThirtyNewConnectionsRoundRobinOverEveryPodAndCounted()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("web", 3, _cluster.NewMarker()) + "\n---\n" + Service("web", "web", "{name: http, port: 8000, targetPort: http}"));
        var pods = await ReadyPodsAsync(ns, "web", 3);
        var url = Url(ClusterIP(await ServiceAsync(ns, "web")), 8000);
        await WaitForEveryPodAsync(ns, url, pods);

        var port = await _fixture.MetricsPortAsync();
        (string, string)[] labels = [("namespace", ns), ("service", "web"), ("port", "http"), ("protocol", "TCP")];
        var before = Metric(await MetricsAsync(port), "berth_proxy_connections_total", labels) ?? 0;
        var answers = await AnswersAsync(url, 30);
        // Sequential connections through a round-robin balancer cycle over the endpoints: 10 each.
        Assert.Equal(pods.Select(Name).Order(StringComparer.Ordinal).Select(n => (n, 10)),
            answers.GroupBy(n => n).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())));

        var metrics = await MetricsAsync(port);
        var after = Metric(metrics, "berth_proxy_connections_total", labels);
        Assert.True(after >= before + 30, $"berth_proxy_connections_total{{{string.Join(',', labels)}}} went from {before} to {after} over 30 connections:\n{metrics}");
        var healthz = await CurlAsync(Url("127.0.0.1", port, "/healthz"));
        Assert.True(healthz.Ok, $"GET /healthz: {healthz}");
    }

    [Fact]
    public async Task KubernetesService_ClusterIP443_RelaysToTheApiServer()
    {
        var ip = ClusterIP(await ServiceAsync("default", "kubernetes"));
        var token = (await File.ReadAllTextAsync(Path.Combine(_cluster.Server.DataDir, "token"))).Trim();
        string[] auth = ["-k", "-H", $"Authorization: Bearer {token}"];
        // Port 443: the proxy needs root or net.ipv4.ip_unprivileged_port_start <= 443 to bind it.
        var relayed = await WaitForAnswerAsync($"https://{ip}:443/version", () => Context("default"), 30, auth);
        var direct = await CurlAsync($"{_cluster.Server.Url}/version", auth);
        Assert.True(direct.Ok, $"GET {_cluster.Server.Url}/version: {direct}");
        Assert.Contains("\"gitVersion\"", relayed.Body, StringComparison.Ordinal);
        Assert.Equal(direct.Body, relayed.Body);
    }

    [Fact]
    public async Task SessionAffinityClientIP_OneSourceStaysOnOnePod_NoneSpreadsAgain()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("sticky", 2, _cluster.NewMarker()) + "\n---\n"
            + Service("sticky", "sticky", "{name: http, port: 8000, targetPort: http}", "sessionAffinity: ClientIP"));
        var pods = await ReadyPodsAsync(ns, "sticky", 2);
        var url = Url(ClusterIP(await ServiceAsync(ns, "sticky")), 8000);
        // Each new client address is a new affinity entry picked round-robin: two fresh sources reach both pods
        // once the proxy has both endpoints.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var source = 10;
        await WaitForAsync(async () =>
        {
            seen.Add(PodName(await WaitForAnswerAsync(url, () => Context(ns), 30, "--interface", $"127.0.0.{source++}")));
            return seen.Count == 2;
        }, () => $"both pods from fresh client addresses, saw {string.Join(",", seen)}\n{Context(ns)}", 30);

        var port = await _fixture.MetricsPortAsync();
        (string, string)[] labels = [("namespace", ns), ("service", "sticky"), ("port", "http"), ("protocol", "TCP")];
        var hitsBefore = Metric(await MetricsAsync(port), "berth_proxy_affinity_hits_total", labels) ?? 0;
        var sticky = await AnswersAsync(url, 15, "--interface", "127.0.0.1");
        Assert.True(sticky.Distinct().Count() == 1, $"15 requests from 127.0.0.1 with ClientIP affinity reached {string.Join(",", sticky)}");
        var metrics = await MetricsAsync(port);
        var hits = Metric(metrics, "berth_proxy_affinity_hits_total", labels);
        Assert.True(hits >= hitsBefore + 14, $"berth_proxy_affinity_hits_total went from {hitsBefore} to {hits} over 15 connections of one client:\n{metrics}");

        // upstream validation forbids sessionAffinityConfig with None, so the defaulted config goes too.
        await _kubectl.OkAsync($$$"""patch svc sticky -n {{{ns}}} --type=merge -p '{"spec":{"sessionAffinity":"None","sessionAffinityConfig":null}}'""");
        List<string> spread = [];
        await WaitForAsync(async () => (spread = await AnswersAsync(url, 4, "--interface", "127.0.0.1")).Distinct().Count() == 2,
            () => $"requests from 127.0.0.1 to reach both pods without affinity, got {string.Join(",", spread)}\n{Context(ns)}", 15);
        var again = await AnswersAsync(url, 4, "--interface", "127.0.0.1");
        Assert.Equal(pods.Select(Name).Order(StringComparer.Ordinal).Select(n => (n, 2)),
            again.GroupBy(n => n).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())));
    }

    /// <remarks>
    /// The externalIP cannot be reached here: upstream validation refuses loopback externalIPs and these tests send
    /// nothing off loopback. What is checked of it is that the proxy holds it (IP_FREEBIND: a bind to an address this
    /// host does not have succeeds) beside the ClusterIP, with no BindFailed said about it.
    /// </remarks>
    [Fact]
    public async Task NodePortLoadBalancerAndExternalIP_EachFrontendAnswers()
    {
        var ns = await NamespaceAsync();
        var external = _fixture.ExternalIP.ToString();
        await ApplyAsync(ns, Deployment("front", 1, _cluster.NewMarker()) + "\n---\n"
            + Service("np", "front", "{name: http, port: 8000, targetPort: http}", "type: NodePort") + "\n---\n"
            + Service("lb", "front", "{name: http, port: 8001, targetPort: http}", "type: LoadBalancer") + "\n---\n"
            + Service("ext", "front", "{name: http, port: 8002, targetPort: http}", $"externalIPs: [{external}]"));
        var pod = Name(Assert.Single(await ReadyPodsAsync(ns, "front", 1)));
        var np = await ServiceAsync(ns, "np");
        var lb = await WaitForServiceAsync(ns, "lb", s => IngressIP(s) is not null, "a load-balancer ingress IP");
        var ext = await ServiceAsync(ns, "ext");

        var frontends = new[]
        {
            ("np ClusterIP", Url(ClusterIP(np), 8000)),
            ("np NodePort", Url("127.0.0.1", NodePort(np))),
            ("lb ingress", Url(IngressIP(lb)!, 8001)),
            ("lb NodePort", Url("127.0.0.1", NodePort(lb))),
            ("ext ClusterIP", Url(ClusterIP(ext), 8002)),
        };
        foreach (var (what, url) in frontends)
        {
            Assert.True(PodName(await WaitForAnswerAsync(url, () => $"{what}\n{Context(ns)}")) == pod, $"{what} {url} answered by another pod");
        }
        // The externalIP was bound in the sync that opened the ClusterIP; a failure would be reported within moments.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var listening = await ConditionAsync(_kubectl, ns, "ext", "ProxyListening");
        Assert.True(listening is null || Str(listening["status"]) == "True", $"Service ext: {listening?.ToJsonString()}");
        Assert.DoesNotContain(await ServiceEventsAsync(_kubectl, ns, "ext"), e => e.Reason == "BindFailed");
    }

    [Fact]
    public async Task NoEndpoints_ConnectRefusedUnder100ms_ServedAgainOncePodsAreBack()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Service("empty", "nobody", "{name: http, port: 8000, targetPort: http}") + "\n---\n"
            + Deployment("flip", 1, _cluster.NewMarker()) + "\n---\n" + Service("flip", "flip", "{name: http, port: 8000, targetPort: http}"));
        await ReadyPodsAsync(ns, "flip", 1);
        var flip = new IPEndPoint(IPAddress.Parse(ClusterIP(await ServiceAsync(ns, "flip"))), 8000);
        // The proxy has programmed the Services created with this one once it answers.
        await WaitForAnswerAsync(Url(flip.Address.ToString(), 8000), () => Context(ns));
        await AssertRefusedFastAsync(new IPEndPoint(IPAddress.Parse(ClusterIP(await ServiceAsync(ns, "empty"))), 8000), "empty (selector matches nothing)");

        await _kubectl.OkAsync($"scale deployment/flip --replicas=0 -n {ns}");
        (SocketError Error, TimeSpan Elapsed) last = default;
        await WaitForAsync(async () => (last = await ConnectAsync(flip)).Error == SocketError.ConnectionRefused,
            () => $"{flip} to refuse once its only pod is gone, last {last}\n{Context(ns)}", 30);
        await AssertRefusedFastAsync(flip, "flip scaled to 0");

        await _kubectl.OkAsync($"scale deployment/flip --replicas=1 -n {ns}");
        await WaitForAnswerAsync(Url(flip.Address.ToString(), 8000), () => Context(ns));
    }

    [Fact]
    public async Task SigkillOneOfThreeDuring200Requests_NoRequestFails()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        await ApplyAsync(ns, Deployment("kill", 3, marker) + "\n---\n" + Service("kill", "kill", "{name: http, port: 8000, targetPort: http}"));
        var pods = await ReadyPodsAsync(ns, "kill", 3);
        var url = Url(ClusterIP(await ServiceAsync(ns, "kill")), 8000);
        await WaitForEveryPodAsync(ns, url, pods);
        var victim = Name(pods[0]);
        var pid = PodProcess(marker, victim);

        var done = 0;
        var failures = new ConcurrentQueue<(int Request, CurlResult Result)>();
        var stream = Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                var result = await CurlAsync(url);
                if (!result.Ok || !result.Body.StartsWith("pod ", StringComparison.Ordinal))
                {
                    failures.Enqueue((i, result));
                }
                Volatile.Write(ref done, i + 1);
            }
        });
        // Mid-stream, at whatever point of a request it lands: no grace, no endpoint update beforehand.
        await WaitForAsync(() => Task.FromResult(Volatile.Read(ref done) >= 50 || stream.IsCompleted), () => "50 requests", 60);
        var killedAfter = Volatile.Read(ref done);
        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
        }
        await stream;

        Assert.True(killedAfter < 200, $"the stream ended before the kill ({killedAfter} requests)");
        Assert.True(failures.IsEmpty, $"{failures.Count} of 200 requests failed after pod {victim} was killed after request {killedAfter}:\n"
            + string.Join('\n', failures.Select(f => $"#{f.Request}: {f.Result}")) + $"\n{Context(ns)}");
        // The kill was real: the kubelet saw the container die and restarted it.
        await _cluster.WaitForPodAsync(ns, victim, p => RestartCount(p, "app") >= 1, "the killed container restarted");
    }

    [Fact]
    public async Task RollingUpdateUnderLoad_NoRequestFails_NewPodsAnswerAfterwards()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("roll", 2, _cluster.NewMarker()) + "\n---\n" + Service("roll", "roll", "{name: http, port: 8000, targetPort: http}"));
        var old = await ReadyPodsAsync(ns, "roll", 2);
        var url = Url(ClusterIP(await ServiceAsync(ns, "roll")), 8000);
        await WaitForEveryPodAsync(ns, url, old);

        var requests = 0;
        var failures = new ConcurrentQueue<(int Request, CurlResult Result)>();
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var result = await CurlAsync(url);
                if (!result.Ok || !result.Body.StartsWith("pod ", StringComparison.Ordinal))
                {
                    failures.Enqueue((requests, result));
                }
                requests++;
            }
        });
        try
        {
            await _kubectl.OkAsync($"set env deployment/roll V=2 -n {ns}");
            await RolloutStatusAsync(_cluster, ns, "roll");
        }
        finally
        {
            await stop.CancelAsync();
            await load;
        }
        Assert.True(failures.IsEmpty, $"{failures.Count} of {requests} requests failed during the rollout:\n"
            + string.Join('\n', failures.Select(f => $"#{f.Request}: {f.Result}")) + $"\n{Context(ns)}");
        Assert.True(requests >= 10, $"only {requests} requests ran during the rollout");

        var fresh = await ReadyPodsAsync(ns, "roll", 2);
        Assert.Empty(fresh.Select(Name).Intersect(old.Select(Name)));
        var expected = fresh.Select(Name).ToHashSet(StringComparer.Ordinal);
        List<string> answers = [];
        await WaitForAsync(async () => (answers = await AnswersAsync(url, 6)).ToHashSet(StringComparer.Ordinal).SetEquals(expected),
            () => $"the new pods {string.Join(",", expected)} and only they to answer, got {string.Join(",", answers)}\n{Context(ns)}", 15);
    }

    [Fact]
    public async Task Udp_EchoThroughClusterIP_EachFlowStaysOnOnePodAndFlowsSpread()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("echo", 2, _cluster.NewMarker(), udp: true) + "\n---\n"
            + Service("echo", "echo", "{name: dns, port: 5353, protocol: UDP, targetPort: echo}"));
        var pods = (await ReadyPodsAsync(ns, "echo", 2)).Select(Name).ToHashSet(StringComparer.Ordinal);
        var target = new IPEndPoint(IPAddress.Parse(ClusterIP(await ServiceAsync(ns, "echo"))), 5353);
        // Until the proxy has both endpoints: a new flow (new source port) per attempt.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await WaitForAsync(async () =>
        {
            using var probe = UdpFlow(target);
            if (await UdpAskAsync(probe, "hello") is { } reply)
            {
                seen.Add(EchoPod(reply));
            }
            return seen.SetEquals(pods);
        }, () => $"echo replies from both pods {string.Join(",", pods)}, saw {string.Join(",", seen)}\n{Context(ns)}", 30);

        var flows = new List<string>();
        for (var f = 0; f < 4; f++)
        {
            using var socket = UdpFlow(target);
            var replies = new List<string>();
            for (var d = 0; d < 3; d++)
            {
                var payload = $"flow {f} datagram {d}";
                replies.Add(await UdpAskAsync(socket, payload) ?? throw new Xunit.Sdk.XunitException($"no echo of \"{payload}\" from {target}\n{Context(ns)}"));
            }
            var from = replies.Select(EchoPod).Distinct().ToList();
            Assert.True(from.Count == 1, $"flow {f}: replies from {string.Join(",", from)}, expected one pod per flow");
            flows.Add(from[0]);
        }
        Assert.Equal(pods.Order(StringComparer.Ordinal).Select(n => (n, 2)),
            flows.GroupBy(n => n).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())));
    }

    [Fact]
    public async Task SamePortTcpAndUdp_EachProtocolReachesThePodDeclaringItsTargetPort()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        await ApplyAsync(ns, Pod("mixed-a", "mixed", marker, ["{name: web, containerPort: 8080}"], udp: false) + "\n---\n"
            + Pod("mixed-b", "mixed", marker, [$"{{name: echo, containerPort: {EchoPort}, protocol: UDP}}"], udp: true) + "\n---\n"
            + Service("mixed", "mixed", "{name: tcp, port: 5300, protocol: TCP, targetPort: web}\n  - {name: udp, port: 5300, protocol: UDP, targetPort: echo}"));
        await _cluster.WaitForReadyPodAsync(ns, "mixed-a");
        await _cluster.WaitForReadyPodAsync(ns, "mixed-b");
        var ip = ClusterIP(await ServiceAsync(ns, "mixed"));

        await WaitForAnswerAsync(Url(ip, 5300), () => Context(ns));
        Assert.Equal(Enumerable.Repeat("mixed-a", 6), await AnswersAsync(Url(ip, 5300), 6));

        var target = new IPEndPoint(IPAddress.Parse(ip), 5300);
        string? first = null;
        await WaitForAsync(async () =>
        {
            using var probe = UdpFlow(target);
            return (first = await UdpAskAsync(probe, "hello")) is not null;
        }, () => $"a UDP echo from {target}\n{Context(ns)}", 30);
        Assert.Equal("pod mixed-b: hello", first);
        for (var f = 0; f < 4; f++)
        {
            using var socket = UdpFlow(target);
            Assert.Equal($"pod mixed-b: flow {f}", await UdpAskAsync(socket, $"flow {f}"));
        }
    }

    [Fact]
    public async Task NodePortTaken_BindFailedEventAndCondition_ClusterIPServes_ListeningOnceFreed()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("held", 1, _cluster.NewMarker()));
        var pod = Name(Assert.Single(await ReadyPodsAsync(ns, "held", 1)));
        var (holder, port) = HoldNodePort();
        try
        {
            var applied = await _kubectl.RunAsync($"apply -n {ns} -f -",
                Service("held", "held", $"{{name: http, port: 8000, targetPort: http, nodePort: {port}}}", "type: NodePort"));
            Assert.True(applied.ExitCode == 0, $"kubectl apply of a NodePort Service on {port}: {applied}");
            var ip = ClusterIP(await ServiceAsync(ns, "held"));
            var message = $"node {_cluster.NodeName}: cannot listen on 127.0.0.1:{port}/TCP: Address already in use";

            List<(string Type, string Reason, string Message, int Count, string Source)> events = [];
            await WaitForAsync(async () => (events = await ServiceEventsAsync(_kubectl, ns, "held")).Any(e => e.Reason == "BindFailed"),
                () => $"a BindFailed event on Service held; events:\n{string.Join('\n', events)}\n{Context(ns)}", 30);
            var failed = events.First(e => e.Reason == "BindFailed");
            Assert.Equal(("Warning", message, "kube-proxy"), (failed.Type, failed.Message, failed.Source));
            Assert.Matches($@"(?m)^\s+Warning\s+BindFailed\s+.+?\s+kube-proxy(, \S+)?\s+{Regex.Escape(message)}$", await _kubectl.OkAsync($"describe svc held -n {ns}"));
            var condition = await WaitForConditionAsync(ns, "held", c => Str(c["status"]) == "False", "ProxyListening False");
            Assert.Equal(("False", "BindFailed", message), (Str(condition["status"]), Str(condition["reason"]), Str(condition["message"])));

            // The rest of the Service, and of the node, keeps serving.
            Assert.Equal(pod, PodName(await WaitForAnswerAsync(Url(ip, 8000), () => Context(ns))));
            holder.Dispose();
            // The proxy retries failed listeners within seconds, and at the latest at its 30 s resync.
            condition = await WaitForConditionAsync(ns, "held", c => Str(c["status"]) == "True", "ProxyListening True once the port is free", 40);
            Assert.Equal(("True", "Listening"), (Str(condition["status"]), Str(condition["reason"])));
            Assert.Equal(pod, PodName(await WaitForAnswerAsync(Url("127.0.0.1", port), () => Context(ns))));
        }
        finally
        {
            holder.Dispose();
        }
    }

    [Fact]
    public async Task HealthCheckNodePort_200WithLocalEndpoints_503OnceScaledToZero()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("local", 2, _cluster.NewMarker()) + "\n---\n"
            + Service("local", "local", "{name: http, port: 8000, targetPort: http}", "type: LoadBalancer\n  externalTrafficPolicy: Local"));
        await ReadyPodsAsync(ns, "local", 2);
        var healthCheckPort = (await ServiceAsync(ns, "local"))["spec"]!["healthCheckNodePort"]?.GetValue<int>() ?? 0;
        Assert.True(healthCheckPort > 0, "a LoadBalancer Service with externalTrafficPolicy Local has a healthCheckNodePort");
        var url = Url("127.0.0.1", healthCheckPort);

        var healthy = await WaitForHealthAsync(ns, url, 200, 2);
        // upstream pkg/proxy/healthcheck/service_health.go's body.
        Assert.Equal((ns, "local"), (Str(healthy["service"]!["namespace"]), Str(healthy["service"]!["name"])));

        await _kubectl.OkAsync($"scale deployment/local --replicas=0 -n {ns}");
        await WaitForHealthAsync(ns, url, 503, 0);
    }

    [Fact]
    public async Task ServiceProxyNameLabelAndExternalName_NothingListens_UntilTheLabelIsRemoved()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("other", 1, _cluster.NewMarker()) + "\n---\n"
            + Service("control", "other", "{name: http, port: 8000, targetPort: http}") + "\n---\n"
            + Service("elsewhere", "other", "{name: http, port: 8000, targetPort: http}", labels: $"{ServiceProxyNameLabel}: other-proxy") + "\n---\n"
            + Service("renamed", "other", "{name: http, port: 8000, targetPort: http}"));
        await ReadyPodsAsync(ns, "other", 1);
        var renamed = ClusterIP(await ServiceAsync(ns, "renamed"));
        // Same selector, same ready pod: once these answer, the proxy has seen the endpoints the labelled one has too.
        await WaitForAnswerAsync(Url(ClusterIP(await ServiceAsync(ns, "control")), 8000), () => Context(ns));
        await WaitForAnswerAsync(Url(renamed, 8000), () => Context(ns));
        var elsewhere = new IPEndPoint(IPAddress.Parse(ClusterIP(await ServiceAsync(ns, "elsewhere"))), 8000);
        for (var i = 0; i < 3; i++)
        {
            var (error, _) = await ConnectAsync(elsewhere);
            Assert.True(error == SocketError.ConnectionRefused, $"{elsewhere} of a Service labelled {ServiceProxyNameLabel}: {error}, expected nothing listening\n{Context(ns)}");
        }

        await _kubectl.OkAsync($"label svc elsewhere {ServiceProxyNameLabel}- -n {ns}");
        await WaitForAnswerAsync(Url(elsewhere.Address.ToString(), 8000), () => Context(ns));

        // An ExternalName Service has no address of its own: the one it had as a ClusterIP Service stops listening.
        await _kubectl.OkAsync($$$"""patch svc renamed -n {{{ns}}} --type=merge -p '{"spec":{"type":"ExternalName","externalName":"example.com","clusterIP":null,"clusterIPs":null}}'""");
        var old = new IPEndPoint(IPAddress.Parse(renamed), 8000);
        (SocketError Error, TimeSpan Elapsed) last = default;
        await WaitForAsync(async () => (last = await ConnectAsync(old)).Error == SocketError.ConnectionRefused,
            () => $"{old}, the address of a Service now ExternalName, to refuse; last {last}\n{Context(ns)}", 30);
    }

    [Fact]
    public async Task ClientAddress_PodSeesTheSourceIPTheClientUsed()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("who", 1, _cluster.NewMarker()) + "\n---\n"
            + Service("who", "who", "{name: http, port: 8000, targetPort: http}", "type: NodePort"));
        await ReadyPodsAsync(ns, "who", 1);
        var service = await ServiceAsync(ns, "who");
        foreach (var url in new[] { Url(ClusterIP(service), 8000, "/client"), Url("127.0.0.1", NodePort(service), "/client") })
        {
            await WaitForAnswerAsync(url, () => Context(ns));
            foreach (var source in new[] { "127.0.0.1", "127.0.0.77" })
            {
                var seen = await CurlAsync(url, "--interface", source);
                Assert.True(seen.Ok && seen.Body.StartsWith(source + ":", StringComparison.Ordinal), $"{url} from {source}: the pod saw {seen}");
            }
        }
    }

    /// <summary>A Service selecting app=<paramref name="app"/>; <paramref name="ports"/> are flow-style items, <paramref name="spec"/> more spec lines.</summary>
    private static string Service(string name, string app, string ports, string spec = "", string labels = "") =>
        $$"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {{name}}
          labels: {{{labels}}}
        spec:
          selector: {app: {{app}}}
          {{spec}}
          ports:
          - {{ports}}
        """;

    private async Task AssertRefusedFastAsync(IPEndPoint target, string what)
    {
        for (var i = 0; i < 5; i++)
        {
            var (error, elapsed) = await ConnectAsync(target);
            Assert.True(error == SocketError.ConnectionRefused && elapsed < TimeSpan.FromMilliseconds(100),
                $"{what}: connect to {target} got {error} after {elapsed.TotalMilliseconds:F1} ms; expected ConnectionRefused in under 100 ms");
        }
    }

    /// <summary>Polls until new connections have reached every pod: the proxy has all their endpoints.</summary>
    private async Task WaitForEveryPodAsync(string ns, string url, List<JsonNode> pods)
    {
        var expected = pods.Select(Name).ToHashSet(StringComparer.Ordinal);
        await WaitForAnswerAsync(url, () => Context(ns));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await WaitForAsync(async () =>
        {
            seen.UnionWith(await AnswersAsync(url, pods.Count));
            return seen.IsSupersetOf(expected);
        }, () => $"answers from every pod {string.Join(",", expected)}, saw {string.Join(",", seen)}\n{Context(ns)}", 30);
    }

    /// <summary>Polls the health-check port until it answers this status with this localEndpoints count; returns the body.</summary>
    private async Task<JsonNode> WaitForHealthAsync(string ns, string url, int status, int localEndpoints)
    {
        CurlResult? last = null;
        JsonNode? body = null;
        await WaitForAsync(async () =>
        {
            last = await CurlAsync(url);
            if (last.ExitCode != 0 || last.Status != status)
            {
                return false;
            }
            body = JsonNode.Parse(last.Body);
            return body?["localEndpoints"]?.GetValue<int>() == localEndpoints;
        }, () => $"HTTP {status} with localEndpoints {localEndpoints} from {url}; last {last}\n{Context(ns)}", 30);
        Assert.True(body!["serviceProxyHealthy"]?.GetValue<bool>() == true, $"serviceProxyHealthy in {last}");
        return body;
    }

    private async Task<JsonNode> WaitForConditionAsync(string ns, string service, Func<JsonNode, bool> condition, string what, int timeoutSeconds = 30)
    {
        JsonNode? last = null;
        await WaitForAsync(async () => (last = await ConditionAsync(_kubectl, ns, service, "ProxyListening")) is not null && condition(last),
            () => $"{what}; last {last?.ToJsonString() ?? "(none)"}\n{Context(ns)}", timeoutSeconds);
        return last!;
    }

    private async Task<string> NamespaceAsync()
    {
        var ns = "px-" + Guid.NewGuid().ToString("N")[..10];
        await _kubectl.OkAsync($"create namespace {ns}");
        _namespaces.Add(ns);
        return ns;
    }

    private Task<string> ApplyAsync(string ns, string yaml) => _kubectl.OkAsync($"apply -n {ns} -f -", yaml);

    private Task<JsonNode> ServiceAsync(string ns, string name) => GetAsync(_kubectl, $"svc {name} -n {ns}");

    private async Task<JsonNode> WaitForServiceAsync(string ns, string name, Func<JsonNode, bool> condition, string what)
    {
        JsonNode? last = null;
        await WaitForAsync(async () => condition(last = await ServiceAsync(ns, name)), () => $"Service {name}: {what}; last {last?.ToJsonString()}\n{Context(ns)}", 30);
        return last!;
    }

    private Task<List<JsonNode>> ReadyPodsAsync(string ns, string app, int count) =>
        WaitForActivePodsAsync(_cluster, ns, app, p => p.Count == count && p.All(x => IsRunningAndReady(x) && Str(x["status"]?["podIP"]) != ""),
            $"{count} Running and Ready pods of {app}");

    /// <summary>For failure messages: the namespace's Services, slices and pods, and the server log's tail.</summary>
    private string Context(string ns)
    {
        var state = _kubectl.RunAsync($"get svc,endpointslices,pods -n {ns} -o wide").GetAwaiter().GetResult();
        return $"{state.Stdout}{state.Stderr}\nserver log tail:\n{Tail(_cluster.Server.Output, 40)}";
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Stops the test's pods so they do not load the shared node for the tests after it.</summary>
    public async Task DisposeAsync()
    {
        foreach (var ns in _namespaces)
        {
            await _kubectl.RunAsync($"delete deployment,pod,service --all -n {ns} --wait=false");
        }
        _kubectl.Dispose();
        _output.WriteLine($"wall time {_watch.Elapsed.TotalSeconds:F1} s");
    }
}
