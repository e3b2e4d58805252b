using System.Text.Json.Nodes;
using Berth.Api.Serialization;
using Berth.Tests;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>A container that cannot run says why (Waiting reason, message, a Warning event) instead of a silent Pending.</summary>
public sealed class NodeAgentErrorTests : IClassFixture<NodeAgentFixture>
{
    private readonly NodeAgentCluster _cluster;

    public NodeAgentErrorTests(NodeAgentFixture fixture) => _cluster = fixture.Cluster;

    [Fact]
    public async Task ContainersThatCannotRun_WaitingWithReasonMessageAndFailedEvent()
    {
        var ns = await _cluster.NamespaceAsync();
        await _cluster.ApplyAsync(ns, """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {present: "yes"}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: nocommand}
            spec:
              containers:
              - {name: app, image: nginx:alpine}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: noexe}
            spec:
              containers:
              - {name: app, image: busybox, command: [no-such-executable-4711]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: nokey}
            spec:
              containers:
              - name: app
                image: busybox
                command: [sleep, "1234578"]
                env:
                - name: MISSING
                  valueFrom: {configMapKeyRef: {name: settings, key: absent}}
            """);

        var cases = new (string Pod, string Reason, string Message)[]
        {
            ("nocommand", "CreateContainerError", "container \"app\" has no command: Berth runs containers as host processes and cannot use the entrypoint of image \"nginx:alpine\"; set the container's command (and args) to the program to run"),
            ("noexe", "RunContainerError", "exec: \"no-such-executable-4711\": executable file not found in $PATH"),
            ("nokey", "CreateContainerConfigError", $"couldn't find key absent in ConfigMap {ns}/settings"),
        };
        foreach (var (name, reason, message) in cases)
        {
            var pod = await _cluster.WaitForPodAsync(ns, name, p => Str(ContainerStatus(p, "app")?["state"]?["waiting"]?["reason"]) == reason, $"Waiting {reason}", 30);
            var waiting = ContainerStatus(pod, "app")!["state"]!["waiting"]!;
            Assert.Equal(message, Str(waiting["message"]));
            Assert.Equal("Pending", Phase(pod));
            await _cluster.WaitForEventAsync(ns, name, "Failed", m => m == "Error: " + message, reason, 15);
            Assert.Matches($@"{name}\s+0/1\s+{reason}\s+0", await _cluster.Kubectl.OkAsync($"get pod {name} -n {ns}"));
        }
        Assert.Contains("has no command", await _cluster.Kubectl.OkAsync($"describe pod nocommand -n {ns}"));
    }

    public static TheoryData<string> PodManifests()
    {
        var data = new TheoryData<string>();
        var root = SharedTestData.Path("kia-ch11");
        foreach (var file in Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (Pods(File.ReadAllText(file)).Count > 0)
            {
                data.Add(Path.GetRelativePath(root, file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PodManifests))]
    public async Task RealPodManifest_NotSilentlyPending(string relativePath)
    {
        var file = SharedTestData.Path("kia-ch11", relativePath);
        var ns = await _cluster.NamespaceAsync();
        try
        {
            await _cluster.Kubectl.OkAsync($"apply -n {ns} -f {file}");
            foreach (var spec in Pods(await File.ReadAllTextAsync(file)))
            {
                var name = Str(spec["metadata"]!["name"]);
                string why = "";
                var pod = await _cluster.WaitForPodAsync(ns, name, p => (why = Silence(spec, p)) == "", "every container to show what it is doing", 30);
                Assert.Equal("", why);
                if (AnyProblem(pod))
                {
                    var describe = "";
                    await WaitForAsync(
                        async () => System.Text.RegularExpressions.Regex.IsMatch(describe = await _cluster.Kubectl.OkAsync($"describe pod {name} -n {ns}"), @"Warning\s+(Failed|BackOff)\s+"),
                        () => $"a Failed or BackOff warning in kubectl describe pod {name}:\n{describe}", 15);
                }
            }
        }
        finally
        {
            // Manifests may ask for fixed nodePorts: give them back.
            await _cluster.Kubectl.RunAsync($"delete -n {ns} -f {file} --ignore-not-found --grace-period=1 --wait=false");
        }
    }

    private static List<JsonNode> Pods(string yaml) =>
        [.. YamlJson.ParseDocuments(yaml).OfType<JsonObject>().Where(d => Str(d["kind"]) == "Pod")];

    // "" when every container of the pod shows a state that explains itself; else what is silent.
    private static string Silence(JsonNode spec, JsonNode pod)
    {
        var inits = spec["spec"]!["initContainers"]?.AsArray() ?? [];
        var initsDone = true;
        foreach (var c in inits)
        {
            var status = ContainerStatus(pod, Str(c!["name"]), init: true);
            if (status is null)
            {
                return $"init container {c["name"]} has no status";
            }
            initsDone &= status["state"]?["terminated"]?["exitCode"]?.GetValue<int>() == 0;
            if (Explain(c, status, blocked: false) is { Length: > 0 } problem)
            {
                return problem;
            }
        }
        foreach (var c in spec["spec"]!["containers"]!.AsArray())
        {
            var status = ContainerStatus(pod, Str(c!["name"]));
            if (status is null)
            {
                return $"container {c["name"]} has no status";
            }
            if (Explain(c, status, blocked: !initsDone) is { Length: > 0 } problem)
            {
                return problem;
            }
        }
        return "";
    }

    private static string Explain(JsonNode container, JsonNode status, bool blocked)
    {
        var name = Str(container["name"]);
        var hasCommand = container["command"] is JsonArray { Count: > 0 };
        var state = status["state"];
        if (state?["running"] is not null || state?["terminated"] is not null)
        {
            return hasCommand ? "" : $"container {name} has no command but is {state}";
        }
        var waiting = state?["waiting"];
        var reason = Str(waiting?["reason"]);
        if (reason == "PodInitializing" && blocked)
        {
            return "";
        }
        if (reason == "" || Str(waiting?["message"]) == "")
        {
            return $"container {name} is waiting without reason or message: {state}";
        }
        if (!hasCommand && !Str(waiting?["message"]).Contains("has no command", StringComparison.Ordinal))
        {
            return $"container {name} has no command but waits with {waiting}";
        }
        return "";
    }

    private static bool AnyProblem(JsonNode pod) =>
        new[] { "initContainerStatuses", "containerStatuses" }
            .SelectMany(k => pod["status"]?[k]?.AsArray() ?? [])
            .Any(s => Str(s!["state"]?["waiting"]?["message"]) != "" || s["state"]?["terminated"]?["exitCode"]?.GetValue<int>() is > 0);
}
