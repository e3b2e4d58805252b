using System.Globalization;
using Berth.Api.Models;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// Where a pod goes: the default scheduler's filters that matter on Berth (NodeUnschedulable, TaintToleration,
/// NodeAffinity, in upstream's plugin order: a node is rejected for its first failing filter), then the node with the
/// fewest pods, ties by name. A pure function so issue 5 can add filters and scores without touching the loop.
/// </summary>
public static class NodeChoice
{
    // Upstream reasons: nodeunschedulable.ErrReasonUnschedulable, tainttoleration's errReason, nodeaffinity.ErrReasonPod.
    internal const string ReasonUnschedulable = "node(s) were unschedulable";
    internal const string ReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";
    internal const string NoNodesAvailable = "no nodes available to schedule pods";

    internal const string TaintNodeUnschedulable = "node.kubernetes.io/unschedulable";
    internal const string TaintNodeNotReady = "node.kubernetes.io/not-ready";
    internal const string TaintNodeUnreachable = "node.kubernetes.io/unreachable";

    /// <summary>
    /// The chosen node, or null and upstream's message for the FailedScheduling event and the PodScheduled condition
    /// (FitError.Error with the default preemption plugin's PostFilter message).
    /// </summary>
    public static (string? Node, string? Reason) Choose(Pod pod, IReadOnlyList<Node> nodes, IReadOnlyDictionary<string, int> podsPerNode)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(podsPerNode);
        if (nodes.Count == 0)
        {
            // schedulePod returns ErrNoNodesAvailable before filtering (and before PostFilter).
            return (null, NoNodesAvailable);
        }

