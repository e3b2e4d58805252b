using Berth.Api.Models;
using static Berth.Controllers.Deployments.DeploymentUtil;

namespace Berth.Controllers.Deployments;

/// <summary>
/// Upstream <c>rolling.go</c>: grow the new ReplicaSet within maxSurge, shrink the old ones within maxUnavailable,
/// one step per sync; each ReplicaSet update brings the Deployment back for the next step.
/// </summary>
internal sealed partial class DeploymentSync
{
    internal async Task RolloutRollingAsync(Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRS, oldRSs) = await GetAllReplicaSetsAndSyncRevisionAsync(d, rsList, createIfNotExisted: true, ct).ConfigureAwait(false);
        var allRSs = AllOf(oldRSs, newRS);

        if (await ReconcileNewReplicaSetAsync(allRSs, newRS!, d, ct).ConfigureAwait(false))
        {
            await SyncRolloutStatusAsync(allRSs, newRS, d, ct).ConfigureAwait(false);
            return;
        }

        if (await ReconcileOldReplicaSetsAsync(allRSs, FilterActiveReplicaSets(oldRSs), newRS!, d, ct).ConfigureAwait(false))
        {
            await SyncRolloutStatusAsync(allRSs, newRS, d, ct).ConfigureAwait(false);
            return;
        }

