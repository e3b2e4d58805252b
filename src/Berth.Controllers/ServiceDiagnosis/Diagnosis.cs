using System.Globalization;
using Berth.Api.Models;
using Berth.Api.Services;
using Berth.Controllers.ServiceEndpoints;

namespace Berth.Controllers.ServiceDiagnosis;

/// <summary>Whether a Service has a ready endpoint for every port, and if not, why (a condition reason and message).</summary>
public sealed record Verdict(bool Ok, string Reason, string Message);

/// <summary>
/// Explains an empty Service (beyond upstream): from the Service, the pods its selector picks and, for a Service without
/// selector, its EndpointSlices, says whether traffic has somewhere to go and, when not, the likeliest reason a person
/// would look for first. Readiness is judged as the EndpointSlice controller judges it, so the verdict agrees with
/// the slices.
/// </summary>
public static class Diagnosis
{
    public const string ConditionType = "EndpointsReady";

    public const string ReasonEndpointsReady = "EndpointsReady";
    public const string ReasonNoMatchingPods = "NoMatchingPods";
    public const string ReasonNoReadyPods = "NoReadyPods";
    public const string ReasonTargetPortNotFound = "TargetPortNotFound";
    public const string ReasonNoEndpoints = "NoEndpoints";

    /// <summary>Longest pod detail quoted: a CrashLoopBackOff or scheduler message can run to kilobytes.</summary>
    internal const int MaxDetailLength = 200;

    // The kubelet's readiness probe events (prober.recordContainerEvent) start so; liveness and startup ones do not
    // explain a missing endpoint.
    private const string ReadinessProbePrefix = "Readiness probe";

    /// <summary>
    /// The verdict on <paramref name="service"/>; null for an ExternalName Service (it has no endpoints to miss).
    /// </summary>
    /// <param name="pods">The pods the Service's selector picks (ignored without a selector).</param>
    /// <param name="slices">The EndpointSlices labelled with the Service's name (used only without a selector).</param>
    /// <param name="readinessProbeFailure">
    /// The message of the pod's newest readiness probe failure event, if any; asked only for the pod a NoReadyPods
    /// verdict quotes, and only when that pod runs but is not Ready.
    /// </param>
    public static async ValueTask<Verdict?> DiagnoseAsync(Service service, IReadOnlyList<Pod> pods, IReadOnlyList<EndpointSlice> slices,
        Func<Pod, ValueTask<string?>>? readinessProbeFailure)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(slices);
        if (service.Spec?.Type == ServiceRules.TypeExternalName)
        {
            return null;
        }
        if (service.Spec?.Selector is not { } selector)
        {
            return DiagnoseSelectorless(service, slices);
        }

        var selectorText = FormatSelector(selector);
        if (pods.Count == 0)
        {
            return new Verdict(false, ReasonNoMatchingPods, $"no pods match selector {selectorText}");
        }

        var byName = pods.OrderBy(p => p.Metadata?.Name, StringComparer.Ordinal).ToList();
        var ready = byName.Where(p => IsReadyEndpoint(service, p)).ToList();
        if (ready.Count == 0)
        {
            var match = pods.Count == 1 ? "1 pod matches" : $"{pods.Count} pods match";
            var detail = await UnreadyDetailAsync(byName[0], readinessProbeFailure).ConfigureAwait(false);
            return new Verdict(false, ReasonNoReadyPods, $"{match} {selectorText}, 0 ready ({Truncate(detail)})");
        }

        // A port counts as served when at least one ready pod resolves it: named targetPorts may resolve on some pods
        // only (the slices then hold one port set per group), which still serves traffic.
        foreach (var port in service.Spec.Ports ?? [])
        {
            if (!ready.Any(p => PodEndpointRules.FindPort(p, port) is not null))
            {
                return new Verdict(false, ReasonTargetPortNotFound, TargetPortMessage(port, ready));
            }
        }

