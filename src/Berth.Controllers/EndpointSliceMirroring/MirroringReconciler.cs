using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.EndpointSlices;

namespace Berth.Controllers.EndpointSliceMirroring;

/// <summary>
/// The writing half of upstream reconciler.go: records the events about addresses left out, then creates, updates
/// and deletes the slices of a <see cref="MirroringPlan"/> (finalize), telling the tracker about each write.
/// </summary>
internal sealed class MirroringReconciler(IEndpointSliceWriter writer, EndpointSliceTracker tracker, EventRecorder events,
    int maxEndpointsPerSubset, Action<string> log)
{
    /// <summary>Upstream reconcile. Returns the number of slices written (created, updated or deleted); throws when a write fails.</summary>
    public async Task<int> ReconcileAsync(Endpoints endpoints, IReadOnlyList<EndpointSlice> existingSlices, CancellationToken ct)
    {
        var plan = MirroringPlan.Compute(endpoints, existingSlices, maxEndpointsPerSubset);
        var key = $"{endpoints.Metadata?.Namespace}/{endpoints.Metadata?.Name}";
        foreach (var ip in plan.InvalidIPs)
        {
            log($"{EndpointSliceMirroringController.ComponentName}: Address in Endpoints is not a valid IP, it will not be mirrored to an EndpointSlice endpoints=\"{key}\" IP=\"{ip}\"");
        }
        if (plan.InvalidAddresses > 0)
        {
            events.Record(endpoints, "Warning", MirroringEvents.InvalidIPAddress,
                $"Skipped {plan.InvalidAddresses} invalid IP addresses when mirroring to EndpointSlices");
        }
        // The rest of the skipped addresses were over the per-subset maximum.
        if (plan.AddressesSkipped > plan.InvalidAddresses)
        {
            log($"{EndpointSliceMirroringController.ComponentName}: Addresses in Endpoints were skipped due to exceeding MaxEndpointsPerSubset skippedAddresses={plan.AddressesSkipped} endpoints=\"{key}\"");
            events.Record(endpoints, "Warning", MirroringEvents.TooManyAddressesToMirror,
                $"A max of {maxEndpointsPerSubset} addresses can be mirrored to EndpointSlices per Endpoints subset. {plan.AddressesSkipped} addresses were skipped");
        }
        return await FinalizeAsync(endpoints, plan, ct).ConfigureAwait(false);
    }

    /// <summary>Upstream deleteEndpoints: deletes every given slice, failing afterwards with the first error.</summary>
    public async Task DeleteEndpointsAsync(string ns, string name, IReadOnlyList<EndpointSlice> slices, CancellationToken ct)
    {
        var errors = new List<Exception>();
        foreach (var slice in slices)
        {
            try
            {
                await writer.DeleteAsync(ns, slice.Metadata!.Name!, ct).ConfigureAwait(false);
            }
            catch (KubeApiException e)
            {
                errors.Add(e);
            }
        }
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(
                $"error(s) deleting {errors.Count}/{slices.Count} EndpointSlices for {ns}/{name} Endpoints, including: {errors[0].Message}", errors[0]);
        }
    }

    /// <summary>Upstream finalize: creates (not while the Endpoints is being deleted), then updates, then deletes.</summary>
    private async Task<int> FinalizeAsync(Endpoints endpoints, MirroringPlan plan, CancellationToken ct)
    {
        var (ns, name) = (endpoints.Metadata?.Namespace, endpoints.Metadata?.Name);
        var writes = 0;
        if (endpoints.Metadata?.DeletionTimestamp is null)
        {
            foreach (var slice in plan.ToCreate)
            {
                EndpointSlice created;
                try
                {
                    created = await writer.CreateAsync(slice, ct).ConfigureAwait(false);
                }
                catch (KubeApiException e) when (IsNamespaceTerminating(e))
                {
                    // Every create in a terminating namespace fails: drop the item.
                    return writes;
                }
                catch (KubeApiException e)
                {
                    throw new InvalidOperationException($"failed to create EndpointSlice for Endpoints {ns}/{name}: {e.Message}", e);
                }
                writes++;
                tracker.Update(created);
            }
        }

        foreach (var slice in plan.ToUpdate)
        {
            EndpointSlice updated;
            try
            {
                updated = await writer.UpdateAsync(slice, ct).ConfigureAwait(false);
            }
            catch (KubeApiException e)
            {
                throw new InvalidOperationException($"failed to update {slice.Metadata?.Name} EndpointSlice for Endpoints {ns}/{name}: {e.Message}", e);
            }
            writes++;
            tracker.Update(updated);
        }

        foreach (var slice in plan.ToDelete)
        {
            try
            {
                await writer.DeleteAsync(ns ?? "", slice.Metadata!.Name!, ct).ConfigureAwait(false);
            }
            catch (KubeApiException e)
            {
                throw new InvalidOperationException($"failed to delete {slice.Metadata?.Name} EndpointSlice for Endpoints {ns}/{name}: {e.Message}", e);
            }
            writes++;
            tracker.ExpectDeletion(slice);
        }
        return writes;
    }

    private static bool IsNamespaceTerminating(KubeApiException e) =>
        e.Status?.Details?.Causes?.Any(c => c.Reason == "NamespaceTerminating") == true;
}