        if (DeploymentComplete(d, d.Status))
        {
            await CleanupDeploymentAsync(oldRSs, d, ct).ConfigureAwait(false);
        }
        await SyncRolloutStatusAsync(allRSs, newRS, d, ct).ConfigureAwait(false);
    }

    /// <summary>Scales the new ReplicaSet up as far as maxSurge allows, or down to spec.replicas; true when it was scaled.</summary>
    internal async Task<bool> ReconcileNewReplicaSetAsync(List<ReplicaSet?> allRSs, ReplicaSet newRS, Deployment d, CancellationToken ct)
    {
        if (newRS.SpecReplicas() == d.SpecReplicas())
        {
            return false;
        }
        if (newRS.SpecReplicas() > d.SpecReplicas())
        {
            var (scaledDown, _) = await ScaleReplicaSetAndRecordEventAsync(newRS, d.SpecReplicas(), d, ct).ConfigureAwait(false);
            return scaledDown;
        }
        var newReplicasCount = NewRSNewReplicas(d, allRSs, newRS);
        var (scaled, _) = await ScaleReplicaSetAndRecordEventAsync(newRS, newReplicasCount, d, ct).ConfigureAwait(false);
        return scaled;
    }

    /// <summary>
    /// Scales old ReplicaSets down as far as availability allows: their unhealthy replicas first, then available ones
    /// while more than minAvailable pods are available. True when anything was scaled down.
    /// </summary>
    internal async Task<bool> ReconcileOldReplicaSetsAsync(List<ReplicaSet?> allRSs, List<ReplicaSet> oldRSs, ReplicaSet newRS, Deployment d, CancellationToken ct)
    {
        if (GetReplicaCountForReplicaSets(oldRSs) == 0)
        {
            return false;
        }
        var allPodsCount = GetReplicaCountForReplicaSets(allRSs);
        var maxUnavailable = MaxUnavailable(d);

        // maxScaledDown = allPodsCount - minAvailable - newRSPodsUnavailable: counting the new ReplicaSet's
        // unavailable pods keeps a broken new template from letting old pods go (upstream's worked examples: a
        // crash-looping new RS blocks scale-down; rolling back, or over to yet another template, frees it).
        var minAvailable = d.SpecReplicas() - maxUnavailable;
        var newRSUnavailablePodCount = newRS.SpecReplicas() - newRS.AvailableReplicas();
        var maxScaledDown = allPodsCount - minAvailable - newRSUnavailablePodCount;
        if (maxScaledDown <= 0)
        {
            return false;
        }

        // Unhealthy replicas first: they would otherwise block the rollout until it times out (kubernetes#16737).
        int cleanupCount;
        try
        {
            (oldRSs, cleanupCount) = await CleanupUnhealthyReplicasAsync(oldRSs, d, maxScaledDown, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Upstream drops the error here; the next sync tries again.
            return false;
        }

        int scaledDownCount;
        try
        {
            scaledDownCount = await ScaleDownOldReplicaSetsForRollingUpdateAsync([.. oldRSs, newRS], oldRSs, d, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return false;
        }
        return cleanupCount + scaledDownCount > 0;
    }

    /// <summary>Scales old ReplicaSets down by their unavailable replicas, oldest first, at most <paramref name="maxCleanupCount"/> in all.</summary>
    internal async Task<(List<ReplicaSet> OldRSs, int ScaledDown)> CleanupUnhealthyReplicasAsync(List<ReplicaSet> oldRSs, Deployment d, int maxCleanupCount, CancellationToken ct)
    {
        // The ReplicaSet deletes not-ready, unscheduled and pending pods first, so only unhealthy ones go.
        oldRSs.Sort(ByCreationTimestamp);
        var totalScaledDown = 0;
        for (var i = 0; i < oldRSs.Count; i++)
        {
            var targetRS = oldRSs[i];
            if (totalScaledDown >= maxCleanupCount)
            {
                break;
            }
            if (targetRS.SpecReplicas() == 0 || targetRS.SpecReplicas() == targetRS.AvailableReplicas())
            {
                // Nothing to scale down, or no unhealthy replicas.
                continue;
            }
            var scaledDownCount = Math.Min(maxCleanupCount - totalScaledDown, targetRS.SpecReplicas() - targetRS.AvailableReplicas());
            var newReplicasCount = targetRS.SpecReplicas() - scaledDownCount;
            if (newReplicasCount > targetRS.SpecReplicas())
            {
                throw new InvalidOperationException($"when cleaning up unhealthy replicas, got invalid request to scale down {targetRS.Metadata?.Namespace}/{targetRS.Metadata?.Name} {targetRS.SpecReplicas()} -> {newReplicasCount}");
            }
            var (_, updatedOldRS) = await ScaleReplicaSetAndRecordEventAsync(targetRS, newReplicasCount, d, ct).ConfigureAwait(false);
            totalScaledDown += scaledDownCount;
            oldRSs[i] = updatedOldRS;
        }
        return (oldRSs, totalScaledDown);
    }

    /// <summary>Scales old ReplicaSets down, oldest first, by as many pods as are available beyond minAvailable.</summary>
    internal async Task<int> ScaleDownOldReplicaSetsForRollingUpdateAsync(List<ReplicaSet?> allRSs, List<ReplicaSet> oldRSs, Deployment d, CancellationToken ct)
    {
        var minAvailable = d.SpecReplicas() - MaxUnavailable(d);
        var availablePodCount = GetAvailableReplicaCountForReplicaSets(allRSs);
        if (availablePodCount <= minAvailable)
        {
            return 0;
        }
        oldRSs.Sort(ByCreationTimestamp);
        var totalScaledDown = 0;
        var totalScaleDownCount = availablePodCount - minAvailable;
        foreach (var targetRS in oldRSs)
        {
            if (totalScaledDown >= totalScaleDownCount)
            {
                break;
            }
            if (targetRS.SpecReplicas() == 0)
            {
                continue;
            }
            var scaleDownCount = Math.Min(targetRS.SpecReplicas(), totalScaleDownCount - totalScaledDown);
            var newReplicasCount = targetRS.SpecReplicas() - scaleDownCount;
            if (newReplicasCount > targetRS.SpecReplicas())
            {
                throw new InvalidOperationException($"when scaling down old RS, got invalid request to scale down {targetRS.Metadata?.Namespace}/{targetRS.Metadata?.Name} {targetRS.SpecReplicas()} -> {newReplicasCount}");
            }
            await ScaleReplicaSetAndRecordEventAsync(targetRS, newReplicasCount, d, ct).ConfigureAwait(false);
            totalScaledDown += scaleDownCount;
        }
        return totalScaledDown;
    }
}
