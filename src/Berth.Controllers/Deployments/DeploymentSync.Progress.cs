using Berth.Api.Models;
using static Berth.Controllers.Deployments.DeploymentUtil;

namespace Berth.Controllers.Deployments;

/// <summary>
/// Upstream <c>progress.go</c>: the Progressing condition during a rollout (NewReplicaSetAvailable,
/// ReplicaSetUpdated, ProgressDeadlineExceeded), ReplicaFailure copied from the ReplicaSets, and the requeue that
/// notices a stuck rollout when its deadline passes.
/// </summary>
internal sealed partial class DeploymentSync
{
    internal async Task SyncRolloutStatusAsync(List<ReplicaSet?> allRSs, ReplicaSet? newRS, Deployment d, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var newStatus = CalculateStatus(allRSs, newRS, d, now);

        if (!HasProgressDeadline(d))
        {
            RemoveCondition(newStatus, ProgressingCondition);
        }

        // A completed rollout being resynced (e.g. after a scale-up) has no progress to estimate.
        var currentCond = GetCondition(d.Status, ProgressingCondition);
        var isCompleteDeployment = newStatus.Replicas == newStatus.UpdatedReplicas && currentCond?.Reason == NewRSAvailableReason;
        if (HasProgressDeadline(d) && !isCompleteDeployment)
        {
            if (DeploymentComplete(d, newStatus))
            {
                var message = newRS is null
                    ? $"Deployment \"{d.Metadata?.Name}\" has successfully progressed."
                    : $"ReplicaSet \"{newRS.Metadata?.Name}\" has successfully progressed.";
                SetCondition(newStatus, NewCondition(ProgressingCondition, "True", NewRSAvailableReason, message, now));
            }
            else if (DeploymentProgressing(d, newStatus))
            {
                // Progress renews lastUpdateTime even though the reason stays (which SetCondition would skip), and keeps
                // lastTransitionTime when the condition was already True.
                var message = newRS is null
                    ? $"Deployment \"{d.Metadata?.Name}\" is progressing."
                    : $"ReplicaSet \"{newRS.Metadata?.Name}\" is progressing.";
                var condition = NewCondition(ProgressingCondition, "True", ReplicaSetUpdatedReason, message, now);
                if (currentCond is not null)
                {
                    if (currentCond.Status == "True")
                    {
                        condition.LastTransitionTime = currentCond.LastTransitionTime;
                    }
                    RemoveCondition(newStatus, ProgressingCondition);
                }
                SetCondition(newStatus, condition);
            }
            else if (DeploymentTimedOut(d, newStatus, now))
            {
                var message = newRS is null
                    ? $"Deployment \"{d.Metadata?.Name}\" has timed out progressing."
                    : $"ReplicaSet \"{newRS.Metadata?.Name}\" has timed out progressing.";
                SetCondition(newStatus, NewCondition(ProgressingCondition, "False", TimedOutReason, message, now));
            }
        }

        // Only one ReplicaFailure condition is carried over, the new ReplicaSet's first.
        if (GetReplicaFailures(allRSs, newRS) is [var failure, ..])
        {
            SetCondition(newStatus, failure);
        }
        else
        {
            RemoveCondition(newStatus, ReplicaFailureCondition);
        }

        if (StatusEquals(d.Status, newStatus))
        {
            RequeueStuckDeployment(d, newStatus);
            return;
        }
        d.Status = newStatus;
        await control.UpdateStatusAsync(d, ct).ConfigureAwait(false);
    }

    /// <summary>The ReplicaFailure conditions of the new ReplicaSet, else of all ReplicaSets, as Deployment conditions.</summary>
    private static List<DeploymentCondition> GetReplicaFailures(List<ReplicaSet?> allRSs, ReplicaSet? newRS)
    {
        static IEnumerable<DeploymentCondition> Failures(ReplicaSet? rs) =>
            (rs?.Status?.Conditions ?? []).Where(c => c.Type == ReplicaFailureCondition).Select(ReplicaSetToDeploymentCondition);

        var conditions = Failures(newRS).ToList();
        return conditions.Count > 0 ? conditions : [.. allRSs.SelectMany(Failures)];
    }

    /// <summary>
    /// Requeues a rollout that shows no progress for when its deadline passes (kubernetes#34458), rate-limited when that
    /// is less than a second away. The delay, or null when no check is needed (no deadline or Progressing condition,
    /// complete, or already timed out).
    /// </summary>
    internal TimeSpan? RequeueStuckDeployment(Deployment d, DeploymentStatus newStatus)
    {
        var currentCond = GetCondition(d.Status, ProgressingCondition);
        if (!HasProgressDeadline(d) || currentCond is null)
        {
            return null;
        }
        if (DeploymentComplete(d, newStatus) || currentCond.Reason == TimedOutReason)
        {
            return null;
        }
        // lastUpdated + progressDeadlineSeconds - now: a condition updated 3 minutes ago with a 10 minute deadline is
        // checked again in 7 minutes.
        var after = (currentCond.LastUpdateTime ?? DateTimeOffset.MinValue).AddSeconds(d.Spec!.ProgressDeadlineSeconds!.Value) - time.GetUtcNow();
        if (after < TimeSpan.FromSeconds(1))
        {
            control.EnqueueRateLimited(d);
            return TimeSpan.Zero;
        }
        // A second more so clock granularity cannot make the check land just before the deadline (kubernetes#39785).
        control.EnqueueAfter(d, after + TimeSpan.FromSeconds(1));
        return after;
    }
}
