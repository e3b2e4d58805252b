using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using static Berth.EndToEnd.Loopback;
using static Berth.EndToEnd.NodeAgentCluster;
using static Berth.EndToEnd.ProxyManifests;
using static Berth.EndToEnd.ServiceReads;
using static Berth.EndToEnd.Workloads;

namespace Berth.EndToEnd;

/// <summary>
/// One `berth server` run inside a network namespace of the class's own, with documentation addresses on the
/// namespace's `lo`: what the loopback tests cannot reach (upstream validation refuses loopback externalIPs, and
/// this machine lets tests send only to loopback or into namespaces they made) is reached from inside it with the
/// real kubectl and curl (`ip netns exec`).
/// </summary>
/// <remarks>
/// The server's NodePorts listen on <see cref="NodePortAddress"/> and on every address of
/// <see cref="NodePortNetwork"/> the namespace has (<see cref="NodePortNetworkAddress"/>): not on the node IP
/// 127.0.0.1, nor on <see cref="ExternalIP"/>. Disposal SIGKILLs the server's process tree, then whatever else runs
/// in the namespace, checks that no pod process (marker <see cref="Id"/>) is left, and deletes the namespace.
/// </remarks>
public sealed class ProxyNetnsFixture : IAsyncLifetime
{
    /// <summary>TEST-NET-2: an externalIP on the namespace's `lo` from the start.</summary>
    public const string ExternalIP = "198.51.100.7";

    /// <summary>TEST-NET-2: an externalIP the namespace gets only once a test adds it.</summary>
    public const string LateExternalIP = "198.51.100.8";

    /// <summary>TEST-NET-3: given to --nodeport-addresses as an IP.</summary>
    public const string NodePortAddress = "203.0.113.9";

    /// <summary>TEST-NET-1: given to --nodeport-addresses as a CIDR, which the proxy expands to the host's addresses in it.</summary>
    public const string NodePortNetwork = "192.0.2.0/24";

    public const string NodePortNetworkAddress = "192.0.2.44";

    private int _nextMarker;

    public NetworkNamespace Netns { get; private set; } = null!;

    public BerthServer Server { get; private set; } = null!;

