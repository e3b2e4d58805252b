using Berth.Api.Selectors;
using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Services;
using Berth.Client;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.Framework;

namespace Berth.Controllers.ServiceDiagnosis;

/// <summary>
/// Explains empty Services (beyond upstream): keeps the <c>EndpointsReady</c> condition on
/// <c>Service.status.conditions</c> saying why a Service has no ready endpoints (<see cref="Diagnosis"/>), with a
/// Warning <c>NoEndpoints</c> Event for each new explanation and a Normal <c>EndpointsReady</c> Event once fixed. A
/// Service that never lacked endpoints gets neither. Changes settle for <see cref="SettlePeriod"/> before a verdict,
/// so pods that become ready within it make no noise; the condition is written only when it changes.
/// </summary>
public sealed class ServiceDiagnosisController : IAsyncDisposable
{
    public const string ComponentName = "service-diagnosis";

    /// <summary>The True condition's message: the pod counts of the moment are in the Event, not rewritten on every scale.</summary>
    public const string ReadyMessage = "has ready endpoints";

    internal static readonly TimeSpan SettlePeriod = TimeSpan.FromSeconds(1);

    private const string ServiceNameIndex = "service-diagnosis/service-name";

    private readonly SharedInformers _informers;
    private readonly KubeClient _client;
    private readonly Informer<Service> _services;
    private readonly Informer<Pod> _pods;
    private readonly Informer<EndpointSlice> _slices;
    private readonly EventRecorder _events;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly Lock _lock = new();
    // When each Service (key) last saw a change that may alter its verdict.
    private readonly Dictionary<string, DateTimeOffset> _lastChange = [];

