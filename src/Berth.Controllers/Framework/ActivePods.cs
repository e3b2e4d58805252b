using System.Globalization;
using Berth.Api.Models;

namespace Berth.Controllers.Framework;

/// <summary>
/// Pod state helpers shared by the workload controllers: upstream <c>pkg/api/v1/pod</c> (IsPodReady, IsPodAvailable) and
/// <c>pkg/controller/controller_utils.go</c> (FilterActivePods, the ActivePodsWithRanks deletion order).
/// </summary>
public static class ActivePods
{
    /// <summary>The annotation whose int32 value orders pods for deletion (lower first), upstream <c>core.PodDeletionCost</c>.</summary>
    public const string PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";

    /// <summary>Neither finished (Succeeded/Failed) nor being deleted.</summary>
    public static bool IsPodActive(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return pod.Status?.Phase is not ("Succeeded" or "Failed") && pod.Metadata?.DeletionTimestamp is null;
    }

    public static List<Pod> FilterActivePods(IEnumerable<Pod> pods) => [.. pods.Where(IsPodActive)];

    public static PodCondition? GetPodReadyCondition(Pod pod) => pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");

    public static bool IsPodReady(Pod pod) => GetPodReadyCondition(pod)?.Status == "True";

    /// <summary>Ready, and (when <paramref name="minReadySeconds"/> is set) Ready since more than that many seconds before <paramref name="now"/>.</summary>
    public static bool IsPodAvailable(Pod pod, int minReadySeconds, DateTimeOffset now)
    {
        if (!IsPodReady(pod))
        {
            return false;
        }
        var since = GetPodReadyCondition(pod)!.LastTransitionTime;
        return minReadySeconds == 0 || (since is { } t && t.AddSeconds(minReadySeconds) < now);
    }