        return new Verdict(true, ReasonEndpointsReady, $"{ready.Count} of {pods.Count} pods ready");
    }

    /// <summary>
    /// When the first readiness probe event of <paramref name="pod"/> can be expected: the kubelet first probes
    /// initialDelaySeconds after a container starts, and a period later that probe has surely run (timeouts included)
    /// and a failure been recorded. A verdict made before then quotes the Ready condition instead and is worth one
    /// more look. Null when the pod has no running container with a readiness probe.
    /// </summary>
    internal static DateTimeOffset? ReadinessProbeEventDue(Pod pod)
    {
        DateTimeOffset? due = null;
        foreach (var container in pod.Spec?.Containers ?? [])
        {
            if (container.ReadinessProbe is not { } probe
                || pod.Status?.ContainerStatuses?.FirstOrDefault(s => s.Name == container.Name)?.State?.Running?.StartedAt is not { } started)
            {
                continue;
            }
            // The kubelet's defaults for unset fields (SetDefaults_Probe: period 10 s).
            var at = started + TimeSpan.FromSeconds((probe.InitialDelaySeconds ?? 0) + (probe.PeriodSeconds is > 0 ? probe.PeriodSeconds.Value : 10));
            due = due is null || at > due ? at : due;
        }
        return due;
    }

    /// <summary>A Service's selector as a label selector string: sorted <c>k=v,k2=v2</c>.</summary>
    internal static string FormatSelector(IReadOnlyDictionary<string, string> selector) =>
        string.Join(',', selector.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));

    // The EndpointSlice controller's endpoint conditions (podToEndpoint): in the slice when ShouldPodBeInEndpoints
    // with terminating pods included, ready when Ready and not terminating, or always with publishNotReadyAddresses.
    private static bool IsReadyEndpoint(Service service, Pod pod) =>
        PodEndpointRules.ShouldPodBeInEndpoints(pod, includeTerminating: true)
        && (service.Spec?.PublishNotReadyAddresses == true || (PodEndpointRules.IsPodReady(pod) && !PodEndpointRules.IsTerminating(pod)));

    private static string TargetPortMessage(ServicePort port, List<Pod> ready)
    {
        // Only a named targetPort can fail to resolve: a number (or none, meaning the port) is used as is.
        var name = port.TargetPort?.ToString() ?? port.Port?.ToString(CultureInfo.InvariantCulture);
        var protocol = port.Protocol is { } p && p != "TCP" ? $" ({p})" : "";
        var first = ready[0].Metadata?.Name;
        var others = ready.Count switch
        {
            1 => "",
            2 => " nor of the other ready pod",
            _ => $" nor of the {ready.Count - 1} other ready pods",
        };
        return $"targetPort \"{name}\"{protocol} is not a port of pod {first}{others}";
    }

    // The first thing a person would check on this pod, in the order a pod gets there: it is going away or gone,
    // not placed on a node, a container cannot start, or it runs and its readiness probe fails.
    private static async ValueTask<string> UnreadyDetailAsync(Pod pod, Func<Pod, ValueTask<string?>>? readinessProbeFailure)
    {
        var status = pod.Status;
        if (PodEndpointRules.IsTerminating(pod))
        {
            return $"pod {pod.Metadata?.Name} is terminating";
        }
        if (status?.Phase is "Failed" or "Succeeded")
        {
            return JoinNonEmpty(status.Phase, status.Reason, status.Message);
        }
        if (string.IsNullOrEmpty(pod.Spec?.NodeName))
        {
            var scheduled = Condition(pod, "PodScheduled");
            return scheduled?.Status == "False" ? FirstNonEmpty(scheduled.Message, scheduled.Reason) ?? "not scheduled yet" : "not scheduled yet";
        }
        var waiting = (status?.InitContainerStatuses ?? []).Concat(status?.ContainerStatuses ?? [])
            .Select(s => s.State?.Waiting)
            .FirstOrDefault(w => !string.IsNullOrEmpty(w?.Reason));
        if (waiting is not null)
        {
            return JoinNonEmpty(waiting.Reason, waiting.Message);
        }

        var readyCondition = Condition(pod, "Ready");
        if (PodEndpointRules.IsPodReady(pod))
        {
            // Ready, yet not an endpoint: only a missing address leaves a live, ready pod out of the slices.
            return "pod has no IP address yet";
        }
        if (status?.Phase == "Running" && readinessProbeFailure is not null
            && await readinessProbeFailure(pod).ConfigureAwait(false) is { } probe
            && probe.StartsWith(ReadinessProbePrefix, StringComparison.Ordinal))
        {
            return char.ToLowerInvariant(probe[0]) + probe[1..];
        }
        return FirstNonEmpty(readyCondition?.Message, readyCondition?.Reason) ?? "not ready";
    }

    private static Verdict DiagnoseSelectorless(Service service, IReadOnlyList<EndpointSlice> slices)
    {
        var endpoints = slices.SelectMany(s => s.Endpoints ?? []).ToList();
        // EndpointConditions.ready: "nil should be interpreted as true".
        if (endpoints.Any(e => e.Conditions?.Ready != false))
        {
            return new Verdict(true, ReasonEndpointsReady, "has ready endpoints");
        }
        if (slices.Count == 0)
        {
            return new Verdict(false, ReasonNoEndpoints,
                $"no selector and no EndpointSlice labelled kubernetes.io/service-name={service.Metadata?.Name}");
        }
        var listed = endpoints.Count switch
        {
            0 => "no endpoints",
            1 => "1 endpoint, 0 ready",
            var n => $"{n} endpoints, 0 ready",
        };
        return new Verdict(false, ReasonNoEndpoints, $"no selector; its EndpointSlices list {listed}");
    }

    private static PodCondition? Condition(Pod pod, string type) => pod.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    private static string JoinNonEmpty(params string?[] parts) => string.Join(": ", parts.Where(p => !string.IsNullOrEmpty(p)));

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static string Truncate(string detail) =>
        detail.Length <= MaxDetailLength ? detail : string.Concat(detail.AsSpan(0, MaxDetailLength), "...");
}
