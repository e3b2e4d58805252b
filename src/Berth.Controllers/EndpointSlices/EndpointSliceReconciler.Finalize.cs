using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.ServiceEndpoints;

namespace Berth.Controllers.EndpointSlices;

// Upstream finalize, deleteEndpointSlice and the placeholder comparison: applying the plan.
public sealed partial class EndpointSliceReconciler
{
    /// <summary>
    /// Writes the plan: a create paired with a delete of the same address type becomes an update of the slice that
    /// would be deleted (one write instead of two, and consumers never see the endpoints vanish in between); then
    /// creates, updates, deletes in that order, each recorded in the tracker. A Service being deleted gets no new
    /// slices (the garbage collector would race them). Stops at the first failure, with upstream's message.
    /// </summary>
    internal async Task FinalizeAsync(Service service, List<EndpointSlice> slicesToCreate, List<EndpointSlice> slicesToUpdate,
        List<EndpointSlice> slicesToDelete, DateTimeOffset? triggerTime, CancellationToken ct)
    {
        for (var i = 0; i < slicesToDelete.Count && slicesToCreate.Count > 0;)
        {
            var sliceToDelete = slicesToDelete[i];
            var slice = slicesToCreate[^1];
            // Only a slice of this Service (not one of an earlier Service of the same name, which the garbage
            // collector is removing) and of the same address type (immutable) can be reused.
            if (sliceToDelete.AddressType == slice.AddressType && EndpointSliceRules.OwnedBy(sliceToDelete, service))
            {
                (slice.Metadata ??= new ObjectMeta()).Name = sliceToDelete.Metadata?.Name;
                slicesToCreate.RemoveAt(slicesToCreate.Count - 1);
                slicesToUpdate.Add(slice);
                slicesToDelete.RemoveAt(i);
            }
            else
            {
                i++;
            }
        }

        var ns = Namespace(service);
        var name = service.Metadata?.Name;
        if (service.Metadata?.DeletionTimestamp is null)
        {
            foreach (var slice in slicesToCreate)
            {
                PodEndpointRules.SetTriggerTimeAnnotation(slice.Metadata ??= new ObjectMeta(), triggerTime);
                EndpointSlice created;
                try
                {
                    created = await _writer.CreateAsync(slice, ct).ConfigureAwait(false);
                }
                catch (KubeApiException e) when (e.Status?.Details?.Causes?.Any(c => c.Reason == "NamespaceTerminating") == true)
                {
                    // Creates keep failing while the namespace terminates: drop the work.
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new InvalidOperationException($"failed to create EndpointSlice for Service {ns}/{name}: {e.Message}", e);
                }
                _tracker.Update(created);
            }
        }

        foreach (var slice in slicesToUpdate)
        {
            PodEndpointRules.SetTriggerTimeAnnotation(slice.Metadata ??= new ObjectMeta(), triggerTime);
            EndpointSlice updated;
            try
            {
                updated = await _writer.UpdateAsync(slice, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new InvalidOperationException($"failed to update {slice.Metadata?.Name} EndpointSlice for Service {ns}/{name}: {e.Message}", e);
            }
            _tracker.Update(updated);
        }

        foreach (var slice in slicesToDelete)
        {
            try
            {
                await DeleteSliceAsync(service, slice, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new InvalidOperationException($"failed to delete {slice.Metadata?.Name} EndpointSlice for Service {ns}/{name}: {e.Message}", e);
            }
        }
    }

    // A slice already gone is fine, and then no deletion is awaited.
    private async Task DeleteSliceAsync(Service service, EndpointSlice slice, CancellationToken ct)
    {
        try
        {
            await _writer.DeleteAsync(Namespace(service), slice.Metadata?.Name ?? "", ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            return;
        }
        _tracker.ExpectDeletion(slice);
    }

    /// <summary>
    /// Upstream placeholderSliceCompare: slices equal in everything but metadata, where only the namespace and the
    /// labels count (a placeholder keeps its name, uid, owners and annotations). Absent and empty lists are equal.
    /// </summary>
    internal static bool PlaceholderSliceEqual(EndpointSlice? x, EndpointSlice? y)
    {
        if (x is null || y is null)
        {
            return x is null && y is null;
        }
        return x.Metadata?.Namespace == y.Metadata?.Namespace
            && LabelsEqual(x.Metadata?.Labels, y.Metadata?.Labels)
            && x.AddressType == y.AddressType
            && JsonEqual(x.Ports ?? [], y.Ports ?? [])
            && JsonEqual(x.Endpoints ?? [], y.Endpoints ?? []);
    }

    // As upstream, a missing label reads as "": {"k": ""} equals {}.
    private static bool LabelsEqual(Dictionary<string, string>? a, Dictionary<string, string>? b) =>
        Covers(a, b) && Covers(b, a);

    private static bool Covers(Dictionary<string, string>? from, Dictionary<string, string>? other) =>
        from is null || from.All(kv => (other?.GetValueOrDefault(kv.Key) ?? "") == kv.Value);

    private static bool JsonEqual<T>(List<T> a, List<T> b) =>
        KubeJson.SerializeToUtf8Bytes(a).AsSpan().SequenceEqual(KubeJson.SerializeToUtf8Bytes(b));
}
