using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.Framework;
using Collector = Berth.Controllers.GarbageCollector.GarbageCollector;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.EndpointSlices;

public sealed class SliceControllerApiFixture() : ApiServerFixture("eps-ctl-");

/// <summary>
/// An EndpointSlice controller over its own shared informers against the real API server, its slice writes recorded.
/// The tests play the scheduler and the node agent: pods are created bound to a node, and their status (phase, IPs,
/// the Ready condition) is written through the status subresource as a node agent would.
/// </summary>
internal sealed class ControllerHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    // What the informers have handed to their handlers, by kind/namespace/name: the resourceVersion, or null once
    // deleted. The probe's handlers are registered after the controller's and run after them on the same dispatch
    // loop, so once the probe has seen an object the controller has handled it too.
    private readonly ConcurrentDictionary<string, string?> _seen = new(StringComparer.Ordinal);
    private readonly List<Task> _running = [];
    private Collector? _collector;

    private ControllerHarness(KubeClient client, SharedInformers informers, SliceWriteLog writes)
    {
        Client = client;
        Informers = informers;
        Writes = writes;
    }

    public KubeClient Client { get; }

    public SharedInformers Informers { get; }

    public EndpointSliceController Controller { get; private set; } = null!;

    public SliceWriteLog Writes { get; }

    /// <param name="run">Run two workers; false leaves syncing to the test (SyncServiceAsync) and the queue to inspect.</param>
    /// <param name="collectGarbage">Also run the garbage collector on the same informers.</param>
    public static async Task<ControllerHarness> StartAsync(KubeClient client, bool run, TimeSpan batchPeriod = default,
        TimeProvider? time = null, bool collectGarbage = false)
    {
        var informers = new SharedInformers(client);
        var harness = new ControllerHarness(client, informers, new SliceWriteLog(new KubeEndpointSliceWriter(client)));
        harness.Controller = new EndpointSliceController(informers, batchPeriod, time ?? TimeProvider.System, _ => { },
            harness.Writes, EndpointSliceRules.MaxEndpointsPerSlice);
        if (collectGarbage)
        {
            harness._collector = new Collector(informers, TimeProvider.System, _ => { });
        }
        harness.Probe(informers.For<Pod>());
        harness.Probe(informers.For<Service>());
        harness.Probe(informers.For<EndpointSlice>());
        harness.Probe(informers.For<Node>());
        await Eventually.SyncedAsync(informers);
        if (run)
        {
            harness._running.Add(harness.Controller.RunAsync(2, harness._stop.Token));
        }
        if (harness._collector is not null)
        {
            harness._running.Add(harness._collector.RunAsync(2, harness._stop.Token));
        }
        return harness;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_running);
        await Controller.DisposeAsync();
        if (_collector is not null)
        {
            await _collector.DisposeAsync();
        }
        await Informers.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>Waits until the informer has handed this version of <paramref name="obj"/> (as written) to the controller.</summary>
    public Task SeenAsync(IKubernetesObject obj) =>
        UntilAsync(() => _seen.TryGetValue(ProbeKey(obj), out var rv) && rv == obj.Metadata!.ResourceVersion,
            $"the informers to see {ProbeKey(obj)} at {obj.Metadata!.ResourceVersion}");

    /// <summary>Waits until the informer has handed the deletion of <paramref name="obj"/> to the controller.</summary>
    public Task GoneAsync(IKubernetesObject obj) =>
        UntilAsync(() => _seen.TryGetValue(ProbeKey(obj), out var rv) && rv is null, $"the informers to see {ProbeKey(obj)} deleted");

    public Task SyncAsync(string ns, string service) => Controller.SyncServiceAsync(ns + "/" + service, CancellationToken.None);

    /// <summary>The Service's EndpointSlices in the API (by the kubernetes.io/service-name label), by name.</summary>
    public async Task<List<EndpointSlice>> SlicesAsync(string ns, string service) =>
        [.. (await Client.ListAsync<EndpointSlice>(ns, new ListOptions(LabelSelector: EndpointSliceRules.ServiceNameLabel + "=" + service)))
            .Items.OrderBy(s => s.Metadata!.Name, StringComparer.Ordinal)];

    /// <summary>Waits until the Service has exactly one slice whose endpoints' pods are <paramref name="pods"/> (in any order).</summary>
    public async Task<EndpointSlice> OneSliceWithAsync(string ns, string service, params string[] pods)
    {
        var slices = await UntilAsync(() => SlicesAsync(ns, service),
            s => s.Count == 1 && PodsOf(s[0]).SequenceEqual(pods.Order(StringComparer.Ordinal)),
            $"one slice of {service} with [{string.Join(", ", pods)}]");
        return slices[0];
    }

    public static IEnumerable<string> PodsOf(EndpointSlice slice) =>
        (slice.Endpoints ?? []).Select(e => e.TargetRef?.Name ?? "(no pod)").Order(StringComparer.Ordinal);

    public async Task<List<Event>> EventsAsync(string ns, string reason)
    {
        await Controller.FlushEventsAsync();
        return [.. (await Client.ListAsync<Event>(ns)).Items.Where(e => e.Reason == reason)];
    }

    public async Task<Node> CreateNodeAsync(string name, string? zone = null)
    {
        var node = await Client.CreateAsync(new Node
        {
            Metadata = new ObjectMeta { Name = name, Labels = zone is null ? null : new() { [ZoneLabel] = zone } },
        });
        node.Status = new NodeStatus { Conditions = [new NodeCondition { Type = "Ready", Status = "True" }] };
        node = await Client.UpdateStatusAsync(node);
        await SeenAsync(node);
        return node;
    }

    public const string ZoneLabel = "topology.kubernetes.io/zone";

    public static Service NewService(string ns, string name, Dictionary<string, string>? selector, params ServicePort[] ports) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Spec = new ServiceSpec
        {
            Selector = selector,
            Ports = ports.Length > 0 ? [.. ports] : [new ServicePort { Port = 80, TargetPort = 8080, Protocol = "TCP" }],
        },
    };

    public async Task<Service> CreateServiceAsync(Service service)
    {
        var created = await Client.CreateAsync(service);
        await SeenAsync(created);
        return created;
    }

    /// <summary>A pod already bound to <paramref name="node"/> (the scheduler's part), its containers exposing <paramref name="ports"/>.</summary>
    public static Pod NewPod(string ns, string name, Dictionary<string, string> labels, string node, params ContainerPort[] ports) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns, Labels = new(labels) },
        Spec = new PodSpec
        {
            NodeName = node,
            Containers = [new Container { Name = "c", Image = "busybox", Ports = ports.Length > 0 ? [.. ports] : null }],
        },
    };

    public async Task<Pod> CreatePodAsync(Pod pod)
    {
        var created = await Client.CreateAsync(pod);
        await SeenAsync(created);
        return created;
    }

    /// <summary>Writes the pod's status as a node agent would: a phase, its IPs and the Ready condition.</summary>
    public async Task<Pod> SetStatusAsync(string ns, string name, bool ready, string phase = "Running", params string[] ips)
    {
        var pod = await Client.GetAsync<Pod>(ns, name);
        pod.Status = new PodStatus
        {
            Phase = phase,
            PodIP = ips.FirstOrDefault(),
            PodIPs = ips.Length > 0 ? [.. ips.Select(ip => new PodIP { Ip = ip })] : null,
            Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = DateTimeOffset.UtcNow }],
        };
        var updated = await Client.UpdateStatusAsync(pod);
        await SeenAsync(updated);
        return updated;
    }

    /// <summary>Creates a pod and makes it Running with one IP, ready or not.</summary>
    public async Task<Pod> RunPodAsync(Pod pod, string ip, bool ready = true)
    {
        await CreatePodAsync(pod);
        return await SetStatusAsync(pod.Metadata!.Namespace!, pod.Metadata.Name!, ready, "Running", ip);
    }

    private static string ProbeKey(IKubernetesObject obj) =>
        $"{obj.GetType().Name}/{obj.Metadata?.Namespace}/{obj.Metadata?.Name}";

    private void Probe<T>(Informer<T> informer)
        where T : class, IKubernetesObject
    {
        informer.OnAdd(obj => _seen[ProbeKey(obj)] = obj.Metadata?.ResourceVersion);
        informer.OnUpdate((_, obj) => _seen[ProbeKey(obj)] = obj.Metadata?.ResourceVersion);
        informer.OnDelete(obj => _seen[ProbeKey(obj)] = null);
    }
}

