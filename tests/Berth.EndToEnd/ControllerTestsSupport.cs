using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>
/// What the controller tests share: a Deployment of berth-testpod servers with an HTTP readiness probe, and reads
/// of a namespace's Deployments, ReplicaSets and pods through kubectl.
/// </summary>
public static class Workloads
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";

    /// <summary>
    /// A Deployment (or, with kind ReplicaSet, a ReplicaSet) whose pods run berth-testpod on $(POD_IP):8080, Ready
    /// once /ready answers; every process carries the marker. <paramref name="spec"/> is extra YAML under spec
    /// (2-space indent), <paramref name="podSpec"/> extra YAML under the pod spec (6-space indent),
    /// <paramref name="container"/> extra YAML under the container (8-space indent).
    /// </summary>
    public static string Manifest(string name, int replicas, string marker, string spec = "", string podSpec = "", string container = "", string kind = "Deployment") => $$$"""
        apiVersion: apps/v1
        kind: {{{kind}}}
        metadata: {name: {{{name}}}}
        spec:
          replicas: {{{replicas}}}
          selector: {matchLabels: {app: {{{name}}}}}
        {{{spec}}}
          template:
            metadata: {labels: {app: {{{name}}}}}
            spec:
              terminationGracePeriodSeconds: 5
        {{{podSpec}}}
              containers:
              - name: app
                image: berth-testpod
                command: ["{{{TestPod}}}", "serve", "--address", "$(POD_IP)", "--port", "8080"]
                readinessProbe:
                  httpGet: {path: /ready, port: 8080}
                  periodSeconds: 1
        {{{container}}}
                env:
                - name: POD_IP
                  valueFrom: {fieldRef: {fieldPath: status.podIP}}
                - name: POD_NAME
                  valueFrom: {fieldRef: {fieldPath: metadata.name}}
        {{{MarkerEnv(marker, 8)}}}
        """;

    public static async Task<JsonNode> GetAsync(Kubectl kubectl, string args) => JsonNode.Parse(await kubectl.OkAsync($"get {args} -o json"))!;

    public static async Task<List<JsonNode>> ItemsAsync(Kubectl kubectl, string args) =>
        [.. (await GetAsync(kubectl, args))["items"]!.AsArray().Select(i => i!)];

    /// <summary>All pods of the app label, terminating ones included.</summary>
    public static Task<List<JsonNode>> PodsAsync(Kubectl kubectl, string ns, string app) => ItemsAsync(kubectl, $"pods -n {ns} -l app={app}");

    public static Task<List<JsonNode>> ReplicaSetsAsync(Kubectl kubectl, string ns) => ItemsAsync(kubectl, $"rs -n {ns}");

    public static string Name(JsonNode obj) => Str(obj["metadata"]!["name"]);

    public static string? Annotation(JsonNode obj, string key) => obj["metadata"]?["annotations"]?[key]?.GetValue<string>();

    public static bool IsTerminating(JsonNode pod) => pod["metadata"]?["deletionTimestamp"] is not null;

    public static bool IsRunningAndReady(JsonNode pod) => Phase(pod) == "Running" && Condition(pod, "Ready") == "True";

    public static int Int(JsonNode? node) => node?.GetValue<int>() ?? 0;

    /// <summary>`kubectl rollout status` to completion: exit 0 and upstream's success line.</summary>
    public static async Task RolloutStatusAsync(NodeAgentCluster cluster, string ns, string name)
    {
        var result = await cluster.Kubectl.RunAsync($"rollout status deployment/{name} -n {ns} --timeout=90s", timeoutSeconds: 100);
        Assert.True(result.ExitCode == 0 && result.Stdout.Contains($"deployment \"{name}\" successfully rolled out", StringComparison.Ordinal),
            $"rollout status: {result}\nreplica sets and pods:\n{await Summary(cluster.Kubectl, ns)}\nserver log tail:\n{Tail(cluster.Server.Output, 60)}");
    }

    /// <summary>Polls the app's pods until the condition holds of the ones not terminating; returns those.</summary>
    public static async Task<List<JsonNode>> WaitForActivePodsAsync(NodeAgentCluster cluster, string ns, string app, Func<List<JsonNode>, bool> condition, string what, int timeoutSeconds = 60)
    {
        List<JsonNode> active = [];
        await WaitForAsync(async () =>
        {
            active = [.. (await PodsAsync(cluster.Kubectl, ns, app)).Where(p => !IsTerminating(p))];
            return condition(active);
        }, () => $"{what}; replica sets and pods:\n{Summary(cluster.Kubectl, ns).GetAwaiter().GetResult()}\nserver log tail:\n{Tail(cluster.Server.Output, 60)}", timeoutSeconds);
        return active;
    }

    /// <summary>One line per ReplicaSet and pod, for failure messages.</summary>
    public static async Task<string> Summary(Kubectl kubectl, string ns)
    {
        var result = await kubectl.RunAsync($"get deploy,rs,pods -n {ns} -o wide");
        return result.Stdout + result.Stderr;
    }

    /// <summary>The one process of the named pod that carries the marker (a testpod container runs no children).</summary>
    public static int PodProcess(string marker, string pod)
    {
        var pids = ProcessesWith(marker).Intersect(ProcessesWith($"POD_NAME={pod}\0")).ToList();
        Assert.True(pids.Count == 1, $"expected one process of pod {pod}, found {string.Join(", ", pids.Select(Describe))}");
        return pids[0];
    }

    /// <summary>The environment a testpod serves at /env, as NAME → value.</summary>
    public static async Task<Dictionary<string, string>> PodEnvAsync(JsonNode pod)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync($"http://{Str(pod["status"]!["podIP"])}:8080/env");
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                env[line[..eq]] = line[(eq + 1)..];
            }
        }
        return env;
    }
}

/// <summary>A `berth agent` process joined to a cluster's server as another node; killed with its tree on dispose.</summary>
public sealed class BerthAgent : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BerthAgent(Process process, string nodeName)
    {
        _process = process;
        NodeName = nodeName;
    }

    public string NodeName { get; }

    public int ProcessId => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static BerthAgent Start(NodeAgentCluster cluster, string nodeName, params string[] extraArgs)
    {
        var token = File.ReadAllText(Path.Combine(cluster.Server.DataDir, "node-token")).Trim();
        var psi = new ProcessStartInfo(Binaries.Berth)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args = ["agent", "--server", cluster.Server.Url, "--token", token, "--node-name", nodeName, "--data-dir", cluster.TempDir("berth-agent"), "--kubelet-port", "0", "--proxy-mode", "none", "--dns-mode", "none", .. extraArgs];
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        var agent = new BerthAgent(Process.Start(psi) ?? throw new InvalidOperationException("could not start berth agent"), nodeName);
        agent._process.OutputDataReceived += (_, e) => agent.OnLine(e.Data);
        agent._process.ErrorDataReceived += (_, e) => agent.OnLine(e.Data);
        agent._process.BeginOutputReadLine();
        agent._process.BeginErrorReadLine();
        return agent;
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>Sends the signal ("TERM" or "KILL") to the agent process alone and waits for it to exit.</summary>
    public async Task StopAsync(string signal)
    {
        using (var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(exited.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
