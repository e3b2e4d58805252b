using Berth.Api.Selectors;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Services;
using Berth.Api.Validation;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.ServiceEndpoints;

public sealed partial class EndpointsController
{
    /// <summary>Upstream maxCapacity: the most addresses an Endpoints object holds.</summary>
    internal const int MaxCapacity = 1000;

    private const string Truncated = "truncated";

    /// <summary>
    /// Upstream syncService: the Service's Endpoints from the pods its selector picks, written only when the
    /// addresses, ports, labels or capacity annotation differ. Throws to have the key retried with back-off.
    /// </summary>
    internal async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        var service = _services.Get(ns, name);
        if (service is null)
        {
            // The Service is gone: so are its Endpoints. (One deleted while the controller was down is found by
            // CheckLeftoverEndpoints at the next start.)
            try
            {
                await _client.DeleteAsync<Endpoints>(ns, name, ct: ct).ConfigureAwait(false);
            }
            catch (KubeApiException e) when (e.StatusCode == 404)
            {
                // Already gone (or never written).
            }
            _triggerTimes.DeleteService(ns ?? "", name);
            _stale.Delete(ns, name);
            return;
        }
        // ExternalName Services receive no endpoints (upstream #105986); Services without a selector receive the
        // Endpoints their owner writes.
        if (service.Spec?.Type == ServiceRules.TypeExternalName || service.Spec?.Selector is not { } selector)
        {
            return;
        }

        var pods = SelectorIndexes.PodsSelectedBy(_pods, ns ?? "", selector);
        // Computed even when nothing is written, so the tracker remembers what this sync has seen.
        var triggerTime = _triggerTimes.ComputeEndpointLastChangeTriggerTime(ns ?? "", service, pods);
        var subsets = EndpointSubsets.Repack(DesiredSubsets(service, pods));

        var current = _endpoints.Get(ns, name);
        if (current is null)
        {
            current = new Endpoints { Metadata = new ObjectMeta { Name = name, Namespace = ns, Labels = service.Metadata?.Labels } };
        }
        else if (_stale.IsStale(current))
        {
            throw new StaleCacheException(
                $"endpoints informer cache is out of date, resource version {current.Metadata?.ResourceVersion} already processed for endpoints {key}");
        }
        var create = string.IsNullOrEmpty(current.Metadata?.ResourceVersion);

        // The headless label is the controller's, not the Service's: leave it out of the comparison. The trigger
        // time annotation is not compared either, so it changes only along with something else.
        var compareLabels = current.Metadata?.Labels;
        if (compareLabels?.ContainsKey(ServiceRules.HeadlessLabel) == true)
        {
            compareLabels = compareLabels.Where(e => e.Key != ServiceRules.HeadlessLabel).ToDictionary(StringComparer.Ordinal);
        }
        if (!create
            && EndpointSubsets.EqualIgnoreResourceVersion(current.Subsets, subsets)
            && StringMaps.SemanticEqual(compareLabels, service.Metadata?.Labels)
            && CapacityAnnotationSetCorrectly(current.Metadata?.Annotations, current.Subsets))
        {
            return;
        }

        var metadata = KubeJson.DeepClone(current.Metadata!);
        metadata.Labels = service.Metadata?.Labels is { } serviceLabels ? new(serviceLabels) : [];
        metadata.Annotations ??= [];
        var desired = new Endpoints { ApiVersion = current.ApiVersion, Kind = current.Kind, Metadata = metadata, Subsets = subsets };
        PodEndpointRules.SetTriggerTimeAnnotation(metadata, triggerTime);
        if (TruncateEndpoints(desired))
        {
            metadata.Annotations[OverCapacityAnnotation] = Truncated;
        }
        else
        {
            metadata.Annotations.Remove(OverCapacityAnnotation);
        }
        if (IsServiceIPSet(service))
        {
            metadata.Labels.Remove(ServiceRules.HeadlessLabel);
        }
        else
        {
            metadata.Labels[ServiceRules.HeadlessLabel] = "";
        }
        // Go leaves empty maps out of the JSON.
        if (metadata.Annotations.Count == 0)
        {
            metadata.Annotations = null;
        }
        if (metadata.Labels.Count == 0)
        {
            metadata.Labels = null;
        }