/// <summary>The controller's slice writes, in order, passed on to the API; <see cref="Fail"/> makes chosen writes fail instead.</summary>
internal sealed class SliceWriteLog(IEndpointSliceWriter inner) : IEndpointSliceWriter
{
    private readonly Lock _lock = new();
    private readonly List<(string Verb, string Name)> _writes = [];

    /// <summary>Given the verb and the slice, an exception to throw instead of writing, or null to write.</summary>
    public Func<string, EndpointSlice?, Exception?> Fail { get; set; } = (_, _) => null;

    public List<(string Verb, string Name)> All
    {
        get
        {
            lock (_lock)
            {
                return [.. _writes];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _writes.Count;
            }
        }
    }

    public async Task<EndpointSlice> CreateAsync(EndpointSlice slice, CancellationToken ct)
    {
        if (Fail("create", slice) is { } e)
        {
            throw e;
        }
        var created = await inner.CreateAsync(slice, ct);
        Add("create", created.Metadata!.Name!);
        return created;
    }

    public async Task<EndpointSlice> UpdateAsync(EndpointSlice slice, CancellationToken ct)
    {
        if (Fail("update", slice) is { } e)
        {
            throw e;
        }
        var updated = await inner.UpdateAsync(slice, ct);
        Add("update", updated.Metadata!.Name!);
        return updated;
    }

    public async Task DeleteAsync(string ns, string name, CancellationToken ct)
    {
        if (Fail("delete", null) is { } e)
        {
            throw e;
        }
        await inner.DeleteAsync(ns, name, ct);
        Add("delete", name);
    }

    private void Add(string verb, string name)
    {
        lock (_lock)
        {
            _writes.Add((verb, name));
        }
    }
}
