using Berth.Api.Models;
using Berth.Controllers.Framework;

namespace Berth.Controllers.EndpointSlices;

// Upstream syncService: one Service's slices from the caches, written by the reconciler.
public sealed partial class EndpointSliceController
{
    public const string FailedToUpdateEndpointSlicesReason = "FailedToUpdateEndpointSlices";

    internal async Task SyncServiceAsync(string key, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        ns ??= "";
        var service = _services.Get(ns, name);
        if (service is null)
        {
            // Deleted: forget it so a new Service of the same name starts clean; nothing to retry.
            _triggerTimes.DeleteService(ns, name);
            Tracker.DeleteService(ns, name);
            return;
        }
        if (service.Spec?.Type == "ExternalName")
        {
            // An ExternalName Service is a DNS alias and gets no endpoints (https://issues.k8s.io/105986).
            return;
        }
        if (service.Spec?.Selector is not { } selector)
        {
            // Without a selector (nil, not {}) the slices are the user's, written through the API.
            return;
        }

        // Marked before the cache is read, so the slice event that brings it up to date retries a stale sync at once.
        _staleWaiters.Expect(key);
        var pods = SelectorIndexes.PodsSelectedBy(_pods, ns, selector);
        var slices = ManagedSlices(ns, name);
        if (Tracker.StaleSlices(service, slices))
        {
            // The cache has not caught up with our own last writes: acting now would undo or repeat them.
            throw new StaleInformerCacheException("EndpointSlice informer cache is out of date");
        }
        _staleWaiters.Clear(key);
        // Computed even when the sync turns out to write nothing, so the tracker's state moves on.
        var triggerTime = _triggerTimes.ComputeEndpointLastChangeTriggerTime(ns, service, pods);
        try
        {
            await _reconciler.ReconcileAsync(service, pods, slices, nodeName => _nodes.Get(null, nodeName), triggerTime, ct)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _events.Record(service, "Warning", FailedToUpdateEndpointSlicesReason,
                $"Error updating Endpoint Slices for Service {ns}/{name}: {e.Message}");
            throw;
        }
    }
}

/// <summary>
/// Upstream endpointslicepkg.StaleInformerCache: the informer does not yet show the controller's own writes; the
/// Service is retried once it does.
/// </summary>
internal sealed class StaleInformerCacheException(string message) : StaleCacheException(message);
