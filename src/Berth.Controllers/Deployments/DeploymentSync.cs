using System.Globalization;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.Framework;
using static Berth.Controllers.Deployments.DeploymentUtil;

namespace Berth.Controllers.Deployments;

/// <summary>
/// One Deployment's reconcile once its ReplicaSets are claimed and its pods grouped (upstream <c>sync.go</c>; the
/// rollout strategies and progress reporting are the other parts of this class). The Deployment passed in is the
/// sync's own copy and is changed in place, as upstream's; cached ReplicaSets are copied before any change.
/// </summary>
internal sealed partial class DeploymentSync(IDeploymentControl control, TimeProvider time)
{
    // Limits deployment.kubernetes.io/revision-history to about 100 revisions.
    private const int MaxRevHistoryLengthInChars = 2000;

    private static readonly KindInfo s_deploymentKind = KubeKinds.TryGet(typeof(Deployment), out var kind)
        ? kind
        : throw new InvalidOperationException("Deployment is not a known kind");

    /// <summary>The tail of upstream syncDeployment: deletion, pause, scaling, then the strategy's rollout.</summary>
    public async Task SyncAsync(Deployment d, List<ReplicaSet> rsList, Dictionary<string, List<Pod>> podMap, CancellationToken ct)
    {
        d.Status ??= new DeploymentStatus();
        if (d.Metadata?.DeletionTimestamp is not null)
        {
            await SyncStatusOnlyAsync(d, rsList, ct).ConfigureAwait(false);
            return;
        }

        // An Unknown Progressing condition while paused, so a Deployment resumed after progressDeadlineSeconds is not
        // reported as timed out at once.
        await CheckPausedConditionsAsync(d, ct).ConfigureAwait(false);

        if (d.Spec?.Paused == true)
        {
            await SyncScaleAsync(d, rsList, ct).ConfigureAwait(false);
            return;
        }

        // apps/v1 has no spec.rollbackTo: `kubectl rollout undo` writes the old template itself, which is a rollout.
        if (await IsScalingEventAsync(d, rsList, ct).ConfigureAwait(false))
        {
            await SyncScaleAsync(d, rsList, ct).ConfigureAwait(false);
            return;
        }

        switch (d.Spec?.Strategy?.Type)
        {
            case RecreateStrategy:
                await RolloutRecreateAsync(d, rsList, podMap, ct).ConfigureAwait(false);
                return;
            case RollingUpdateStrategy:
                await RolloutRollingAsync(d, rsList, ct).ConfigureAwait(false);
                return;
            default:
                throw new InvalidOperationException($"unexpected deployment strategy type: {d.Spec?.Strategy?.Type}");
        }
    }

