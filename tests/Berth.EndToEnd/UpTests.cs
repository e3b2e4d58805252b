using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static Berth.EndToEnd.EndpointReads;
using static Berth.EndToEnd.NodeAgentCluster;
using static Berth.EndToEnd.ServiceReads;
using static Berth.EndToEnd.Workloads;

namespace Berth.EndToEnd;

/// <summary>
/// `berth up` as a user runs it, through the real binary started from the repository root: examples/kiada comes
/// up and answers through its NodePort and load-balancer addresses with content from its quote and quiz pods,
/// scales, loses a pod under load without a failed request and leaves no process behind after Ctrl+C (SIGINT);
/// a manifest that cannot be read or applied stops it before anything is applied, naming the file and document;
/// a directory is read recursively and its objects applied in kind order, whatever their paths' order.
/// </summary>
public sealed partial class UpTests(ITestOutputHelper output)
{
    private const string Ns = "default";

    private static readonly string s_kiadaBinary = Path.Combine(TestDirectories.RepoRoot, "examples", "apps", "kiada", "bin", "kiada");

    private readonly Stopwatch _watch = Stopwatch.StartNew();

    [RootFact("the kiada Service's load-balancer address answers on port 80")]
    public async Task Kiada_ServesThroughNodePortAndLoadBalancer_ScalesAndLosesAPodUnderLoadWithoutFailure_SigintLeavesNoProcess()
    {
        Assert.True(File.Exists(s_kiadaBinary), $"{s_kiadaBinary} is missing: build Berth.slnx first (examples/kiada's pods run it)");
        await using var up = BerthUp.Start("-f", "examples/kiada");
        var table = await up.WaitForReadyAsync(180);
        Phase("ready, table printed");
        using var kubectl = up.Kubectl();
        string Context() => $"pods and replica sets:\n{Summary(kubectl, Ns).GetAwaiter().GetResult()}\nberth's output (tail):\n{Tail(up.Output, 80)}";

        // The table: every Service of the cluster, sorted, each cell what the API says of it.
        Assert.Equal(up.KubeconfigPath, table.Kubeconfig);
        var services = await ItemsAsync(kubectl, "services -A");
        Assert.Equal(services.Select(s => $"{Str(s["metadata"]!["namespace"])}/{Name(s)}").Order(StringComparer.Ordinal), table.Rows.Select(r => r.Service));
        var kiada = services.Single(s => Name(s) == "kiada");
        var node = Assert.Single(await ItemsAsync(kubectl, "nodes"));
        var nodeIP = Str(node["status"]!["addresses"]!.AsArray().First(a => Str(a!["type"]) == "InternalIP")!["address"]);
        var lbIP = IngressIP(kiada);
        Assert.NotNull(lbIP);
        var nodePortUrl = $"http://{nodeIP}:{NodePort(kiada)}";
        var lbUrl = $"http://{lbIP}:80";
        Assert.Equal(new ServiceRow("default/kiada", "LoadBalancer", $"http://{ClusterIP(kiada)}:80", nodePortUrl, lbUrl, "kiada.default.svc.cluster.local"), table.Row("default/kiada"));
        foreach (var name in new[] { "quote", "quiz" })
        {
            var service = services.Single(s => Name(s) == name);
            Assert.Equal(new ServiceRow($"default/{name}", "ClusterIP", $"http://{ClusterIP(service)}:80", "-", "-", $"{name}.default.svc.cluster.local"), table.Row($"default/{name}"));
        }
        var kubernetes = services.Single(s => Name(s) == "kubernetes");
        Assert.Equal(new ServiceRow("default/kubernetes", "ClusterIP", $"https://{ClusterIP(kubernetes)}:443", "-", "-", "kubernetes.default.svc.cluster.local"), table.Row("default/kubernetes"));
        var dns = services.Single(s => Name(s) == "kube-dns");
        var dnsUrls = string.Join(',', dns["spec"]!["ports"]!.AsArray().Select(p => $"{Str(p!["protocol"]).ToLowerInvariant()}://{ClusterIP(dns)}:{Int(p["port"])}"));
        Assert.Equal(new ServiceRow("kube-system/kube-dns", "ClusterIP", dnsUrls, "-", "-", "kube-dns.kube-system.svc.cluster.local"), table.Row("kube-system/kube-dns"));

        // The front end through both of its outside addresses, its lines naming pods that exist.
        using var http = HttpClient();
        var frontends = (await ActivePodsAsync(kubectl, "kiada")).Select(Name).ToHashSet();
        var quotes = (await ActivePodsAsync(kubectl, "quote")).Select(Name).ToHashSet();
        var quizzes = (await ActivePodsAsync(kubectl, "quiz")).Select(Name).ToHashSet();
        Assert.True(frontends.Count == 2 && quotes.Count == 3 && quizzes.Count == 1, $"examples/kiada: 2 kiada, 3 quote and 1 quiz pods expected\n{Context()}");
        foreach (var url in new[] { nodePortUrl, lbUrl })
        {
            // A proxy listener can trail the Service's status by a moment; the content is then checked strictly.
            FrontendAnswer? first = null;
            await WaitForAsync(async () => (first = await FrontendAnswer.GetAsync(http, url)).Status == 200,
                () => $"an answer from {url}; last: {first}\n{Context()}", 15);
            Assert.True(first!.Body.StartsWith("Kiada\n", StringComparison.Ordinal) && first.Ok
                && frontends.Contains(first.Frontend!) && quotes.Contains(first.Quote!) && quizzes.Contains(first.Quiz!),
                $"GET {url}: {first}\nexpected `frontend:` one of {string.Join(",", frontends)}, `quote:` one of {string.Join(",", quotes)}, `quiz:` one of {string.Join(",", quizzes)}\n{Context()}");
        }
        var seenQuotes = new HashSet<string>(StringComparer.Ordinal);
        await WaitForAsync(async () =>
        {
            seenQuotes.Add(await QuotePodAsync(http, lbUrl, quotes, Context));
            return seenQuotes.Count > 1;
        }, () => $"answers from more than one quote pod, saw only {string.Join(",", seenQuotes)}\n{Context()}", 20);
        Phase("table checked, NodePort and LB answered");

        // Scaled to one: that pod alone is an endpoint and answers; back to three: three ready endpoints.
        await kubectl.OkAsync($"scale deployment/quote --replicas=1 -n {Ns}");
        var remaining = Name(Assert.Single(await WaitForQuotePodsAsync(kubectl, 1, Context)));
        for (var i = 0; i < 10; i++)
        {
            var pod = await QuotePodAsync(http, lbUrl, [remaining], Context);
            Assert.True(pod == remaining, $"request {i} after scaling quote to 1 was answered by {pod}, not {remaining}\n{Context()}");
        }
        await kubectl.OkAsync($"scale deployment/quote --replicas=3 -n {Ns}");
        var three = await WaitForQuotePodsAsync(kubectl, 3, Context);
        Phase("quote scaled to 1 and back to 3");

        // A quote pod deleted under continuous load through the load balancer: not one request fails, and the pod
        // that replaces it answers. The victim is one the load is reaching, so its going away is felt.
        var load = FrontendLoad.Start(http, lbUrl, clients: 4, TimeSpan.FromSeconds(30));
        var victim = "";
        try
        {
            await WaitForAsync(() => Task.FromResult(load.Completed >= 40 && (victim = load.LastQuotePod) is { Length: > 0 } && three.Any(p => Name(p) == victim)),
                () => $"40 requests of the load answered by one of the quote pods {string.Join(",", three.Select(Name))}; {load}\n{Context()}", 15);
            var beforeDelete = load.Completed;
            await kubectl.OkAsync($"delete pod {victim} -n {Ns} --wait=false");
            var replaced = await WaitForQuotePodsAsync(kubectl, 3, Context, p => Name(p) != victim);
            var replacement = Name(replaced.Single(p => three.All(t => Name(t) != Name(p))));
            Phase($"{victim} deleted and replaced by {replacement}");
            await WaitForAsync(() => Task.FromResult(load.QuotePods.Contains(replacement) || load.Stopped),
                () => $"the replacement {replacement} to answer; {load}\n{Context()}", 30);
            var total = await load.StopAsync();
            Assert.True(load.Failures.IsEmpty, $"{load.Failures.Count} of {total} requests failed while quote pod {victim} was deleted (after request {beforeDelete}):\n"
                + string.Join('\n', load.Failures.Take(20)) + $"\n{Context()}");
            Assert.True(load.QuotePods.Contains(replacement), $"the replacement {replacement} never answered within the load's 30 s; {load}\n{Context()}");
            Assert.True(load.QuotePods.Contains(victim) && total > beforeDelete, $"the load did not span the deletion: {load}");
            output.WriteLine($"{total} requests, quote pods answering: {string.Join(", ", load.QuotePods.Select(p => $"{p} {load.CountOf(p)}"))}");
        }
        finally
        {
            await load.StopAsync();
        }
        Phase("load over the deletion");

        // Ctrl+C: berth stops every pod within its grace period and exits 0, leaving no process behind.
        var pods = await ItemsAsync(kubectl, "pods -A");
        var grace = pods.Max(p => p["spec"]!["terminationGracePeriodSeconds"]?.GetValue<int>() ?? 30);
        var (code, elapsed) = await up.InterruptAsync(grace + 10);
        Phase($"SIGINT: exit {code} after {elapsed.TotalSeconds:F1} s");
        Assert.True(code == 0, $"berth up exited {code} after SIGINT; its output:\n{up.Output}");
        Assert.Matches($@"(?m)^berth: stopping {pods.Count} pods \(grace up to {grace}s\)$", up.Output);
        Assert.True(up.Recorded.Count >= pods.Count, $"before SIGINT berth had {up.Recorded.Count} descendants for {pods.Count} pods: {string.Join(", ", up.Recorded)}");
        output.WriteLine($"recorded before SIGINT: {up.Recorded.Count} descendants in {up.Recorded.Select(r => r.Group).Distinct().Count()} process groups");
        await up.AssertNothingLeftAsync();
    }

