using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Controllers.Tests.NodeLifecycle;

/// <summary>
/// The real API server with shared informers and a fake clock for the node lifecycle controllers, and no node
/// agent: tests write Nodes, Leases and pod statuses themselves, and wait for the informers to see each write (what
/// upstream's tests do with syncNodeStore).
/// </summary>
internal sealed class LifecycleCluster : IAsyncDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private LifecycleCluster(InProcessServer server)
    {
        Server = server;
        Client = server.NewClient();
        Informers = new SharedInformers(Client);
    }

    public InProcessServer Server { get; }

    public KubeClient Client { get; }

    public SharedInformers Informers { get; }

    /// <summary>The controllers' clock; starts long before any object's creationTimestamp so it can be set forward to any of them.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public List<string> Logs { get; } = [];

    public void Log(string line)
    {
        lock (Logs)
        {
            Logs.Add(line);
        }
    }

    public static async Task<LifecycleCluster> StartAsync() => new(await InProcessServer.StartAsync());

    /// <summary>Starts the informers (after the controllers registered theirs) and waits for their first lists.</summary>
    public async Task StartInformersAsync()
    {
        await Informers.StartAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(s_wait);
        await Informers.WaitForSyncAsync(timeout.Token);
    }

    public async Task<Node> CreateNodeAsync(string name, params Taint[] taints)
    {
        var node = await Client.CreateAsync(new Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new ObjectMeta { Name = name },
            Spec = new NodeSpec { Taints = taints.Length == 0 ? null : [.. taints] },
        });
        await SyncedAsync(node);
        return node;
    }

    /// <summary>Writes the node's status conditions (as its kubelet would), returning the node as written.</summary>
    public async Task<Node> SetNodeConditionsAsync(string name, params NodeCondition[] conditions)
    {
        var node = await Client.GetAsync<Node>(null, name);
        node.Status ??= new NodeStatus();
        node.Status.Conditions = [.. conditions];
        node = await Client.UpdateStatusAsync(node);
        await SyncedAsync(node);
        return node;
    }

    public async Task<Node> SetNodeTaintsAsync(string name, params Taint[] taints)
    {
        var node = await Client.GetAsync<Node>(null, name);
        node.Spec ??= new NodeSpec();
        node.Spec.Taints = taints.Length == 0 ? null : [.. taints];
        node = await Client.UpdateAsync(node);
        await SyncedAsync(node);
        return node;
    }

    /// <summary>upstream testutil.NewPod: default namespace, bound to <paramref name="nodeName"/>, Ready=True.</summary>
    public async Task<Pod> CreatePodAsync(string name, string? nodeName, List<Toleration>? tolerations = null, string? phase = null,
        bool ready = true, params string[] finalizers)
    {
        var pod = await Client.CreateAsync(new Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new ObjectMeta { Name = name, Namespace = "default", Finalizers = finalizers.Length == 0 ? null : [.. finalizers] },
            Spec = new PodSpec
            {
                NodeName = nodeName,
                Tolerations = tolerations,
                Containers = [new Container { Name = "c", Image = "busybox" }],
            },
        });
        pod.Status ??= new PodStatus();
        pod.Status.Phase = phase ?? pod.Status.Phase;
        pod.Status.Conditions = ready ? [new PodCondition { Type = "Ready", Status = "True" }] : null;
        pod = await Client.UpdateStatusAsync(pod);
        await SyncedAsync(pod);
        return pod;
    }

    public async Task<Lease> SetLeaseAsync(string nodeName, DateTimeOffset renewTime)
    {
        var lease = await Client.TryGetAsync<Lease>("kube-node-lease", nodeName);
        if (lease is null)
        {
            lease = await Client.CreateAsync(new Lease
            {
                ApiVersion = "coordination.k8s.io/v1",
                Kind = "Lease",
                Metadata = new ObjectMeta { Name = nodeName, Namespace = "kube-node-lease" },
                Spec = new LeaseSpec { HolderIdentity = nodeName, RenewTime = renewTime },
            });
        }
        else
        {
            lease.Spec!.RenewTime = renewTime;
            lease = await Client.UpdateAsync(lease);
        }
        await SyncedAsync(lease);
        return lease;
    }

    /// <summary>Waits until the informer of <typeparamref name="T"/> holds <paramref name="written"/>'s resourceVersion.</summary>
    public Task SyncedAsync<T>(T written)
        where T : class, IKubernetesObject
    {
        var informer = Informers.For<T>();
        var rv = written.Metadata!.ResourceVersion;
        return WaitAsync(() => informer.Get(written.Metadata.Namespace, written.Metadata.Name!)?.Metadata?.ResourceVersion == rv,
            $"{typeof(T).Name} {written.Metadata.Name} at resourceVersion {rv} in the informer");
    }

    /// <summary>Reads every node and waits for the node informer to hold it (upstream's syncNodeStore).</summary>
    public async Task SyncNodesAsync()
    {
        foreach (var node in (await Client.ListAsync<Node>(null)).Items)
        {
            await SyncedAsync(node);
        }
    }

    public Task GoneFromCacheAsync<T>(string? ns, string name)
        where T : class, IKubernetesObject
    {
        var informer = Informers.For<T>();
        return WaitAsync(() => informer.Get(ns, name) is null, $"{typeof(T).Name} {name} gone from the informer");
    }

    public static async Task WaitAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!done())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }
            await Task.Delay(10);
        }
    }

    public async Task<T> WaitForAsync<T>(string? ns, string name, Func<T?, bool> done, string what)
        where T : class, IKubernetesObject
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            var obj = await Client.TryGetAsync<T>(ns, name);
            if (done(obj))
            {
                return obj!;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }
            await Task.Delay(20);
        }
    }

    public async Task<List<Event>> EventsAsync(string reason) =>
        [.. (await Client.ListAsync<Event>("default")).Items.Where(e => e.Reason == reason)];

    public async ValueTask DisposeAsync()
    {
        await Informers.DisposeAsync();
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
