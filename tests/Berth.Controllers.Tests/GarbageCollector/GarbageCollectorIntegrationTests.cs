using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using Collector = Berth.Controllers.GarbageCollector.GarbageCollector;

namespace Berth.Controllers.Tests.GarbageCollector;

/// <summary>One API server and one running collector for the class; every test works in a namespace of its own.</summary>
public sealed class CollectorFixture : IAsyncLifetime
{
    private readonly CancellationTokenSource _stop = new();
    private SharedInformers _informers = null!;
    private Collector _collector = null!;
    private Task _running = Task.CompletedTask;
    private InProcessServer _server = null!;

    public KubeClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessServer.StartAsync();
        Client = _server.NewClient();
        _informers = new SharedInformers(Client);
        _collector = new Collector(_informers, TimeProvider.System, _ => { });
        await _informers.StartAsync(CancellationToken.None);
        _running = _collector.RunAsync(workers: 2, _stop.Token);
        await _informers.WaitForSyncAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        await _collector.DisposeAsync();
        await _informers.DisposeAsync();
        Client.Dispose();
        await _server.DisposeAsync();
        _stop.Dispose();
    }

    public async Task<string> NamespaceAsync()
    {
        var name = "gc-" + Guid.NewGuid().ToString("N")[..8];
        await Client.CreateAsync(new Namespace { Metadata = new ObjectMeta { Name = name } });
        return name;
    }
}

