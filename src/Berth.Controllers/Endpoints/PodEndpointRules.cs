using Berth.Api.Models;

namespace Berth.Controllers.Endpoints;

/// <summary>Upstream podutil / endpointutil rules shared by the Endpoints, EndpointSlice and diagnosis controllers.</summary>
public static class PodEndpointRules
{
    public const string LastChangeTriggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time";

    /// <summary>
    /// podutil.ShouldPodBeInEndpoints: false without an IP; false if terminating unless
    /// <paramref name="includeTerminating"/>; false in phase Failed/Succeeded.
    /// </summary>
    public static bool ShouldPodBeInEndpoints(Pod pod, bool includeTerminating) => throw new NotImplementedException();

    /// <summary>The pod's Ready condition is True.</summary>
    public static bool IsPodReady(Pod pod) => throw new NotImplementedException();

    /// <summary>The pod has a deletionTimestamp.</summary>
    public static bool IsTerminating(Pod pod) => throw new NotImplementedException();

    /// <summary>
    /// podutil.FindPort: a named targetPort looks up the container port by name and protocol; a number is used as is
    /// (targetPort absent = port). Null when a name is not found.
    /// </summary>
    public static int? FindPort(Pod pod, ServicePort servicePort) => throw new NotImplementedException();

    /// <summary>endpointutil.GetPodChanged / podEndpointsChanged: (endpoints may differ, labels differ).</summary>
    public static (bool EndpointsChanged, bool LabelsChanged) PodChanged(Pod old, Pod current) => throw new NotImplementedException();

    /// <summary>The node's topology.kubernetes.io/zone label.</summary>
    public static string? Zone(Node? node) => throw new NotImplementedException();
}
