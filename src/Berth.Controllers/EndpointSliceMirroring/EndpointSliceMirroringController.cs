using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.Framework;

namespace Berth.Controllers.EndpointSliceMirroring;

/// <summary>
/// Upstream pkg/controller/endpointslicemirroring: Endpoints written by users for Services without a selector are
/// mirrored into EndpointSlices (labelled managed-by <see cref="EndpointSliceRules.MirroringControllerName"/>, owned by
/// the Endpoints), so consumers of slices see them. Endpoints labelled skip-mirror=true or holding a leader election
/// record are not mirrored, nor those whose Service is missing or has a selector (the EndpointSlice controller
/// covers those): their mirrored slices are deleted. Slices of other managers are never touched. A mirrored slice
/// changed or deleted by someone else is put back: the tracker tells the controller's own writes from others'.
/// </summary>
public sealed partial class EndpointSliceMirroringController : IAsyncDisposable
{
    public const string ComponentName = "endpoint-slice-mirroring-controller";

    /// <summary>Upstream --mirroring-max-endpoints-per-subset default: addresses of one subset mirrored at most.</summary>
    public const int MaxEndpointsPerSubset = 1000;

    // Endpoints key (namespace/name) → the slices this controller manages for it (upstream lists them by label).
    private const string MirroredSlicesIndex = "endpointslicemirroring:endpoints";

    private readonly SharedInformers _informers;
    private readonly Informer<Endpoints> _endpoints;
    private readonly Informer<EndpointSlice> _slices;
    private readonly Informer<Service> _services;
    private readonly EventRecorder _events;
    private readonly MirroringReconciler _reconciler;
    private readonly TimeSpan _batchPeriod;
    private readonly Action<string> _log;

    /// <param name="batchPeriod">
    /// Upstream --mirroring-endpointslice-updates-batch-period: the delay before a sync caused by an EndpointSlice
    /// change, so a burst of them costs one sync (0 = at once).
    /// </param>
    public EndpointSliceMirroringController(SharedInformers informers, TimeSpan batchPeriod, TimeProvider time, Action<string> log)
        : this(informers, batchPeriod, time, log, writer: null)
    {
    }

    /// <param name="writer">Null for the API server; tests pass one that counts the writes.</param>
    internal EndpointSliceMirroringController(SharedInformers informers, TimeSpan batchPeriod, TimeProvider time, Action<string> log,
        IEndpointSliceWriter? writer)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _informers = informers;
        _batchPeriod = batchPeriod;
        _log = log;
        _events = new EventRecorder(informers.Client, ComponentName, host: null);
        Tracker = new EndpointSliceTracker();
        _reconciler = new MirroringReconciler(writer ?? new KubeEndpointSliceWriter(informers.Client), Tracker, _events, MaxEndpointsPerSubset, log);
        // Upstream backs off from 1 s (not 5 ms): a retry may mean rewriting many slices; the bucket caps all retries.
        Queue = new WorkQueue("endpoint_slice_mirroring", time, RateLimiters.Max(
            RateLimiters.ItemExponential(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(100)),
            RateLimiters.Bucket(10, 100, time)));

        _endpoints = informers.For<Endpoints>();
        _endpoints.OnAdd(OnEndpointsAdd);
        _endpoints.OnUpdate(OnEndpointsUpdate);
        _endpoints.OnDelete(OnEndpointsDelete);

        _slices = informers.For<EndpointSlice>();
        _slices.OnAdd(OnEndpointSliceAdd);
        _slices.OnUpdate(OnEndpointSliceUpdate);
        _slices.OnDelete(OnEndpointSliceDelete);
        SharedIndex.Add(_slices, MirroredSlicesIndex,
            static s => MirroringRules.ManagedByMirroring(s) && EndpointSliceRules.ServiceKey(s) is { } key ? [key] : []);

