using Berth.Api.Models;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.Framework;
using Berth.Controllers.NodeLifecycle;

namespace Berth.Controllers.EndpointSlices;

// Informer handlers: which Services a change can affect, and when to sync them.
public sealed partial class EndpointSliceController
{
    private void OnServiceUpdate(Service service) => Queue.Add(ControllerWorkers.Key(service));

    // The sync of a Service that is gone forgets what the trackers hold for it; its slices go with the garbage collector.
    private void OnServiceDelete(Service service) => Queue.Add(ControllerWorkers.Key(service));

    // A slice of ours that we did not just write (its generation is newer than our last write, or we have never
    // written it): someone else changed it, so sync its Service to put it back.
    private void OnEndpointSliceAdd(EndpointSlice slice)
    {
        _staleWaiters.Wake(EndpointSliceRules.ServiceKey(slice));
        if (EndpointSliceRules.ManagedByController(slice, EndpointSliceRules.ControllerName) && Tracker.ShouldSync(slice))
        {
            QueueServiceForEndpointSlice(slice);
        }
    }

    private void OnEndpointSliceUpdate(EndpointSlice old, EndpointSlice current)
    {
        _staleWaiters.Wake(EndpointSliceRules.ServiceKey(current));
        // A label change does not bump a slice's generation, and the controller never changes the service-name
        // label; a user might, which moves the slice between two Services.
        var service = current.Metadata?.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel);
        var oldService = old.Metadata?.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel);
        if (service != oldService)
        {
            _log($"{ComponentName}: label {EndpointSliceRules.ServiceNameLabel} of EndpointSlice {ControllerWorkers.Key(current)} changed from \"{oldService}\" to \"{service}\"");
            QueueServiceForEndpointSlice(current);
            QueueServiceForEndpointSlice(old);
            return;
        }
        var managed = EndpointSliceRules.ManagedByController(current, EndpointSliceRules.ControllerName);
        var managedByChanged = managed != EndpointSliceRules.ManagedByController(old, EndpointSliceRules.ControllerName);
        if (managedByChanged || (managed && Tracker.ShouldSync(current)))
        {
            QueueServiceForEndpointSlice(current);
        }
    }

    private void OnEndpointSliceDelete(EndpointSlice slice)
    {
        _staleWaiters.Wake(EndpointSliceRules.ServiceKey(slice));
        // Only a deletion we did not ask for (the tracker expected none) means a slice must be recreated.
        if (EndpointSliceRules.ManagedByController(slice, EndpointSliceRules.ControllerName) && Tracker.Has(slice)
            && !Tracker.HandleDeletion(slice))
        {
            QueueServiceForEndpointSlice(slice);
        }
    }

    private void QueueServiceForEndpointSlice(EndpointSlice slice)
    {
        if (EndpointSliceRules.ServiceKey(slice) is not { } key)
        {
            _log($"{ComponentName}: couldn't get key for EndpointSlice {ControllerWorkers.Key(slice)}: EndpointSlice missing {EndpointSliceRules.ServiceNameLabel} label");
            return;
        }
        Queue.AddAfter(key, _batchPeriod > s_endpointSliceChangeMinSyncDelay ? _batchPeriod : s_endpointSliceChangeMinSyncDelay);
    }

    // Upstream addPod: the Services whose selector matches the pod, after the batch period.
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

    private void DeletePod(Pod pod) => AddPod(pod);

    // An endpoint carries its node's zone, so a zone label added or changed (a cloud provider may set it after the
    // node registered) means the Services of the node's pods have endpoints to refresh. Nothing else about a node
    // reaches a slice.
    private void UpdateNode(Node old, Node current)
    {
        if (PodEndpointRules.Zone(old) == PodEndpointRules.Zone(current) || current.Metadata?.Name is not { } name)
        {
            return;
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in PodNodeNameIndex.PodsOn(_pods, name))
        {
            keys.UnionWith(SelectorIndexes.ServicesSelecting(_services, pod).Select(ControllerWorkers.Key));
        }
        foreach (var key in keys)
        {
            Queue.AddAfter(key, _batchPeriod);
        }
    }
}
