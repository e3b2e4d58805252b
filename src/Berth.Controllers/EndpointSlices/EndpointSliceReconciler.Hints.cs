using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Controllers.EndpointSlices;

// Zone hints: upstream trafficdist.ReconcileHints (spec.trafficDistribution) and topologycache.RemoveHintsFromSlices.
public sealed partial class EndpointSliceReconciler
{
    private const string PreferClose = "PreferClose";
    /// <summary>
    /// Upstream trafficdist.ReconcileHints: with PreferClose every ready endpoint gets a hint for its own zone (none
    /// without a zone); otherwise hints are removed. Slices being created or updated are changed in place; an
    /// unchanged slice (the informer's) whose hints are wrong is copied, fixed and moved to
    /// <paramref name="slicesToUpdate"/>.
    /// </summary>
    internal static void ReconcileTrafficDistributionHints(string? trafficDistribution, List<EndpointSlice> slicesToCreate,
        List<EndpointSlice> slicesToUpdate, List<EndpointSlice> slicesUnchanged)
    {
        var preferClose = trafficDistribution == PreferClose;
        var stale = slicesUnchanged.Where(s => preferClose ? PreferCloseNeedsUpdate(s) : HasHints(s)).ToList();
        slicesUnchanged.RemoveAll(stale.Contains);
        slicesToUpdate.AddRange(stale.Select(KubeJson.DeepClone));

        foreach (var slice in slicesToCreate.Concat(slicesToUpdate))
        {
            if (preferClose)
            {
                SetPreferCloseHints(slice);
            }
            else
            {
                ClearHints(slice);
            }
        }
    }

    /// <summary>Upstream RemoveHintsFromSlices: no hints anywhere; unchanged slices that had some are updated.</summary>
    internal static void RemoveHints(List<EndpointSlice> slicesToCreate, List<EndpointSlice> slicesToUpdate, List<EndpointSlice> slicesUnchanged)
    {
        foreach (var slice in slicesToCreate.Concat(slicesToUpdate))
        {
            ClearHints(slice);
        }
        var hinted = slicesUnchanged.Where(HasHints).ToList();
        slicesUnchanged.RemoveAll(hinted.Contains);
        foreach (var slice in hinted)
        {
            var copy = KubeJson.DeepClone(slice);
            ClearHints(copy);
            slicesToUpdate.Add(copy);
        }
    }

    private static bool HasHints(EndpointSlice slice) => slice.Endpoints?.Any(e => e.Hints is not null) == true;

    private static void ClearHints(EndpointSlice slice)
    {
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            endpoint.Hints = null;
        }
    }

    // A ready endpoint with a zone lacks exactly that one hint, or one without a zone has a zone hint.
    private static bool PreferCloseNeedsUpdate(EndpointSlice slice) =>
        slice.Endpoints?.Any(e => IsReady(e) && (e.Zone is { } zone
            ? e.Hints?.ForZones is not [{ Name: var hint }] || hint != zone
            : e.Hints?.ForZones is { Count: > 0 })) == true;

    private static void SetPreferCloseHints(EndpointSlice slice)
    {
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            if (IsReady(endpoint))
            {
                endpoint.Hints = endpoint.Zone is { } zone ? new EndpointHints { ForZones = [new ForZone { Name = zone }] } : null;
            }
        }
    }

    private static bool IsReady(Endpoint endpoint) => endpoint.Conditions?.Ready == true;
}
