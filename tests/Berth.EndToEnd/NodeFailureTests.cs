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
    private const int GraceSeconds = 5;
    private const int TolerationSeconds = 5;

    // The node lifecycle controller looks every node monitor period (upstream's 5 s by default): the pass that finds
    // the node silent for the grace period sets Ready=Unknown, the next one (seeing Unknown) taints it.
    private const int NodeMonitorPeriodSeconds = 1;

    // For the replacements to be scheduled, started and probed Ready, on a busy 2-CPU test machine.
    private const int SlackSeconds = 15;

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task SecondAgentStops_NodeUnreachable_ItsPodsEvictedAndReplacedOnTheFirstNode(string signal)
    {
        var watch = Stopwatch.StartNew();
        await using var cluster = await NodeAgentCluster.StartAsync(
            "--node-monitor-grace-period", $"{GraceSeconds}s",
            "--node-monitor-period", $"{NodeMonitorPeriodSeconds}s",
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
        var agentGone = stopped.Elapsed;
        if (signal == "TERM")
        {
            // A clean stop ends the agent's pods; a SIGKILLed agent leaves them running, as a partitioned node would.
            Assert.Empty(ProcessesWith(marker).Intersect(evictedPids.Values));
        }

        // One poll records when each step of the failure handling was first seen, for the message and the output.
        var budget = TimeSpan.FromSeconds(GraceSeconds + 2 * NodeMonitorPeriodSeconds + TolerationSeconds + SlackSeconds);
        TimeSpan? unknownAt = null, taintedAt = null, evictedAt = null, replacedAt = null;
        string Timeline() => $"agent {signal} took {agentGone.TotalSeconds:F1} s; Ready=Unknown at {unknownAt?.TotalSeconds:F1} s, "
            + $"unreachable NoExecute taint at {taintedAt?.TotalSeconds:F1} s, pods of second deleted at {evictedAt?.TotalSeconds:F1} s, "
            + $"4 Ready on {cluster.NodeName} at {replacedAt?.TotalSeconds:F1} s (after the stop)";
        while (replacedAt is null)
        {
            node = await GetAsync(kubectl, "node second");
            var all = await PodsAsync(kubectl, ns, "spread");
            var now = stopped.Elapsed;
            unknownAt ??= NodeReady(node) == "Unknown" ? now : null;
            taintedAt ??= HasTaint(node, "node.kubernetes.io/unreachable", "NoExecute") ? now : null;
            evictedAt ??= evicted.All(n => all.All(p => Name(p) != n || IsTerminating(p))) ? now : null;
            var active = all.Where(p => !IsTerminating(p)).ToList();
            replacedAt ??= active.Count == 4 && active.All(p => Str(p["spec"]!["nodeName"]) == cluster.NodeName && IsRunningAndReady(p)) ? now : null;
            Assert.True(now <= budget, $"not replaced within {budget.TotalSeconds} s: {Timeline()}\n{await Summary(kubectl, ns)}\nserver log tail:\n{Tail(cluster.Server.Output, 40)}");
            await Task.Delay(500);
        }
        output.WriteLine(Timeline());
        Assert.True(unknownAt is not null && taintedAt is not null, $"the node was never seen Unknown and tainted while its pods were replaced: {Timeline()}");
        Assert.Empty((await PodsAsync(kubectl, ns, "spread")).Where(p => !IsTerminating(p)).Select(Name).Intersect(evicted));

        node = await GetAsync(kubectl, "node second");
        var ready = node["status"]!["conditions"]!.AsArray().First(c => Str(c!["type"]) == "Ready")!;
        Assert.Equal(("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."), (Str(ready["status"]), Str(ready["reason"]), Str(ready["message"])));
        Assert.True(HasTaint(node, "node.kubernetes.io/unreachable", "NoExecute") && HasTaint(node, "node.kubernetes.io/unreachable", "NoSchedule"),
            $"node second: taints {node["spec"]!["taints"]}");

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
        output.WriteLine($"wall time {watch.Elapsed.TotalSeconds:F1} s");

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
