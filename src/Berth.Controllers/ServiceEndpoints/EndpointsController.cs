using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.ServiceEndpoints;

/// <summary>
/// Upstream pkg/controller/endpoint: keeps the legacy v1 Endpoints of every Service with a selector in step with the
/// pods it selects (ready pods under addresses, the others under notReadyAddresses), at most 1000 addresses with the
/// over-capacity annotation beyond, and deletes the Endpoints of a deleted Service. Services without a selector keep
/// the Endpoints their owner writes. Pod changes are batched: the Service syncs batchPeriod after the first one.
/// </summary>
public sealed partial class EndpointsController : IAsyncDisposable
{
    public const string ComponentName = "endpoint-controller";

    /// <summary>v1.EndpointsOverCapacity: set to "truncated" when the Endpoints hold only the first 1000 addresses.</summary>
    public const string OverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity";

    /// <summary>resourcelock.LeaderElectionRecordAnnotationKey: Endpoints used as a leader-election lock have no Service.</summary>
    public const string LeaderElectionAnnotation = "control-plane.alpha.kubernetes.io/leader";

    private readonly SharedInformers _informers;
    private readonly KubeClient _client;
    private readonly Informer<Service> _services;
    private readonly Informer<Pod> _pods;
    private readonly Informer<Endpoints> _endpoints;
    private readonly EventRecorder _events;
    private readonly TriggerTimeTracker _triggerTimes = new();
    private readonly StaleEndpointsTracker _stale = new();
    private readonly TimeSpan _batchPeriod;
    private readonly Action<string> _log;

    /// <param name="batchPeriod">Upstream --endpoint-updates-batch-period: how long pod changes wait to be synced together.</param>
    public EndpointsController(SharedInformers informers, TimeSpan batchPeriod, TimeProvider time, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _informers = informers;
        _client = informers.Client;
        _batchPeriod = batchPeriod;
        _log = log;
        _events = new EventRecorder(_client, ComponentName, host: null);
        Queue = new WorkQueue("endpoint", time);

        _services = informers.For<Service>();
        _services.OnAdd(EnqueueService);
        _services.OnUpdate((_, current) => EnqueueService(current));
        _services.OnDelete(EnqueueService);
        SelectorIndexes.AddServiceSelectors(_services);

        _pods = informers.For<Pod>();
        _pods.OnAdd(AddPod);
        _pods.OnUpdate(UpdatePod);
        // A deleted pod leaves the Services it was a member of, which are the ones an added pod would join.
        _pods.OnDelete(AddPod);
        SelectorIndexes.AddPodLabels(_pods);

        _endpoints = informers.For<Endpoints>();
        // Someone deleted the Endpoints of a Service: write them again.
        _endpoints.OnDelete(endpoints => Queue.Add(ControllerWorkers.Key(endpoints)));
    }

    internal WorkQueue Queue { get; }

    /// <summary>
    /// Waits for the caches, queues every existing Endpoints (one without a Service is deleted), then syncs queued
    /// Services with <paramref name="workers"/> workers until cancelled.
    /// </summary>
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
        CheckLeftoverEndpoints();
        await ControllerWorkers.RunAsync(ComponentName, Queue, workers, SyncAsync, _log, ct).ConfigureAwait(false);
    }

    internal Task FlushEventsAsync() => _events.FlushAsync();

    public async ValueTask DisposeAsync()
    {
        Queue.Dispose();
        await _events.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Upstream checkLeftoverEndpoints: Endpoints whose Service was deleted while the controller was down are found
    /// once at start; later deletions are seen as they happen.
    /// </summary>
    internal void CheckLeftoverEndpoints()
    {
        foreach (var endpoints in _endpoints.List())
        {
            // With several controller managers, deleting a leader-election lock would force a re-election.
            if (endpoints.Metadata?.Annotations?.ContainsKey(LeaderElectionAnnotation) == true)
            {
                continue;
            }
            Queue.Add(ControllerWorkers.Key(endpoints));
        }
    }

    private void EnqueueService(Service service) => Queue.Add(ControllerWorkers.Key(service));

    // A new pod may join Services: sync them once the batch period has gathered its neighbours' changes too.
    private void AddPod(Pod pod)
    {
        foreach (var service in SelectorIndexes.ServicesSelecting(_services, pod))
        {
            Queue.AddAfter(ControllerWorkers.Key(service), _batchPeriod);
        }
    }

    private void UpdatePod(Pod old, Pod current)
    {
        foreach (var key in PodEndpointRules.ServicesToUpdateOnPodChange(_services, old, current))
        {
            Queue.AddAfter(key, _batchPeriod);
        }
    }

    /// <summary>
    /// Upstream staleEndpointsTracker: the resourceVersion an update replaced, so a sync that still finds it in the
    /// cache waits for the informer instead of computing from (and writing over) an old copy.
    /// </summary>
    private sealed class StaleEndpointsTracker
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<(string?, string?), string?> _staleResourceVersions = [];

        public void Stale(Endpoints endpoints)
        {
            lock (_lock)
            {
                _staleResourceVersions[(endpoints.Metadata?.Namespace, endpoints.Metadata?.Name)] = endpoints.Metadata?.ResourceVersion;
            }
        }

        public bool IsStale(Endpoints endpoints)
        {
            lock (_lock)
            {
                return _staleResourceVersions.TryGetValue((endpoints.Metadata?.Namespace, endpoints.Metadata?.Name), out var stale)
                    && stale == endpoints.Metadata?.ResourceVersion;
            }
        }

        public void Delete(string? ns, string name)
        {
            lock (_lock)
            {
                _staleResourceVersions.Remove((ns, name));
            }
        }
    }
}