/// <summary>
/// The collector against the real API server: background, foreground and orphan deletion of owners, pods of a
/// ReplicaSet, a Node's Lease, and a dependent whose owner never existed.
/// </summary>
public sealed class GarbageCollectorIntegrationTests(CollectorFixture fixture) : IClassFixture<CollectorFixture>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private KubeClient Client => fixture.Client;

    [Fact]
    public async Task Background_OwnerDeleted_DependentIsDeleted()
    {
        var ns = await fixture.NamespaceAsync();
        var owner = await Client.CreateAsync(ConfigMap(ns, "owner"));
        await Client.CreateAsync(ConfigMap(ns, "dependent", Reference(owner)));

        await Client.DeleteAsync<ConfigMap>(ns, "owner");

        await EventuallyAsync(async () => await Client.TryGetAsync<ConfigMap>(ns, "dependent") is null, "the dependent is deleted");
    }

    [Fact]
    public async Task Foreground_OwnerStaysUntilItsBlockingDependentsAreGone()
    {
        var ns = await fixture.NamespaceAsync();
        var owner = await Client.CreateAsync(ConfigMap(ns, "owner"));
        var held = ConfigMap(ns, "held", Reference(owner, block: true));
        held.Metadata!.Finalizers = ["example.com/hold"];
        await Client.CreateAsync(held);

        await Client.DeleteAsync<ConfigMap>(ns, "owner", new DeleteOptions { PropagationPolicy = "Foreground" });

        // The dependent is deleted, but its own finalizer keeps it: the owner waits, marked, with its finalizer.
        await EventuallyAsync(async () => (await Client.GetAsync<ConfigMap>(ns, "held")).Metadata!.DeletionTimestamp is not null, "the dependent is being deleted");
        var waiting = await Client.GetAsync<ConfigMap>(ns, "owner");
        Assert.NotNull(waiting.Metadata!.DeletionTimestamp);
        Assert.Equal(["foregroundDeletion"], waiting.Metadata.Finalizers!);

        await Client.PatchAsync<ConfigMap>(ns, "held", PatchType.Merge, """{"metadata":{"finalizers":null}}""");

        await EventuallyAsync(async () => await Client.TryGetAsync<ConfigMap>(ns, "owner") is null, "the owner is deleted after its dependent");
        Assert.Null(await Client.TryGetAsync<ConfigMap>(ns, "held"));
    }

    [Fact]
    public async Task Orphan_OwnerGoes_DependentsStayWithoutTheReference()
    {
        var ns = await fixture.NamespaceAsync();
        var owner = await Client.CreateAsync(ConfigMap(ns, "owner"));
        var other = await Client.CreateAsync(ConfigMap(ns, "other"));
        await Client.CreateAsync(ConfigMap(ns, "dependent1", Reference(owner)));
        await Client.CreateAsync(ConfigMap(ns, "dependent2", Reference(owner), Reference(other)));

        await Client.DeleteAsync<ConfigMap>(ns, "owner", new DeleteOptions { PropagationPolicy = "Orphan" });

        await EventuallyAsync(async () => await Client.TryGetAsync<ConfigMap>(ns, "owner") is null, "the owner is deleted");
        var dependent1 = await Client.GetAsync<ConfigMap>(ns, "dependent1");
        var dependent2 = await Client.GetAsync<ConfigMap>(ns, "dependent2");
        Assert.Empty(dependent1.Metadata!.OwnerReferences ?? []);
        Assert.Equal(["other"], dependent2.Metadata!.OwnerReferences!.Select(r => r.Name));
    }

    [Fact]
    public async Task ReplicaSetDeleted_ItsPodIsDeleted()
    {
        var ns = await fixture.NamespaceAsync();
        var labels = new Dictionary<string, string> { ["app"] = "web" };
        var rs = await Client.CreateAsync(new ReplicaSet
        {
            Metadata = new ObjectMeta { Name = "web", Namespace = ns },
            Spec = new ReplicaSetSpec
            {
                Replicas = 1,
                Selector = new LabelSelector { MatchLabels = labels },
                Template = new PodTemplateSpec { Metadata = new ObjectMeta { Labels = labels }, Spec = PodSpec() },
            },
        });
        var controllerRef = Reference(rs, block: true);
        controllerRef.Controller = true;
        await Client.CreateAsync(new Pod
        {
            Metadata = new ObjectMeta { Name = "web-1", Namespace = ns, Labels = labels, OwnerReferences = [controllerRef] },
            Spec = PodSpec(),
        });

        await Client.DeleteAsync<ReplicaSet>(ns, "web");

        await EventuallyAsync(async () => await Client.TryGetAsync<Pod>(ns, "web-1") is null, "the pod is deleted");
    }

    [Fact]
    public async Task NodeDeleted_ItsLeaseIsDeleted()
    {
        var ns = await fixture.NamespaceAsync();
        var node = await Client.CreateAsync(new Node { Metadata = new ObjectMeta { Name = ns + "-node" } });
        await Client.CreateAsync(new Lease
        {
            Metadata = new ObjectMeta { Name = ns + "-node", Namespace = ns, OwnerReferences = [Reference(node)] },
            Spec = new LeaseSpec { HolderIdentity = ns + "-node", LeaseDurationSeconds = 40 },
        });

        await Client.DeleteAsync<Node>(null, ns + "-node");

        await EventuallyAsync(async () => await Client.TryGetAsync<Lease>(ns, ns + "-node") is null, "the lease is deleted");
    }

    [Fact]
    public async Task OwnerThatNeverExisted_DependentIsDeleted()
    {
        var ns = await fixture.NamespaceAsync();
        var ghost = new OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "ghost", Uid = Guid.NewGuid().ToString() };

        await Client.CreateAsync(ConfigMap(ns, "dependent", ghost));

        await EventuallyAsync(async () => await Client.TryGetAsync<ConfigMap>(ns, "dependent") is null, "the dependent is deleted");
    }

    [Fact]
    public async Task OwnerInAnotherNamespace_WarningEventOnTheDependent_WhichIsDeleted()
    {
        var ns = await fixture.NamespaceAsync();
        var otherNs = await fixture.NamespaceAsync();
        var owner = await Client.CreateAsync(ConfigMap(otherNs, "owner"));

        await Client.CreateAsync(ConfigMap(ns, "dependent", Reference(owner)));

        await EventuallyAsync(async () => await Client.TryGetAsync<ConfigMap>(ns, "dependent") is null, "the dependent is deleted");
        Event? warning = null;
        await EventuallyAsync(async () => (warning = (await Client.ListAsync<Event>(ns)).Items.FirstOrDefault(e => e.Reason == "OwnerRefInvalidNamespace")) is not null,
            "the OwnerRefInvalidNamespace event is written");
        Assert.Equal(("Warning", $"ownerRef [v1/ConfigMap, namespace: {ns}, name: owner, uid: {owner.Metadata!.Uid}] does not exist in namespace \"{ns}\"", "dependent", "garbage-collector-controller"),
            (warning!.Type, warning.Message, warning.InvolvedObject!.Name, warning.Source?.Component));
        Assert.NotNull(await Client.TryGetAsync<ConfigMap>(otherNs, "owner"));
    }

    private static ConfigMap ConfigMap(string ns, string name, params OwnerReference[] owners) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns, OwnerReferences = owners.Length == 0 ? null : [.. owners] },
    };

    private static OwnerReference Reference(IKubernetesObject owner, bool block = false)
    {
        KubeKinds.TryGet(owner.GetType(), out var kind);
        return new OwnerReference
        {
            ApiVersion = kind!.ApiVersion,
            Kind = kind.Kind,
            Name = owner.Metadata!.Name,
            Uid = owner.Metadata.Uid,
            BlockOwnerDeletion = block ? true : null,
        };
    }

    private static PodSpec PodSpec() => new() { Containers = [new Container { Name = "web", Image = "nginx" }] };

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }
}
