using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.Framework;
using Berth.Controllers.NodeLifecycle;

namespace Berth.Controllers.EndpointSlices;

/// <summary>
/// Upstream pkg/controller/endpointslice: keeps the EndpointSlices of every Service with a selector equal to the pods
/// the selector picks. Pod changes wake the Services selecting the pod after the batch period, so a burst of them costs
/// one sync; Service changes wake it at once; a change to one of our slices that we did not make (the tracker knows our
/// own writes by generation) wakes its Service so the slice is put back. The reconciler decides what to write. A
/// deleted Service needs nothing: the garbage collector deletes its slices through their owner reference.
/// </summary>
public sealed partial class EndpointSliceController : IAsyncDisposable
{
    public const string ComponentName = "endpoint-slice-controller";

    /// <summary>Upstream maxRetries: with the 1 s .. 1000 s backoff, about 4.5 hours of retries.</summary>
    internal const int MaxRetries = 15;

    // The informer index of EndpointSlices by "namespace/kubernetes.io/service-name", so a Service's slices are a lookup.
    internal const string ServiceSlicesIndex = "endpointslice-service";

    /// <summary>
    /// Upstream endpointSliceChangeMinSyncDelay: a change to a slice waits at least this long (or the batch period, if
    /// longer) so changes to several slices of one Service are handled together.
    /// </summary>
    private static readonly TimeSpan s_endpointSliceChangeMinSyncDelay = TimeSpan.FromSeconds(1);

    private readonly SharedInformers _informers;
    private readonly Informer<Service> _services;
    private readonly Informer<Pod> _pods;
    private readonly Informer<EndpointSlice> _slices;
    private readonly Informer<Node> _nodes;
    private readonly EventRecorder _events;
    private readonly EndpointSliceReconciler _reconciler;
    private readonly TriggerTimeTracker _triggerTimes = new();
    private readonly StaleCacheWaiters _staleWaiters;
    private readonly TimeSpan _batchPeriod;
    private readonly Action<string> _log;

    /// <param name="batchPeriod">Upstream --endpoint-updates-batch-period: pod changes reach the slices after this (0 = at once).</param>
    public EndpointSliceController(SharedInformers informers, TimeSpan batchPeriod, TimeProvider time, Action<string> log)
        : this(informers, batchPeriod, time, log, writer: null, EndpointSliceRules.MaxEndpointsPerSlice)
    {
    }

    /// <param name="writer">Null for the API client; tests pass one that records or fails writes.</param>
    internal EndpointSliceController(SharedInformers informers, TimeSpan batchPeriod, TimeProvider time, Action<string> log,
        IEndpointSliceWriter? writer, int maxEndpointsPerSlice)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchPeriod, TimeSpan.Zero);
        _informers = informers;
        _batchPeriod = batchPeriod;
        _log = log;
        _events = new EventRecorder(informers.Client, ComponentName, host: null);
        Tracker = new EndpointSliceTracker();
        _reconciler = new EndpointSliceReconciler(writer ?? new KubeEndpointSliceWriter(informers.Client), Tracker,
            EndpointSliceRules.ControllerName, maxEndpointsPerSlice);
        // Upstream: the default controller limiter but with a 1 s base backoff, since a sync can rewrite many slices
        // and retrying it every few milliseconds would hammer the API server.
        Queue = new WorkQueue("endpoint_slice", time, RateLimiters.Max(
            RateLimiters.ItemExponential(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1000)),
            RateLimiters.Bucket(10, 100, time)));
        _staleWaiters = new StaleCacheWaiters(Queue);

        _services = informers.For<Service>();
        _services.OnAdd(OnServiceUpdate);
        _services.OnUpdate((_, current) => OnServiceUpdate(current));
        _services.OnDelete(OnServiceDelete);
        SelectorIndexes.AddServiceSelectors(_services);

        _pods = informers.For<Pod>();
        _pods.OnAdd(AddPod);
        _pods.OnUpdate(UpdatePod);
        _pods.OnDelete(DeletePod);
        SelectorIndexes.AddPodLabels(_pods);
        PodNodeNameIndex.Add(_pods);

        _slices = informers.For<EndpointSlice>();
        _slices.OnAdd(OnEndpointSliceAdd);
        _slices.OnUpdate(OnEndpointSliceUpdate);
        _slices.OnDelete(OnEndpointSliceDelete);
        SharedIndex.Add(_slices, ServiceSlicesIndex, static slice => EndpointSliceRules.ServiceKey(slice) is { } key ? [key] : []);

        _nodes = informers.For<Node>();
        _nodes.OnUpdate(UpdateNode);
    }

    internal WorkQueue Queue { get; }

    /// <summary>Our own writes by slice and generation; tests set it to make the cache look stale.</summary>
    internal EndpointSliceTracker Tracker { get; }

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
        await ControllerWorkers.RunAsync(ComponentName, Queue, workers, SyncServiceAsync, _log, ct, MaxRetries).ConfigureAwait(false);
    }

    internal Task FlushEventsAsync() => _events.FlushAsync();

    public async ValueTask DisposeAsync()
    {
        Queue.Dispose();
        await _events.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The EndpointSlices of a Service that this controller manages and that are not being deleted, from the cache.
    /// </summary>
    internal List<EndpointSlice> ManagedSlices(string ns, string serviceName) =>
        [.. _slices.ByIndex(ServiceSlicesIndex, ns + "/" + serviceName)
            .Where(s => EndpointSliceRules.ManagedByController(s, EndpointSliceRules.ControllerName)
                // Upstream dropEndpointSlicesPendingDeletion: a slice on its way out (a finalizer holds it) must not
                // keep the controller from converging, nor count as stale.
                && s.Metadata?.DeletionTimestamp is null)];}
