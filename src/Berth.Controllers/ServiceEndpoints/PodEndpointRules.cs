using Berth.Api.Models;

namespace Berth.Controllers.ServiceEndpoints;

/// <summary>
/// Upstream podutil / endpointutil rules (k8s.io/endpointslice/util/controller_utils.go, utils.go FindPort) shared by
/// the Endpoints, EndpointSlice and diagnosis controllers, so all three agree on which pods back a Service.
/// </summary>
public static class PodEndpointRules
{
    public const string LastChangeTriggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time";

    private const string ZoneLabel = "topology.kubernetes.io/zone";

    /// <summary>
    /// podutil.ShouldPodBeInEndpoints: false in phase Failed/Succeeded (terminal, never coming back); false without an
    /// IP; false if terminating unless <paramref name="includeTerminating"/>.
    /// </summary>
    public static bool ShouldPodBeInEndpoints(Pod pod, bool includeTerminating)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Status?.Phase is "Failed" or "Succeeded")
        {
            return false;
        }
        if (string.IsNullOrEmpty(pod.Status?.PodIP) && pod.Status?.PodIPs is null or [])
        {
            return false;
        }
        return includeTerminating || !IsTerminating(pod);
    }

    /// <summary>The pod's Ready condition is True.</summary>
    public static bool IsPodReady(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return ReadyCondition(pod)?.Status == "True";
    }

    /// <summary>The pod has a deletionTimestamp (it is being deleted; distinct from a terminal phase).</summary>
    public static bool IsTerminating(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return pod.Metadata?.DeletionTimestamp is not null;
    }

    /// <summary>
    /// podutil.FindPort: a named targetPort looks up the container port by name and protocol (in the containers, then
    /// in sidecars: init containers with restartPolicy Always); a number is used as is (targetPort absent = port).
    /// Null when a name is not found.
    /// </summary>
    public static int? FindPort(Pod pod, ServicePort servicePort)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(servicePort);
        // Defaulting turns an absent, 0 or "" targetPort into the port; objects built in code may skip defaulting.
        if (servicePort.TargetPort is not { } target || target == 0 || target == "")
        {
            return servicePort.Port;
        }
        if (target.IsInt)
        {
            return target.IntValue;
        }
        var name = target.StringValue;
        // The API server defaults both protocols to TCP (as above, code-built objects may not be defaulted).
        var protocol = servicePort.Protocol ?? "TCP";
        var sidecars = pod.Spec?.InitContainers?.Where(static c => c.RestartPolicy == "Always") ?? [];
        foreach (var container in (pod.Spec?.Containers ?? []).Concat(sidecars))
        {
            foreach (var port in container.Ports ?? [])
            {
                if (port.Name == name && (port.Protocol ?? "TCP") == protocol)
                {
                    return port.ContainerPortNumber;
                }
            }
        }
        return null;
    }

    /// <summary>
    /// endpointutil.ShouldSetHostname: a pod gets a DNS hostname under a Service only if it names that Service as its
    /// subdomain (and is in its namespace).
    /// </summary>
    public static bool ShouldSetHostname(Pod pod, Service service)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(service);
        return pod.Spec?.Hostname is { Length: > 0 }
            && pod.Spec.Subdomain == service.Metadata?.Name
            && service.Metadata?.Namespace == pod.Metadata?.Namespace;
    }

    /// <summary>
    /// endpointutil podEndpointsChanged: EndpointsChanged when the pod's endpoint may differ (deletion timestamp,
    /// readiness, pod IPs); LabelsChanged when the Services selecting it may differ (labels, or hostname/subdomain,
    /// which decide an endpoint's hostname). NodeName is ignored: it is set before the pod has an IP.
    /// </summary>
    public static (bool EndpointsChanged, bool LabelsChanged) PodChanged(Pod old, Pod current)
    {
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(current);
        var labelsChanged = !LabelsEqual(old.Metadata?.Labels, current.Metadata?.Labels)
            || old.Spec?.Hostname != current.Spec?.Hostname
            || old.Spec?.Subdomain != current.Spec?.Subdomain;
        var endpointsChanged = old.Metadata?.DeletionTimestamp != current.Metadata?.DeletionTimestamp
            || IsPodReady(old) != IsPodReady(current)
            || !PodIPsEqual(old.Status?.PodIPs, current.Status?.PodIPs);
        return (endpointsChanged, labelsChanged);
    }

    /// <summary>The node's topology.kubernetes.io/zone label; null when the node or the label is missing or empty.</summary>
    public static string? Zone(Node? node) =>
        node?.Metadata?.Labels?.GetValueOrDefault(ZoneLabel) is { Length: > 0 } zone ? zone : null;

    internal static PodCondition? ReadyCondition(Pod pod) => pod.Status?.Conditions?.FirstOrDefault(static c => c.Type == "Ready");

    // Absent and empty label maps select the same Services, so they are not a change.
    private static bool LabelsEqual(Dictionary<string, string>? a, Dictionary<string, string>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }
        return a is null || b is null || a.All(e => b.TryGetValue(e.Key, out var value) && value == e.Value);
    }

    private static bool PodIPsEqual(List<PodIP>? a, List<PodIP>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }
        for (var i = 0; i < (a?.Count ?? 0); i++)
        {
            if (a![i].Ip != b![i].Ip)
            {
                return false;
            }
        }
        return true;
    }
}