    /// <summary>Prefix of every marker this fixture hands out, as <see cref="NodeAgentCluster.Id"/>.</summary>
    public string Id { get; } = "e2enetns" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync()
    {
        Netns = await NetworkNamespace.CreateAsync($"{ExternalIP}/32", $"{NodePortAddress}/32", $"{NodePortNetworkAddress}/32");
        try
        {
            Server = await BerthServer.StartThroughAsync(Netns.Exec, "--nodeport-addresses", $"{NodePortAddress},{NodePortNetwork}");
            ExecResult? last = null;
            await WaitForAsync(async () =>
            {
                last = await KubectlAsync("get nodes -o json");
                return last.ExitCode == 0 && JsonNode.Parse(last.Stdout)!["items"]!.AsArray()
                    .Any(n => n!["status"]?["conditions"]?.AsArray().Any(c => Str(c!["type"]) == "Ready" && Str(c["status"]) == "True") == true);
            }, () => $"a Ready node; last kubectl get nodes: {last}\nserver log tail:\n{Tail(Server.Output, 40)}", 60);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>A new marker for <see cref="MarkerEnv"/>: the processes of the pods that carry it can be found by it.</summary>
    public string NewMarker() => $"{Id}-{Interlocked.Increment(ref _nextMarker)}";

    /// <summary>The real kubectl inside the namespace, where the API server listens (127.0.0.1); args split on spaces.</summary>
    public Task<ExecResult> KubectlAsync(string args, string? stdin = null) =>
        Netns.RunAsync(["kubectl", "--kubeconfig", Server.KubeconfigPath, "--cache-dir", Path.Combine(Server.DataDir, "kubectl-cache"), .. args.Split(' ')], stdin);

    public async Task<string> KubectlOkAsync(string args, string? stdin = null)
    {
        var result = await KubectlAsync(args, stdin);
        Assert.True(result.ExitCode == 0, $"kubectl {args} failed: {result}");
        return result.Stdout;
    }

    /// <summary>One request with the real curl inside the namespace (a new connection), as <see cref="Loopback.CurlAsync"/>.</summary>
    public async Task<CurlResult> CurlAsync(string url, params string[] extra)
    {
        var result = await Netns.RunAsync(["curl", "-sS", "--connect-timeout", "5", "--max-time", "10", "-w", "\n%{http_code}", .. extra, url]);
        var cut = result.Stdout.LastIndexOf('\n');
        var status = int.TryParse(result.Stdout[(cut + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 0;
        return new CurlResult(result.ExitCode, status, cut < 0 ? "" : result.Stdout[..cut], result.Stderr);
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }
        }
        finally
        {
            if (Netns is not null)
            {
                await Netns.DisposeAsync();
                await AssertNoProcessesAsync("BERTH_E2E_MARKER=" + Id);
            }
        }
    }
}

/// <summary>
/// externalIPs and NodePort addresses that are not loopback, end to end: the Service proxy of a server in its own
/// network namespace answers on them from inside it, and listens nowhere else.
/// </summary>
public sealed class ProxyNetnsTests : IClassFixture<ProxyNetnsFixture>, IAsyncLifetime
{
    private const string ExternalIP = ProxyNetnsFixture.ExternalIP;
    private const string NodePortAddress = ProxyNetnsFixture.NodePortAddress;

    private readonly ProxyNetnsFixture _fixture;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly List<string> _namespaces = [];

    public ProxyNetnsTests(ProxyNetnsFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Fact]
    public async Task ExternalIP_TwoReplicas_EveryPodAnswersOnTheExternalIP_ClusterIPToo()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("web", 2, _fixture.NewMarker()) + "\n---\n"
            + Service("web", "web", $"externalIPs: [{ExternalIP}]"));
        var pods = await ReadyPodsAsync(ns, "web", 2);
        var url = Url(ExternalIP, 8000);
        await WaitForEveryPodAsync(ns, url, pods);

        // Sequential new connections through the round-robin balancer alternate over the two endpoints.
        var answers = await AnswersAsync(url, 6);
        Assert.Equal(pods.Order(StringComparer.Ordinal).Select(n => (n, 3)),
            answers.GroupBy(n => n).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())));

