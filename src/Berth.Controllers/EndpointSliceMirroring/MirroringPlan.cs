using Berth.Api.Selectors;
using Berth.Api.Models;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.Framework;

namespace Berth.Controllers.EndpointSliceMirroring;

/// <summary>
/// The pure half of upstream reconciler.go (reconcile, reconcileByPortMapping, recycleSlices and desiredCalc from
/// reconciler_helpers.go): what to create, update and delete so an Endpoints resource is mirrored, one slice per
/// address type and set of ports, at most <c>maxEndpointsPerSubset</c> addresses of each subset.
/// </summary>
internal sealed class MirroringPlan
{
    private MirroringPlan()
    {
    }

    /// <summary>New slices (named by generateName).</summary>
    public List<EndpointSlice> ToCreate { get; } = [];

    /// <summary>Whole replacements of existing slices, by name.</summary>
    public List<EndpointSlice> ToUpdate { get; } = [];

    public List<EndpointSlice> ToDelete { get; } = [];

    /// <summary>Addresses that are no IP (upstream numInvalidAddresses).</summary>
    public int InvalidAddresses { get; private set; }

    /// <summary>Addresses left out, invalid or beyond the per-subset maximum (upstream addressesSkipped).</summary>
    public int AddressesSkipped { get; private set; }

    /// <summary>The addresses that are no IP, for the log.</summary>
    public List<string> InvalidIPs { get; } = [];

    /// <summary>Upstream reconcile up to finalize, then recycleSlices.</summary>
    public static MirroringPlan Compute(Endpoints endpoints, IReadOnlyList<EndpointSlice> existingSlices, int maxEndpointsPerSubset)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(existingSlices);
        var plan = new MirroringPlan();
        var desired = new DesiredCalc();

        // Canonical subsets first: duplicates merged, one subset per set of addresses sharing ports.
        foreach (var subset in EndpointSubsets.Repack(endpoints.Subsets ?? []))
        {
            var multiKey = desired.InitPorts(subset.Ports);
            var totalAddresses = (subset.Addresses?.Count ?? 0) + (subset.NotReadyAddresses?.Count ?? 0);
            var totalAddressesAdded = 0;
            // The per-subset limit keeps one subset to one slice per address type.
            foreach (var (address, ready) in (subset.Addresses ?? []).Select(a => (a, true)).Concat((subset.NotReadyAddresses ?? []).Select(a => (a, false))))
            {
                if (totalAddressesAdded >= maxEndpointsPerSubset)
                {
                    break;
                }
                if (desired.AddAddress(address, multiKey, ready))
                {
                    totalAddressesAdded++;
                }
                else
                {
                    plan.InvalidAddresses++;
                    plan.InvalidIPs.Add(address.Ip ?? "");
                }
            }
            plan.AddressesSkipped += totalAddresses - totalAddressesAdded;
        }

        var existingByKey = new Dictionary<string, List<EndpointSlice>>(StringComparer.Ordinal);
        foreach (var slice in existingSlices)
        {
            var key = MirroringRules.AddrTypePortMapKey(slice.Ports, slice.AddressType);
            if (!existingByKey.TryGetValue(key, out var list))
            {
                existingByKey[key] = list = [];
            }
            list.Add(slice);
        }

        foreach (var (portKey, desiredEndpoints) in desired.EndpointsByKey)
        {
            plan.ReconcileByPortMapping(endpoints, existingByKey.GetValueOrDefault(portKey) ?? [], desiredEndpoints,
                desired.PortsByKey[portKey], MirroringRules.AddressTypeOf(portKey), maxEndpointsPerSubset);
        }

        // Sets of ports no longer wanted.
        foreach (var (portKey, slices) in existingByKey)
        {
            if (!desired.EndpointsByKey.ContainsKey(portKey))
            {
                plan.ToDelete.AddRange(slices);
            }
        }

