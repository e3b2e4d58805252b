using Berth.Api.Models;
using Berth.Controllers.NodeLifecycle;

namespace Berth.Controllers.Tests.NodeLifecycle;

/// <summary>
/// Ported from upstream pkg/controller/podgc/gc_controller_test.go (TestGCOrphaned, TestGCUnscheduledTerminating,
/// TestGCTerminating) against the real API server. Pods carry a test finalizer so that after the collector's
/// grace-0 delete they are still there to inspect: "deleted" means deletionGracePeriodSeconds 0, "patched" means
/// phase Failed (with the DisruptionTarget condition for orphans).
/// </summary>
public sealed class PodGarbageCollectorTests
{
    private const string Hold = "berth.test/hold";

    private static readonly NodeLifecycleOptions s_options = new();
    private static readonly TimeSpan s_quarantine = s_options.PodGcQuarantine;

    public sealed record OrphanCase(string[] Nodes, TimeSpan Delay, (string Name, string Node, string Phase)[] Pods,
        string[] Deleted, string[] Patched, string[]? AddedNodes = null, string[]? DeletedNodes = null);

    private static readonly Dictionary<string, OrphanCase> s_orphanCases = new()
    {
        ["nodes present in lister"] = new(["existing1", "existing2"], 2 * s_quarantine,
            [("a", "existing1", "Running"), ("b", "existing2", "Failed"), ("c", "existing2", "Succeeded")], [], []),
        ["no nodes"] = new([], 2 * s_quarantine, [("a", "deleted", "Failed"), ("b", "deleted", "Succeeded")], ["a", "b"], []),
        ["no nodes, one running pod"] = new([], 2 * s_quarantine,
            [("a", "deleted", "Failed"), ("b", "deleted", "Succeeded"), ("c", "deleted", "Running")], ["a", "b", "c"], ["c"]),
        ["quarantine not finished"] = new([], s_quarantine / 2, [("a", "deleted", "Failed")], [], []),
        ["wrong nodes"] = new(["existing"], 2 * s_quarantine, [("a", "deleted", "Running")], ["a"], ["a"]),
        ["some nodes missing"] = new(["existing"], 2 * s_quarantine,
            [("a", "deleted", "Failed"), ("b", "existing", "Failed"), ("c", "deleted", "Succeeded"), ("d", "deleted", "Running")],
            ["a", "c", "d"], ["d"]),
        ["node added after quarantine"] = new([], 2 * s_quarantine, [("a", "node", "Running")], [], [], AddedNodes: ["node"]),
        // The node's quarantine only starts when it is found missing, on the second pass.
        ["node deleted after quarantine"] = new(["node"], 2 * s_quarantine, [("a", "node", "Succeeded")], [], [], DeletedNodes: ["node"]),
    };

    public static TheoryData<string> OrphanCases => [.. s_orphanCases.Keys];