    /// <summary>Status only, no changes: for a Deployment being deleted.</summary>
    internal async Task SyncStatusOnlyAsync(Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRS, oldRSs) = await GetAllReplicaSetsAndSyncRevisionAsync(d, rsList, createIfNotExisted: false, ct).ConfigureAwait(false);
        await SyncDeploymentStatusAsync(AllOf(oldRSs, newRS), newRS, d, ct).ConfigureAwait(false);
    }

    /// <summary>Upstream <c>sync</c>: scaling events and paused Deployments.</summary>
    internal async Task SyncScaleAsync(Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRS, oldRSs) = await GetAllReplicaSetsAndSyncRevisionAsync(d, rsList, createIfNotExisted: false, ct).ConfigureAwait(false);
        await ScaleAsync(d, newRS, oldRSs, ct).ConfigureAwait(false);

        // A paused Deployment is not rolling out: a good time to trim its history.
        if (d.Spec?.Paused == true)
        {
            await CleanupDeploymentAsync(oldRSs, d, ct).ConfigureAwait(false);
        }
        await SyncDeploymentStatusAsync(AllOf(oldRSs, newRS), newRS, d, ct).ConfigureAwait(false);
    }

    internal async Task CheckPausedConditionsAsync(Deployment d, CancellationToken ct)
    {
        if (!HasProgressDeadline(d))
        {
            return;
        }
        var cond = GetCondition(d.Status, ProgressingCondition);
        if (cond?.Reason == TimedOutReason)
        {
            // A reported lack of progress is not overwritten by a pause.
            return;
        }
        var pausedCondExists = cond?.Reason == PausedDeployReason;
        var paused = d.Spec?.Paused == true;
        if (paused && !pausedCondExists)
        {
            SetCondition(d.Status!, NewCondition(ProgressingCondition, "Unknown", PausedDeployReason, "Deployment is paused", time.GetUtcNow()));
        }
        else if (!paused && pausedCondExists)
        {
            SetCondition(d.Status!, NewCondition(ProgressingCondition, "Unknown", ResumedDeployReason, "Deployment is resumed", time.GetUtcNow()));
        }
        else
        {
            return;
        }
        await control.UpdateStatusAsync(d, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The new ReplicaSet (created when asked and missing) and the old ones, with the new one's revision raised above
    /// every old one and copied to the Deployment.
    /// </summary>
    internal async Task<(ReplicaSet? NewRS, List<ReplicaSet> OldRSs)> GetAllReplicaSetsAndSyncRevisionAsync(
        Deployment d, List<ReplicaSet> rsList, bool createIfNotExisted, CancellationToken ct)
    {
        var (_, allOldRSs) = FindOldReplicaSets(d, rsList);
        var newRS = await GetNewReplicaSetAsync(d, rsList, allOldRSs, createIfNotExisted, ct).ConfigureAwait(false);
        return (newRS, allOldRSs);
    }

    private async Task<ReplicaSet?> GetNewReplicaSetAsync(Deployment d, List<ReplicaSet> rsList, List<ReplicaSet> oldRSs,
        bool createIfNotExisted, CancellationToken ct)
    {
        var existingNewRS = FindNewReplicaSet(d, rsList);
        var newRevision = (MaxRevision(oldRSs) + 1).ToString(CultureInfo.InvariantCulture);

        if (existingNewRS is not null)
        {
            // Sync its annotations (the Deployment's, the revision, desired/max replicas) and minReadySeconds; the
            // update's watch event brings the Deployment back to copy the revision.
            var rsCopy = KubeJson.DeepClone(existingNewRS);
            var annotationsUpdated = SetNewReplicaSetAnnotations(d, rsCopy, newRevision, exists: true, MaxRevHistoryLengthInChars);
            var minReadySeconds = d.Spec?.MinReadySeconds ?? 0;
            if (annotationsUpdated || (rsCopy.Spec?.MinReadySeconds ?? 0) != minReadySeconds)
            {
                (rsCopy.Spec ??= new ReplicaSetSpec()).MinReadySeconds = minReadySeconds == 0 ? null : minReadySeconds;
                return await control.UpdateReplicaSetAsync(rsCopy, ct).ConfigureAwait(false);
            }

            var needsUpdate = SetDeploymentRevision(d, rsCopy.Metadata?.Annotations?.GetValueOrDefault(RevisionAnnotation) ?? "");
            // A Deployment that starts caring about progress: count from the first time its new RS was seen.
            if (HasProgressDeadline(d) && GetCondition(d.Status, ProgressingCondition) is null)
            {
                var message = $"Found new replica set {Quote(rsCopy.Metadata?.Name)}";
                SetCondition(d.Status!, NewCondition(ProgressingCondition, "True", FoundNewRSReason, message, time.GetUtcNow()));
                needsUpdate = true;
            }
            if (needsUpdate)
            {
                await control.UpdateStatusAsync(d, ct).ConfigureAwait(false);
            }
            return rsCopy;
        }

        if (!createIfNotExisted)
        {
            return null;
        }

        var newRS = NewReplicaSet(d);
        var newReplicasCount = NewRSNewReplicas(d, oldRSs.Append(newRS), newRS);
        newRS.Spec!.Replicas = newReplicasCount;
        SetNewReplicaSetAnnotations(d, newRS, newRevision, exists: false, MaxRevHistoryLengthInChars);

        // The name is deterministic, so an existing one is either ours (a slow cache) or a hash collision.
        var alreadyExists = false;
        ReplicaSet createdRS;
        try
        {
            createdRS = await control.CreateReplicaSetAsync(newRS, ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.Reason == "AlreadyExists")
        {
            alreadyExists = true;
            var rs = control.GetCachedReplicaSet(newRS.Metadata!.Namespace!, newRS.Metadata.Name!)
                ?? throw new InvalidOperationException($"replicaset.apps {Quote(newRS.Metadata.Name)} not found", e);
            if (OwnerRefs.ControllerOf(rs)?.Uid is { } uid && uid == d.Metadata?.Uid && EqualIgnoreHash(d.Spec?.Template, rs.Spec?.Template))
            {
                createdRS = rs;
            }
            else
            {
                // A different template under the same hash: bump collisionCount (it feeds the hash) and retry on requeue.
                d.Status!.CollisionCount = (d.Status.CollisionCount ?? 0) + 1;
                try
                {
                    await control.UpdateStatusAsync(d, ct).ConfigureAwait(false);
                }
                catch (Exception statusError) when (statusError is not OperationCanceledException)
                {
                    // The create's error is the one to report; the next sync bumps the count again.
                }
                throw;
            }
        }
        catch (KubeApiException e) when (HasStatusCause(e, "NamespaceTerminating"))
        {
            // Every create in a terminating namespace fails: nothing to report.
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var message = $"Failed to create new replica set {Quote(newRS.Metadata!.Name)}: {e.Message}";
            if (HasProgressDeadline(d))
            {
                SetCondition(d.Status!, NewCondition(ProgressingCondition, "False", FailedRSCreateReason, message, time.GetUtcNow()));
                try
                {
                    await control.UpdateStatusAsync(d, ct).ConfigureAwait(false);
                }
                catch (Exception statusError) when (statusError is not OperationCanceledException)
                {
                    // The failed create is the bigger issue and is what gets reported.
                }
            }
            control.RecordEvent(d, "Warning", FailedRSCreateReason, message);
            throw;
        }

        if (!alreadyExists && newReplicasCount > 0)
        {
            control.RecordEvent(d, "Normal", "ScalingReplicaSet",
                $"Scaled up replica set {createdRS.Metadata?.Name} from 0 to {newReplicasCount}");
        }
        var updateStatus = SetDeploymentRevision(d, newRevision);
        if (!alreadyExists && HasProgressDeadline(d))
        {
            var message = $"Created new replica set {Quote(createdRS.Metadata?.Name)}";
            SetCondition(d.Status!, NewCondition(ProgressingCondition, "True", NewReplicaSetReason, message, time.GetUtcNow()));
            updateStatus = true;
        }
        if (updateStatus)
        {
            await control.UpdateStatusAsync(d, ct).ConfigureAwait(false);
        }
        return createdRS;
    }

    /// <summary>The new ReplicaSet for the Deployment's template: named and labelled with its hash, 0 replicas, owned by the Deployment.</summary>
    private static ReplicaSet NewReplicaSet(Deployment d)
    {
        var template = KubeJson.DeepClone(d.Spec?.Template ?? new PodTemplateSpec());
        var hash = PodTemplateHash.Compute(template, d.Status?.CollisionCount);
        var labels = CloneAndAddLabel(d.Spec?.Template?.Metadata?.Labels, UniqueLabelKey, hash);
        (template.Metadata ??= new ObjectMeta()).Labels = labels;
        return new ReplicaSet
        {
            ApiVersion = "apps/v1",
            Kind = "ReplicaSet",
            Metadata = new ObjectMeta
            {
                Name = d.Metadata?.Name + "-" + hash,
                Namespace = d.Metadata?.Namespace,
                OwnerReferences = [OwnerRefs.NewControllerRef(d, s_deploymentKind)],
                Labels = new Dictionary<string, string>(labels),
            },
            Spec = new ReplicaSetSpec
            {
                Replicas = 0,
                MinReadySeconds = d.Spec?.MinReadySeconds,
                Selector = CloneSelectorAndAddLabel(d.Spec?.Selector, UniqueLabelKey, hash),
                Template = template,
            },
        };
    }

    /// <summary>
    /// Proportional scaling: when the Deployment's size changes mid-rollout (or while paused), every active ReplicaSet
    /// grows or shrinks in proportion to its size, so neither old nor new pods gain ground from the resize alone.
    /// </summary>
    internal async Task ScaleAsync(Deployment d, ReplicaSet? newRS, List<ReplicaSet> oldRSs, CancellationToken ct)
    {
        // One active ReplicaSet (or none: then the newest) takes the full count.
        if (FindActiveOrLatest(newRS, oldRSs) is { } activeOrLatest)
        {
            if (activeOrLatest.SpecReplicas() == d.SpecReplicas())
            {
                return;
            }
            await ScaleReplicaSetAndRecordEventAsync(activeOrLatest, d.SpecReplicas(), d, ct).ConfigureAwait(false);
            return;
        }

        // A saturated new ReplicaSet (e.g. one just adopted) leaves nothing to the old ones.
        if (IsSaturated(d, newRS))
        {
            foreach (var old in FilterActiveReplicaSets(oldRSs))
            {
                await ScaleReplicaSetAndRecordEventAsync(old, 0, d, ct).ConfigureAwait(false);
            }
            return;
        }

        if (!IsRollingUpdate(d))
        {
            return;
        }
        var allRSs = FilterActiveReplicaSets(oldRSs.Append(newRS));
        var allRSsReplicas = GetReplicaCountForReplicaSets(allRSs);
        var allowedSize = d.SpecReplicas() > 0 ? d.SpecReplicas() + MaxSurge(d) : 0;

        // Replicas to add (or remove, when negative), shared out from the largest ReplicaSet down; among equals the
        // newest grows first and the oldest shrinks first.
        var deploymentReplicasToAdd = allowedSize - allRSsReplicas;
        if (deploymentReplicasToAdd > 0)
        {
            allRSs.Sort(BySizeNewer);
        }
        else if (deploymentReplicasToAdd < 0)
        {
            allRSs.Sort(BySizeOlder);
        }

        var deploymentReplicasAdded = 0;
        var nameToSize = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var rs in allRSs)
        {
            var proportion = deploymentReplicasToAdd != 0 ? GetProportion(rs, d, deploymentReplicasToAdd, deploymentReplicasAdded) : 0;
            nameToSize[rs.Metadata!.Name!] = rs.SpecReplicas() + proportion;
            deploymentReplicasAdded += proportion;
        }

        for (var i = 0; i < allRSs.Count; i++)
        {
            var rs = allRSs[i];
            var name = rs.Metadata!.Name!;
            // Rounding leftovers go to the first (largest) ReplicaSet.
            if (i == 0 && deploymentReplicasToAdd != 0)
            {
                nameToSize[name] = Math.Max(0, nameToSize[name] + deploymentReplicasToAdd - deploymentReplicasAdded);
            }
            await ScaleReplicaSetAsync(rs, nameToSize[name], d, ct).ConfigureAwait(false);
        }
    }

    internal async Task<(bool Scaled, ReplicaSet RS)> ScaleReplicaSetAndRecordEventAsync(ReplicaSet rs, int newScale, Deployment d, CancellationToken ct)
    {
        if (rs.SpecReplicas() == newScale)
        {
            return (false, rs);
        }
        return await ScaleReplicaSetAsync(rs, newScale, d, ct).ConfigureAwait(false);
    }

    /// <summary>Sets the ReplicaSet's size and its desired/max replicas annotations (one update when either differs).</summary>
    private async Task<(bool Scaled, ReplicaSet RS)> ScaleReplicaSetAsync(ReplicaSet rs, int newScale, Deployment d, CancellationToken ct)
    {
        var sizeNeedsUpdate = rs.SpecReplicas() != newScale;
        var maxReplicas = d.SpecReplicas() + MaxSurge(d);
        if (!sizeNeedsUpdate && !ReplicasAnnotationsNeedUpdate(rs, d.SpecReplicas(), maxReplicas))
        {
            return (false, rs);
        }
        var oldScale = rs.SpecReplicas();
        var rsCopy = KubeJson.DeepClone(rs);
        (rsCopy.Spec ??= new ReplicaSetSpec()).Replicas = newScale;
        SetReplicasAnnotations(rsCopy, d.SpecReplicas(), maxReplicas);
        var updated = await control.UpdateReplicaSetAsync(rsCopy, ct).ConfigureAwait(false);
        if (sizeNeedsUpdate)
        {
            var operation = oldScale < newScale ? "up" : "down";
            control.RecordEvent(d, "Normal", "ScalingReplicaSet",
                $"Scaled {operation} replica set {updated.Metadata?.Name} to {newScale} from {oldScale}");
        }
        return (sizeNeedsUpdate, updated);
    }

    /// <summary>
    /// Deletes the oldest revisions beyond revisionHistoryLimit, only ReplicaSets scaled to 0 with no pods left whose
    /// controller has caught up with them (status.observedGeneration), and none already being deleted.
    /// </summary>
    internal async Task CleanupDeploymentAsync(List<ReplicaSet> oldRSs, Deployment d, CancellationToken ct)
    {
        if (!HasRevisionHistoryLimit(d))
        {
            return;
        }
        var cleanable = oldRSs.Where(rs => rs.Metadata?.DeletionTimestamp is null).ToList();
        var diff = cleanable.Count - d.Spec!.RevisionHistoryLimit!.Value;
        if (diff <= 0)
        {
            return;
        }
        cleanable.Sort(ByRevision);
        foreach (var rs in cleanable.Take(diff))
        {
            if (rs.StatusReplicas() != 0 || rs.SpecReplicas() != 0
                || (rs.Metadata?.Generation ?? 0) > (rs.Status?.ObservedGeneration ?? 0) || rs.Metadata?.DeletionTimestamp is not null)
            {
                continue;
            }
            try
            {
                await control.DeleteReplicaSetAsync(rs.Metadata!.Namespace!, rs.Metadata.Name!, ct).ConfigureAwait(false);
            }
            catch (KubeApiException e) when (e.StatusCode == 404)
            {
                // Already gone. Any other error stops here rather than keep loading the API server.
            }
        }
    }

    /// <summary>Writes the status when it differs from the one calculated from the ReplicaSets.</summary>
    internal async Task SyncDeploymentStatusAsync(List<ReplicaSet?> allRSs, ReplicaSet? newRS, Deployment d, CancellationToken ct)
    {
        var newStatus = CalculateStatus(allRSs, newRS, d, time.GetUtcNow());
        if (StatusEquals(d.Status, newStatus))
        {
            return;
        }
        d.Status = newStatus;
        await control.UpdateStatusAsync(d, ct).ConfigureAwait(false);
    }

    /// <summary>The status the ReplicaSets give: counts, observedGeneration, and the Available condition.</summary>
    internal static DeploymentStatus CalculateStatus(List<ReplicaSet?> allRSs, ReplicaSet? newRS, Deployment d, DateTimeOffset now)
    {
        var availableReplicas = GetAvailableReplicaCountForReplicaSets(allRSs);
        var totalReplicas = GetReplicaCountForReplicaSets(allRSs);
        // More available than desired (while scaling down) is not negative unavailability.
        var unavailableReplicas = Math.Max(0, totalReplicas - availableReplicas);

        var status = new DeploymentStatus
        {
            ObservedGeneration = d.Metadata?.Generation is > 0 and var generation ? generation : null,
            Replicas = OmitZero(GetActualReplicaCountForReplicaSets(allRSs)),
            UpdatedReplicas = OmitZero(GetActualReplicaCountForReplicaSets([newRS])),
            ReadyReplicas = OmitZero(GetReadyReplicaCountForReplicaSets(allRSs)),
            AvailableReplicas = OmitZero(availableReplicas),
            UnavailableReplicas = OmitZero(unavailableReplicas),
            CollisionCount = d.Status?.CollisionCount,
            Conditions = d.Status?.Conditions is { Count: > 0 } conditions ? [.. conditions] : null,
        };

        if (availableReplicas >= d.SpecReplicas() - MaxUnavailable(d))
        {
            SetCondition(status, NewCondition(AvailableCondition, "True", MinimumReplicasAvailable, "Deployment has minimum availability.", now));
        }
        else
        {
            SetCondition(status, NewCondition(AvailableCondition, "False", MinimumReplicasUnavailable, "Deployment does not have minimum availability.", now));
        }
        return status;
    }

    /// <summary>Whether the Deployment was resized: an active ReplicaSet's desired-replicas annotation differs from spec.replicas.</summary>
    internal async Task<bool> IsScalingEventAsync(Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRS, oldRSs) = await GetAllReplicaSetsAndSyncRevisionAsync(d, rsList, createIfNotExisted: false, ct).ConfigureAwait(false);
        foreach (var rs in FilterActiveReplicaSets(oldRSs.Append(newRS)))
        {
            if (TryGetDesiredReplicasAnnotation(rs, out var desired) && desired != d.SpecReplicas())
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>reflect.DeepEqual of two statuses as Go sees them: zero counts and no conditions are absent on the wire.</summary>
    internal static bool StatusEquals(DeploymentStatus? a, DeploymentStatus? b) =>
        KubeJson.SerializeToUtf8Bytes(OmitEmpty(a)).AsSpan().SequenceEqual(KubeJson.SerializeToUtf8Bytes(OmitEmpty(b)));

    private static DeploymentStatus OmitEmpty(DeploymentStatus? s) => new()
    {
        ObservedGeneration = s?.ObservedGeneration is 0 ? null : s?.ObservedGeneration,
        Replicas = OmitZero(s?.Replicas ?? 0),
        UpdatedReplicas = OmitZero(s?.UpdatedReplicas ?? 0),
        ReadyReplicas = OmitZero(s?.ReadyReplicas ?? 0),
        AvailableReplicas = OmitZero(s?.AvailableReplicas ?? 0),
        UnavailableReplicas = OmitZero(s?.UnavailableReplicas ?? 0),
        CollisionCount = s?.CollisionCount,
        Conditions = s?.Conditions is { Count: > 0 } conditions ? conditions : null,
    };

    private static int? OmitZero(int value) => value == 0 ? null : value;

    private static List<ReplicaSet?> AllOf(List<ReplicaSet> oldRSs, ReplicaSet? newRS) => [.. oldRSs, newRS];

    // Go's %q for the names and reasons it quotes.
    private static string Quote(string? s) => "\"" + s + "\"";

    private static bool HasStatusCause(KubeApiException e, string cause) =>
        e.Status?.Details?.Causes?.Any(c => c.Reason == cause) == true;
}
