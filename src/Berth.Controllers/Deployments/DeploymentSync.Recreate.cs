using Berth.Api.Models;
using static Berth.Controllers.Deployments.DeploymentUtil;

namespace Berth.Controllers.Deployments;

/// <summary>
/// Upstream <c>recreate.go</c>: all old ReplicaSets to 0, wait until none of their pods runs, then create and scale
/// up the new one. The new ReplicaSet is not even created before that, so old and new pods never overlap.
/// </summary>
internal sealed partial class DeploymentSync
{
    internal async Task RolloutRecreateAsync(Deployment d, List<ReplicaSet> rsList, Dictionary<string, List<Pod>> podMap, CancellationToken ct)
    {
        var (newRS, oldRSs) = await GetAllReplicaSetsAndSyncRevisionAsync(d, rsList, createIfNotExisted: false, ct).ConfigureAwait(false);
        var allRSs = AllOf(oldRSs, newRS);
        var activeOldRSs = FilterActiveReplicaSets(oldRSs);

        if (await ScaleDownOldReplicaSetsForRecreateAsync(activeOldRSs, d, ct).ConfigureAwait(false))
        {
            await SyncRolloutStatusAsync(allRSs, newRS, d, ct).ConfigureAwait(false);
            return;
        }

        // The last old pod's deletion (DeploymentController's pod handler) brings the Deployment back.
        if (OldPodsRunning(newRS, oldRSs, podMap))
        {
            await SyncRolloutStatusAsync(allRSs, newRS, d, ct).ConfigureAwait(false);
            return;
        }

        if (newRS is null)
        {
            (newRS, oldRSs) = await GetAllReplicaSetsAndSyncRevisionAsync(d, rsList, createIfNotExisted: true, ct).ConfigureAwait(false);
            allRSs = AllOf(oldRSs, newRS);
        }

        await ScaleReplicaSetAndRecordEventAsync(newRS!, d.SpecReplicas(), d, ct).ConfigureAwait(false);

        if (DeploymentComplete(d, d.Status))
        {
            await CleanupDeploymentAsync(oldRSs, d, ct).ConfigureAwait(false);
        }
        await SyncRolloutStatusAsync(allRSs, newRS, d, ct).ConfigureAwait(false);
    }

    private async Task<bool> ScaleDownOldReplicaSetsForRecreateAsync(List<ReplicaSet> oldRSs, Deployment d, CancellationToken ct)
    {
        var scaled = false;
        for (var i = 0; i < oldRSs.Count; i++)
        {
            if (oldRSs[i].SpecReplicas() == 0)
            {
                continue;
            }
            var (scaledRS, updatedRS) = await ScaleReplicaSetAndRecordEventAsync(oldRSs[i], 0, d, ct).ConfigureAwait(false);
            if (scaledRS)
            {
                oldRSs[i] = updatedRS;
                scaled = true;
            }
        }
        return scaled;
    }

    /// <summary>Whether an old ReplicaSet still reports pods, or any pod of one is not Succeeded/Failed (Unknown counts as running).</summary>
    internal static bool OldPodsRunning(ReplicaSet? newRS, List<ReplicaSet> oldRSs, Dictionary<string, List<Pod>> podMap)
    {
        if (GetActualReplicaCountForReplicaSets(oldRSs) > 0)
        {
            return true;
        }
        return podMap.Any(entry => (newRS is null || newRS.Metadata?.Uid != entry.Key)
            && entry.Value.Any(pod => pod.Status?.Phase is not ("Failed" or "Succeeded")));
    }
}