    [Fact]
    public async Task ManifestErrors_MalformedOrInvalidDocument_Exit1NamingFileAndDocument_NothingApplied()
    {
        var dir = TestDirectories.Create("berth-up-manifests");
        try
        {
            // Document 2 does not parse: berth says where and exits before starting a server.
            var malformed = Path.Combine(dir, "malformed.yaml");
            await File.WriteAllTextAsync(malformed, """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: one}
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: two
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: three}
                """);
            await using (var up = BerthUp.Start("-f", malformed))
            {
                var code = await up.WaitForExitAsync(30);
                Assert.True(code == 1 && up.Stderr.Contains($"berth: {malformed}: document 2: ", StringComparison.Ordinal),
                    $"expected exit 1 and `berth: {malformed}: document 2: ...` on stderr; exit {code}, output:\n{up.Output}");
                Assert.DoesNotContain("document 1", up.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("document 3", up.Output, StringComparison.Ordinal);
                Assert.True(!up.Output.Contains("API server ready", StringComparison.Ordinal) && !File.Exists(up.KubeconfigPath),
                    $"a server was started for manifests that do not parse:\n{up.Output}");
            }
            Phase("malformed document");

            // Document 2 parses but the API refuses it: the dry run catches it, so the valid Deployment before it
            // is not applied either.
            var invalid = Path.Combine(dir, "invalid-service.yaml");
            await File.WriteAllTextAsync(invalid, """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: default}
                spec:
                  replicas: 1
                  selector: {matchLabels: {app: web}}
                  template:
                    metadata: {labels: {app: web}}
                    spec:
                      containers:
                      - {name: app, image: none, command: [sleep, "3600"]}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: default}
                spec:
                  selector: {app: web}
                  ports:
                  - {name: http, port: 70000, targetPort: 8080}
                """);
            await using var refused = BerthUp.Start("-f", invalid);
            var exit = await refused.WaitForExitAsync(60);
            var stderr = refused.Stderr;
            Assert.True(exit == 1
                && stderr.Contains($"berth: {invalid}: document 2: Service default/web: ", StringComparison.Ordinal)
                && stderr.Contains("spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive", StringComparison.Ordinal)
                && stderr.Contains("berth: nothing was applied", StringComparison.Ordinal),
                $"expected exit 1, `berth: {invalid}: document 2: Service default/web: ` with the API's cause (spec.ports[0].port) and `berth: nothing was applied`; exit {exit}, output:\n{refused.Output}");
            Assert.DoesNotContain("document 1", stderr, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"(?m)^berth: \S+/web (created|configured|unchanged)$", refused.Output);
            await refused.AssertNothingLeftAsync();
            Phase("invalid Service refused");

            // What the server stored, read by a server started on the same data dir.
            await using var server = await BerthServer.StartAsync(refused.DataDir);
            using var kubectl = server.Kubectl();
            var deployments = await ItemsAsync(kubectl, "deployments -A");
            Assert.True(deployments.Count == 0, $"berth up said nothing was applied, yet the store holds: {Render(deployments)}");
            var serviceNames = (await ItemsAsync(kubectl, $"services -n {Ns}")).Select(Name);
            Assert.Equal(new[] { "kubernetes" }, serviceNames);
            Phase("nothing stored");
        }
        finally
        {
            TestDirectories.Delete(dir);
        }
    }

    [Fact]
    public async Task Directory_ReadRecursivelyYamlAndJsonOnly_NamespaceAppliedBeforeWhatSortsAheadOfIt()
    {
        var dir = TestDirectories.Create("berth-up-tree");
        try
        {
            // a.yaml and b.json sort before sub/ns.yaml, yet need the Namespace it creates; notes.txt is not a manifest.
            Directory.CreateDirectory(Path.Combine(dir, "sub"));
            await File.WriteAllTextAsync(Path.Combine(dir, "a.yaml"), """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: settings, namespace: up-order}
                data: {greeting: hello}
                """);
            await File.WriteAllTextAsync(Path.Combine(dir, "b.json"), """
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-json", "namespace": "up-order"}, "data": {"format": "json"}}
                """);
            await File.WriteAllTextAsync(Path.Combine(dir, "sub", "ns.yaml"), """
                apiVersion: v1
                kind: Namespace
                metadata: {name: up-order}
                """);
            await File.WriteAllTextAsync(Path.Combine(dir, "sub", "notes.txt"), "not: [a manifest\n");

            await using var up = BerthUp.Start("-f", dir);
            await up.WaitForReadyAsync(60);
            var applied = AppliedLine().Matches(up.Output).Select(m => (Object: m.Groups[1].Value.ToLowerInvariant(), Result: m.Groups[2].Value)).ToList();
            // The Namespace first (its kind comes first), then the ConfigMaps in their files' order (a.yaml, b.json).
            Assert.True(applied.SequenceEqual([("namespace/up-order", "created"), ("configmap/settings -n up-order", "created"), ("configmap/from-json -n up-order", "created")]),
                $"expected namespace/up-order, configmap/settings, configmap/from-json created in this order; got:\n{string.Join('\n', applied)}\nberth's output:\n{up.Output}");

            using var kubectl = up.Kubectl();
            var settings = await GetAsync(kubectl, "configmap settings -n up-order");
            Assert.Equal("hello", Str(settings["data"]?["greeting"]));
            var fromJson = await GetAsync(kubectl, "configmap from-json -n up-order");
            Assert.Equal("json", Str(fromJson["data"]?["format"]));
            Phase("applied");

            var (code, _) = await up.InterruptAsync(20);
            Assert.True(code == 0, $"berth up exited {code} after SIGINT; its output:\n{up.Output}");
            await up.AssertNothingLeftAsync();
            Phase("stopped");
        }
        finally
        {
            TestDirectories.Delete(dir);
        }
    }

    private void Phase(string what) => output.WriteLine($"{_watch.Elapsed.TotalSeconds,6:F1} s  {what}");

    private static HttpClient HttpClient() =>
        // No proxy: loopback only, whatever the environment says. A new connection per request (Connection: close)
        // so requests spread over the front ends as separate clients' would.
        new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<List<JsonNode>> ActivePodsAsync(Kubectl kubectl, string app) =>
        [.. (await PodsAsync(kubectl, Ns, app)).Where(p => !IsTerminating(p))];

    /// <summary>One answer of the front end that must be whole, returning the quote pod it names (one of the expected).</summary>
    private static async Task<string> QuotePodAsync(HttpClient http, string url, IReadOnlyCollection<string> expected, Func<string> context)
    {
        var answer = await FrontendAnswer.GetAsync(http, url);
        Assert.True(answer.Ok && expected.Contains(answer.Quote!), $"GET {url}: {answer}\nexpected a quote from one of {string.Join(",", expected)}\n{context()}");
        return answer.Quote!;
    }

    /// <summary>
    /// Waits until the quote Deployment has exactly this many pods, none terminating, all running and ready (that
    /// also satisfy the filter), and its EndpointSlices list exactly their IPs as ready; returns the pods.
    /// </summary>
    private static async Task<List<JsonNode>> WaitForQuotePodsAsync(Kubectl kubectl, int count, Func<string> context, Func<JsonNode, bool>? filter = null)
    {
        List<JsonNode> pods = [];
        List<string> ready = [];
        await WaitForAsync(async () =>
        {
            pods = await PodsAsync(kubectl, Ns, "quote");
            ready = [.. (await SlicesAsync(kubectl, Ns, "quote")).SelectMany(Endpoints).Where(e => e.Ready == true).Select(e => e.Ip).Order(StringComparer.Ordinal)];
            return pods.Count == count && pods.All(p => IsRunningAndReady(p) && !IsTerminating(p) && (filter is null || filter(p)))
                && ready.SequenceEqual(pods.Select(p => Str(p["status"]!["podIP"])).Order(StringComparer.Ordinal));
        }, () => $"{count} ready quote pods and as many ready endpoints in the quote EndpointSlices; ready endpoints: {string.Join(",", ready)}\n{context()}", 60);
        return pods;
    }

    [GeneratedRegex(@"(?im)^berth: (\S+/\S+(?: -n \S+)?) (created|configured|unchanged)$")]
    private static partial Regex AppliedLine();

    /// <summary>What the kiada front end answered: its status and body (or the error), and the pods its lines name.</summary>
    private sealed partial record FrontendAnswer(int Status, string Body, string? Error)
    {
        public string? Frontend => Line(FrontendLine());

        public string? Quote => Line(QuoteLine());

        public string? Quiz => Line(QuizLine());

        /// <summary>A 200 naming a front end, a quote pod and a quiz pod, with no backend unavailable.</summary>
        public bool Ok => Status == 200 && Error is null && Frontend is not null && Quote is not null && Quiz is not null
            && !Body.Contains("unavailable", StringComparison.Ordinal);

        public static async Task<FrontendAnswer> GetAsync(HttpClient http, string url, CancellationToken cancel = default)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.ConnectionClose = true;
            try
            {
                using var response = await http.SendAsync(request, cancel);
                return new FrontendAnswer((int)response.StatusCode, (await response.Content.ReadAsStringAsync(cancel)).Replace("\r\n", "\n", StringComparison.Ordinal), null);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                // A timeout, or the load's stop when cancel is set: the caller tells them apart.
                return new FrontendAnswer(0, "", e.Message);
            }
        }

        public override string ToString() => Error is null ? $"HTTP {Status}:\n{Body.TrimEnd()}" : $"no answer: {Error}";

        private string? Line(Regex line) => line.Match(Body) is { Success: true } match ? match.Groups[1].Value : null;

        [GeneratedRegex(@"(?m)^frontend: (\S+)$")]
        private static partial Regex FrontendLine();

        [GeneratedRegex(@"(?m)^quote: (\S+) \| \S.*$")]
        private static partial Regex QuoteLine();

        [GeneratedRegex(@"(?m)^quiz: (\S+) \| \S.*$")]
        private static partial Regex QuizLine();
    }