        _services = informers.For<Service>();
        _services.OnAdd(OnServiceAdd);
        _services.OnUpdate(OnServiceUpdate);
        _services.OnDelete(OnServiceDelete);
    }

    internal WorkQueue Queue { get; }

    internal EndpointSliceTracker Tracker { get; }

    /// <summary>Waits for the caches, then mirrors queued Endpoints with <paramref name="workers"/> workers until cancelled.</summary>
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

    /// <summary>Upstream endpointSlicesMirroredForService: the cached slices this controller manages for the Endpoints.</summary>
    internal IReadOnlyList<EndpointSlice> MirroredSlices(string ns, string name) => _slices.ByIndex(MirroredSlicesIndex, $"{ns}/{name}");

    private void QueueEndpoints(IKubernetesObject obj) => Queue.Add(ControllerWorkers.Key(obj));

    private void OnServiceAdd(Service service)
    {
        // A Service with a selector has its slices from the EndpointSlice controller.
        if (service.Spec?.Selector is null)
        {
            QueueEndpoints(service);
        }
    }

    private void OnServiceUpdate(Service old, Service current)
    {
        // Only gaining or losing the selector changes whether its Endpoints are mirrored.
        if ((current.Spec?.Selector is null) != (old.Spec?.Selector is null))
        {
            QueueEndpoints(current);
        }
    }

    private void OnServiceDelete(Service service)
    {
        if (service.Spec?.Selector is null)
        {
            QueueEndpoints(service);
        }
    }

    private void OnEndpointsAdd(Endpoints endpoints)
    {
        if (MirroringRules.ShouldMirror(endpoints))
        {
            QueueEndpoints(endpoints);
        }
    }

    private void OnEndpointsUpdate(Endpoints old, Endpoints current)
    {
        // Either side mirrored: gaining skip-mirror must delete the slices mirrored so far.
        if (MirroringRules.ShouldMirror(current) || MirroringRules.ShouldMirror(old))
        {
            QueueEndpoints(current);
        }
    }

    private void OnEndpointsDelete(Endpoints endpoints)
    {
        if (MirroringRules.ShouldMirror(endpoints))
        {
            QueueEndpoints(endpoints);
        }
    }

    // A slice this controller did not write the current generation of: someone else changed it; put it back.
    private void OnEndpointSliceAdd(EndpointSlice slice)
    {
        if (MirroringRules.ManagedByMirroring(slice) && Tracker.ShouldSync(slice))
        {
            QueueEndpointsForEndpointSlice(slice);
        }
    }

    private void OnEndpointSliceUpdate(EndpointSlice old, EndpointSlice current)
    {
        // The generation does not change with labels, and users may move a slice to another Service by its label:
        // both Endpoints need a look.
        var name = current.Metadata?.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel);
        var oldName = old.Metadata?.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel);
        if (name != oldName)
        {
            _log($"{ComponentName}: LabelServiceName changed labelServiceName=\"{EndpointSliceRules.ServiceNameLabel}\" oldName=\"{oldName}\" newName=\"{name}\" endpointSlice=\"{ControllerWorkers.Key(current)}\"");
            QueueEndpointsForEndpointSlice(current);
            QueueEndpointsForEndpointSlice(old);
            return;
        }
        // A slice handed to or taken from this controller needs a sync either way.
        if (MirroringRules.ManagedByChanged(old, current) || (MirroringRules.ManagedByMirroring(current) && Tracker.ShouldSync(current)))
        {
            QueueEndpointsForEndpointSlice(current);
        }
    }

    private void OnEndpointSliceDelete(EndpointSlice slice)
    {
        // HandleDeletion is false when the controller did not delete it itself: recreate it.
        if (MirroringRules.ManagedByMirroring(slice) && Tracker.Has(slice) && !Tracker.HandleDeletion(slice))
        {
            QueueEndpointsForEndpointSlice(slice);
        }
    }

    private void QueueEndpointsForEndpointSlice(EndpointSlice slice)
    {
        if (EndpointSliceRules.ServiceKey(slice) is not { } key)
        {
            _log($"{ComponentName}: Couldn't get key for EndpointSlice {ControllerWorkers.Key(slice)}: EndpointSlice missing {EndpointSliceRules.ServiceNameLabel} label");
            return;
        }
        Queue.AddAfter(key, _batchPeriod);
    }
}
