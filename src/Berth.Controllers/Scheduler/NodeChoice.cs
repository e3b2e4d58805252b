using Berth.Api.Models;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// Where a pod goes, as kube-scheduler v1.32's default profile decides it: the filters in upstream's plugin order
/// (a node is rejected by its first failing plugin), then the best-scoring feasible node; or, when none fits,
/// upstream's FitError message with the default preemption plugin's PostFilter message. Pure functions over the
/// scheduler cache so they are tested table-driven without an API server.
/// </summary>
internal static partial class NodeChoice
{
    internal const string NoNodesAvailable = "no nodes available to schedule pods";

    // defaultpreemption: the PostFilter statuses, prefixed "preemption: " by the plugin.
    internal const string PreemptionNotHelpful = "Preemption is not helpful for scheduling";
    internal const string NoPreemptionVictims = "No preemption victims found for incoming pod";
    internal const string PreemptionPolicyNever = "not eligible due to preemptionPolicy=Never.";

    /// <summary>The chosen node, or null and the message for the FailedScheduling event and the PodScheduled condition.</summary>
    internal static (string? Node, string? Message) Choose(Pod pod, PodInfo info, IEnumerable<NodeInfo> nodes, SpreadSelector? spread)
    {
        var candidates = nodes.Where(n => n.Node is not null).ToList();
        if (candidates.Count == 0)
        {
            // schedulePod returns ErrNoNodesAvailable before filtering (and before PostFilter).
            return (null, NoNodesAvailable);
        }

        var rejected = new List<(NodeInfo Node, FilterResult Result)>();
        NodeScore? best = null;
        foreach (var node in candidates)
        {
            if (Filter(pod, info, node) is { } result)
            {
                rejected.Add((node, result));
                continue;
            }
            var score = Score(pod, info, node, spread);
            if (best is null || score.CompareTo(best.Value) < 0)
            {
                best = score;
            }
        }
        if (best is { } chosen)
        {
            return (chosen.Node, null);
        }
        return (null, FitError(candidates.Count, rejected.Select(r => r.Result)) + " " + PostFilter(pod, info, rejected, candidates.Count));
    }

    /// <summary>
    /// FitError.Error: "0/N nodes are available: " then every filter reason counted over the nodes ("count reason",
    /// sorted as Go's sort.Strings does, byte-wise), then a period.
    /// </summary>
    internal static string FitError(int allNodes, IEnumerable<FilterResult> results)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var reason in results.SelectMany(r => r.Reasons))
        {
            counts[reason] = counts.GetValueOrDefault(reason) + 1;
        }
        var histogram = counts.Select(r => $"{r.Value} {r.Key}").Order(StringComparer.Ordinal);
        return $"0/{allNodes} nodes are available: {string.Join(", ", histogram)}.";
    }

    /// <summary>
    /// The DefaultPreemption PostFilter message when no preemption happens (preemption.Evaluator.Preempt): only nodes
    /// rejected as Unschedulable (resources, ports) are candidates; every other node is "Preemption is not helpful".
    /// A candidate without lower-priority pods has no victims; one with them is re-filtered without them, and keeps
    /// the reasons it still fails with. Berth does not evict victims, so a node where evicting them would make room is
    /// reported as having none.
    /// </summary>
    internal static string PostFilter(Pod pod, PodInfo info, IReadOnlyList<(NodeInfo Node, FilterResult Result)> rejected, int allNodes)
    {
        if (pod.Spec?.PreemptionPolicy == "Never")
        {
            return "preemption: " + PreemptionPolicyNever;
        }
        var statuses = new List<FilterResult>();
        foreach (var (node, result) in rejected)
        {
            if (!result.Resolvable)
            {
                statuses.Add(new FilterResult([PreemptionNotHelpful], Resolvable: false));
                continue;
            }
            if (!node.Pods.Any(p => p.Priority < info.Priority))
            {
                statuses.Add(new FilterResult([NoPreemptionVictims], Resolvable: false));
                continue;
            }
            var withoutVictims = node.Without(p => p.Priority < info.Priority);
            statuses.Add(Filter(pod, info, withoutVictims) ?? new FilterResult([NoPreemptionVictims], Resolvable: false));
        }
        return "preemption: " + FitError(allNodes, statuses);
    }
}

/// <summary>
/// A filter plugin's rejection: its reasons (NodeResourcesFit may give several), and whether evicting pods could
/// resolve it (Unschedulable) or not (UnschedulableAndUnresolvable), which decides what preemption says.
/// </summary>
internal readonly record struct FilterResult(IReadOnlyList<string> Reasons, bool Resolvable);
