using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using Berth.Controllers.ReplicaSets;

namespace Berth.Controllers.Tests.ReplicaSets;

public sealed class ReplicaSetApiFixture() : ApiServerFixture("rs-");

/// <summary>A ReplicaSet controller over its own shared informers, optionally running its workers.</summary>
internal sealed class ReplicaSetHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    private ReplicaSetHarness(KubeClient client, SharedInformers informers, ReplicaSetController controller)
    {
        Client = client;
        Informers = informers;
        Controller = controller;
    }

    public KubeClient Client { get; }

    public SharedInformers Informers { get; }

    public ReplicaSetController Controller { get; }

    public Informer<ReplicaSet> ReplicaSets => Informers.For<ReplicaSet>();

    public Informer<Pod> Pods => Informers.For<Pod>();

    /// <param name="run">Run the workers; false leaves syncing to the test (SyncAsync) and the queue to inspect.</param>
    public static async Task<ReplicaSetHarness> StartAsync(KubeClient client, bool run, TimeProvider? time = null,
        IPodControl? podControl = null, int burstReplicas = ReplicaSetController.BurstReplicas)
    {
        var informers = new SharedInformers(client);
        var controller = new ReplicaSetController(informers, time ?? TimeProvider.System, _ => { }, podControl, burstReplicas);
        var harness = new ReplicaSetHarness(client, informers, controller);
        await Eventually.SyncedAsync(informers);
        if (run)
        {
            harness._running = controller.RunAsync(2, harness._stop.Token);
        }
        return harness;
    }

    /// <summary>The pods of the namespace that are not being deleted, from the API.</summary>
    public async Task<List<Pod>> LivePodsAsync(string ns) =>
        [.. (await Client.ListAsync<Pod>(ns)).Items.Where(p => p.Metadata!.DeletionTimestamp is null).OrderBy(p => p.Metadata!.Name)];

    public async Task<List<Event>> EventsAsync(string ns, string reason)
    {
        await Controller.FlushEventsAsync();
        return [.. (await Client.ListAsync<Event>(ns)).Items.Where(e => e.Reason == reason)];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        await Controller.DisposeAsync();
        await Informers.DisposeAsync();
        _stop.Dispose();
    }

    public static ReplicaSet NewReplicaSet(string ns, string name, int replicas, Dictionary<string, string> selector,
        Dictionary<string, string>? templateLabels = null, int minReadySeconds = 0) => new()
        {
            ApiVersion = "apps/v1",
            Kind = "ReplicaSet",
            Metadata = new ObjectMeta { Name = name, Namespace = ns },
            Spec = new ReplicaSetSpec
            {
                Replicas = replicas,
                MinReadySeconds = minReadySeconds == 0 ? null : minReadySeconds,
                Selector = new LabelSelector { MatchLabels = new(selector) },
                Template = new PodTemplateSpec
                {
                    Metadata = new ObjectMeta { Labels = new(templateLabels ?? selector) },
                    Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
                },
            },
        };

    public static Pod NewPod(string ns, string name, Dictionary<string, string> labels) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns, Labels = new(labels) },
        Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
    };

    /// <summary>Sets phase Running and the Ready condition, as a node agent would.</summary>
    public async Task<Pod> SetRunningAsync(string ns, string name, bool ready, DateTimeOffset readySince)
    {
        var pod = await Client.GetAsync<Pod>(ns, name);
        pod.Status ??= new PodStatus();
        pod.Status.Phase = "Running";
        pod.Status.Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = readySince }];
        return await Client.UpdateStatusAsync(pod);
    }
}

/// <summary>
/// Upstream FakePodControl: records creates and deletes without touching the API; creates beyond
/// <see cref="CreateLimit"/> fail, as a quota would.
/// </summary>
internal sealed class FakePodControl : IPodControl
{
    private int _createCalls;

    public int CreateLimit { get; init; } = int.MaxValue;

    public int CreateCallCount => Volatile.Read(ref _createCalls);

    public List<string> Deleted { get; } = [];

    public Task<Pod> CreatePodsWithControllerRefAsync(string ns, PodTemplateSpec template, IKubernetesObject controller,
        OwnerReference controllerRef, CancellationToken ct)
    {
        var call = Interlocked.Increment(ref _createCalls);
        if (call > CreateLimit)
        {
            return Task.FromException<Pod>(new InvalidOperationException($"not creating pod, limit {CreateLimit} already reached (create call {call})"));
        }
        var pod = PodControl.GetPodFromTemplate(template, controller, controllerRef);
        pod.Metadata!.Name = $"{pod.Metadata.GenerateName}{call}";
        return Task.FromResult(pod);
    }

    public Task DeletePodAsync(string ns, string name, IKubernetesObject controller, CancellationToken ct)
    {
        lock (Deleted)
        {
            Deleted.Add(name);
        }
        return Task.CompletedTask;
    }
}
