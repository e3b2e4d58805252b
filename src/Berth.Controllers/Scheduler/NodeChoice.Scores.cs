using Berth.Api.Models;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Scheduler;

internal static partial class NodeChoice
{
    // framework.MaxNodeScore.
    private const long MaxNodeScore = 100;

    /// <summary>
    /// How a feasible node ranks. Upstream sums the default score plugins' normalized scores and breaks ties at
    /// random; Berth compares them in order of their default weights instead, so a choice is deterministic and
    /// explainable: fewer untolerated PreferNoSchedule taints (TaintToleration, weight 3), more preferred node
    /// affinity weight (NodeAffinity, 2), fewer pods of the same owner (PodTopologySpread's system default
    /// constraints, 2), a higher LeastAllocated + BalancedAllocation score (NodeResourcesFit and
    /// NodeResourcesBalancedAllocation, 1 each), fewer pods, then the node name.
    /// </summary>
    internal readonly record struct NodeScore(string Node, int PreferNoScheduleTaints, long PreferredAffinity, int Spread, long ResourceScore, int Pods)
        : IComparable<NodeScore>
    {
        public int CompareTo(NodeScore other)
        {
            var c = PreferNoScheduleTaints.CompareTo(other.PreferNoScheduleTaints);
            c = c != 0 ? c : other.PreferredAffinity.CompareTo(PreferredAffinity);
            c = c != 0 ? c : Spread.CompareTo(other.Spread);
            c = c != 0 ? c : other.ResourceScore.CompareTo(ResourceScore);
            c = c != 0 ? c : Pods.CompareTo(other.Pods);
            return c != 0 ? c : string.CompareOrdinal(Node, other.Node);
        }
    }

    internal static NodeScore Score(Pod pod, PodInfo info, NodeInfo node, SpreadSelector? spread) => new(
        node.Name,
        UntoleratedPreferNoSchedule(pod, node.Node!),
        PreferredAffinity(pod, node.Node!),
        spread is null ? 0 : node.Pods.Count(spread.Matches),
        LeastAllocated(info, node) + BalancedAllocation(info, node),
        node.Pods.Count);

    /// <summary>tainttoleration Score: the node's PreferNoSchedule taints the pod's PreferNoSchedule (or effect-less) tolerations miss.</summary>
    internal static int UntoleratedPreferNoSchedule(Pod pod, Node node)
    {
        var tolerations = (pod.Spec?.Tolerations ?? []).Where(t => string.IsNullOrEmpty(t.Effect) || t.Effect == "PreferNoSchedule").ToList();
        return (node.Spec?.Taints ?? []).Count(t => t.Effect == "PreferNoSchedule" && !Tolerations.TolerationsTolerateTaint(tolerations, t));
    }

    /// <summary>nodeaffinity Score: the summed weights of the preferred terms the node matches.</summary>
    internal static long PreferredAffinity(Pod pod, Node node) =>
        (pod.Spec?.Affinity?.NodeAffinity?.PreferredDuringSchedulingIgnoredDuringExecution ?? [])
            .Where(t => t.Weight is > 0 && t.Preference is not null && TermMatches(t.Preference, node))
            .Sum(t => (long)t.Weight!.Value);

    /// <summary>
    /// LeastAllocated over cpu and memory (weight 1 each): the free share of allocatable after the pod, with
    /// request-less containers counted at the scheduler's defaults (NonZeroRequested); a resource the node does not
    /// report is left out.
    /// </summary>
    internal static long LeastAllocated(PodInfo info, NodeInfo node)
    {
        long score = 0, resources = 0;
        foreach (var (requested, allocatable) in new[]
        {
            (node.NonZeroMilliCpu + info.NonZeroMilliCpu, node.Allocatable.MilliCpu),
            (node.NonZeroMemory + info.NonZeroMemory, node.Allocatable.Memory),
        })
        {
            if (allocatable == 0)
            {
                continue;
            }
            score += requested > allocatable ? 0 : (allocatable - requested) * MaxNodeScore / allocatable;
            resources++;
        }
        return resources == 0 ? 0 : score / resources;
    }

    /// <summary>
    /// BalancedAllocation over cpu and memory: 100 × (1 − the standard deviation of the requested fractions, each
    /// capped at 1), from actual requests, so a node whose cpu and memory fill evenly is preferred.
    /// </summary>
    internal static long BalancedAllocation(PodInfo info, NodeInfo node)
    {
        var fractions = new List<double>(2);
        foreach (var (requested, allocatable) in new[]
        {
            (node.Requested.MilliCpu + info.Requests.MilliCpu, node.Allocatable.MilliCpu),
            (node.Requested.Memory + info.Requests.Memory, node.Allocatable.Memory),
        })
        {
            if (allocatable != 0)
            {
                fractions.Add(Math.Min(1, (double)requested / allocatable));
            }
        }
        var std = fractions.Count == 2 ? Math.Abs((fractions[0] - fractions[1]) / 2) : 0;
        return (long)((1 - std) * MaxNodeScore);
    }
}

/// <summary>
/// Which pods count as "the same workload" for spreading: PodTopologySpread's system default constraints select
/// with helper.DefaultSelector — the selectors of the Services that select the pod, ANDed with its ReplicaSet's,
/// ReplicationController's or StatefulSet's selector. Berth takes the controller by uid (its pods are the ones it
/// owns) rather than re-reading the owner's selector; terminating pods and other namespaces never count.
/// </summary>
internal sealed record SpreadSelector(string Namespace, string? ControllerUid, IReadOnlyDictionary<string, string>? Labels)
{
    private static readonly HashSet<(string ApiVersion, string Kind)> s_spreadOwners =
        [("v1", "ReplicationController"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet")];

    public bool Matches(PodInfo pod) =>
        !pod.Terminating
        && pod.Namespace == Namespace
        && (ControllerUid is null || pod.ControllerUid == ControllerUid)
        && (Labels is null || Labels.All(l => pod.Labels.TryGetValue(l.Key, out var value) && value == l.Value));

    /// <summary>The pod's selector, or null when nothing selects it (no spreading, as upstream's empty selector).</summary>
    public static SpreadSelector? For(Pod pod, IEnumerable<Service> servicesInNamespace)
    {
        var podLabels = pod.Metadata?.Labels ?? [];
        Dictionary<string, string>? labels = null;
        foreach (var selector in servicesInNamespace.Select(s => s.Spec?.Selector))
        {
            // GetPodServices: a Service without a selector selects nothing.
            if (selector is null || !selector.All(l => podLabels.TryGetValue(l.Key, out var value) && value == l.Value))
            {
                continue;
            }
            foreach (var (key, value) in selector)
            {
                (labels ??= new(StringComparer.Ordinal))[key] = value;
            }
        }
        var owner = pod.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
        var controllerUid = owner is not null && s_spreadOwners.Contains((owner.ApiVersion ?? "", owner.Kind ?? "")) ? owner.Uid : null;
        if (labels is not { Count: > 0 } && controllerUid is null)
        {
            return null;
        }
        return new SpreadSelector(pod.Metadata?.Namespace ?? "", controllerUid, labels is { Count: > 0 } ? labels : null);
    }
}
