using Berth.Api.Models;
using Berth.Api.Services;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.Framework;

namespace Berth.Controllers.EndpointSlices;

/// <summary>
/// Upstream staging/src/k8s.io/endpointslice/reconciler.go: turns the pods a Service selects into its EndpointSlices
/// with as few writes as it can. Per address type and per set of ports (a named targetPort can resolve differently on
/// different pods), it keeps endpoints where they are, refreshes the ones that changed, packs new ones into slices
/// already being written before it creates any, and recycles a slice it would delete instead of creating another.
/// A Service without endpoints keeps exactly one empty placeholder slice. Slices from the informer are never mutated:
/// every change is made on a copy. Topology-aware hints (the topology cache) are not ported; trafficDistribution
/// PreferClose hints are (<c>EndpointSliceReconciler.Hints.cs</c>).
/// </summary>
public sealed partial class EndpointSliceReconciler
{
    private readonly IEndpointSliceWriter _writer;
    private readonly EndpointSliceTracker _tracker;
    private readonly string _controllerName;
    private readonly int _maxEndpointsPerSlice;

    public EndpointSliceReconciler(IEndpointSliceWriter writer, EndpointSliceTracker tracker, string controllerName,
        int maxEndpointsPerSlice = EndpointSliceRules.MaxEndpointsPerSlice)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentException.ThrowIfNullOrEmpty(controllerName);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEndpointsPerSlice, 1);
        _writer = writer;
        _tracker = tracker;
        _controllerName = controllerName;
        _maxEndpointsPerSlice = maxEndpointsPerSlice;
    }

    /// <summary>
    /// Makes the Service's EndpointSlices (<paramref name="existingSlices"/>: all of them, from the informer) hold the
    /// <paramref name="pods"/> it selects. <paramref name="nodeByName"/> gives a pod's Node (its zone), null when
    /// unknown; <paramref name="triggerTime"/> goes into the last-change-trigger-time annotation of every slice
    /// written (null removes it). Every address type is reconciled even when one fails; the failures are then
    /// thrown together, with upstream's messages (one alone, several as <see cref="AggregateError"/>).
    /// </summary>
    public async Task ReconcileAsync(Service service, IReadOnlyList<Pod> pods, IReadOnlyList<EndpointSlice> existingSlices,
        Func<string, Node?> nodeByName, DateTimeOffset? triggerTime, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(existingSlices);
        ArgumentNullException.ThrowIfNull(nodeByName);

        var errors = new List<Exception>();
        var addressTypes = EndpointSliceRules.AddressTypes(service);
        var slicesByAddressType = addressTypes.ToDictionary(t => t, _ => new List<EndpointSlice>(), StringComparer.Ordinal);
        // Slices of an address type the Service no longer has (an IP family dropped, the deprecated "IP" type).
        var slicesToDelete = new List<EndpointSlice>();
        foreach (var slice in existingSlices)
        {
            if (slicesByAddressType.TryGetValue(slice.AddressType ?? "", out var ofType))
            {
                ofType.Add(slice);
            }
            else
            {
                slicesToDelete.Add(slice);
            }
        }

        foreach (var addressType in addressTypes)
        {
            await ReconcileByAddressTypeAsync(service, pods, slicesByAddressType[addressType], nodeByName, triggerTime, addressType, errors, ct)
                .ConfigureAwait(false);
        }

        foreach (var slice in slicesToDelete)
        {
            try
            {
                await DeleteSliceAsync(service, slice, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors.Add(new InvalidOperationException(
                    $"error deleting {slice.Metadata?.Name} EndpointSlice for Service {Namespace(service)}/{service.Metadata?.Name}: {e.Message}", e));
            }
        }

        ThrowIfAny(errors);
    }

    private async Task ReconcileByAddressTypeAsync(Service service, IReadOnlyList<Pod> pods, List<EndpointSlice> existingSlices,
        Func<string, Node?> nodeByName, DateTimeOffset? triggerTime, string addressType, List<Exception> errors, CancellationToken ct)
    {
        var slicesToCreate = new List<EndpointSlice>();
        var slicesToUpdate = new List<EndpointSlice>();
        var slicesToDelete = new List<EndpointSlice>();

        // Existing state. A slice not owned by this Service (one left by an earlier Service of the same name, still
        // waiting for the garbage collector) is deleted rather than reused.
        var existingSlicesByPortMap = new Dictionary<string, List<EndpointSlice>>(StringComparer.Ordinal);
        foreach (var slice in existingSlices)
        {
            if (EndpointSliceRules.OwnedBy(slice, service))
            {
                var key = EndpointSliceRules.PortMapKey(slice.Ports ?? []);
                if (!existingSlicesByPortMap.TryGetValue(key, out var ofKey))
                {
                    ofKey = [];
                    existingSlicesByPortMap[key] = ofKey;
                }
                ofKey.Add(slice);
            }
            else
            {
                slicesToDelete.Add(slice);
            }
        }

        // Desired state: one endpoint set per set of ports. The set is made before the pod's node is checked, so a port
        // set whose only pods sit on unknown nodes is still desired and its slices are emptied, not deleted.
        var desiredPortsByPortMap = new Dictionary<string, List<EndpointSlicePort>>(StringComparer.Ordinal);
        var desiredEndpointsByPortMap = new Dictionary<string, EndpointSet>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            if (!PodEndpointRules.ShouldPodBeInEndpoints(pod, includeTerminating: true))
            {
                continue;
            }
            var ports = EndpointSliceRules.GetEndpointPorts(service, pod);
            var portMap = EndpointSliceRules.PortMapKey(ports);
            if (!desiredEndpointsByPortMap.TryGetValue(portMap, out var desired))
            {
                desired = new EndpointSet();
                desiredEndpointsByPortMap[portMap] = desired;
                desiredPortsByPortMap[portMap] = ports;
            }

            var nodeName = pod.Spec?.NodeName ?? "";
            var node = nodeName.Length == 0 ? null : nodeByName(nodeName);
            // A pod on a node the cache does not know is left out (and the sync fails, so it is retried) unless the
            // Service publishes not-ready addresses: a reference to a missing node must not freeze the slices.
            if (node is null && service.Spec?.PublishNotReadyAddresses != true)
            {
                errors.Add(new InvalidOperationException(
                    $"skipping Pod {pod.Metadata?.Name} for Service {Namespace(service)}/{service.Metadata?.Name}: Node {nodeName} Not Found"));
                continue;
            }
            var endpoint = EndpointSliceRules.PodToEndpoint(pod, node, service, addressType);
            if (endpoint.Addresses is { Count: > 0 })
            {
                desired.Insert(endpoint);
            }
        }

        foreach (var (portMap, desired) in desiredEndpointsByPortMap)
        {
            var (create, update, delete) = ReconcileByPortMapping(service, existingSlicesByPortMap.GetValueOrDefault(portMap) ?? [],
                desired, desiredPortsByPortMap[portMap], addressType);
            slicesToCreate.AddRange(create);
            slicesToUpdate.AddRange(update);
            slicesToDelete.AddRange(delete);
        }

        // Sets of ports no pod has any more.
        foreach (var (portMap, slices) in existingSlicesByPortMap)
        {
            if (!desiredEndpointsByPortMap.ContainsKey(portMap))
            {
                slicesToDelete.AddRange(slices);
            }
        }

        // A Service with nothing to publish keeps one empty slice, so consumers can tell "no endpoints" from "not yet
        // reconciled". An existing placeholder that is already right stays untouched.
        if (existingSlices.Count == slicesToDelete.Count && slicesToCreate.Count == 0)
        {
            var placeholder = EndpointSliceRules.NewEndpointSlice(service, [], addressType, _controllerName);
            if (slicesToDelete.Count == 1 && PlaceholderSliceEqual(slicesToDelete[0], placeholder))
            {
                slicesToDelete.Clear();
            }
            else
            {
                slicesToCreate.Add(placeholder);
            }
        }

        var unchanged = UnchangedSlices(existingSlices, slicesToUpdate, slicesToDelete);
        if (ServiceRules.TopologyHintsRequested(service.Metadata?.Annotations))
        {
            // Upstream hands these Services to the topology cache; without one it removes hints, as here.
            RemoveHints(slicesToCreate, slicesToUpdate, unchanged);
        }
        else
        {
            ReconcileTrafficDistributionHints(service.Spec?.TrafficDistribution, slicesToCreate, slicesToUpdate, unchanged);
        }

        try
        {
            await FinalizeAsync(service, slicesToCreate, slicesToUpdate, slicesToDelete, triggerTime, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            errors.Add(e);
        }
    }

    private static List<EndpointSlice> UnchangedSlices(List<EndpointSlice> existingSlices, List<EndpointSlice> slicesToUpdate, List<EndpointSlice> slicesToDelete)
    {
        var changed = new HashSet<string>(slicesToUpdate.Concat(slicesToDelete).Select(s => s.Metadata?.Name ?? ""), StringComparer.Ordinal);
        return [.. existingSlices.Where(s => !changed.Contains(s.Metadata?.Name ?? ""))];
    }

    private static string Namespace(Service service) => service.Metadata?.Namespace ?? "";

    // utilerrors.NewAggregate(...).Error(): one distinct message alone, several as "[a, b]".
    private static void ThrowIfAny(List<Exception> errors)
    {
        var distinct = errors.DistinctBy(e => e.Message, StringComparer.Ordinal).ToList();
        if (distinct.Count == 1)
        {
            throw distinct[0];
        }
        if (distinct.Count > 1)
        {
            throw new AggregateError(distinct);
        }
    }
}
