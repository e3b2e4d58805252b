using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.Framework;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.ServiceEndpoints;

public sealed class EndpointsApiFixture() : ApiServerFixture("ep-");

/// <summary>
/// An Endpoints controller over its own shared informers against the real API server. The tests play the kubelet:
/// pods are created bound to a node, then given phase, IP and Ready condition through the status subresource.
/// </summary>
internal sealed class EndpointsHarness : IAsyncDisposable
{
    public const string NodeName = "node-a";

    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    private EndpointsHarness(KubeClient client, SharedInformers informers, EndpointsController controller)
    {
        Client = client;
        Informers = informers;
        Controller = controller;
    }

    public KubeClient Client { get; }

    public SharedInformers Informers { get; }

    public EndpointsController Controller { get; }

    public Informer<Pod> Pods => Informers.For<Pod>();

    public Informer<Service> Services => Informers.For<Service>();

    public Informer<Endpoints> EndpointsCache => Informers.For<Endpoints>();

    /// <param name="run">Run the workers; false leaves syncing to the test (SyncAsync) and the queue to inspect.</param>
    /// <param name="configure">Registers the test's own handlers; they run after the controller's for each event.</param>
    /// <param name="startInformers">False leaves starting the informers to the test.</param>
    public static async Task<EndpointsHarness> StartAsync(KubeClient client, bool run, TimeSpan batchPeriod = default,
        TimeProvider? time = null, Action<SharedInformers>? configure = null, bool startInformers = true, int workers = 2)
    {
        var informers = new SharedInformers(client);
        var controller = new EndpointsController(informers, batchPeriod, time ?? TimeProvider.System, _ => { });
        configure?.Invoke(informers);
        var harness = new EndpointsHarness(client, informers, controller);
        if (run)
        {
            harness._running = controller.RunAsync(workers, harness._stop.Token);
        }
        if (startInformers)
        {
            await harness.StartInformersAsync();
        }
        return harness;
    }

    public async Task StartInformersAsync()
    {
        await Eventually.SyncedAsync(Informers);
    }

    public Task SyncAsync(string ns, string name) => Controller.SyncAsync($"{ns}/{name}", CancellationToken.None);

    public async Task<Service> CreateServiceAsync(Service service)
    {
        var created = await Client.CreateAsync(service);
        await CachedAsync(Services, created);
        return created;
    }

    public async Task<Endpoints> CreateEndpointsAsync(Endpoints endpoints)
    {
        var created = await Client.CreateAsync(endpoints);
        await CachedAsync(EndpointsCache, created);
        return created;
    }

    public Task<Endpoints?> GetEndpointsAsync(string ns, string name) => Client.TryGetAsync<Endpoints>(ns, name);

    /// <summary>
    /// Upstream testPod: "pod{id}" labelled foo=bar, with container ports port{j} = 8080+j, bound to
    /// <see cref="NodeName"/>; then, as the kubelet, Running with IP 1.2.3.{4+id} and the given readiness.
    /// </summary>
    public async Task<Pod> AddPodAsync(string ns, int id, int nPorts, bool ready, Action<Pod>? spec = null,
        Action<PodStatus>? status = null, int? ipSuffix = null)
    {
        var pod = new Pod
        {
            Metadata = new ObjectMeta { Name = $"pod{id}", Namespace = ns, Labels = new() { ["foo"] = "bar" } },
            Spec = new PodSpec
            {
                NodeName = NodeName,
                Containers =
                [
                    new Container
                    {
                        Name = "c",
                        Image = "busybox",
                        Ports = [.. Enumerable.Range(0, nPorts).Select(j => new ContainerPort { Name = $"port{j}", ContainerPortNumber = 8080 + j })],
                    },
                ],
            },
        };
        spec?.Invoke(pod);
        var created = await Client.CreateAsync(pod);
        var ip = $"1.2.3.{ipSuffix ?? 4 + id}";
        created.Status ??= new PodStatus();
        created.Status.Phase = "Running";
        created.Status.PodIP = ip;
        created.Status.PodIPs = [new PodIP { Ip = ip }];
        created.Status.Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False" }];
        status?.Invoke(created.Status);
        var running = await Client.UpdateStatusAsync(created);
        await CachedAsync(Pods, running);
        return running;
    }

    /// <summary>Upstream addPods: <paramref name="nPods"/> ready pods, then <paramref name="nNotReady"/> not ready ones.</summary>
    public async Task<List<Pod>> AddPodsAsync(string ns, int nPods, int nPorts, int nNotReady)
    {
        var pods = new List<Pod>();
        for (var i = 0; i < nPods + nNotReady; i++)
        {
            pods.Add(await AddPodAsync(ns, i, nPorts, ready: i < nPods));
        }
        return pods;
    }

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

    public static Service NewService(string ns, string name, Dictionary<string, string>? selector, params ServicePort[] ports) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Spec = new ServiceSpec { Selector = selector, Ports = [.. ports] },
    };

    public static ServicePort Port(int port, int targetPort, string protocol = "TCP", string? name = null) =>
        new() { Name = name, Port = port, TargetPort = targetPort, Protocol = protocol };

    public static Endpoints NewEndpoints(string ns, string name, params EndpointSubset[] subsets) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Subsets = [.. subsets],
    };

    /// <summary>Upstream's stand-in for addresses the controller must replace: 6.7.8.9 on port 1000.</summary>
    public static EndpointSubset Foreign(string protocol = "TCP") => new()
    {
        Addresses = [new EndpointAddress { Ip = "6.7.8.9", NodeName = NodeName }],
        Ports = [new EndpointPort { Port = 1000, Protocol = protocol }],
    };

    /// <summary>The address the controller writes for <paramref name="pod"/>.</summary>
    public static EndpointAddress Address(Pod pod) => new()
    {
        Ip = pod.Status!.PodIP,
        NodeName = NodeName,
        TargetRef = new ObjectReference { Kind = "Pod", Name = pod.Metadata!.Name, Namespace = pod.Metadata.Namespace, Uid = pod.Metadata.Uid },
    };
}