        plan.RecycleSlices();
        return plan;
    }

    /// <summary>
    /// Upstream reconcileByPortMapping: keep the first existing slice of the port set (delete the rest) and rewrite
    /// it whole unless its endpoints, labels, annotations and owner already match; nothing desired deletes them all.
    /// </summary>
    private void ReconcileByPortMapping(Endpoints endpoints, List<EndpointSlice> existingSlices, EndpointSet desiredSet,
        List<EndpointSlicePort> endpointPorts, string addressType, int maxEndpointsPerSubset)
    {
        if (desiredSet.Count == 0)
        {
            ToDelete.AddRange(existingSlices);
            return;
        }

        string? sliceName = null;
        if (existingSlices.Count > 0)
        {
            ToDelete.AddRange(existingSlices.Skip(1));
            var first = existingSlices[0];
            // Mirrored slices carry the Endpoints' annotations but the trigger time and last-applied configuration,
            // and its labels plus service-name and managed-by.
            var compareAnnotations = MirroringRules.MirroredAnnotations(endpoints.Metadata?.Annotations);
            var compareLabels = MirroringRules.CloneAndRemoveKeys(first.Metadata?.Labels,
                EndpointSliceRules.ManagedByLabel, EndpointSliceRules.ServiceNameLabel);
            if (!EndpointsChanged(first, desiredSet)
                && StringMaps.SemanticEqual(endpoints.Metadata?.Labels, compareLabels)
                && StringMaps.SemanticEqual(compareAnnotations, first.Metadata?.Annotations)
                && !NeedRebuild(endpoints, first))
            {
                return;
            }
            sliceName = first.Metadata?.Name;
        }

        var newSlice = MirroringRules.NewEndpointSlice(endpoints, endpointPorts, addressType, sliceName);
        while (newSlice.Endpoints!.Count < maxEndpointsPerSubset && desiredSet.PopAny() is { } endpoint)
        {
            newSlice.Endpoints.Add(endpoint);
        }
        (sliceName is null ? ToCreate : ToUpdate).Add(newSlice);
    }

    /// <summary>Upstream totalChanges, reduced to its use: any endpoint to add, update or remove.</summary>
    private static bool EndpointsChanged(EndpointSlice existing, EndpointSet desiredSet)
    {
        var matches = 0;
        foreach (var endpoint in existing.Endpoints ?? [])
        {
            if (desiredSet.Get(endpoint) is not { } want || !EndpointSliceRules.EndpointsEqualBeyondHash(want, endpoint))
            {
                return true;
            }
            matches++;
        }
        return desiredSet.Count != matches;
    }

    /// <summary>
    /// Upstream #125359: a slice owned by an earlier Endpoints of the same name (deleted and created again while the
    /// controller was away) is rewritten with the new owner, or the garbage collector would delete it.
    /// </summary>
    private static bool NeedRebuild(Endpoints endpoints, EndpointSlice slice) =>
        slice.Metadata?.OwnerReferences?.Any(o => o.Kind == "Endpoints" && o.Name == endpoints.Metadata?.Name
            && (o.Uid ?? "") != (endpoints.Metadata?.Uid ?? "")) == true;

    /// <summary>
    /// Upstream recycleSlices: a slice to create and one to delete of the same address type become one update of
    /// the slice that would have been deleted.
    /// </summary>
    private void RecycleSlices()
    {
        foreach (var addressType in ToCreate.Select(s => s.AddressType).Distinct().ToList())
        {
            var creates = ToCreate.Where(s => s.AddressType == addressType).ToList();
            var deletes = ToDelete.Where(s => s.AddressType == addressType).ToList();
            for (var i = 0; i < creates.Count && i < deletes.Count; i++)
            {
                ToCreate.Remove(creates[i]);
                ToDelete.Remove(deletes[i]);
                creates[i].Metadata!.Name = deletes[i].Metadata?.Name;
                ToUpdate.Add(creates[i]);
            }
        }
    }

    /// <summary>Upstream desiredCalc: the desired endpoints and ports per address type and port set.</summary>
    private sealed class DesiredCalc
    {
        public Dictionary<string, List<EndpointSlicePort>> PortsByKey { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, EndpointSet> EndpointsByKey { get; } = new(StringComparer.Ordinal);

        /// <summary>Upstream initPorts: the subset's ports under both address types; returns the key of each.</summary>
        public Dictionary<string, string> InitPorts(List<EndpointPort>? subsetPorts)
        {
            var ports = MirroringRules.ToSlicePorts(subsetPorts);
            var multiKey = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var addressType in new[] { MirroringRules.IPv4, MirroringRules.IPv6 })
            {
                var key = MirroringRules.AddrTypePortMapKey(ports, addressType);
                multiKey[addressType] = key;
                if (!EndpointsByKey.ContainsKey(key))
                {
                    EndpointsByKey[key] = new EndpointSet();
                }
                PortsByKey[key] = ports;
            }
            return multiKey;
        }

        /// <summary>Upstream addAddress: false for an address that is no IP.</summary>
        public bool AddAddress(EndpointAddress address, Dictionary<string, string> multiKey, bool ready)
        {
            var (endpoint, addressType) = MirroringRules.AddressToEndpoint(address, ready);
            if (endpoint is null || addressType is null)
            {
                return false;
            }
            EndpointsByKey[multiKey[addressType]].Insert(endpoint);
            return true;
        }
    }
}
