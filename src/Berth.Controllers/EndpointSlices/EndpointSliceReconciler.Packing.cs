using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Controllers.EndpointSlices;

// Upstream reconcileByPortMapping and getSliceToFill: where the endpoints of one set of ports go.
public sealed partial class EndpointSliceReconciler
{
    /// <summary>
    /// The creates, updates and deletes that make the slices of one set of ports hold <paramref name="desiredSet"/>
    /// (consumed): 1. keep each existing slice's endpoints that are still desired, refreshing changed ones and the
    /// Service's labels; 2. fill the slices already being updated (fullest first) with the rest; 3. put what is left in
    /// new slices of at most the maximum, except that a final partial batch goes into the unchanged slice it fills
    /// closest to full (one update instead of a create).
    /// </summary>
    private (List<EndpointSlice> Create, List<EndpointSlice> Update, List<EndpointSlice> Delete) ReconcileByPortMapping(
        Service service, List<EndpointSlice> existingSlices, EndpointSet desiredSet, List<EndpointSlicePort> ports, string addressType)
    {
        var slicesByName = new Dictionary<string, EndpointSlice>(StringComparer.Ordinal);
        // Lists rather than sets: each name is added once, and a fixed order keeps the writes reproducible.
        var namesUnchanged = new List<string>();
        var namesToUpdate = new List<string>();
        var namesToDelete = new List<string>();

        // 1. Drop endpoints no longer desired, refresh the ones that changed.
        foreach (var existing in existingSlices)
        {
            var name = existing.Metadata?.Name ?? "";
            slicesByName[name] = existing;
            var existingEndpoints = existing.Endpoints ?? [];
            var newEndpoints = new List<Endpoint>();
            var endpointUpdated = false;
            foreach (var endpoint in existingEndpoints)
            {
                if (desiredSet.Get(endpoint) is not { } desired)
                {
                    continue;
                }
                newEndpoints.Add(desired);
                if (!EndpointSliceRules.EndpointsEqualBeyondHash(desired, endpoint))
                {
                    endpointUpdated = true;
                }
                // Placed: the endpoint needs no other slice.
                desiredSet.Remove(endpoint);
            }

            var (labels, labelsChanged) = EndpointSliceRules.SetEndpointSliceLabels(existing, service, _controllerName);
            if (endpointUpdated || existingEndpoints.Count != newEndpoints.Count)
            {
                if (newEndpoints.Count == 0)
                {
                    namesToDelete.Add(name);
                }
                else
                {
                    var copy = KubeJson.DeepClone(existing);
                    copy.Endpoints = newEndpoints;
                    (copy.Metadata ??= new ObjectMeta()).Labels = labels;
                    slicesByName[name] = copy;
                    namesToUpdate.Add(name);
                }
            }
            else if (labelsChanged)
            {
                var copy = KubeJson.DeepClone(existing);
                (copy.Metadata ??= new ObjectMeta()).Labels = labels;
                slicesByName[name] = copy;
                namesToUpdate.Add(name);
            }
            else
            {
                // Useful below if endpoints are left over.
                namesUnchanged.Add(name);
            }
        }

        // 2. Fill the slices that are written anyway, the fullest first.
        if (desiredSet.Count > 0 && namesToUpdate.Count > 0)
        {
            foreach (var slice in namesToUpdate.Select(n => slicesByName[n]).OrderByDescending(s => s.Endpoints!.Count).ToList())
            {
                FillUp(slice, desiredSet);
            }
        }

        // 3. New slices for what is left, or the unchanged slice a final partial batch fits best.
        var slicesToCreate = new List<EndpointSlice>();
        while (desiredSet.Count > 0)
        {
            EndpointSlice? sliceToFill = null;
            if (desiredSet.Count < _maxEndpointsPerSlice && namesUnchanged.Count > 0)
            {
                sliceToFill = GetSliceToFill(namesUnchanged.Select(n => slicesByName[n]), desiredSet.Count, _maxEndpointsPerSlice);
            }

            if (sliceToFill is null)
            {
                sliceToFill = EndpointSliceRules.NewEndpointSlice(service, ports, addressType, _controllerName);
            }
            else
            {
                // A copy: the unchanged slice is the informer's.
                sliceToFill = KubeJson.DeepClone(sliceToFill);
                slicesByName[sliceToFill.Metadata!.Name!] = sliceToFill;
            }
            FillUp(sliceToFill, desiredSet);

            // Only an existing slice has a name yet.
            if (sliceToFill.Metadata?.Name is { Length: > 0 } name)
            {
                namesToUpdate.Add(name);
                namesUnchanged.Remove(name);
            }
            else
            {
                slicesToCreate.Add(sliceToFill);
            }
        }

        return (slicesToCreate, [.. namesToUpdate.Select(n => slicesByName[n])], [.. namesToDelete.Select(n => slicesByName[n])]);
    }

    private void FillUp(EndpointSlice slice, EndpointSet desiredSet)
    {
        var endpoints = slice.Endpoints ??= [];
        while (desiredSet.Count > 0 && endpoints.Count < _maxEndpointsPerSlice)
        {
            endpoints.Add(desiredSet.PopAny()!);
        }
    }

    /// <summary>The slice that <paramref name="numEndpoints"/> more would leave closest to full without overflowing it, or null.</summary>
    internal static EndpointSlice? GetSliceToFill(IEnumerable<EndpointSlice> slices, int numEndpoints, int maxEndpoints)
    {
        var closestDiff = maxEndpoints;
        EndpointSlice? closest = null;
        foreach (var slice in slices)
        {
            var diff = maxEndpoints - (numEndpoints + (slice.Endpoints?.Count ?? 0));
            if (diff >= 0 && diff < closestDiff)
            {
                closestDiff = diff;
                closest = slice;
                if (closestDiff == 0)
                {
                    return closest;
                }
            }
        }
        return closest;
    }
}