        string? best = null;
        var bestCount = int.MaxValue;
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var name = node.Metadata?.Name;
            if (string.IsNullOrEmpty(name))
            {
                continue;
            }
            if (Filter(pod, node) is { } reason)
            {
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                continue;
            }
            var count = podsPerNode.GetValueOrDefault(name);
            if (count < bestCount || (count == bestCount && string.CompareOrdinal(name, best) < 0))
            {
                best = name;
                bestCount = count;
            }
        }

        return best is not null ? (best, null) : (null, FitError(nodes.Count, reasons));
    }

    /// <summary>The first filter that rejects <paramref name="node"/>, as its upstream reason; null when the pod fits.</summary>
    internal static string? Filter(Pod pod, Node node)
    {
        var tolerations = pod.Spec?.Tolerations ?? [];
        if (node.Spec?.Unschedulable == true
            && !TolerationsTolerateTaint(tolerations, new Taint { Key = TaintNodeUnschedulable, Effect = "NoSchedule" }))
        {
            return ReasonUnschedulable;
        }
        if (FindMatchingUntoleratedTaint(EffectiveTaints(node), tolerations) is { } taint)
        {
            return $"node(s) had untolerated taint {{{taint.Key}: {taint.Value}}}";
        }
        if (!MatchesNodeAffinity(pod, node))
        {
            return ReasonNodeAffinity;
        }
        return null;
    }

    /// <summary>
    /// The node's taints plus the condition taint upstream's node lifecycle controller would have added
    /// (TaintNodesByCondition): not-ready when Ready is False or absent, unreachable when Unknown. Berth runs no such
    /// controller, so the scheduler derives it; the message then reads exactly as upstream's.
    /// </summary>
    internal static IEnumerable<Taint> EffectiveTaints(Node node)
    {
        var taints = node.Spec?.Taints ?? [];
        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status;
        var conditionTaint = ready switch
        {
            "True" => null,
            "Unknown" => TaintNodeUnreachable,
            _ => TaintNodeNotReady,
        };
        return conditionTaint is null || taints.Any(t => t.Key == conditionTaint && t.Effect == "NoSchedule")
            ? taints
            : taints.Append(new Taint { Key = conditionTaint, Effect = "NoSchedule" });
    }

    /// <summary>v1helper.FindMatchingUntoleratedTaint with DoNotScheduleTaintsFilterFunc (NoSchedule and NoExecute).</summary>
    internal static Taint? FindMatchingUntoleratedTaint(IEnumerable<Taint> taints, IReadOnlyList<Toleration> tolerations) =>
        taints.FirstOrDefault(t => t.Effect is "NoSchedule" or "NoExecute" && !TolerationsTolerateTaint(tolerations, t));

    /// <summary>v1helper.TolerationsTolerateTaint.</summary>
    internal static bool TolerationsTolerateTaint(IReadOnlyList<Toleration> tolerations, Taint taint) =>
        tolerations.Any(t => ToleratesTaint(t, taint));

    /// <summary>Toleration.ToleratesTaint (k8s.io/api/core/v1/toleration.go).</summary>
    internal static bool ToleratesTaint(Toleration toleration, Taint taint)
    {
        if (!string.IsNullOrEmpty(toleration.Effect) && toleration.Effect != taint.Effect)
        {
            return false;
        }
        if (!string.IsNullOrEmpty(toleration.Key) && toleration.Key != taint.Key)
        {
            return false;
        }
        // An empty operator means Equal; an unknown one tolerates nothing.
        return toleration.Operator switch
        {
            null or "" or "Equal" => (toleration.Value ?? "") == (taint.Value ?? ""),
            "Exists" => true,
            _ => false,
        };
    }

    /// <summary>nodeaffinity's required part: spec.nodeSelector (all labels equal) and the required node selector terms (any term).</summary>
    internal static bool MatchesNodeAffinity(Pod pod, Node node)
    {
        var labels = node.Metadata?.Labels ?? [];
        if (pod.Spec?.NodeSelector is { } selector && selector.Any(s => !labels.TryGetValue(s.Key, out var value) || value != s.Value))
        {
            return false;
        }
        var terms = pod.Spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        return terms is null || terms.Any(term => TermMatches(term, labels, node.Metadata?.Name ?? ""));
    }

    // nodeSelectorTerms are ORed, a term's requirements ANDed; an empty term matches nothing (component-helpers nodeaffinity).
    private static bool TermMatches(NodeSelectorTerm term, Dictionary<string, string> labels, string nodeName)
    {
        var expressions = term.MatchExpressions ?? [];
        var fields = term.MatchFields ?? [];
        if (expressions.Count == 0 && fields.Count == 0)
        {
            return false;
        }
        return expressions.All(r => LabelRequirementMatches(r, labels))
            && fields.All(r => r.Key == "metadata.name" && r.Operator is "In" or "NotIn" && r.Values?.Count == 1
                && (r.Operator == "In") == (r.Values[0] == nodeName));
    }

    private static bool LabelRequirementMatches(NodeSelectorRequirement requirement, Dictionary<string, string> labels)
    {
        var key = requirement.Key ?? "";
        var values = requirement.Values ?? [];
        var has = labels.TryGetValue(key, out var value);
        return requirement.Operator switch
        {
            "In" => has && values.Contains(value!),
            "NotIn" => !has || !values.Contains(value!),
            "Exists" => has,
            "DoesNotExist" => !has,
            "Gt" or "Lt" => has && values.Count == 1
                && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var actual)
                && long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound)
                && (requirement.Operator == "Gt" ? actual > bound : actual < bound),
            _ => false,
        };
    }

    /// <summary>
    /// FitError.Error: "0/N nodes are available: " + the sorted "count reason" histogram, then the default preemption
    /// plugin's PostFilter message. Every filter here is UnschedulableAndUnresolvable, so preemption never helps.
    /// </summary>
    private static string FitError(int allNodes, Dictionary<string, int> reasons)
    {
        var histogram = reasons.Select(r => $"{r.Value} {r.Key}").Order(StringComparer.Ordinal);
        return $"0/{allNodes} nodes are available: {string.Join(", ", histogram)}. "
            + $"preemption: 0/{allNodes} nodes are available: {allNodes} Preemption is not helpful for scheduling.";
    }
}
