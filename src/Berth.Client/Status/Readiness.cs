using Berth.Api.Models;

// Not Berth.Client.Status, as the folder: that namespace would hide the Status kind from the rest of Berth.Client.
namespace Berth.Client.ClusterStatus;

/// <summary>Whether one object is ready, a short progress summary (<c>2/3 ready</c>) and, when not, why.</summary>
public sealed record Readiness(bool Ready, string Summary, string? Why = null)
{
    public static readonly Readiness Applied = new(true, "applied");
}

/// <summary>
/// When an applied object counts as ready, as pure functions of what the API holds. Deployments follow
/// <c>kubectl rollout status</c> (kubectl pkg/polymorphichelpers/rollout_status.go); pods, ReplicaSets and Services
/// what their status fields say.
/// </summary>
public static class ReadinessRules
{
    /// <summary>The EndpointSlice label naming the Service a slice belongs to.</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    // Waiting reasons kubectl's rollout status calls out as warnings: the pod will not get there on its own.
    private static readonly HashSet<string> s_stuckReasons = new(StringComparer.Ordinal)
    {
        "ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError",
    };

    /// <summary>
    /// Rolled out as kubectl says it is: the controller has seen the latest spec (observedGeneration ≥ generation),
    /// every replica is updated, no old replica is left, and every updated one is available.
    /// <paramref name="pods"/> are the Deployment's pods, for the reason it is not ready.
    /// </summary>
    public static Readiness Deployment(Deployment deployment, IEnumerable<Pod> pods, DateTimeOffset? since = null)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var status = deployment.Status ?? new DeploymentStatus();
        var want = deployment.Spec?.Replicas ?? 1;
        var summary = $"{status.ReadyReplicas ?? 0}/{want} ready";
        if ((deployment.Metadata?.Generation ?? 0) > (status.ObservedGeneration ?? 0))
        {
            return new Readiness(false, summary, Because("waiting for the deployment spec update to be observed", pods));
        }
        if (status.Conditions?.FirstOrDefault(c => c.Type == "Progressing") is { Reason: "ProgressDeadlineExceeded" } progressing)
        {
            return new Readiness(false, summary, Because($"exceeded its progress deadline: {progressing.Message}", pods));
        }
        var updated = status.UpdatedReplicas ?? 0;
        if (updated < want)
        {
            return new Readiness(false, summary, Because($"{updated} out of {want} new replicas have been updated", pods));
        }
        if ((status.Replicas ?? 0) > updated)
        {
            return new Readiness(false, summary, Because($"{status.Replicas - updated} old replicas are pending termination", pods));
        }
        if ((status.AvailableReplicas ?? 0) < updated)
        {
            return new Readiness(false, summary, Because($"{status.AvailableReplicas ?? 0} of {updated} updated replicas are available", pods));
        }
        return Fresh(summary, want, pods, since);
    }

    /// <summary>Every wanted replica ready (the ReplicaSet controller has seen the latest spec).</summary>
    public static Readiness ReplicaSet(ReplicaSet replicaSet, IEnumerable<Pod> pods, DateTimeOffset? since = null)
    {
        ArgumentNullException.ThrowIfNull(replicaSet);
        var status = replicaSet.Status ?? new ReplicaSetStatus();
        var want = replicaSet.Spec?.Replicas ?? 1;
        var ready = status.ReadyReplicas ?? 0;
        var summary = $"{ready}/{want} ready";
        if ((replicaSet.Metadata?.Generation ?? 0) > (status.ObservedGeneration ?? 0))
        {
            return new Readiness(false, summary, Because("waiting for the replica set spec update to be observed", pods));
        }
        return ready >= want && (status.Replicas ?? 0) == want
            ? Fresh(summary, want, pods, since)
            : new Readiness(false, summary, Because($"{ready} of {want} replicas are ready", pods));
    }

    /// <summary>
    /// The Ready condition True, or the pod ran to completion (Succeeded). With <paramref name="since"/>, a Ready
    /// condition that turned True before then does not count: it is what a previous run left in the store (a node
    /// agent restarted on the same data dir restarts the pods, and their status catches up only after that).
    /// </summary>
    public static Readiness Pod(Pod pod, DateTimeOffset? since = null)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Status?.Phase == "Succeeded")
        {
            return new Readiness(true, "succeeded");
        }
        var ready = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready" && c.Status == "True");
        if (ready is not null && (since is null || ready.LastTransitionTime is null || ready.LastTransitionTime >= WholeSeconds(since.Value)
            || RestartedReady(pod, WholeSeconds(since.Value))))
        {
            return new Readiness(true, "ready");
        }
        if (ready is not null)
        {
            return new Readiness(false, "restarting", "ready before this start; waiting for the restarted pod's readiness");
        }
        return new Readiness(false, pod.Status?.Phase is { Length: > 0 } phase ? phase.ToLowerInvariant() : "pending", PodReason(pod) ?? "not ready");
    }

    /// <summary>
    /// A Service with a selector needs a ready endpoint in its EndpointSlices; a LoadBalancer also needs its address
    /// (status.loadBalancer.ingress). Others (no selector, ExternalName) are ready once applied.
    /// </summary>
    /// <paramref name="counts"/>, when given, says which ready endpoints count (e.g. only those of pods ready since
    /// this start: see <see cref="Pod"/>).
    public static Readiness Service(Service service, IEnumerable<EndpointSlice> slices, Func<Endpoint, bool>? counts = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(slices);
        var spec = service.Spec ?? new ServiceSpec();
        if (spec.Type == "ExternalName" || spec.Selector is not { Count: > 0 })
        {
            return Readiness.Applied;
        }
        var ready = ReadyEndpoints(service, slices, counts);
        var summary = ready == 1 ? "1 ready endpoint" : $"{ready} ready endpoints";
        if (ready == 0)
        {
            var condition = service.Status?.Conditions?.FirstOrDefault(c => c.Type == "EndpointsReady" && c.Status != "True");
            return new Readiness(false, summary, condition?.Message is { Length: > 0 } message ? message : "no ready endpoint yet");
        }
        if (spec.Type == "LoadBalancer" && service.Status?.LoadBalancer?.Ingress is not { Count: > 0 })
        {
            return new Readiness(false, summary, "waiting for a load balancer address");
        }
        return new Readiness(true, summary);
    }

    /// <summary>Ready endpoints (conditions.ready unset counts as ready, as upstream) in the Service's slices.</summary>
    public static int ReadyEndpoints(Service service, IEnumerable<EndpointSlice> slices, Func<Endpoint, bool>? counts = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(slices);
        var name = service.Metadata?.Name;
        var ns = service.Metadata?.Namespace;
        return slices
            .Where(s => s.Metadata?.Namespace == ns && s.Metadata?.Labels?.GetValueOrDefault(ServiceNameLabel) == name)
            .SelectMany(s => s.Endpoints ?? [])
            .Count(e => e.Conditions?.Ready != false && (counts is null || counts(e)));
    }

    /// <summary>Why a pod is not ready: a stuck container's waiting reason first, then any waiting one, then unschedulable.</summary>
    public static string? PodReason(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var statuses = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []).ToList();
        var waiting = statuses.Where(s => s.State?.Waiting?.Reason is { Length: > 0 }).ToList();
        var pick = waiting.FirstOrDefault(s => s_stuckReasons.Contains(s.State!.Waiting!.Reason!)) ?? waiting.FirstOrDefault();
        if (pick is not null)
        {
            var w = pick.State!.Waiting!;
            return w.Message is { Length: > 0 } ? $"container {pick.Name}: {w.Reason}: {w.Message}" : $"container {pick.Name}: {w.Reason}";
        }
        if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False") is { } unscheduled)
        {
            return $"not scheduled: {unscheduled.Message ?? unscheduled.Reason}";
        }
        if (statuses.FirstOrDefault(s => s.Ready != true && s.State?.Running is not null) is { } running)
        {
            return $"container {running.Name}: running, not ready (readiness probe)";
        }
        return null;
    }

    // A container without a readiness probe is ready as soon as it runs, so its pod's Ready condition never turns
    // False across a restart of the agent: what shows the restart is every container running since then.
    private static bool RestartedReady(Pod pod, DateTimeOffset since) =>
        pod.Status?.ContainerStatuses is { Count: > 0 } statuses
        && statuses.All(c => c.Ready == true && c.State?.Running?.StartedAt is { } started && started >= since);

    // The API's times have whole seconds: a time taken in the same second as the start counts as after it.
    private static DateTimeOffset WholeSeconds(DateTimeOffset time) => time.AddTicks(-(time.Ticks % TimeSpan.TicksPerSecond));

    // The controllers' counts can be a previous run's: as many of the workload's own pods must be ready since then.
    private static Readiness Fresh(string summary, int want, IEnumerable<Pod> pods, DateTimeOffset? since)
    {
        if (since is null)
        {
            return new Readiness(true, summary);
        }
        var fresh = pods.Count(p => Pod(p, since).Ready);
        return fresh >= want
            ? new Readiness(true, summary)
            : new Readiness(false, $"{fresh}/{want} ready", Because($"{fresh} of {want} pods ready since this start", pods));
    }

    private static bool IsStuck(Pod pod) =>
        (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? [])
            .Any(s => s.State?.Waiting?.Reason is { } reason && s_stuckReasons.Contains(reason));

    private static string Because(string message, IEnumerable<Pod> pods)
    {
        ArgumentNullException.ThrowIfNull(pods);
        // A pod that will not get there on its own explains more than one that is on its way.
        var reason = pods.Where(p => !Pod(p).Ready)
            .Select(p => (Pod: p, Reason: PodReason(p)))
            .Where(p => p.Reason is not null)
            .OrderByDescending(p => IsStuck(p.Pod))
            .FirstOrDefault();
        return reason.Reason is null ? message : $"{message}; pod {reason.Pod.Metadata?.Name}: {reason.Reason}";
    }
}