    /// <summary>
    /// Sorts <paramref name="pods"/> so the pods to delete first come first (upstream <c>sort.Sort(ActivePodsWithRanks)</c>);
    /// <paramref name="ranks"/>[i] belongs to <paramref name="pods"/>[i] and moves with it. <paramref name="now"/> null
    /// compares ready and creation times without the logarithmic scale.
    /// </summary>
    public static void SortForDeletion(List<Pod> pods, List<int> ranks, DateTimeOffset? now)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(ranks);
        if (pods.Count != ranks.Count)
        {
            throw new ArgumentException("every pod needs a rank", nameof(ranks));
        }
        // A stable sort keeps pods that compare equal in their input order.
        var sorted = pods.Select((p, i) => (Pod: p, Rank: ranks[i]))
            .Order(Comparer<(Pod Pod, int Rank)>.Create((a, b) =>
                Less(a.Pod, a.Rank, b.Pod, b.Rank, now) ? -1 : Less(b.Pod, b.Rank, a.Pod, a.Rank, now) ? 1 : 0))
            .ToList();
        for (var i = 0; i < sorted.Count; i++)
        {
            pods[i] = sorted[i].Pod;
            ranks[i] = sorted[i].Rank;
        }
    }

    /// <summary>
    /// Upstream <c>ActivePodsWithRanks.Less</c>: true when pod <paramref name="a"/> (rank <paramref name="rankA"/>) should be
    /// deleted before <paramref name="b"/>. In order: unassigned &lt; assigned; Pending &lt; Unknown &lt; Running; not ready
    /// &lt; ready; lower pod-deletion-cost first; higher rank (more related pods on its node) first; ready for less time
    /// first; more container restarts first; newer first. Times compare on a log2 scale of their age at
    /// <paramref name="now"/> (LogarithmicScaleDown, GA), ties broken by UID.
    /// </summary>
    public static bool Less(Pod a, int rankA, Pod b, int rankB, DateTimeOffset? now)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var nodeA = a.Spec?.NodeName ?? "";
        var nodeB = b.Spec?.NodeName ?? "";
        // 1. Unassigned < assigned.
        if (nodeA != nodeB && (nodeA.Length == 0 || nodeB.Length == 0))
        {
            return nodeA.Length == 0;
        }
        // 2. PodPending < PodUnknown < PodRunning.
        var phaseA = PhaseOrdinal(a.Status?.Phase);
        var phaseB = PhaseOrdinal(b.Status?.Phase);
        if (phaseA != phaseB)
        {
            return phaseA < phaseB;
        }
        // 3. Not ready < ready.
        var readyA = IsPodReady(a);
        var readyB = IsPodReady(b);
        if (readyA != readyB)
        {
            return !readyA;
        }
        // 4. Lower pod-deletion-cost < higher (PodDeletionCost, beta and on by default).
        var costA = DeletionCost(a);
        var costB = DeletionCost(b);
        if (costA != costB)
        {
            return costA < costB;
        }
        // 5. Doubled up < not doubled up: more related pods on the same node come first.
        if (rankA != rankB)
        {
            return rankA > rankB;
        }
        // 6. Been ready for empty time < less time < more time.
        if (readyA && readyB)
        {
            var readyTimeA = GetPodReadyCondition(a)?.LastTransitionTime;
            var readyTimeB = GetPodReadyCondition(b)?.LastTransitionTime;
            if (readyTimeA != readyTimeB)
            {
                return CompareTimes(a, readyTimeA, b, readyTimeB, now);
            }
        }
        // 7. More container restarts (regular containers, then sidecars) < fewer.
        var (regularA, sidecarA) = MaxContainerRestarts(a);
        var (regularB, sidecarB) = MaxContainerRestarts(b);
        if (regularA != regularB)
        {
            return regularA > regularB;
        }
        if (sidecarA != sidecarB)
        {
            return sidecarA > sidecarB;
        }
        // 8. Empty creation time < newer < older.
        var createdA = a.Metadata?.CreationTimestamp;
        var createdB = b.Metadata?.CreationTimestamp;
        if (createdA != createdB)
        {
            return CompareTimes(a, createdA, b, createdB, now);
        }
        return false;
    }

    /// <summary>
    /// Upstream <c>getPodsRankedByRelatedPodsOnSameNode</c>: each pod's rank is the number of active pods among
    /// <paramref name="relatedPods"/> on its node.
    /// </summary>
    public static List<int> RanksByRelatedPodsOnSameNode(IReadOnlyList<Pod> podsToRank, IEnumerable<Pod> relatedPods)
    {
        var podsOnNode = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pod in relatedPods.Where(IsPodActive))
        {
            var node = pod.Spec?.NodeName ?? "";
            podsOnNode[node] = podsOnNode.GetValueOrDefault(node) + 1;
        }
        return [.. podsToRank.Select(p => podsOnNode.GetValueOrDefault(p.Spec?.NodeName ?? ""))];
    }

    /// <summary>Upstream <c>GetDeletionCostFromPodAnnotations</c>: 0 when absent or invalid ("+1", "007", out of int32).</summary>
    internal static int DeletionCost(Pod pod)
    {
        if (pod.Metadata?.Annotations?.TryGetValue(PodDeletionCostAnnotation, out var value) != true || value is null)
        {
            return 0;
        }
        var validFirstDigit = value.Length > 0 && (value[0] == '-' || value == "0" || value[0] is >= '1' and <= '9');
        return validFirstDigit && int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var cost) ? cost : 0;
    }

    private static int PhaseOrdinal(string? phase) => phase switch
    {
        "Unknown" => 1,
        "Running" => 2,
        // Pending, and anything else (Go's map lookup of a missing key gives 0).
        _ => 0,
    };

    // True when time a ranks before time b: zero first, then the more recent; on the log scale equal ranks fall to the UID.
    private static bool CompareTimes(Pod a, DateTimeOffset? timeA, Pod b, DateTimeOffset? timeB, DateTimeOffset? now)
    {
        if (now is null || timeA is null || timeB is null)
        {
            return AfterOrZero(timeA, timeB);
        }
        var rankDiff = LogarithmicRank(timeA.Value, now.Value) - LogarithmicRank(timeB.Value, now.Value);
        if (rankDiff == 0)
        {
            return string.CompareOrdinal(a.Metadata?.Uid, b.Metadata?.Uid) < 0;
        }
        return rankDiff < 0;
    }

    private static bool AfterOrZero(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null || b is null ? a is null : a.Value > b.Value;

    // floor(log2(age in nanoseconds)), -1 for a time not in the past (upstream logarithmicRankDiff).
    private static long LogarithmicRank(DateTimeOffset time, DateTimeOffset now)
    {
        var nanos = (now - time).Ticks * 100.0;
        return nanos > 0 ? (long)Math.Log2(nanos) : -1;
    }

    private static (int Regular, int Sidecar) MaxContainerRestarts(Pod pod)
    {
        var regular = pod.Status?.ContainerStatuses?.Select(c => c.RestartCount ?? 0).DefaultIfEmpty(0).Max() ?? 0;
        var sidecars = pod.Spec?.InitContainers?.Where(c => c.RestartPolicy == "Always").Select(c => c.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        var sidecar = pod.Status?.InitContainerStatuses?.Where(c => c.Name is not null && sidecars.Contains(c.Name))
            .Select(c => c.RestartCount ?? 0).DefaultIfEmpty(0).Max() ?? 0;
        return (Math.Max(regular, 0), Math.Max(sidecar, 0));
    }
}
