using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using static Berth.EndToEnd.NodeAgentCluster;
using static Berth.EndToEnd.Workloads;

namespace Berth.EndToEnd;

/// <summary>
/// A second node whose agent stops: the node lifecycle controller marks it unreachable, the taint eviction
/// controller deletes its pods once their (shortened) default toleration runs out, and the Deployment's
/// replacements run on the node that is left.
/// </summary>
public sealed class NodeFailureTests(ITestOutputHelper output)
{
    // Short enough to keep the test brief, as the brief's timing bound assumes: grace 5 s + toleration 5 s + 15 s.
    private const int GraceSeconds = 5;
    private const int TolerationSeconds = 5;
    private const int SlackSeconds = 15;

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task SecondAgentStops_NodeUnreachable_ItsPodsEvictedAndReplacedOnTheFirstNode(string signal)
    {
        var watch = Stopwatch.StartNew();
        await using var cluster = await NodeAgentCluster.StartAsync(
            "--node-monitor-grace-period", $"{GraceSeconds}s",
            "--default-unreachable-toleration-seconds", $"{TolerationSeconds}",
            "--default-not-ready-toleration-seconds", $"{TolerationSeconds}",
            "--node-lease-duration", "4s");
        await using var agent = BerthAgent.Start(cluster, "second", "--node-lease-duration", "4s");
        var kubectl = cluster.Kubectl;
        JsonNode node = new JsonObject();
        await WaitForAsync(async () =>
        {
            var result = await kubectl.RunAsync("get node second -o json");
            node = result.ExitCode == 0 ? JsonNode.Parse(result.Stdout)! : new JsonObject();
            return NodeReady(node) == "True";
        }, () => $"node second Ready; agent log:\n{agent.Output}", 60);

        var ns = await cluster.NamespaceAsync();
        var marker = cluster.NewMarker();
        await cluster.ApplyAsync(ns, Manifest("spread", 4, marker));
        await RolloutStatusAsync(cluster, ns, "spread");
        var pods = await PodsAsync(kubectl, ns, "spread");
        var byNode = pods.GroupBy(p => Str(p["spec"]!["nodeName"])).ToDictionary(g => g.Key, g => g.Select(Name).ToList());
        Assert.True(byNode.Keys.Order().SequenceEqual(new[] { cluster.NodeName, "second" }.Order()),
            $"the scheduler should spread the 4 replicas over both nodes: {string.Join("; ", byNode.Select(kv => $"{kv.Key}: {string.Join(", ", kv.Value)}"))}");
        foreach (var pod in pods)
        {
            // DefaultTolerationSeconds admission, with the server's shortened defaults.
            var tolerations = pod["spec"]!["tolerations"]?.AsArray().Select(t => t!).ToList() ?? [];
            foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
            {
                Assert.True(tolerations.Any(t => Str(t["key"]) == key && Str(t["operator"]) == "Exists" && Str(t["effect"]) == "NoExecute" && Int(t["tolerationSeconds"]) == TolerationSeconds),
                    $"pod {Name(pod)}: no toleration of {key}:NoExecute for {TolerationSeconds} s in {pod["spec"]!["tolerations"]}");
            }
        }
        var evicted = byNode["second"];
        var evictedPids = evicted.ToDictionary(n => n, n => PodProcess(marker, n));

        var stopped = Stopwatch.StartNew();
        await agent.StopAsync(signal);
        if (signal == "TERM")
        {
            // A clean stop ends the agent's pods; a SIGKILLed agent leaves them running, as a partitioned node would.
            Assert.Empty(ProcessesWith(marker).Intersect(evictedPids.Values));
        }

        await WaitForAsync(async () =>
        {
            node = await GetAsync(kubectl, "node second");
            return NodeReady(node) == "Unknown" && HasTaint(node, "node.kubernetes.io/unreachable", "NoExecute");
        }, () => $"node second Ready=Unknown with the unreachable NoExecute taint; node:\n{node["spec"]}\n{node["status"]?["conditions"]}\nserver log tail:\n{Tail(cluster.Server.Output, 40)}",
            GraceSeconds + SlackSeconds);
        var notedUnreachable = stopped.Elapsed;
        var ready = node["status"]!["conditions"]!.AsArray().First(c => Str(c!["type"]) == "Ready")!;
        Assert.Equal(("NodeStatusUnknown", "Kubelet stopped posting node status."), (Str(ready["reason"]), Str(ready["message"])));
        Assert.True(HasTaint(node, "node.kubernetes.io/unreachable", "NoSchedule"), $"node second: no unreachable NoSchedule taint: {node["spec"]}");

        var budget = GraceSeconds + TolerationSeconds + SlackSeconds;
        var replaced = await WaitForActivePodsAsync(cluster, ns, "spread",
            active => active.Count == 4 && active.All(p => Str(p["spec"]!["nodeName"]) == cluster.NodeName && IsRunningAndReady(p)),
            $"4 Running and Ready pods on {cluster.NodeName}", Math.Max(1, budget - (int)stopped.Elapsed.TotalSeconds));
        var tookToReplace = stopped.Elapsed;
        Assert.True(tookToReplace <= TimeSpan.FromSeconds(budget), $"replacing took {tookToReplace}");
        Assert.Empty(replaced.Select(Name).Intersect(evicted));

        List<(string Type, string Reason, string Object, string Message, string FieldPath)> events = [];
        await WaitForAsync(async () =>
        {
            events = await cluster.EventsAsync(ns);
            return evicted.All(n => events.Any(e => e.Object == n && e.Reason == "TaintManagerEviction" && e.Message == $"Marking for deletion Pod {ns}/{n}"));
        }, () => $"TaintManagerEviction events for {string.Join(", ", evicted)}; events:\n{string.Join('\n', events)}", 15);
        // Nothing confirms the deletion on a node that is gone: the evicted pods stay terminating (as upstream).
        foreach (var name in evicted)
        {
            var pod = await cluster.GetPodAsync(ns, name);
            Assert.True(IsTerminating(pod), $"evicted pod {name} has no deletionTimestamp: {pod["metadata"]}");
            var disruption = pod["status"]!["conditions"]!.AsArray().FirstOrDefault(c => Str(c!["type"]) == "DisruptionTarget");
            Assert.True(disruption is not null, $"evicted pod {name}: no DisruptionTarget condition: {pod["status"]}");
            Assert.Equal(("True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint"),
                (Str(disruption!["status"]), Str(disruption["reason"]), Str(disruption["message"])));
        }
        output.WriteLine($"{signal}: unreachable after {notedUnreachable.TotalSeconds:F1} s, replaced after {tookToReplace.TotalSeconds:F1} s; wall time {watch.Elapsed.TotalSeconds:F1} s");

        // The SIGKILLed agent's pods are still running: end them (only the ones this test started).
        foreach (var pid in ProcessesWith(marker).Intersect(evictedPids.Values))
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
    }

    private static string NodeReady(JsonNode node) =>
        Str(node["status"]?["conditions"]?.AsArray().FirstOrDefault(c => Str(c!["type"]) == "Ready")?["status"]);

    private static bool HasTaint(JsonNode node, string key, string effect) =>
        node["spec"]?["taints"]?.AsArray().Any(t => Str(t!["key"]) == key && Str(t["effect"]) == effect) == true;
}