    public ServiceDiagnosisController(SharedInformers informers, TimeProvider time, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _informers = informers;
        _client = informers.Client;
        _time = time;
        _log = log;
        _events = new EventRecorder(_client, ComponentName, host: null);
        Queue = new WorkQueue("service-diagnosis", time);

        _services = informers.For<Service>();
        _services.OnAdd(AddService);
        _services.OnUpdate(UpdateService);
        _services.OnDelete(DeleteService);
        SelectorIndexes.AddServiceSelectors(_services);

        _pods = informers.For<Pod>();
        _pods.OnAdd(AddOrDeletePod);
        _pods.OnUpdate(UpdatePod);
        _pods.OnDelete(AddOrDeletePod);
        SelectorIndexes.AddPodLabels(_pods);

        _slices = informers.For<EndpointSlice>();
        _slices.OnAdd(SliceChanged);
        _slices.OnUpdate((old, current) =>
        {
            // Relabelled to another Service: both are affected.
            SliceChanged(old);
            SliceChanged(current);
        });
        _slices.OnDelete(SliceChanged);
        SharedIndex.Add(_slices, ServiceNameIndex, static slice =>
            slice.Metadata?.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel) is { Length: > 0 } name
                ? [slice.Metadata.Namespace + "/" + name]
                : []);
    }

    internal WorkQueue Queue { get; }

    /// <summary>Test hook: called with the Service's key after each sync that reached a verdict (written or not).</summary>
    internal Action<string>? VerdictMade { get; set; }

    /// <summary>Waits for the caches, then syncs queued Services with <paramref name="workers"/> workers until cancelled.</summary>
    public async Task RunAsync(int workers, CancellationToken ct)
    {
        try
        {
            await _informers.WaitForSyncAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        await ControllerWorkers.RunAsync(ComponentName, Queue, workers, SyncAsync, _log, ct).ConfigureAwait(false);
    }

    internal Task FlushEventsAsync() => _events.FlushAsync();

    public async ValueTask DisposeAsync()
    {
        Queue.Dispose();
        await _events.DisposeAsync().ConfigureAwait(false);
    }

    internal async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        if (_services.Get(ns, name) is not { } service)
        {
            Forget(key);
            return;
        }

        var now = _time.GetUtcNow();
        lock (_lock)
        {
            // The queue keeps the earliest of several delayed adds, so a burst of changes arrives here a second after
            // its first change: wait until a second has passed since the last one.
            if (_lastChange.TryGetValue(key, out var changed) && now - changed < SettlePeriod)
            {
                Queue.AddAfter(key, SettlePeriod - (now - changed));
                return;
            }
        }

        var selector = service.Spec?.Selector;
        IReadOnlyList<Pod> pods = selector is null ? [] : SelectorIndexes.PodsSelectedBy(_pods, ns ?? "", selector);
        IReadOnlyList<EndpointSlice> slices = selector is null ? _slices.ByIndex(ServiceNameIndex, key) : [];
        Pod? probedInVain = null;
        var verdict = await Diagnosis.DiagnoseAsync(service, pods, slices, async pod =>
        {
            var message = await NewestReadinessProbeFailureAsync(pod, ct).ConfigureAwait(false);
            probedInVain = message is null ? pod : null;
            return message;
        }).ConfigureAwait(false);

        if (verdict is null)
        {
            await RemoveConditionAsync(service, ct).ConfigureAwait(false);
        }
        else
        {
            await ApplyAsync(service, verdict, now, ct).ConfigureAwait(false);
        }
        // The verdict may have come before the pod's first probe: look again once its event is due.
        if (probedInVain is not null && Diagnosis.ReadinessProbeEventDue(probedInVain) is { } due && due > now)
        {
            Queue.AddAfter(key, due - now);
        }
        VerdictMade?.Invoke(key);
    }

    private async Task ApplyAsync(Service service, Verdict verdict, DateTimeOffset now, CancellationToken ct)
    {
        var existing = service.Status?.Conditions?.FirstOrDefault(c => c.Type == Diagnosis.ConditionType);
        if (verdict.Ok ? existing is null || existing.Status == "True" : existing is { Status: "False" } && existing.Reason == verdict.Reason && existing.Message == verdict.Message)
        {
            return;
        }

        var status = verdict.Ok ? "True" : "False";
        var condition = new Condition
        {
            Type = Diagnosis.ConditionType,
            Status = status,
            Reason = verdict.Reason,
            Message = verdict.Ok ? ReadyMessage : verdict.Message,
            // A new explanation of a still-empty Service is no transition.
            LastTransitionTime = existing?.Status == status && existing.LastTransitionTime is { } since ? since : now,
            ObservedGeneration = service.Metadata?.Generation,
        };
        // A strategic merge of the one condition (conditions merge by type) leaves the others and status.loadBalancer
        // alone; the resourceVersion makes a verdict drawn from a stale copy fail (409) and be retried from a fresh one.
        await PatchStatusAsync(service, KubeJson.ToNode(condition), ct).ConfigureAwait(false);
        _events.Record(service, verdict.Ok ? "Normal" : "Warning", verdict.Ok ? Diagnosis.ReasonEndpointsReady : Diagnosis.ReasonNoEndpoints, verdict.Message);
    }

    // An ExternalName Service has no endpoints to explain: a condition left from its selector days would mislead.
    private Task RemoveConditionAsync(Service service, CancellationToken ct) =>
        service.Status?.Conditions?.Any(c => c.Type == Diagnosis.ConditionType) == true
            ? PatchStatusAsync(service, new JsonObject { ["type"] = Diagnosis.ConditionType, ["$patch"] = "delete" }, ct)
            : Task.CompletedTask;

    private Task<Service> PatchStatusAsync(Service service, JsonNode condition, CancellationToken ct)
    {
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = service.Metadata?.ResourceVersion },
            ["status"] = new JsonObject { ["conditions"] = new JsonArray(condition) },
        };
        return _client.PatchAsync<Service>(service.Metadata?.Namespace, service.Metadata!.Name!, PatchType.StrategicMerge,
            patch.ToJsonString(), "status", ct);
    }

    /// <summary>The message of the pod's newest readiness probe failure event (the kubelet's Unhealthy events), if any.</summary>
    private async Task<string?> NewestReadinessProbeFailureAsync(Pod pod, CancellationToken ct)
    {
        var meta = pod.Metadata!;
        var fields = $"involvedObject.kind=Pod,involvedObject.namespace={meta.Namespace},involvedObject.name={meta.Name},reason=Unhealthy";
        if (meta.Uid is { Length: > 0 } uid)
        {
            // An earlier pod of the same name (a StatefulSet's) left events that say nothing about this one.
            fields += ",involvedObject.uid=" + uid;
        }
        var events = await _client.ListAsync<Event>(meta.Namespace, new ListOptions(FieldSelector: fields), ct).ConfigureAwait(false);
        return events.Items
            .Where(e => e.Message?.StartsWith("Readiness probe", StringComparison.Ordinal) == true)
            .MaxBy(e => e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp)?.Message;
    }

    private void Touch(string key)
    {
        lock (_lock)
        {
            _lastChange[key] = _time.GetUtcNow();
        }
        Queue.AddAfter(key, SettlePeriod);
    }

    private void Forget(string key)
    {
        lock (_lock)
        {
            _lastChange.Remove(key);
        }
    }

    private void AddService(Service service)
    {
        if (service.Spec?.Type != ServiceRules.TypeExternalName)
        {
            Touch(ControllerWorkers.Key(service));
        }
    }

    // Only spec and label changes: the status changes include this controller's own writes.
    private void UpdateService(Service old, Service current)
    {
        if (!StringMaps.SemanticEqual(old.Metadata?.Labels, current.Metadata?.Labels)
            || !KubeJson.SerializeToUtf8Bytes(old.Spec).AsSpan().SequenceEqual(KubeJson.SerializeToUtf8Bytes(current.Spec)))
        {
            // Including a change to ExternalName: its stale condition goes.
            Touch(ControllerWorkers.Key(current));
        }
    }

    private void DeleteService(Service service) => Forget(ControllerWorkers.Key(service));

    private void AddOrDeletePod(Pod pod) => TouchServicesSelecting(pod);

    // Any change of a selected pod may change the explanation (a container now waiting in CrashLoopBackOff is no
    // endpoint change), so every new version counts; a pod whose labels changed also leaves the Services it left.
    private void UpdatePod(Pod old, Pod current)
    {
        if (old.Metadata?.ResourceVersion == current.Metadata?.ResourceVersion)
        {
            return;
        }
        TouchServicesSelecting(current);
        if (PodEndpointRules.PodChanged(old, current).LabelsChanged)
        {
            TouchServicesSelecting(old);
        }
    }

    private void TouchServicesSelecting(Pod pod)
    {
        foreach (var service in SelectorIndexes.ServicesSelecting(_services, pod))
        {
            Touch(ControllerWorkers.Key(service));
        }
    }

    // Slices matter only to Services without a selector (the others' slices follow their pods).
    private void SliceChanged(EndpointSlice slice)
    {
        if (slice.Metadata?.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel) is { Length: > 0 } name
            && _services.Get(slice.Metadata.Namespace, name) is { Spec.Selector: null } service
            && service.Spec.Type != ServiceRules.TypeExternalName)
        {
            Touch(ControllerWorkers.Key(service));
        }
    }
}
