using Berth.Api.Models;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// Taint rules the node lifecycle controllers share, ported from upstream pkg/util/taints and k8s.io/api core/v1
/// (Taint.MatchTaint); whether tolerations tolerate taints is <see cref="Framework.Tolerations"/>.
/// </summary>
internal static class Taints
{
    public const string NoExecute = "NoExecute";
    public const string NoSchedule = "NoSchedule";

    public const string NodeNotReady = "node.kubernetes.io/not-ready";
    public const string NodeUnreachable = "node.kubernetes.io/unreachable";
    public const string NodeUnschedulable = "node.kubernetes.io/unschedulable";
    public const string NodeMemoryPressure = "node.kubernetes.io/memory-pressure";
    public const string NodeDiskPressure = "node.kubernetes.io/disk-pressure";
    public const string NodeNetworkUnavailable = "node.kubernetes.io/network-unavailable";
    public const string NodePIDPressure = "node.kubernetes.io/pid-pressure";
    public const string NodeOutOfService = "node.kubernetes.io/out-of-service";

    /// <summary>Taint.MatchTaint: the same key and effect; value and timeAdded do not count.</summary>
    public static bool Match(Taint a, Taint b) => a.Key == b.Key && a.Effect == b.Effect;

    /// <summary>Every field equal (apiequality.Semantic.DeepEqual of two taints).</summary>
    public static bool SemanticEquals(Taint a, Taint b) =>
        a.Key == b.Key && (a.Value ?? "") == (b.Value ?? "") && a.Effect == b.Effect && a.TimeAdded == b.TimeAdded;

    public static bool SemanticEquals(IReadOnlyList<Taint> a, IReadOnlyList<Taint> b) =>
        a.Count == b.Count && a.Zip(b).All(p => SemanticEquals(p.First, p.Second));

    /// <summary>TaintExists: a taint with the same key and effect is present.</summary>
    public static bool Exists(IEnumerable<Taint>? taints, Taint taint) => taints?.Any(t => Match(taint, t)) == true;

    public static bool KeyExists(IEnumerable<Taint>? taints, string key) => taints?.Any(t => t.Key == key) == true;

    public static List<Taint> NoExecuteOnly(IEnumerable<Taint>? taints) => [.. (taints ?? []).Where(t => t.Effect == NoExecute)];

    /// <summary>TaintSetDiff: what to add to <paramref name="current"/> and remove from it to reach <paramref name="desired"/>.</summary>
    public static (List<Taint> Add, List<Taint> Remove) SetDiff(IReadOnlyList<Taint> desired, IReadOnlyList<Taint> current) =>
        ([.. desired.Where(t => !Exists(current, t))], [.. current.Where(t => !Exists(desired, t))]);

    /// <summary>
    /// AddOrUpdateTaint on a node's taints: a matching taint is replaced unless it is identical; otherwise the taint
    /// is appended. Returns whether anything changed.
    /// </summary>
    public static (List<Taint> Taints, bool Updated) AddOrUpdate(IReadOnlyList<Taint>? taints, Taint taint)
    {
        var result = new List<Taint>();
        var updated = false;
        foreach (var existing in taints ?? [])
        {
            if (Match(taint, existing))
            {
                if (SemanticEquals(taint, existing))
                {
                    return ([.. taints!], false);
                }
                result.Add(taint);
                updated = true;
                continue;
            }
            result.Add(existing);
        }
        if (!updated)
        {
            result.Add(taint);
        }
        return (result, true);
    }

    /// <summary>RemoveTaint / DeleteTaint: drops every taint matching <paramref name="taint"/>'s key and effect.</summary>
    public static (List<Taint> Taints, bool Deleted) Remove(IReadOnlyList<Taint>? taints, Taint taint)
    {
        var result = new List<Taint>();
        var deleted = false;
        foreach (var existing in taints ?? [])
        {
            if (Match(taint, existing))
            {
                deleted = true;
                continue;
            }
            result.Add(existing);
        }
        return (result, deleted);
    }

    /// <summary>
    /// getMinTolerationTime: the shortest tolerationSeconds among <paramref name="tolerations"/> (zero when there are
    /// none or one is not positive); null when none sets tolerationSeconds, i.e. the taints are tolerated forever.
    /// </summary>
    public static TimeSpan? MinTolerationTime(IReadOnlyList<Toleration> tolerations)
    {
        if (tolerations.Count == 0)
        {
            return TimeSpan.Zero;
        }
        long? min = null;
        foreach (var toleration in tolerations)
        {
            if (toleration.TolerationSeconds is { } seconds)
            {
                if (seconds <= 0)
                {
                    return TimeSpan.Zero;
                }
                if (min is null || seconds < min)
                {
                    min = seconds;
                }
            }
        }
        return min is { } m ? TimeSpan.FromSeconds(m) : null;
    }

    /// <summary>Two toleration lists with equal fields in the same order (helper.Semantic.DeepEqual).</summary>
    public static bool SemanticEquals(IReadOnlyList<Toleration>? a, IReadOnlyList<Toleration>? b)
    {
        a ??= [];
        b ??= [];
        return a.Count == b.Count && a.Zip(b).All(p =>
            p.First.Key == p.Second.Key && p.First.Operator == p.Second.Operator && p.First.Value == p.Second.Value &&
            p.First.Effect == p.Second.Effect && p.First.TolerationSeconds == p.Second.TolerationSeconds);
    }
}
