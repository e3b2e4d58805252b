using Berth.Api.Selectors;
using System.Globalization;
using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

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
        // Absent and empty label maps select the same Services, so they are not a change.
        var labelsChanged = !StringMaps.SemanticEqual(old.Metadata?.Labels, current.Metadata?.Labels)
            || old.Spec?.Hostname != current.Spec?.Hostname
            || old.Spec?.Subdomain != current.Spec?.Subdomain;
        var endpointsChanged = old.Metadata?.DeletionTimestamp != current.Metadata?.DeletionTimestamp
            || IsPodReady(old) != IsPodReady(current)
            || !PodIPsEqual(old.Status?.PodIPs, current.Status?.PodIPs);
        return (endpointsChanged, labelsChanged);
    }

    /// <summary>
    /// endpointutil.GetServicesToUpdateOnPodChange: the keys of the Services whose endpoints a pod update may change.
    /// None for a resync or a change no endpoint shows; the Services selecting the pod when its endpoint changed;
    /// after a label change also the Services it left, or, when nothing else changed, only the ones it joined or left
    /// (those selecting it before and after see no difference).
    /// </summary>
    public static HashSet<string> ServicesToUpdateOnPodChange(Informer<Service> services, Pod old, Pod current)
    {
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(current);
        if (old.Metadata?.ResourceVersion == current.Metadata?.ResourceVersion)
        {
            // A resync: the Service informer's resync covers every Service already.
            return [];
        }
        var (endpointsChanged, labelsChanged) = PodChanged(old, current);
        if (!endpointsChanged && !labelsChanged)
        {
            return [];
        }
        var keys = SelectorIndexes.ServicesSelecting(services, current).Select(ControllerWorkers.Key).ToHashSet(StringComparer.Ordinal);
        if (labelsChanged)
        {
            var oldKeys = SelectorIndexes.ServicesSelecting(services, old).Select(ControllerWorkers.Key);
            if (endpointsChanged)
            {
                keys.UnionWith(oldKeys);
            }
            else
            {
                keys.SymmetricExceptWith(oldKeys);
            }
        }
        return keys;
    }

    /// <summary>
    /// Upstream addTriggerTimeAnnotation (the Endpoints controller does the same): the last-change-trigger-time
    /// annotation says when the change that caused this write happened (Go's time.RFC3339Nano in UTC); without a
    /// trigger time, a stale annotation is removed.
    /// </summary>
    public static void SetTriggerTimeAnnotation(ObjectMeta meta, DateTimeOffset? triggerTime)
    {
        ArgumentNullException.ThrowIfNull(meta);
        if (triggerTime is { } time)
        {
            (meta.Annotations ??= [])[LastChangeTriggerTimeAnnotation] = FormatRfc3339Nano(time);
        }
        else
        {
            meta.Annotations?.Remove(LastChangeTriggerTimeAnnotation);
        }
    }

    /// <summary>Go's time.RFC3339Nano in UTC: trailing zeros of the fraction (and a fraction of zero) left out, as "FFFFFFF" does (ticks are 100 ns).</summary>
    public static string FormatRfc3339Nano(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The node's topology.kubernetes.io/zone label; null when the node or the label is missing or empty.</summary>
    public static string? Zone(Node? node) =>
        node?.Metadata?.Labels?.GetValueOrDefault(ZoneLabel) is { Length: > 0 } zone ? zone : null;

    internal static PodCondition? ReadyCondition(Pod pod) => pod.Status?.Conditions?.FirstOrDefault(static c => c.Type == "Ready");

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
