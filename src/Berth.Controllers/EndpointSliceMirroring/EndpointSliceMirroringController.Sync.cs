using Berth.Controllers.Framework;

namespace Berth.Controllers.EndpointSliceMirroring;

public sealed partial class EndpointSliceMirroringController
{
    /// <summary>
    /// Upstream syncEndpoints: mirror the Endpoints if it should be and its Service exists without a selector, else
    /// delete what was mirrored for it. Throws to have the key retried with back-off.
    /// </summary>
    internal async Task SyncAsync(string key, CancellationToken ct)
    {
        var (nsOrNull, name) = ControllerWorkers.SplitKey(key);
        var ns = nsOrNull ?? "";
        var endpoints = _endpoints.Get(ns, name);
        var service = _services.Get(ns, name);
        if (endpoints is null || !MirroringRules.ShouldMirror(endpoints) || service is null || service.Spec?.Selector is not null)
        {
            // Gone, opted out, no Service, or a Service whose slices the EndpointSlice controller writes.
            await DeleteMirroredSlicesAsync(ns, name, ct).ConfigureAwait(false);
            return;
        }

        var slices = MirroredSlices(ns, name);
        if (Tracker.StaleSlices(service, slices))
        {
            // Acting on an old view could undo the controller's own last writes; retry once the cache caught up.
            throw new StaleInformerCacheException("EndpointSlice informer cache is out of date");
        }
        await _reconciler.ReconcileAsync(endpoints, slices, ct).ConfigureAwait(false);
    }

    /// <summary>Upstream deleteMirroredSlices: forget the tracked generations and delete the mirrored slices.</summary>
    private Task DeleteMirroredSlicesAsync(string ns, string name, CancellationToken ct)
    {
        var slices = MirroredSlices(ns, name);
        Tracker.DeleteService(ns, name);
        return _reconciler.DeleteEndpointsAsync(ns, name, slices, ct);
    }
}

/// <summary>Upstream endpointslicepkg.StaleInformerCache: the informer has not yet shown the controller its own writes.</summary>
internal sealed class StaleInformerCacheException(string message) : Exception(message);
