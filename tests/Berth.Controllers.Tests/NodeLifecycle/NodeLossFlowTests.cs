using Berth.Api.Models;
using Berth.Controllers.NodeLifecycle;

namespace Berth.Controllers.Tests.NodeLifecycle;

/// <summary>
/// The node lifecycle and taint eviction controllers running (their own loops and queues) on the fake clock: a node
/// whose Lease stops being renewed is marked Unknown after the grace period, tainted, and its pod — carrying the API
/// server's default 30 s tolerations — is evicted 30 s after the taint, while the other node keeps renewing.
/// </summary>
public sealed class NodeLossFlowTests
{
    [Fact]
    public async Task SilentNode_PodEvictedAfterGracePeriodPlusDefaultToleration()
    {
        await using var cluster = await LifecycleCluster.StartAsync();
        var options = new NodeLifecycleOptions();
        await using var lifecycle = new NodeLifecycleController(cluster.Informers, options, cluster.Time, cluster.Log);
        await using var eviction = new TaintEvictionController(cluster.Informers, cluster.Time, cluster.Log);
        await cluster.StartInformersAsync();
        var created = (await cluster.CreateNodeAsync("node0")).Metadata!.CreationTimestamp!.Value;
        await cluster.CreateNodeAsync("node1");
        var t0 = created + TimeSpan.FromDays(1);
        cluster.Time.SetUtcNow(t0);
        foreach (var node in new[] { "node0", "node1" })
        {
            await cluster.SetNodeConditionsAsync(node, new NodeCondition { Type = "Ready", Status = "True", LastHeartbeatTime = t0, LastTransitionTime = t0 });
            await cluster.SetLeaseAsync(node, t0);
        }
        var pod = await cluster.CreatePodAsync("web", "node0");
        Assert.Contains(pod.Spec!.Tolerations!, t => t is { Key: "node.kubernetes.io/unreachable", Effect: "NoExecute", TolerationSeconds: 30 });

        using var stop = new CancellationTokenSource();
        var running = Task.WhenAll(lifecycle.RunAsync(stop.Token), eviction.RunAsync(2, stop.Token));
        try
        {
            // node1 renews its Lease every 10 s, as its agent would; node0 has gone silent.
            for (var second = 1; second <= 150; second++)
            {
                cluster.Time.Advance(TimeSpan.FromSeconds(1));
                if (second % 10 == 0)
                {
                    await cluster.SetLeaseAsync("node1", cluster.Time.GetUtcNow());
                }
                await Task.Delay(20);
                if ((await cluster.Client.GetAsync<Pod>("default", "web")).Metadata!.DeletionTimestamp is not null)
                {
                    break;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }

        var evicted = await cluster.Client.GetAsync<Pod>("default", "web");
        Assert.NotNull(evicted.Metadata!.DeletionTimestamp);
        Assert.Equal("False", evicted.Status!.Conditions!.Single(c => c.Type == "Ready").Status);
        var disruption = evicted.Status.Conditions!.Single(c => c.Type == "DisruptionTarget");
        var node0 = await cluster.Client.GetAsync<Node>(null, "node0");
        Assert.Equal("Unknown", node0.Status!.Conditions!.Single(c => c.Type == "Ready").Status);
        var noExecute = Assert.Single(node0.Spec!.Taints!, t => t.Effect == "NoExecute");
        Assert.Equal("node.kubernetes.io/unreachable", noExecute.Key);
        Assert.Contains(node0.Spec.Taints!, t => t is { Key: "node.kubernetes.io/unreachable", Effect: "NoSchedule" });
        // Unknown after the 40 s grace period (checked every 5 s), tainted on the next check, evicted 30 s later.
        Assert.InRange(noExecute.TimeAdded!.Value, t0 + options.NodeMonitorGracePeriod, t0 + TimeSpan.FromSeconds(70));
        Assert.InRange(disruption.LastTransitionTime!.Value, noExecute.TimeAdded.Value + TimeSpan.FromSeconds(30), noExecute.TimeAdded.Value + TimeSpan.FromSeconds(40));
        var node1 = await cluster.Client.GetAsync<Node>(null, "node1");
        Assert.Equal("True", node1.Status!.Conditions!.Single(c => c.Type == "Ready").Status);
        Assert.Null(node1.Spec!.Taints);
    }
}