        var clusterIP = Url(ClusterIP(await ServiceAsync(ns, "web")), 8000);
        Assert.Contains(PodName(await WaitForAnswerAsync(ns, clusterIP)), pods);
    }

    [Fact]
    public async Task NodePortAddresses_IPAndCIDR_NodePortAnswersThere_RefusedOnTheNodeIPAndTheExternalIP()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("np", 1, _fixture.NewMarker()) + "\n---\n" + Service("np", "np", "type: NodePort"));
        var pod = Assert.Single(await ReadyPodsAsync(ns, "np", 1));
        var nodePort = NodePort(await ServiceAsync(ns, "np"));

        foreach (var address in new[] { NodePortAddress, ProxyNetnsFixture.NodePortNetworkAddress })
        {
            Assert.True(PodName(await WaitForAnswerAsync(ns, Url(address, nodePort))) == pod, $"{address}:{nodePort} answered by another pod");
        }
        // The same endpoint answers on the configured addresses, so a refusal elsewhere means nothing listens there.
        foreach (var address in new[] { "127.0.0.1", ExternalIP })
        {
            // curl says "Couldn't connect" for any failure; its verbose line has the connect's own error.
            var refused = await _fixture.CurlAsync(Url(address, nodePort), "-v");
            Assert.True(refused.ExitCode == 7 && refused.Error.Contains("Connection refused", StringComparison.Ordinal),
                $"{address}:{nodePort} is not a NodePort address (--nodeport-addresses {NodePortAddress},{ProxyNetnsFixture.NodePortNetwork}); expected connection refused, got {refused}\n{Context(ns)}");
        }
    }

    /// <remarks>
    /// docs/proxy.md "Client address": endpoints see the client's own address when it is a 127/8 address; other
    /// clients appear with the node's address. A client in the namespace that connects from
    /// <see cref="NodePortAddress"/> is such another client, also under externalTrafficPolicy Local.
    /// </remarks>
    [Fact]
    public async Task ExternalTrafficPolicyLocal_NodePortAnswersFromTheLocalPod_NonLoopbackClientSeenAsTheNodeAddress()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("local", 1, _fixture.NewMarker()) + "\n---\n"
            + Service("local", "local", "type: NodePort\n  externalTrafficPolicy: Local"));
        var pod = Assert.Single(await ReadyPodsAsync(ns, "local", 1));
        var nodePort = NodePort(await ServiceAsync(ns, "local"));
        Assert.Equal(pod, PodName(await WaitForAnswerAsync(ns, Url(NodePortAddress, nodePort))));

        var node = Assert.Single(JsonNode.Parse(await _fixture.KubectlOkAsync("get nodes -o json"))!["items"]!.AsArray());
        var nodeIP = Str(node!["status"]!["addresses"]!.AsArray().First(a => Str(a!["type"]) == "InternalIP")!["address"]);
        var client = Url(NodePortAddress, nodePort, "/client");
        var remote = await _fixture.CurlAsync(client, "--interface", NodePortAddress);
        Assert.True(remote.Ok && remote.Body.StartsWith(nodeIP + ":", StringComparison.Ordinal),
            $"{client} from {NodePortAddress}: the pod saw {remote}; docs/proxy.md says a client that is not 127/8 appears with the node's address {nodeIP}");
        // The same frontend from a loopback source: the pod sees that source, so the answer above is the proxy's choice.
        var loopback = await _fixture.CurlAsync(client, "--interface", "127.0.0.9");
        Assert.True(loopback.Ok && loopback.Body.StartsWith("127.0.0.9:", StringComparison.Ordinal), $"{client} from 127.0.0.9: the pod saw {loopback}");
    }

    /// <remarks>
    /// kube-proxy accepts externalIPs no node has; the proxy binds them with IP_FREEBIND. Without it the bind fails
    /// and is retried only seconds later, so the first request right after the address arrives would be refused.
    /// </remarks>
    [Fact]
    public async Task ExternalIPNotOnTheHostYet_BoundAnyway_AnswersAsSoonAsTheAddressArrives()
    {
        var late = ProxyNetnsFixture.LateExternalIP;
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Deployment("late", 1, _fixture.NewMarker()) + "\n---\n"
            + Service("late", "late", $"externalIPs: [{late}]"));
        var pod = Assert.Single(await ReadyPodsAsync(ns, "late", 1));
        // The sync that opened the ClusterIP listened on the externalIP too: they are frontends of one route.
        await WaitForAnswerAsync(ns, Url(ClusterIP(await ServiceAsync(ns, "late")), 8000));
        var before = await _fixture.CurlAsync(Url(late, 8000), "-v");
        Assert.True(!before.Ok && before.Error.Contains("Network is unreachable", StringComparison.Ordinal),
            $"{late} is on no interface of the namespace yet, so no route leads to it; got {before}");

        await _fixture.Netns.AddAddressAsync($"{late}/32");
        var after = await _fixture.CurlAsync(Url(late, 8000));
        Assert.True(after.Ok && PodName(after) == pod, $"first request to {late}:8000 once the address is on lo: {after}\n{Context(ns)}");
        var events = JsonNode.Parse(await _fixture.KubectlOkAsync($"get events -n {ns} -o json"))!["items"]!.AsArray();
        Assert.DoesNotContain(events, e => Str(e!["involvedObject"]?["name"]) == "late" && Str(e["reason"]) == "BindFailed");
    }

    /// <summary>A Service selecting app=<paramref name="app"/> on port 8000 (the pods' "http"); <paramref name="spec"/> is more spec lines.</summary>
    private static string Service(string name, string app, string spec) =>
        $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}}
        spec:
          selector: {app: {{app}}}
          {{spec}}
          ports:
          - {name: http, port: 8000, targetPort: http}
        """;

    private async Task<string> NamespaceAsync()
    {
        var ns = "nx-" + Guid.NewGuid().ToString("N")[..10];
        await _fixture.KubectlOkAsync($"create namespace {ns}");
        _namespaces.Add(ns);
        return ns;
    }

    private Task<string> ApplyAsync(string ns, string yaml) => _fixture.KubectlOkAsync($"apply -n {ns} -f -", yaml);

    private async Task<JsonNode> ServiceAsync(string ns, string name) => JsonNode.Parse(await _fixture.KubectlOkAsync($"get svc {name} -n {ns} -o json"))!;

    /// <summary>Waits for the Deployment's rollout, then returns its Ready pods' names (exactly <paramref name="count"/>).</summary>
    private async Task<List<string>> ReadyPodsAsync(string ns, string app, int count)
    {
        var rollout = await _fixture.KubectlAsync($"rollout status deployment/{app} -n {ns} --timeout=60s");
        Assert.True(rollout.ExitCode == 0, $"rollout of {app}: {rollout}\n{Context(ns)}");
        var pods = JsonNode.Parse(await _fixture.KubectlOkAsync($"get pods -n {ns} -l app={app} -o json"))!["items"]!.AsArray()
            .Where(p => IsRunningAndReady(p!) && !IsTerminating(p!)).Select(p => Name(p!)).ToList();
        Assert.True(pods.Count == count, $"{count} Ready pods of {app} after its rollout, got {string.Join(",", pods)}\n{Context(ns)}");
        return pods;
    }

    /// <summary>Polls until a request to the URL gets a 200 (the proxy has the route), returning that answer.</summary>
    private async Task<CurlResult> WaitForAnswerAsync(string ns, string url)
    {
        CurlResult? last = null;
        await WaitForAsync(async () => (last = await _fixture.CurlAsync(url)).Ok, () => $"an answer from {url}; last: {last}\n{Context(ns)}", 30);
        return last!;
    }

    /// <summary>Polls until new connections have reached every pod: the proxy has all their endpoints.</summary>
    private async Task WaitForEveryPodAsync(string ns, string url, List<string> pods)
    {
        await WaitForAnswerAsync(ns, url);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await WaitForAsync(async () =>
        {
            seen.UnionWith(await AnswersAsync(url, pods.Count));
            return seen.IsSupersetOf(pods);
        }, () => $"answers from every pod {string.Join(",", pods)} at {url}, saw {string.Join(",", seen)}\n{Context(ns)}", 30);
    }

    /// <summary>Requests in sequence, each its own curl (a new connection); every one must be answered by a pod.</summary>
    private async Task<List<string>> AnswersAsync(string url, int count)
    {
        var names = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            names.Add(PodName(await _fixture.CurlAsync(url)));
        }
        return names;
    }

    /// <summary>For failure messages: the namespace's Services, slices and pods, and the server log's tail.</summary>
    private string Context(string ns)
    {
        var state = _fixture.KubectlAsync($"get svc,endpointslices,pods -n {ns} -o wide").GetAwaiter().GetResult();
        return $"{state.Stdout}{state.Stderr}\nserver log tail:\n{Tail(_fixture.Server.Output, 40)}";
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Stops the test's pods so they do not load the shared node for the tests after it.</summary>
    public async Task DisposeAsync()
    {
        foreach (var ns in _namespaces)
        {
            await _fixture.KubectlAsync($"delete deployment,pod,service --all -n {ns} --wait=false");
        }
        _output.WriteLine($"wall time {_watch.Elapsed.TotalSeconds:F1} s");
    }
}