    [Theory]
    [MemberData(nameof(OrphanCases))]
    public async Task GcOrphaned_UpstreamCases(string description)
    {
        var c = s_orphanCases[description];
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var gc = new PodGarbageCollector(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        foreach (var node in c.Nodes)
        {
            await cluster.CreateNodeAsync(node);
        }
        foreach (var (name, node, phase) in c.Pods)
        {
            await cluster.CreatePodAsync(name, node, phase: phase, finalizers: Hold);
        }

        await gc.GcAsync(CancellationToken.None);
        Assert.Empty(await DeletedAsync(cluster, c.Pods));

        cluster.Time.Advance(c.Delay);
        foreach (var node in c.AddedNodes ?? [])
        {
            await cluster.CreateNodeAsync(node);
        }
        foreach (var node in c.DeletedNodes ?? [])
        {
            await cluster.Client.DeleteAsync<Node>(null, node);
            await cluster.GoneFromCacheAsync<Node>(null, node);
        }
        await gc.GcAsync(CancellationToken.None);

        Assert.Equal(c.Deleted, await DeletedAsync(cluster, c.Pods));
        foreach (var (name, _, phase) in c.Pods)
        {
            var pod = await cluster.Client.GetAsync<Pod>("default", name);
            var disruption = pod.Status!.Conditions?.SingleOrDefault(x => x.Type == "DisruptionTarget");
            if (c.Patched.Contains(name))
            {
                Assert.Equal("Failed", pod.Status.Phase);
                Assert.Equal(("True", "DeletionByPodGC", "PodGC: node no longer exists"), (disruption?.Status, disruption?.Reason, disruption?.Message));
            }
            else
            {
                Assert.Equal(phase, pod.Status.Phase);
                Assert.Null(disruption);
            }
        }
    }

    /// <summary>TestGCUnscheduledTerminating.</summary>
    [Theory]
    [InlineData("Unscheduled pod in any phase must be deleted", true, "a,b,c", "c")]
    [InlineData("Scheduled pod in any phase must not be deleted", false, "", "")]
    public async Task GcUnscheduledTerminating_UpstreamCases(string description, bool unscheduled, string deleted, string patched)
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var gc = new PodGarbageCollector(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        await cluster.CreateNodeAsync("node");
        (string Name, string Phase, bool Terminating, string? Node)[] pods = unscheduled
            ? [("a", "Failed", true, null), ("b", "Succeeded", true, null), ("c", "Running", true, null)]
            : [("a", "Failed", false, null), ("b", "Succeeded", false, "node"), ("c", "Running", true, "node")];
        foreach (var (name, phase, terminating, node) in pods)
        {
            await cluster.CreatePodAsync(name, node, phase: phase, finalizers: Hold);
            if (terminating)
            {
                await cluster.Client.DeleteAsync<Pod>("default", name, new DeleteOptions { GracePeriodSeconds = 30 });
                await cluster.SyncedAsync(await cluster.Client.GetAsync<Pod>("default", name));
            }
        }

        await gc.GcAsync(CancellationToken.None);

        var expectedDeleted = deleted.Split(',', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expectedDeleted, await DeletedAsync(cluster, [.. pods.Select(p => (p.Name, p.Node ?? "", p.Phase))]));
        foreach (var (name, phase, _, _) in pods)
        {
            var pod = await cluster.Client.GetAsync<Pod>("default", name);
            Assert.True((patched.Contains(name, StringComparison.Ordinal) ? "Failed" : phase) == pod.Status!.Phase, $"{description}: pod {name} is {pod.Status.Phase}");
        }
    }

    /// <summary>TestGCTerminating: terminating pods go when their node is not Ready and tainted out-of-service.</summary>
    [Fact]
    public async Task GcTerminating_OnlyOnNotReadyOutOfServiceNodes()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        await using var gc = new PodGarbageCollector(cluster.Informers, s_options, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        (string Node, string Ready, Taint[] Taints)[] nodes =
        [
            ("worker-0", "False", [new Taint { Key = "node.kubernetes.io/out-of-service", Effect = "NoExecute" }]),
            ("worker-1", "False", []),
            ("worker-2", "True", []),
            ("worker-3", "False", [new Taint { Key = "node.kubernetes.io/out-of-service", Effect = "NoSchedule" }]),
            ("worker-5", "False", [new Taint { Key = "node.kubernetes.io/out-of-service", Value = "any-value", Effect = "NoExecute" }]),
        ];
        var pods = new List<(string, string, string)>();
        for (var i = 0; i < nodes.Length; i++)
        {
            var (node, ready, taints) = nodes[i];
            await cluster.CreateNodeAsync(node, taints);
            await cluster.SetNodeConditionsAsync(node, new NodeCondition { Type = "Ready", Status = ready });
            // a: running; b: terminating.
            await cluster.CreatePodAsync($"a{i}", node, phase: "Running", finalizers: Hold);
            await cluster.CreatePodAsync($"b{i}", node, phase: "Running", finalizers: Hold);
            await cluster.Client.DeleteAsync<Pod>("default", $"b{i}", new DeleteOptions { GracePeriodSeconds = 30 });
            await cluster.SyncedAsync(await cluster.Client.GetAsync<Pod>("default", $"b{i}"));
            pods.Add(($"a{i}", node, "Running"));
            pods.Add(($"b{i}", node, "Running"));
        }

        await gc.GcAsync(CancellationToken.None);

        Assert.Equal(["b0", "b3", "b4"], await DeletedAsync(cluster, pods));
        Assert.Equal("Failed", (await cluster.Client.GetAsync<Pod>("default", "b0")).Status!.Phase);
    }

    // Pods deleted with grace 0 by the collector (the test finalizer keeps them readable).
    private static async Task<List<string>> DeletedAsync(LifecycleCluster cluster, IEnumerable<(string Name, string Node, string Phase)> pods)
    {
        var deleted = new List<string>();
        foreach (var (name, _, _) in pods)
        {
            var pod = await cluster.Client.GetAsync<Pod>("default", name);
            if (pod.Metadata!.DeletionTimestamp is not null && pod.Metadata.DeletionGracePeriodSeconds == 0)
            {
                deleted.Add(name);
            }
        }
        return deleted;
    }
}
