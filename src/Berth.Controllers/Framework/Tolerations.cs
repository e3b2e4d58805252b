using Berth.Api.Models;

namespace Berth.Controllers.Framework;

/// <summary>
/// Whether tolerations tolerate taints, as the scheduler and the taint eviction controller both ask it: ported from
/// k8s.io/api core/v1 (Toleration.ToleratesTaint) and pkg/apis/core/v1/helper (TolerationsTolerateTaint,
/// FindMatchingUntoleratedTaint, GetMatchingTolerations).
/// </summary>
internal static class Tolerations
{
    /// <summary>Toleration.ToleratesTaint: an empty effect or key matches any; an empty operator means Equal.</summary>
    public static bool ToleratesTaint(Toleration toleration, Taint taint)
    {
        if (!string.IsNullOrEmpty(toleration.Effect) && toleration.Effect != taint.Effect)
        {
            return false;
        }
        if (!string.IsNullOrEmpty(toleration.Key) && toleration.Key != taint.Key)
        {
            return false;
        }
        // An unknown operator tolerates nothing.
        return toleration.Operator switch
        {
            null or "" or "Equal" => (toleration.Value ?? "") == (taint.Value ?? ""),
            "Exists" => true,
            _ => false,
        };
    }

    /// <summary>v1helper.TolerationsTolerateTaint: some toleration tolerates the taint.</summary>
    public static bool TolerationsTolerateTaint(IReadOnlyList<Toleration> tolerations, Taint taint) =>
        tolerations.Any(t => ToleratesTaint(t, taint));

    /// <summary>
    /// v1helper.FindMatchingUntoleratedTaint: the first taint passing <paramref name="inclusionFilter"/> that no
    /// toleration tolerates, or null.
    /// </summary>
    public static Taint? FindMatchingUntoleratedTaint(IEnumerable<Taint> taints, IReadOnlyList<Toleration> tolerations, Func<Taint, bool> inclusionFilter) =>
        taints.FirstOrDefault(t => inclusionFilter(t) && !TolerationsTolerateTaint(tolerations, t));

    /// <summary>
    /// v1helper.GetMatchingTolerations: whether every taint is tolerated, and for each taint the first toleration
    /// that tolerates it.
    /// </summary>
    public static (bool AllTolerated, List<Toleration> Used) GetMatchingTolerations(IReadOnlyList<Taint> taints, IReadOnlyList<Toleration>? tolerations)
    {
        if (taints.Count == 0)
        {
            return (true, []);
        }
        if (tolerations is null || tolerations.Count == 0)
        {
            return (false, []);
        }
        var used = new List<Toleration>();
        foreach (var taint in taints)
        {
            var match = tolerations.FirstOrDefault(t => ToleratesTaint(t, taint));
            if (match is null)
            {
                return (false, []);
            }
            used.Add(match);
        }
        return (true, used);
    }
}
