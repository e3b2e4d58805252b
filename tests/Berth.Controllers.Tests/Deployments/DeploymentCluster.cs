using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Deployments;
using Berth.Controllers.Framework;
using Berth.Controllers.ReplicaSets;

namespace Berth.Controllers.Tests.Deployments;

public sealed class DeploymentApiFixture() : ApiServerFixture("deploy-");

/// <summary>
/// The ReplicaSet and Deployment controllers over shared informers, running, against the real API server. There is
/// no node agent: <see cref="MarkPodsReadyAsync"/> plays the kubelet.
/// </summary>
internal sealed class DeploymentCluster : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stop = new();
    private readonly SharedInformers _informers;
    private readonly ReplicaSetController _replicaSets;
    private Task _running = Task.CompletedTask;

    private DeploymentCluster(KubeClient client, SharedInformers informers, ReplicaSetController replicaSets, DeploymentController deployments,
        ConcurrentQueue<string> log)
    {
        Client = client;
        Log = log;
        _informers = informers;
        _replicaSets = replicaSets;
        Deployments = deployments;
    }

    public KubeClient Client { get; }

    public DeploymentController Deployments { get; }

    /// <summary>What the controllers logged, for failure messages.</summary>
    public ConcurrentQueue<string> Log { get; }

    /// <param name="deploymentTime">The Deployment controller's clock (the ReplicaSet controller keeps the real one).</param>
    public static async Task<DeploymentCluster> StartAsync(KubeClient client, TimeProvider? deploymentTime = null)
    {
        var informers = new SharedInformers(client);
        var log = new ConcurrentQueue<string>();
        var replicaSets = new ReplicaSetController(informers, TimeProvider.System, log.Enqueue);
        var deployments = new DeploymentController(informers, deploymentTime ?? TimeProvider.System, log.Enqueue);
        var cluster = new DeploymentCluster(client, informers, replicaSets, deployments, log);
        await informers.StartAsync(CancellationToken.None);
        await informers.WaitForSyncAsync(new CancellationTokenSource(Wait).Token);
        cluster._running = Task.WhenAll(replicaSets.RunAsync(2, cluster._stop.Token), deployments.RunAsync(2, cluster._stop.Token));
        return cluster;
    }

    /// <summary>Sets phase Running and Ready=True on every live pod of the namespace that is not Ready yet; how many it changed.</summary>
    public async Task<int> MarkPodsReadyAsync(string ns)
    {
        var marked = 0;
        foreach (var pod in (await Client.ListAsync<Pod>(ns)).Items)
        {
            if (pod.Metadata!.DeletionTimestamp is not null || ActivePods.IsPodReady(pod))
            {
                continue;
            }
            pod.Status ??= new PodStatus();
            pod.Status.Phase = "Running";
            pod.Status.Conditions = [new PodCondition { Type = "Ready", Status = "True", LastTransitionTime = DateTimeOffset.UtcNow }];
            try
            {
                await Client.UpdateStatusAsync(pod);
                marked++;
            }
            catch (KubeApiException e) when (e.StatusCode is 404 or 409)
            {
                // Deleted or changed meanwhile: the next round sees it again.
            }
        }
        return marked;
    }

    public async Task<Deployment> GetAsync(string ns, string name) => await Client.GetAsync<Deployment>(ns, name);

    public async Task<List<ReplicaSet>> ReplicaSetsAsync(string ns) =>
        [.. (await Client.ListAsync<ReplicaSet>(ns)).Items.OrderBy(rs => rs.Metadata!.Name, StringComparer.Ordinal)];

    public async Task<List<Pod>> LivePodsAsync(string ns) =>
        [.. (await Client.ListAsync<Pod>(ns)).Items.Where(p => p.Metadata!.DeletionTimestamp is null)];

    public async Task<List<Event>> EventsAsync(string ns)
    {
        await Deployments.FlushEventsAsync();
        return [.. (await Client.ListAsync<Event>(ns)).Items.Where(e => e.Source?.Component == DeploymentController.ComponentName)
            .OrderBy(e => e.FirstTimestamp).ThenBy(e => e.Metadata!.Name)];
    }

    /// <summary>Polls <paramref name="read"/> until <paramref name="condition"/> holds; <paramref name="each"/> runs every round (kubelet, invariants).</summary>
    public async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what, Func<Task>? each = null)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            if (each is not null)
            {
                await each();
            }
            var value = await read();
            if (condition(value))
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}; controller log:\n{string.Join('\n', Log)}");
            await Task.Delay(25);
        }
    }

    /// <summary>What `kubectl rollout status` waits for: the latest generation observed, all replicas updated and available.</summary>
    public static bool RolloutComplete(Deployment d) =>
        d.Status?.ObservedGeneration >= d.Metadata!.Generation
        && d.Status?.UpdatedReplicas == d.Spec!.Replicas
        && d.Status?.Replicas == d.Spec.Replicas
        && d.Status?.AvailableReplicas == d.Spec.Replicas
        && DeploymentUtil.GetCondition(d.Status, "Progressing")?.Reason == DeploymentUtil.NewRSAvailableReason;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        await Deployments.DisposeAsync();
        await _replicaSets.DisposeAsync();
        await _informers.DisposeAsync();
        _stop.Dispose();
    }

    public static Deployment NewDeployment(string ns, string name, int replicas, string image = "busybox:1") => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Spec = new DeploymentSpec
        {
            Replicas = replicas,
            Selector = new LabelSelector { MatchLabels = new() { ["app"] = name } },
            Template = new PodTemplateSpec
            {
                Metadata = new ObjectMeta { Labels = new() { ["app"] = name } },
                Spec = new PodSpec { Containers = [new Container { Name = "c", Image = image }] },
            },
        },
    };
}