        Endpoints? updated = null;
        try
        {
            if (create)
            {
                await _client.CreateAsync(desired, ct).ConfigureAwait(false);
            }
            else
            {
                updated = await _client.UpdateAsync(desired, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // A terminating namespace refuses new content and will keep refusing: drop the key.
            if (create && e is KubeApiException { StatusCode: 403 } forbidden
                && forbidden.Status?.Details?.Causes?.Any(c => c.Reason == "NamespaceTerminating") == true)
            {
                return;
            }
            if (create)
            {
                _events.Record(desired, "Warning", "FailedToCreateEndpoint", $"Failed to create endpoint for service {ns}/{name}: {e.Message}");
            }
            else
            {
                _events.Record(desired, "Warning", "FailedToUpdateEndpoint", $"Failed to update endpoint {ns}/{name}: {e.Message}");
            }
            throw;
        }
        // Until the informer shows the update, its copy is out of date (a no-op update keeps the resourceVersion:
        // upstream #127370, #126578).
        if (updated is not null && updated.Metadata?.ResourceVersion != current.Metadata?.ResourceVersion)
        {
            _stale.Stale(current);
        }
    }

    /// <summary>One subset per pod and Service port (upstream addEndpointSubset), to be repacked.</summary>
    private static List<EndpointSubset> DesiredSubsets(Service service, List<Pod> pods)
    {
        var spec = service.Spec!;
        var publishNotReady = spec.PublishNotReadyAddresses == true;
        var subsets = new List<EndpointSubset>();
        foreach (var pod in pods)
        {
            if (!PodEndpointRules.ShouldPodBeInEndpoints(pod, publishNotReady))
            {
                continue;
            }
            // No IP of the Service's family: a dual-stack cluster in the middle of an upgrade.
            if (PodToEndpointAddressForService(service, pod) is not { } address)
            {
                continue;
            }
            if (PodEndpointRules.ShouldSetHostname(pod, service))
            {
                address.Hostname = pod.Spec?.Hostname;
            }
            var ready = publishNotReady || PodEndpointRules.IsPodReady(pod);
            if (spec.Ports is not { Count: > 0 } ports)
            {
                // A headless Service may have no ports: its addresses alone are published.
                if (spec.ClusterIP == ServiceRules.ClusterIPNone)
                {
                    subsets.Add(Subset(address, port: null, ready));
                }
                continue;
            }
            foreach (var servicePort in ports)
            {
                // A named targetPort this pod does not declare: the pod is left out for this port only.
                if (PodEndpointRules.FindPort(pod, servicePort) is not { } portNumber)
                {
                    continue;
                }
                subsets.Add(Subset(address, EndpointPortFromServicePort(servicePort, portNumber), ready));
            }
        }
        return subsets;
    }

    private static EndpointSubset Subset(EndpointAddress address, EndpointPort? port, bool ready) => new()
    {
        Addresses = ready ? [address] : null,
        NotReadyAddresses = ready ? null : [address],
        Ports = port is null ? [] : [port],
    };

    /// <summary>
    /// Upstream podToEndpointAddressForService: the pod's IP of the Service's first IP family (from the clusterIP,
    /// or the pod's primary IP for a headless Service, when the Service has no ipFamilies); null when it has none.
    /// </summary>
    internal static EndpointAddress? PodToEndpointAddressForService(Service service, Pod pod)
    {
        bool ipv6;
        if (service.Spec?.IpFamilies is [var family, ..])
        {
            ipv6 = family == "IPv6";
        }
        else if (service.Spec?.ClusterIP is { Length: > 0 } clusterIP && clusterIP != ServiceRules.ClusterIPNone)
        {
            ipv6 = IsIPv6(clusterIP);
        }
        else
        {
            ipv6 = IsIPv6(pod.Status?.PodIP);
        }
        var ip = pod.Status?.PodIPs?.FirstOrDefault(p => IsIPv6(p.Ip) == ipv6)?.Ip;
        if (string.IsNullOrEmpty(ip))
        {
            return null;
        }
        return new EndpointAddress
        {
            Ip = ip,
            NodeName = pod.Spec?.NodeName ?? "",
            TargetRef = new ObjectReference
            {
                Kind = "Pod",
                Namespace = pod.Metadata?.Namespace,
                Name = pod.Metadata?.Name,
                Uid = pod.Metadata?.Uid,
            },
        };
    }

    /// <summary>Upstream endpointPortFromServicePort: the Service port's name, protocol and appProtocol on the pod's port.</summary>
    internal static EndpointPort EndpointPortFromServicePort(ServicePort servicePort, int portNumber) => new()
    {
        Name = servicePort.Name,
        Port = portNumber,
        Protocol = servicePort.Protocol,
        AppProtocol = servicePort.AppProtocol,
    };

    /// <summary>
    /// Upstream truncateEndpoints: keeps at most <see cref="MaxCapacity"/> addresses, ready ones first, spread over
    /// the subsets in proportion to their size (rounded up, so the last ones may get fewer). True if it truncated.
    /// </summary>
    internal static bool TruncateEndpoints(Endpoints endpoints)
    {
        var subsets = endpoints.Subsets ?? [];
        var totalReady = subsets.Sum(s => s.Addresses?.Count ?? 0);
        var totalNotReady = subsets.Sum(s => s.NotReadyAddresses?.Count ?? 0);
        if (totalReady + totalNotReady <= MaxCapacity)
        {
            return false;
        }

        var truncateReady = totalReady > MaxCapacity;
        var max = truncateReady ? MaxCapacity : MaxCapacity - totalReady;
        var numTotal = truncateReady ? totalReady : totalNotReady;
        var canBeAdded = max;
        foreach (var subset in subsets)
        {
            var numInSubset = (truncateReady ? subset.Addresses?.Count : subset.NotReadyAddresses?.Count) ?? 0;
            var toBeAdded = Math.Min((int)Math.Ceiling((double)numInSubset / numTotal * max), canBeAdded);
            if (truncateReady)
            {
                subset.Addresses = AddressSubset(subset.Addresses, toBeAdded);
                subset.NotReadyAddresses = [];
                canBeAdded -= subset.Addresses?.Count ?? 0;
            }
            else
            {
                subset.NotReadyAddresses = AddressSubset(subset.NotReadyAddresses, toBeAdded);
                canBeAdded -= subset.NotReadyAddresses?.Count ?? 0;
            }
        }
        return true;
    }

    private static List<EndpointAddress>? AddressSubset(List<EndpointAddress>? addresses, int max) =>
        addresses is null || addresses.Count <= max ? addresses : addresses[..max];

    /// <summary>
    /// Upstream capacityAnnotationSetCorrectly: an Endpoints over capacity needs truncating (so the annotation is
    /// never right); one within capacity must not carry the annotation.
    /// </summary>
    private static bool CapacityAnnotationSetCorrectly(Dictionary<string, string>? annotations, List<EndpointSubset>? subsets)
    {
        var count = subsets?.Sum(s => (s.Addresses?.Count ?? 0) + (s.NotReadyAddresses?.Count ?? 0)) ?? 0;
        return count <= MaxCapacity && annotations?.ContainsKey(OverCapacityAnnotation) != true;
    }

    /// <summary>Upstream helper.IsServiceIPSet: a clusterIP that is neither empty nor "None".</summary>
    private static bool IsServiceIPSet(Service service) =>
        service.Spec?.ClusterIP is { Length: > 0 } clusterIP && clusterIP != ServiceRules.ClusterIPNone;

    // utilnet.IsIPv6String: an IPv4-mapped address counts as IPv4, anything unparsable as neither.
    private static bool IsIPv6(string? ip) => ip is not null && NetValidation.IsIPv6String(ip);
}
