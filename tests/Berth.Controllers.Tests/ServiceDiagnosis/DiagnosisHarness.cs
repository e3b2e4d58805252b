using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using Berth.Controllers.ServiceDiagnosis;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.ServiceDiagnosis;

public sealed class DiagnosisApiFixture() : ApiServerFixture("diag-");

/// <summary>A diagnosis controller over its own shared informers, its workers running; the test plays kubelet and scheduler.</summary>
internal sealed class DiagnosisHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private int _verdicts;

    private DiagnosisHarness(KubeClient client, SharedInformers informers, ServiceDiagnosisController controller)
    {
        Client = client;
        Informers = informers;
        Controller = controller;
        controller.VerdictMade = _ => Interlocked.Increment(ref _verdicts);
    }

    public KubeClient Client { get; }

    public SharedInformers Informers { get; }

    public ServiceDiagnosisController Controller { get; }

    /// <summary>How many syncs have reached a verdict so far.</summary>
    public int Verdicts => Volatile.Read(ref _verdicts);

    public static async Task<DiagnosisHarness> StartAsync(KubeClient client, TimeProvider? time = null)
    {
        var informers = new SharedInformers(client);
        var controller = new ServiceDiagnosisController(informers, time ?? TimeProvider.System, _ => { });
        var harness = new DiagnosisHarness(client, informers, controller);
        await Eventually.SyncedAsync(informers);
        harness._running = controller.RunAsync(2, harness._stop.Token);
        return harness;
    }

    /// <summary>The Service's EndpointsReady condition as the API has it, once <paramref name="condition"/> holds.</summary>
    public async Task<(Service Service, Condition Condition)> ConditionAsync(string ns, string name, Func<Condition, bool> condition, string what)
    {
        var service = await UntilAsync(() => Client.GetAsync<Service>(ns, name),
            s => Find(s) is { } c && condition(c), what);
        return (service, Find(service)!);
    }

    public static Condition? Find(Service service) => service.Status?.Conditions?.FirstOrDefault(c => c.Type == Diagnosis.ConditionType);

    public async Task<List<Event>> EventsAsync(string ns, string reason)
    {
        await Controller.FlushEventsAsync();
        return [.. (await Client.ListAsync<Event>(ns)).Items.Where(e => e.Reason == reason && e.Source?.Component == ServiceDiagnosisController.ComponentName)];
    }

    /// <summary>Waits until the informer's copy of the pod is as new as <paramref name="written"/>.</summary>
    public Task SeenAsync(Pod written) => Eventually.CachedAsync(Informers.For<Pod>(), written);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        await Controller.DisposeAsync();
        await Informers.DisposeAsync();
        _stop.Dispose();
    }

    public static Service NewService(string ns, string name, Dictionary<string, string>? selector, IntOrString? targetPort = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Spec = new ServiceSpec
        {
            Selector = selector is null ? null : new(selector),
            Ports = [new ServicePort { Name = "http", Port = 80, TargetPort = targetPort, Protocol = "TCP" }],
        },
    };

    public static Pod NewPod(string ns, string name, Dictionary<string, string> labels) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns, Labels = new(labels) },
        // Bound at creation: the scheduler's part is not under test.
        Spec = new PodSpec { NodeName = "node-1", Containers = [new Container { Name = "c", Image = "busybox" }] },
    };

    /// <summary>Writes the status a node agent writes for a running pod, Ready or not (as UpdateStatus, like the kubelet).</summary>
    public async Task<Pod> SetRunningAsync(string ns, string name, bool ready, DateTimeOffset startedAt)
    {
        var pod = await Client.GetAsync<Pod>(ns, name);
        pod.Status = new PodStatus
        {
            Phase = "Running",
            HostIP = "127.0.0.1",
            PodIP = "127.244.0.7",
            PodIPs = [new PodIP { Ip = "127.244.0.7" }],
            StartTime = startedAt,
            Conditions =
            [
                new PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = startedAt },
                new PodCondition
                {
                    Type = "Ready",
                    Status = ready ? "True" : "False",
                    Reason = ready ? null : "ContainersNotReady",
                    Message = ready ? null : "containers with unready status: [c]",
                    LastTransitionTime = startedAt,
                },
            ],
            ContainerStatuses =
            [
                new ContainerStatus
                {
                    Name = "c",
                    Image = "busybox",
                    ImageID = "",
                    Ready = ready,
                    Started = true,
                    RestartCount = 0,
                    State = new ContainerState { Running = new ContainerStateRunning { StartedAt = startedAt } },
                },
            ],
        };
        return await Client.UpdateStatusAsync(pod);
    }

    /// <summary>An Unhealthy Event about the pod, as the kubelet's prober records a failed readiness probe.</summary>
    public Task<Event> ProbeFailedAsync(Pod pod, string message, DateTimeOffset at) =>
        Client.CreateAsync(new Event
        {
            Metadata = new ObjectMeta { Name = $"{pod.Metadata!.Name}.{at.UtcTicks:x}", Namespace = pod.Metadata.Namespace },
            InvolvedObject = new ObjectReference
            {
                Kind = "Pod",
                ApiVersion = "v1",
                Namespace = pod.Metadata.Namespace,
                Name = pod.Metadata.Name,
                Uid = pod.Metadata.Uid,
                FieldPath = "spec.containers{c}",
            },
            Reason = "Unhealthy",
            Message = message,
            Type = "Warning",
            Source = new EventSource { Component = "kubelet", Host = "node-1" },
            FirstTimestamp = at,
            LastTimestamp = at,
            Count = 1,
        });
}