    /// <summary>
    /// Clients sending GETs to the front end one after another until stopped or for at most the given time, paced
    /// a little so the machine still serves the pods' probes; every answer that is not <see cref="FrontendAnswer.Ok"/>
    /// is a failure.
    /// </summary>
    private sealed class FrontendLoad
    {
        private readonly CancellationTokenSource _stop;
        private readonly ConcurrentDictionary<string, int> _quotePods = new(StringComparer.Ordinal);
        private Task _clients = Task.CompletedTask;
        private int _completed;
        private string _lastQuotePod = "";

        private FrontendLoad(TimeSpan limit) => _stop = new CancellationTokenSource(limit);

        public ConcurrentQueue<string> Failures { get; } = new();

        public int Completed => Volatile.Read(ref _completed);

        public string LastQuotePod => Volatile.Read(ref _lastQuotePod);

        public bool Stopped => _stop.IsCancellationRequested;

        public IReadOnlyCollection<string> QuotePods => [.. _quotePods.Keys];

        public int CountOf(string pod) => _quotePods.GetValueOrDefault(pod);

        public static FrontendLoad Start(HttpClient http, string url, int clients, TimeSpan limit)
        {
            var load = new FrontendLoad(limit);
            load._clients = Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(() => load.ClientAsync(http, url))));
            return load;
        }

        /// <summary>Stops the clients (idempotent), returning how many requests were answered or failed.</summary>
        public async Task<int> StopAsync()
        {
            await _stop.CancelAsync();
            await _clients;
            return Completed;
        }

        public override string ToString() =>
            $"{Completed} requests, {Failures.Count} failed, quote pods answering: {string.Join(", ", _quotePods.Select(p => $"{p.Key} {p.Value}"))}";

        private async Task ClientAsync(HttpClient http, string url)
        {
            while (!_stop.IsCancellationRequested)
            {
                var started = DateTime.UtcNow;
                var answer = await FrontendAnswer.GetAsync(http, url, _stop.Token).ConfigureAwait(false);
                if (_stop.IsCancellationRequested && answer.Error is not null)
                {
                    // Cut off by the stop itself, not by the server.
                    return;
                }
                var n = Interlocked.Increment(ref _completed);
                if (answer.Ok)
                {
                    _quotePods.AddOrUpdate(answer.Quote!, 1, (_, c) => c + 1);
                    Volatile.Write(ref _lastQuotePod, answer.Quote!);
                }
                else
                {
                    Failures.Enqueue($"#{n} at {started:HH:mm:ss.fff}: {answer}");
                }
                try
                {
                    await Task.Delay(10, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
