using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Controllers.Framework;
using LabelSelector = Berth.Api.Selectors.LabelSelector;

namespace Berth.Controllers.ReplicaSets;

/// <summary>The pure parts of the ReplicaSet controller (upstream replica_set_utils.go and replica_set.go helpers).</summary>
internal static class ReplicaSetUtils
{
    public const string ReplicaFailure = "ReplicaFailure";

    /// <summary>Upstream metav1.LabelSelectorAsSelector of spec.selector (null selects nothing).</summary>
    public static bool TrySelector(ReplicaSet rs, out LabelSelector selector, out string? error)
    {
        var node = rs.Spec?.Selector is null ? null : KubeJson.ToNode(rs.Spec.Selector);
        if (LabelSelector.TryFromMetav1(node, out var parsed, out error))
        {
            selector = parsed;
            return true;
        }
        selector = LabelSelector.Nothing;
        return false;
    }

    public static int Replicas(ReplicaSet rs) => rs.Spec?.Replicas ?? 1;

    public static int MinReadySeconds(ReplicaSet rs) => rs.Spec?.MinReadySeconds ?? 0;

    /// <summary>
    /// Upstream calculateStatus: counts of the claimed active pods (fully labeled = carrying every template label, ready,
    /// available at <paramref name="now"/>), and the ReplicaFailure condition: set (FailedCreate / FailedDelete, the
    /// error as message) when managing replicas failed and it is not already there, removed once a sync succeeds.
    /// observedGeneration is left as it was: the status write sets it.
    /// </summary>
    public static ReplicaSetStatus CalculateStatus(ReplicaSet rs, IReadOnlyList<Pod> filteredPods, Exception? manageReplicasError, DateTimeOffset now)
    {
        var status = rs.Status is null ? new ReplicaSetStatus() : KubeJson.DeepClone(rs.Status);
        var templateLabels = LabelSelector.FromDictionary(rs.Spec?.Template?.Metadata?.Labels ?? []);
        var minReadySeconds = MinReadySeconds(rs);
        int fullyLabeled = 0, ready = 0, available = 0;
        foreach (var pod in filteredPods)
        {
            if (templateLabels.Matches(pod.Metadata?.Labels))
            {
                fullyLabeled++;
            }
            if (ActivePods.IsPodReady(pod))
            {
                ready++;
                if (ActivePods.IsPodAvailable(pod, minReadySeconds, now))
                {
                    available++;
                }
            }
        }

        var failure = status.Conditions?.FirstOrDefault(c => c.Type == ReplicaFailure);
        if (manageReplicasError is not null && failure is null)
        {
            var diff = filteredPods.Count - Replicas(rs);
            var reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
            status.Conditions = [.. status.Conditions ?? [], new ReplicaSetCondition
            {
                Type = ReplicaFailure,
                Status = "True",
                LastTransitionTime = now,
                Reason = reason,
                Message = manageReplicasError.Message,
            }];
        }
        else if (manageReplicasError is null && failure is not null)
        {
            status.Conditions = [.. status.Conditions!.Where(c => c.Type != ReplicaFailure)];
            if (status.Conditions.Count == 0)
            {
                status.Conditions = null;
            }
        }

        status.Replicas = filteredPods.Count;
        status.FullyLabeledReplicas = fullyLabeled;
        status.ReadyReplicas = ready;
        status.AvailableReplicas = available;
        return status;
    }

    /// <summary>Upstream updateReplicaSetStatus's steady-state test: nothing to write when counts, generation and conditions agree.</summary>
    public static bool StatusUnchanged(ReplicaSet rs, ReplicaSetStatus status)
    {
        var current = rs.Status ?? new ReplicaSetStatus();
        return (current.Replicas ?? 0) == (status.Replicas ?? 0)
            && (current.FullyLabeledReplicas ?? 0) == (status.FullyLabeledReplicas ?? 0)
            && (current.ReadyReplicas ?? 0) == (status.ReadyReplicas ?? 0)
            && (current.AvailableReplicas ?? 0) == (status.AvailableReplicas ?? 0)
            && (rs.Metadata?.Generation ?? 0) == (current.ObservedGeneration ?? 0)
            && ConditionsEqual(current.Conditions, status.Conditions);
    }

    /// <summary>
    /// Upstream slowStartBatch: calls <paramref name="fn"/> <paramref name="count"/> times in batches of
    /// <paramref name="initialBatchSize"/>, 2×, 4×, … (each batch concurrently), stopping after the first batch with a
    /// failure, so a create that fails for all (quota, admission) is tried a handful of times, not hundreds.
    /// Returns how many calls succeeded and the first error of the failing batch.
    /// </summary>
    public static async Task<(int Successes, Exception? Error)> SlowStartBatchAsync(int count, int initialBatchSize, Func<Task> fn)
    {
        var remaining = count;
        var successes = 0;
        for (var batchSize = Math.Min(remaining, initialBatchSize); batchSize > 0; batchSize = Math.Min(2 * batchSize, remaining))
        {
            var results = await Task.WhenAll(Enumerable.Range(0, batchSize).Select(async _ =>
            {
                try
                {
                    await fn().ConfigureAwait(false);
                    return null;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return e;
                }
            })).ConfigureAwait(false);
            var errors = results.Where(e => e is not null).ToList();
            successes += batchSize - errors.Count;
            if (errors.Count > 0)
            {
                return (successes, errors[0]);
            }
            remaining -= batchSize;
        }
        return (successes, null);
    }

    /// <summary>
    /// Upstream getPodsToDelete: the first <paramref name="diff"/> of <paramref name="filteredPods"/> in deletion order,
    /// ranked by how many <paramref name="relatedPods"/> (the pods of every ReplicaSet with the same owner) share their
    /// node, so scaling down spreads what is left. No sorting when all go.
    /// </summary>
    public static List<Pod> GetPodsToDelete(IReadOnlyList<Pod> filteredPods, IReadOnlyList<Pod> relatedPods, int diff, DateTimeOffset now)
    {
        var pods = filteredPods.ToList();
        if (diff < pods.Count)
        {
            var ranks = ActivePods.RanksByRelatedPodsOnSameNode(pods, relatedPods);
            ActivePods.SortForDeletion(pods, ranks, now);
        }
        return pods.Take(diff).ToList();
    }

    public static string PodKey(Pod pod) => $"{pod.Metadata?.Namespace}/{pod.Metadata?.Name}";

    private static bool ConditionsEqual(List<ReplicaSetCondition>? a, List<ReplicaSetCondition>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }
        for (var i = 0; i < (a?.Count ?? 0); i++)
        {
            var (x, y) = (a![i], b![i]);
            if (x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.LastTransitionTime != y.LastTransitionTime)
            {
                return false;
            }
        }
        return true;
    }
}
