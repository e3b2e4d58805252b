using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using Berth.Controllers.Scheduler;

namespace Berth.Controllers.Tests.Scheduler;

public sealed class PodSchedulerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task PendingPod_ReadyNode_IsBoundWithScheduledEvent()
    {
        await using var env = await Env.StartAsync(client => CreateNodeAsync(client, "n1"));

        await env.Client.CreateAsync(Pod("web"));

        var bound = await WaitForAsync(env.Client, "web", p => p.Spec?.NodeName is { Length: > 0 });
        Assert.Equal("n1", bound.Spec!.NodeName);
        await env.Scheduler.FlushEventsAsync();
        var scheduled = Assert.Single((await env.Client.ListAsync<Event>("default")).Items, e => e.Reason == "Scheduled");
        Assert.Equal("Normal", scheduled.Type);
        Assert.Equal("Successfully assigned default/web to n1", scheduled.Message);
        Assert.Equal("default-scheduler", scheduled.Source!.Component);
        Assert.Equal("web", scheduled.InvolvedObject!.Name);
        Assert.Equal(bound.Metadata!.Uid, scheduled.InvolvedObject.Uid);
    }

    [Fact]
    public async Task PendingPod_OnlyUnschedulableNode_ReportsThenBindsWhenNodeOpens()
    {
        await using var env = await Env.StartAsync(client => CreateNodeAsync(client, "n1", unschedulable: true));

        await env.Client.CreateAsync(Pod("wait"));

        const string Message = "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
        var pending = await WaitForAsync(env.Client, "wait", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled") == true);
        var condition = Assert.Single(pending.Status!.Conditions!, c => c.Type == "PodScheduled");
        Assert.Equal("False", condition.Status);
        Assert.Equal("Unschedulable", condition.Reason);
        Assert.Equal(Message, condition.Message);
        await env.Scheduler.FlushEventsAsync();
        var failed = Assert.Single((await env.Client.ListAsync<Event>("default")).Items, e => e.Reason == "FailedScheduling");
        Assert.Equal("Warning", failed.Type);
        Assert.Equal(Message, failed.Message);

        await env.Client.PatchAsync<Node>(null, "n1", PatchType.Merge, """{"spec":{"unschedulable":null}}""");

        var bound = await WaitForAsync(env.Client, "wait", p => p.Spec?.NodeName is { Length: > 0 });
        Assert.Equal("n1", bound.Spec!.NodeName);
    }

    [Fact]
    public async Task PodForAnotherScheduler_IsLeftAlone()
    {
        await using var env = await Env.StartAsync(client => CreateNodeAsync(client, "n1"));
        var other = Pod("other");
        other.Spec!.SchedulerName = "my-scheduler";
        await env.Client.CreateAsync(other);
        await env.Client.CreateAsync(Pod("mine"));

        await WaitForAsync(env.Client, "mine", p => p.Spec?.NodeName is { Length: > 0 });

        Assert.Null((await env.Client.GetAsync<Pod>("default", "other")).Spec!.NodeName);
    }

    // Six replicas of one ReplicaSet over three Ready nodes spread 2/2/2, though n1 already runs two other pods (so
    // counting all pods would give it fewer); the NotReady node (tainted not-ready as the node lifecycle controller
    // leaves it, and first by name) gets none.
    [Fact]
    public async Task ReplicaSetPods_SpreadEvenly_NotReadyNodeGetsNone()
    {
        await using var env = await Env.StartAsync(async client =>
        {
            await CreateNodeAsync(client, "a-not-ready", ready: "False", taints: [new Taint { Key = "node.kubernetes.io/not-ready", Effect = "NoSchedule" }]);
            await CreateNodeAsync(client, "n1");
            await CreateNodeAsync(client, "n2");
            await CreateNodeAsync(client, "n3");
            for (var i = 0; i < 2; i++)
            {
                var other = Pod($"other-{i}");
                other.Spec!.NodeName = "n1";
                await client.CreateAsync(other);
            }
        });

        for (var i = 0; i < 6; i++)
        {
            var pod = Pod($"web-{i}");
            pod.Metadata!.OwnerReferences = [new OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "web", Uid = "5e1d5e73-0000-4000-8000-000000000001", Controller = true }];
            await env.Client.CreateAsync(pod);
        }

        var placed = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            placed.Add((await WaitForAsync(env.Client, $"web-{i}", p => p.Spec?.NodeName is { Length: > 0 })).Spec!.NodeName!);
        }
        Assert.Equal(["n1", "n1", "n2", "n2", "n3", "n3"], placed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task UnschedulablePod_NodeBecomesReady_IsBound()
    {
        await using var env = await Env.StartAsync(client => CreateNodeAsync(client, "n1", ready: "False"));
        await env.Client.CreateAsync(Pod("wait"));
        var pending = await WaitForAsync(env.Client, "wait", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled") == true);
        Assert.Equal(
            "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
            pending.Status!.Conditions!.Single(c => c.Type == "PodScheduled").Message);

        var node = await env.Client.GetAsync<Node>(null, "n1");
        node.Status!.Conditions = [new NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady" }];
        await env.Client.UpdateStatusAsync(node);

        var bound = await WaitForAsync(env.Client, "wait", p => p.Spec?.NodeName is { Length: > 0 });
        Assert.Equal("n1", bound.Spec!.NodeName);
    }

    // The FitError of the brief's example, then the bound pod holding the cpu finishes and the pending one fits.
    [Fact]
    public async Task InsufficientCpu_FitErrorAsUpstream_BoundOnceTheHogFinishes()
    {
        await using var env = await Env.StartAsync(async client =>
        {
            await CreateNodeAsync(client, "n1", cpu: "2");
            await CreateNodeAsync(client, "n2", ready: "Unknown");
            var hog = Pod("hog", cpu: "2");
            hog.Spec!.NodeName = "n1";
            await client.CreateAsync(hog);
        });

        await env.Client.CreateAsync(Pod("wait", cpu: "1"));

        var pending = await WaitForAsync(env.Client, "wait", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled") == true);
        Assert.Equal(
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. "
                + "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
            pending.Status!.Conditions!.Single(c => c.Type == "PodScheduled").Message);

        var hogNow = await env.Client.GetAsync<Pod>("default", "hog");
        hogNow.Status = new PodStatus { Phase = "Succeeded" };
        await env.Client.UpdateStatusAsync(hogNow);

        var bound = await WaitForAsync(env.Client, "wait", p => p.Spec?.NodeName is { Length: > 0 });
        Assert.Equal("n1", bound.Spec!.NodeName);
    }

    // Bound pods' status churn costs the scheduler a comparison, never a scheduling attempt.
    [Fact]
    public async Task BoundPods_StatusUpdates_CauseNoSchedulingAttempts()
    {
        const int Pods = 50;
        await using var env = await Env.StartAsync(async client =>
        {
            await CreateNodeAsync(client, "n1");
            for (var i = 0; i < Pods; i++)
            {
                var pod = Pod($"idle-{i}");
                pod.Spec!.NodeName = "n1";
                await client.CreateAsync(pod);
            }
        });

        for (var i = 0; i < Pods; i++)
        {
            var pod = await env.Client.GetAsync<Pod>("default", $"idle-{i}");
            pod.Status = new PodStatus { Phase = "Running", Conditions = [new PodCondition { Type = "Ready", Status = "True" }] };
            await env.Client.UpdateStatusAsync(pod);
        }
        // A pending pod created after the updates is handled after them (one dispatch loop, in order).
        await env.Client.CreateAsync(Pod("probe"));
        await WaitForAsync(env.Client, "probe", p => p.Spec?.NodeName is { Length: > 0 });

        Assert.Equal(1, env.Scheduler.Attempts);
        // The queue lets go of the pod once the binding call returns, a moment after the API shows it bound.
        var deadline = DateTime.UtcNow + s_wait;
        while (env.Scheduler.Pending != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(0, env.Scheduler.Pending);
    }

    private static async Task CreateNodeAsync(KubeClient client, string name, bool unschedulable = false, string ready = "True", List<Taint>? taints = null, string cpu = "4")
    {
        var node = await client.CreateAsync(new Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new ObjectMeta { Name = name, Labels = new() { ["kubernetes.io/hostname"] = name } },
            Spec = new NodeSpec { Unschedulable = unschedulable ? true : null, Taints = taints },
        });
        node.Status = new NodeStatus
        {
            Conditions = [new NodeCondition { Type = "Ready", Status = ready, Reason = "KubeletReady" }],
            Allocatable = new() { ["cpu"] = cpu, ["memory"] = "8Gi", ["pods"] = "110" },
            Capacity = new() { ["cpu"] = cpu, ["memory"] = "8Gi", ["pods"] = "110" },
        };
        await client.UpdateStatusAsync(node);
    }

    private static Pod Pod(string name, string? cpu = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new ObjectMeta { Name = name, Namespace = "default" },
        Spec = new PodSpec
        {
            Containers =
            [
                new Container
                {
                    Name = "c",
                    Image = "busybox",
                    Resources = cpu is null ? null : new ResourceRequirements { Requests = new() { ["cpu"] = cpu } },
                },
            ],
        },
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

    /// <summary>A real API server, shared informers and a running scheduler (as the controller manager wires them).</summary>
    private sealed class Env : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private InProcessServer _server = null!;
        private SharedInformers _informers = null!;
        private Task _run = Task.CompletedTask;

        public KubeClient Client { get; private set; } = null!;

        public PodScheduler Scheduler { get; private set; } = null!;

        /// <param name="before">Objects that exist before the scheduler starts.</param>
        public static async Task<Env> StartAsync(Func<KubeClient, Task> before)
        {
            var env = new Env { _server = await InProcessServer.StartAsync() };
            env.Client = env._server.NewClient();
            await before(env.Client);
            env._informers = new SharedInformers(env.Client);
            env.Scheduler = new PodScheduler(env._informers, TimeProvider.System, _ => { });
            await env._informers.StartAsync(env._stop.Token);
            env._run = env.Scheduler.RunAsync(env._stop.Token);
            await env._informers.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);
            return env;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run;
            await Scheduler.DisposeAsync();
            await _informers.DisposeAsync();
            Client.Dispose();
            await _server.DisposeAsync();
            _stop.Dispose();
        }
    }
}
