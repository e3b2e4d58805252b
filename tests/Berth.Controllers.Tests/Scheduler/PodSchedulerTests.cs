using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Scheduler;

namespace Berth.Controllers.Tests.Scheduler;

public sealed class PodSchedulerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task PendingPod_ReadyNode_IsBoundWithScheduledEvent()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await CreateNodeAsync(client, "n1", unschedulable: false);
        await using var scheduler = new PodScheduler(client);
        await scheduler.StartAsync(CancellationToken.None);
        await scheduler.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        await client.CreateAsync(Pod("web"));

        var bound = await WaitForAsync(client, "web", p => p.Spec?.NodeName is { Length: > 0 });
        Assert.Equal("n1", bound.Spec!.NodeName);
        await scheduler.FlushEventsAsync();
        var scheduled = Assert.Single((await client.ListAsync<Event>("default")).Items, e => e.Reason == "Scheduled");
        Assert.Equal("Normal", scheduled.Type);
        Assert.Equal("Successfully assigned default/web to n1", scheduled.Message);
        Assert.Equal("default-scheduler", scheduled.Source!.Component);
        Assert.Equal("web", scheduled.InvolvedObject!.Name);
        Assert.Equal(bound.Metadata!.Uid, scheduled.InvolvedObject.Uid);
    }

    [Fact]
    public async Task PendingPod_OnlyUnschedulableNode_ReportsThenBindsWhenNodeOpens()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await CreateNodeAsync(client, "n1", unschedulable: true);
        await using var scheduler = new PodScheduler(client);
        await scheduler.StartAsync(CancellationToken.None);
        await scheduler.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        await client.CreateAsync(Pod("wait"));

        const string Message = "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
        var pending = await WaitForAsync(client, "wait", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled") == true);
        var condition = Assert.Single(pending.Status!.Conditions!, c => c.Type == "PodScheduled");
        Assert.Equal("False", condition.Status);
        Assert.Equal("Unschedulable", condition.Reason);
        Assert.Equal(Message, condition.Message);
        await scheduler.FlushEventsAsync();
        var failed = Assert.Single((await client.ListAsync<Event>("default")).Items, e => e.Reason == "FailedScheduling");
        Assert.Equal("Warning", failed.Type);
        Assert.Equal(Message, failed.Message);

        await client.PatchAsync<Node>(null, "n1", PatchType.Merge, """{"spec":{"unschedulable":null}}""");

        var bound = await WaitForAsync(client, "wait", p => p.Spec?.NodeName is { Length: > 0 });
        Assert.Equal("n1", bound.Spec!.NodeName);
    }

    [Fact]
    public async Task PodForAnotherScheduler_IsLeftAlone()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await CreateNodeAsync(client, "n1", unschedulable: false);
        await using var scheduler = new PodScheduler(client);
        await scheduler.StartAsync(CancellationToken.None);
        await scheduler.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);
        var other = Pod("other");
        other.Spec!.SchedulerName = "my-scheduler";
        await client.CreateAsync(other);
        await client.CreateAsync(Pod("mine"));

        await WaitForAsync(client, "mine", p => p.Spec?.NodeName is { Length: > 0 });

        Assert.Null((await client.GetAsync<Pod>("default", "other")).Spec!.NodeName);
    }

    private static async Task CreateNodeAsync(KubeClient client, string name, bool unschedulable)
    {
        var node = await client.CreateAsync(new Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new ObjectMeta { Name = name },
            Spec = new NodeSpec { Unschedulable = unschedulable ? true : null },
        });
        node.Status = new NodeStatus { Conditions = [new NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady" }] };
        await client.UpdateStatusAsync(node);
    }

    private static Pod Pod(string name) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new ObjectMeta { Name = name, Namespace = "default" },
        Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
    };

    private static async Task<Pod> WaitForAsync(KubeClient client, string name, Func<Pod, bool> condition)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            var pod = await client.GetAsync<Pod>("default", name);
            if (condition(pod))
            {
                return pod;
            }
            Assert.True(DateTime.UtcNow < deadline, $"pod {name} never reached the expected state");
            await Task.Delay(100);
        }
    }
}
