using System.Globalization;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Selector = Berth.Api.Selectors.LabelSelector;

namespace Berth.Controllers.Deployments;

/// <summary>
/// Upstream <c>pkg/controller/deployment/util/deployment_util.go</c> (v1.32) and the ReplicaSet helpers of
/// <c>controller_utils.go</c>: pure functions over Deployments and their ReplicaSets, no I/O. Unset numbers read as
/// the API server's defaults (spec.replicas 1) or Go's zero values (status counts 0), as upstream sees them.
/// </summary>
internal static class DeploymentUtil
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";
    public const string RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history";
    public const string DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
    public const string MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
    public const string LastAppliedConfigAnnotation = "kubectl.kubernetes.io/last-applied-configuration";
    public const string DeprecatedRollbackTo = "deprecated.deployment.rollback.to";

    /// <summary>apps.DefaultDeploymentUniqueLabelKey: the label that keeps the pods of each ReplicaSet apart.</summary>
    public const string UniqueLabelKey = "pod-template-hash";

    public const string RollingUpdateStrategy = "RollingUpdate";
    public const string RecreateStrategy = "Recreate";

    public const string AvailableCondition = "Available";
    public const string ProgressingCondition = "Progressing";
    public const string ReplicaFailureCondition = "ReplicaFailure";

    public const string ReplicaSetUpdatedReason = "ReplicaSetUpdated";
    public const string FailedRSCreateReason = "ReplicaSetCreateError";
    public const string NewReplicaSetReason = "NewReplicaSetCreated";
    public const string FoundNewRSReason = "FoundNewReplicaSet";
    public const string NewRSAvailableReason = "NewReplicaSetAvailable";
    public const string TimedOutReason = "ProgressDeadlineExceeded";
    public const string PausedDeployReason = "DeploymentPaused";
    public const string ResumedDeployReason = "DeploymentResumed";
    public const string MinimumReplicasAvailable = "MinimumReplicasAvailable";
    public const string MinimumReplicasUnavailable = "MinimumReplicasUnavailable";

    private static readonly HashSet<string> s_annotationsToSkip = new(StringComparer.Ordinal)
    {
        LastAppliedConfigAnnotation,
        RevisionAnnotation,
        RevisionHistoryAnnotation,
        DesiredReplicasAnnotation,
        MaxReplicasAnnotation,
        DeprecatedRollbackTo,
    };

    public static int SpecReplicas(this Deployment d) => d.Spec?.Replicas ?? 1;

    public static int SpecReplicas(this ReplicaSet rs) => rs.Spec?.Replicas ?? 1;

    public static int StatusReplicas(this ReplicaSet rs) => rs.Status?.Replicas ?? 0;

    public static int AvailableReplicas(this ReplicaSet rs) => rs.Status?.AvailableReplicas ?? 0;

    public static bool IsRollingUpdate(Deployment d) => d.Spec?.Strategy?.Type == RollingUpdateStrategy;

    // HasProgressDeadline / HasRevisionHistoryLimit: MaxInt32 means "never" / "keep all".
    public static bool HasProgressDeadline(Deployment d) => d.Spec?.ProgressDeadlineSeconds is { } s && s != int.MaxValue;

    public static bool HasRevisionHistoryLimit(Deployment d) => d.Spec?.RevisionHistoryLimit is { } l && l != int.MaxValue;

    public static DeploymentCondition NewCondition(string type, string status, string reason, string message, DateTimeOffset now)
    {
        // What the API stores has second precision; holding the same in memory keeps status comparisons exact.
        var time = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        return new DeploymentCondition
        {
            Type = type,
            Status = status,
            LastUpdateTime = time,
            LastTransitionTime = time,
            Reason = reason,
            Message = message,
        };
    }

    public static DeploymentCondition? GetCondition(DeploymentStatus? status, string type) =>
        status?.Conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary>
    /// Adds or replaces the condition of its type; nothing happens when one with the same status and reason exists, and
    /// the lastTransitionTime is kept when only the reason changes.
    /// </summary>
    public static void SetCondition(DeploymentStatus status, DeploymentCondition condition)
    {
        var current = GetCondition(status, condition.Type!);
        if (current is not null && current.Status == condition.Status && current.Reason == condition.Reason)
        {
            return;
        }
        if (current is not null && current.Status == condition.Status)
        {
            condition.LastTransitionTime = current.LastTransitionTime;
        }
        var conditions = FilterOutCondition(status.Conditions, condition.Type!) ?? [];
        conditions.Add(condition);
        status.Conditions = conditions;
    }

    public static void RemoveCondition(DeploymentStatus status, string type) =>
        status.Conditions = FilterOutCondition(status.Conditions, type);

    public static DeploymentCondition ReplicaSetToDeploymentCondition(ReplicaSetCondition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        LastTransitionTime = c.LastTransitionTime,
        LastUpdateTime = c.LastTransitionTime,
        Reason = c.Reason,
        Message = c.Message,
    };

    // Go's nil slice when nothing is left, which the API omits.
    private static List<DeploymentCondition>? FilterOutCondition(List<DeploymentCondition>? conditions, string type)
    {
        var kept = conditions?.Where(c => c.Type != type).ToList();
        return kept is { Count: > 0 } ? kept : null;
    }

    public static bool SetDeploymentRevision(Deployment d, string revision)
    {
        var annotations = (d.Metadata ??= new ObjectMeta()).Annotations ??= [];
        if (annotations.GetValueOrDefault(RevisionAnnotation, "") == revision)
        {
            return false;
        }
        annotations[RevisionAnnotation] = revision;
        return true;
    }

    /// <summary>The highest revision among the ReplicaSets; unparseable revisions are skipped.</summary>
    public static long MaxRevision(IEnumerable<ReplicaSet?> replicaSets)
    {
        var max = 0L;
        foreach (var rs in replicaSets)
        {
            if (rs is not null && TryRevision(rs, out var v) && v > max)
            {
                max = v;
            }
        }
        return max;
    }

    /// <summary>The revision annotation's value (0 when absent); false when it does not parse.</summary>
    public static bool TryRevision(IKubernetesObject obj, out long revision)
    {
        revision = 0;
        return obj.Metadata?.Annotations?.TryGetValue(RevisionAnnotation, out var v) != true || ParseInt64(v!, out revision);
    }

    /// <summary>
    /// Copies the Deployment's annotations (but those of the skip list) onto the new ReplicaSet and raises its revision
    /// to <paramref name="newRevision"/> when lower, recording the revision it had in revision-history (at most
    /// <paramref name="revHistoryLimitInChars"/> characters, oldest dropped first). A ReplicaSet about to be created
    /// (<paramref name="exists"/> false) also gets the desired/max replicas annotations. True when anything changed.
    /// </summary>
    public static bool SetNewReplicaSetAnnotations(Deployment d, ReplicaSet newRS, string newRevision, bool exists, int revHistoryLimitInChars)
    {
        var annotationChanged = CopyDeploymentAnnotationsToReplicaSet(d, newRS);
        var annotations = (newRS.Metadata ??= new ObjectMeta()).Annotations ??= [];
        var hadRevision = annotations.TryGetValue(RevisionAnnotation, out var oldRevision);
        oldRevision ??= "";
        // The new RS's revision should be the greatest; old RSes deleted since it was last raised can make newRevision
        // smaller than what it has, so it is only ever raised.
        if (!ParseInt64(oldRevision, out var oldRevisionInt))
        {
            if (oldRevision.Length != 0)
            {
                return false;
            }
            oldRevisionInt = 0;
        }
        if (!ParseInt64(newRevision, out var newRevisionInt))
        {
            return false;
        }
        if (oldRevisionInt < newRevisionInt)
        {
            annotations[RevisionAnnotation] = newRevision;
            annotationChanged = true;
        }
        // A revision existed and was raised: a rollback to this ReplicaSet. Keep the old revisions for history.
        if (hadRevision && oldRevisionInt < newRevisionInt)
        {
            var history = annotations.GetValueOrDefault(RevisionHistoryAnnotation, "");
            var oldRevisions = history.Split(',').ToList();
            if (oldRevisions[0].Length == 0)
            {
                annotations[RevisionHistoryAnnotation] = oldRevision;
            }
            else
            {
                var totalLen = history.Length + oldRevision.Length + 1;
                var start = 0;
                while (totalLen > revHistoryLimitInChars && start < oldRevisions.Count)
                {
                    totalLen = totalLen - oldRevisions[start].Length - 1;
                    start++;
                }
                if (totalLen <= revHistoryLimitInChars)
                {
                    annotations[RevisionHistoryAnnotation] = string.Join(',', oldRevisions.Skip(start).Append(oldRevision));
                }
            }
        }
        if (!exists && SetReplicasAnnotations(newRS, d.SpecReplicas(), d.SpecReplicas() + MaxSurge(d)))
        {
            annotationChanged = true;
        }
        return annotationChanged;
    }

    private static bool CopyDeploymentAnnotationsToReplicaSet(Deployment d, ReplicaSet rs)
    {
        var changed = false;
        var annotations = (rs.Metadata ??= new ObjectMeta()).Annotations ??= [];
        foreach (var (key, value) in d.Metadata?.Annotations ?? [])
        {
            // The revision is the new RS's to own: the Deployment's copy may be stale if its last update failed.
            if (s_annotationsToSkip.Contains(key) || (annotations.TryGetValue(key, out var existing) && existing == value))
            {
                continue;
            }
            annotations[key] = value;
            changed = true;
        }
        return changed;
    }

    /// <summary>The only active ReplicaSet, or the newest when none is active; null when several are (sorts <paramref name="oldRSs"/> newest first).</summary>
    public static ReplicaSet? FindActiveOrLatest(ReplicaSet? newRS, List<ReplicaSet> oldRSs)
    {
        if (newRS is null && oldRSs.Count == 0)
        {
            return null;
        }
        oldRSs.Sort((a, b) => ByCreationTimestamp(b, a));
        var active = FilterActiveReplicaSets(oldRSs.Append(newRS));
        return active.Count switch
        {
            0 => newRS ?? oldRSs[0],
            1 => active[0],
            _ => null,
        };
    }

    public static bool TryGetDesiredReplicasAnnotation(ReplicaSet rs, out int value) => TryGetIntAnnotation(rs, DesiredReplicasAnnotation, out value);

    private static bool TryGetIntAnnotation(ReplicaSet rs, string key, out int value)
    {
        value = 0;
        return rs.Metadata?.Annotations?.TryGetValue(key, out var text) == true && Atoi(text, out value);
    }

    public static bool SetReplicasAnnotations(ReplicaSet rs, int desiredReplicas, int maxReplicas)
    {
        var updated = false;
        var annotations = (rs.Metadata ??= new ObjectMeta()).Annotations ??= [];
        var desired = desiredReplicas.ToString(CultureInfo.InvariantCulture);
        if (annotations.GetValueOrDefault(DesiredReplicasAnnotation, "") != desired)
        {
            annotations[DesiredReplicasAnnotation] = desired;
            updated = true;
        }
        var max = maxReplicas.ToString(CultureInfo.InvariantCulture);
        if (annotations.GetValueOrDefault(MaxReplicasAnnotation, "") != max)
        {
            annotations[MaxReplicasAnnotation] = max;
            updated = true;
        }
        return updated;
    }

    public static bool ReplicasAnnotationsNeedUpdate(ReplicaSet rs, int desiredReplicas, int maxReplicas)
    {
        var annotations = rs.Metadata?.Annotations;
        return annotations is null
            || annotations.GetValueOrDefault(DesiredReplicasAnnotation, "") != desiredReplicas.ToString(CultureInfo.InvariantCulture)
            || annotations.GetValueOrDefault(MaxReplicasAnnotation, "") != maxReplicas.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>How many pods a rolling Deployment may have unavailable: never more than its replicas; 0 for Recreate or 0 replicas.</summary>
    public static int MaxUnavailable(Deployment d)
    {
        if (!IsRollingUpdate(d) || d.SpecReplicas() == 0)
        {
            return 0;
        }
        // Bad values are refused by validation; upstream ignores the error here too.
        var (_, maxUnavailable, _) = ResolveFenceposts(d.Spec?.Strategy?.RollingUpdate?.MaxSurge, d.Spec?.Strategy?.RollingUpdate?.MaxUnavailable, d.SpecReplicas());
        return Math.Min(maxUnavailable, d.SpecReplicas());
    }

    public static int MinAvailable(Deployment d) => IsRollingUpdate(d) ? d.SpecReplicas() - MaxUnavailable(d) : 0;

    public static int MaxSurge(Deployment d)
    {
        if (!IsRollingUpdate(d))
        {
            return 0;
        }
        var (maxSurge, _, _) = ResolveFenceposts(d.Spec?.Strategy?.RollingUpdate?.MaxSurge, d.Spec?.Strategy?.RollingUpdate?.MaxUnavailable, d.SpecReplicas());
        return maxSurge;
    }

    /// <summary>
    /// maxSurge and maxUnavailable in pods for <paramref name="desired"/> replicas: percentages of surge round up, of
    /// unavailability down; when both come to 0, 1 may be unavailable (surge might be impossible, e.g. under quota).
    /// </summary>
    public static (int Surge, int Unavailable, string? Error) ResolveFenceposts(IntOrString? maxSurge, IntOrString? maxUnavailable, int desired)
    {
        var (surge, error) = GetScaledValueFromIntOrPercent(maxSurge ?? IntOrString.FromInt32(0), desired, roundUp: true);
        if (error is not null)
        {
            return (0, 0, error);
        }
        var (unavailable, unavailableError) = GetScaledValueFromIntOrPercent(maxUnavailable ?? IntOrString.FromInt32(0), desired, roundUp: false);
        if (unavailableError is not null)
        {
            return (0, 0, unavailableError);
        }
        if (surge == 0 && unavailable == 0)
        {
            unavailable = 1;
        }
        return (surge, unavailable, null);
    }

    /// <summary>intstr.GetScaledValueFromIntOrPercent with its error texts.</summary>
    public static (int Value, string? Error) GetScaledValueFromIntOrPercent(IntOrString? intOrPercent, int total, bool roundUp)
    {
        if (intOrPercent is not { } value)
        {
            return (0, "nil value for IntOrString");
        }
        if (value.IsInt)
        {
            return (value.IntValue, null);
        }
        var s = value.StringValue!;
        if (!s.EndsWith('%'))
        {
            return (0, "invalid value for IntOrString: invalid type: string is not a percentage");
        }
        if (!Atoi(s[..^1], out var percent))
        {
            return (0, $"invalid value for IntOrString: invalid value \"{s}\": strconv.Atoi: parsing \"{s[..^1]}\": invalid syntax");
        }
        var scaled = percent * (double)total / 100;
        return ((int)(roundUp ? Math.Ceiling(scaled) : Math.Floor(scaled)), null);
    }

    /// <summary>
    /// How many replicas <paramref name="rs"/> gets of the <paramref name="deploymentReplicasToAdd"/> a scaling event
    /// distributes, capped by what is left after <paramref name="deploymentReplicasAdded"/>.
    /// </summary>
    public static int GetProportion(ReplicaSet? rs, Deployment d, int deploymentReplicasToAdd, int deploymentReplicasAdded)
    {
        if (rs is null || rs.SpecReplicas() == 0 || deploymentReplicasToAdd == 0 || deploymentReplicasToAdd == deploymentReplicasAdded)
        {
            return 0;
        }
        var fraction = GetReplicaSetFraction(rs, d);
        var allowed = deploymentReplicasToAdd - deploymentReplicasAdded;
        // Never more than allowed up, never more than allowed down.
        return deploymentReplicasToAdd > 0 ? Math.Min(fraction, allowed) : Math.Max(fraction, allowed);
    }

    /// <summary>
    /// The change a ReplicaSet's size needs for the Deployment's new maximum (replicas + maxSurge), in proportion to
    /// the maximum recorded in its max-replicas annotation when it was last scaled. Without a usable annotation the
    /// Deployment's status.replicas stands in; when that is 0 too the ReplicaSet is left as it is rather than divide by
    /// zero (upstream's guard from kubernetes#128535).
    /// </summary>
    public static int GetReplicaSetFraction(ReplicaSet rs, Deployment d)
    {
        if (d.SpecReplicas() == 0)
        {
            return -rs.SpecReplicas();
        }
        var deploymentMaxReplicas = d.SpecReplicas() + MaxSurge(d);
        if (!TryGetIntAnnotation(rs, MaxReplicasAnnotation, out var maxBeforeScale) || maxBeforeScale == 0)
        {
            maxBeforeScale = d.Status?.Replicas ?? 0;
            if (maxBeforeScale == 0)
            {
                return 0;
            }
        }
        var newSize = (double)rs.SpecReplicas() * deploymentMaxReplicas / maxBeforeScale;
        return (int)Math.Round(newSize, MidpointRounding.AwayFromZero) - rs.SpecReplicas();
    }

    /// <summary>
    /// Whether two pod templates are the same but for the pod-template-hash label (the Deployment's template has none).
    /// Compared as JSON where absent, null, empty objects and empty arrays are alike, as upstream's semantic DeepEqual
    /// treats nil and empty maps and slices.
    /// </summary>
    public static bool EqualIgnoreHash(PodTemplateSpec? template1, PodTemplateSpec? template2) =>
        JsonSemantics.EqualIgnoringLabel(template1, template2, UniqueLabelKey);

    /// <summary>The oldest ReplicaSet whose template is the Deployment's (sorts <paramref name="rsList"/> by creation).</summary>
    public static ReplicaSet? FindNewReplicaSet(Deployment d, List<ReplicaSet> rsList)
    {
        rsList.Sort(ByCreationTimestamp);
        // Several may match after e.g. an upgrade changed hashing (kubernetes#40415): the oldest wins, deterministically.
        return rsList.FirstOrDefault(rs => EqualIgnoreHash(rs.Spec?.Template, d.Spec?.Template));
    }

    /// <summary>The old ReplicaSets with pods, and all old ReplicaSets.</summary>
    public static (List<ReplicaSet> Required, List<ReplicaSet> All) FindOldReplicaSets(Deployment d, List<ReplicaSet> rsList)
    {
        var newRS = FindNewReplicaSet(d, rsList);
        var all = rsList.Where(rs => newRS is null || rs.Metadata?.Uid != newRS.Metadata?.Uid).ToList();
        return (all.Where(rs => rs.SpecReplicas() != 0).ToList(), all);
    }

    public static int GetReplicaCountForReplicaSets(IEnumerable<ReplicaSet?> replicaSets) =>
        replicaSets.Sum(rs => rs?.SpecReplicas() ?? 0);

    public static int GetActualReplicaCountForReplicaSets(IEnumerable<ReplicaSet?> replicaSets) =>
        replicaSets.Sum(rs => rs?.StatusReplicas() ?? 0);

    public static int GetReadyReplicaCountForReplicaSets(IEnumerable<ReplicaSet?> replicaSets) =>
        replicaSets.Sum(rs => rs?.Status?.ReadyReplicas ?? 0);

    public static int GetAvailableReplicaCountForReplicaSets(IEnumerable<ReplicaSet?> replicaSets) =>
        replicaSets.Sum(rs => rs?.AvailableReplicas() ?? 0);

    /// <summary>All desired replicas updated and available, no old pods left, and the latest generation observed.</summary>
    public static bool DeploymentComplete(Deployment d, DeploymentStatus? newStatus) =>
        (newStatus?.UpdatedReplicas ?? 0) == d.SpecReplicas()
        && (newStatus?.Replicas ?? 0) == d.SpecReplicas()
        && (newStatus?.AvailableReplicas ?? 0) == d.SpecReplicas()
        && (newStatus?.ObservedGeneration ?? 0) >= (d.Metadata?.Generation ?? 0);

    /// <summary>Progress between the Deployment's status and <paramref name="newStatus"/>: more updated, ready or available pods, or fewer old ones.</summary>
    public static bool DeploymentProgressing(Deployment d, DeploymentStatus newStatus)
    {
        var old = d.Status;
        var oldStatusOldReplicas = (old?.Replicas ?? 0) - (old?.UpdatedReplicas ?? 0);
        var newStatusOldReplicas = (newStatus.Replicas ?? 0) - (newStatus.UpdatedReplicas ?? 0);
        return (newStatus.UpdatedReplicas ?? 0) > (old?.UpdatedReplicas ?? 0)
            || newStatusOldReplicas < oldStatusOldReplicas
            || (newStatus.ReadyReplicas ?? 0) > (old?.ReadyReplicas ?? 0)
            || (newStatus.AvailableReplicas ?? 0) > (old?.AvailableReplicas ?? 0);
    }

    /// <summary>
    /// Whether the Progressing condition of <paramref name="newStatus"/> was last updated more than
    /// progressDeadlineSeconds before <paramref name="now"/>, or already says so; never after a completed rollout.
    /// </summary>
    public static bool DeploymentTimedOut(Deployment d, DeploymentStatus newStatus, DateTimeOffset now)
    {
        if (!HasProgressDeadline(d))
        {
            return false;
        }
        var condition = GetCondition(newStatus, ProgressingCondition);
        if (condition is null)
        {
            return false;
        }
        // A completed rollout may be resynced (e.g. the new RS's creation) before the cache shows the new condition.
        if (condition.Reason == NewRSAvailableReason)
        {
            return false;
        }
        if (condition.Reason == TimedOutReason)
        {
            return true;
        }
        var from = condition.LastUpdateTime ?? DateTimeOffset.MinValue;
        return from.AddSeconds(d.Spec!.ProgressDeadlineSeconds!.Value) < now;
    }

    /// <summary>The size the new ReplicaSet should have now; InvalidOperationException for an unknown strategy or a bad maxSurge.</summary>
    public static int NewRSNewReplicas(Deployment d, IEnumerable<ReplicaSet?> allRSs, ReplicaSet newRS)
    {
        switch (d.Spec?.Strategy?.Type)
        {
            case RollingUpdateStrategy:
                var (maxSurge, error) = GetScaledValueFromIntOrPercent(d.Spec.Strategy.RollingUpdate?.MaxSurge, d.SpecReplicas(), roundUp: true);
                if (error is not null)
                {
                    throw new InvalidOperationException(error);
                }
                var currentPodCount = GetReplicaCountForReplicaSets(allRSs);
                var maxTotalPods = d.SpecReplicas() + maxSurge;
                if (currentPodCount >= maxTotalPods)
                {
                    return newRS.SpecReplicas();
                }
                // Up to the surge, never past the desired replicas.
                var scaleUpCount = Math.Min(maxTotalPods - currentPodCount, d.SpecReplicas() - newRS.SpecReplicas());
                return newRS.SpecReplicas() + scaleUpCount;
            case RecreateStrategy:
                return d.SpecReplicas();
            default:
                throw new InvalidOperationException($"deployment type {d.Spec?.Strategy?.Type} isn't supported");
        }
    }

    /// <summary>The new ReplicaSet has (and was told by its desired-replicas annotation to have) all replicas, all available.</summary>
    public static bool IsSaturated(Deployment d, ReplicaSet? rs)
    {
        if (rs is null || !Atoi(rs.Metadata?.Annotations?.GetValueOrDefault(DesiredReplicasAnnotation) ?? "", out var desired))
        {
            return false;
        }
        return rs.SpecReplicas() == d.SpecReplicas() && desired == d.SpecReplicas() && rs.AvailableReplicas() == d.SpecReplicas();
    }

    /// <summary>The Deployments whose selector matches the ReplicaSet's labels (an empty selector matches nothing here).</summary>
    public static List<Deployment> GetDeploymentsForReplicaSet(IEnumerable<Deployment> deployments, ReplicaSet rs)
    {
        if (rs.Metadata?.Labels is not { Count: > 0 } labels)
        {
            return [];
        }
        return [.. deployments.Where(d =>
            TrySelector(d.Spec?.Selector, out var selector, out _) && !selector.IsEmpty && selector.Matches(labels))];
    }

    public static List<ReplicaSet> FilterActiveReplicaSets(IEnumerable<ReplicaSet?> replicaSets) =>
        [.. replicaSets.Where(rs => rs is not null && rs.SpecReplicas() > 0).Select(rs => rs!)];

    /// <summary>controller.ReplicaSetsByCreationTimestamp: oldest first, by name when created at once.</summary>
    public static int ByCreationTimestamp(ReplicaSet a, ReplicaSet b)
    {
        var ta = a.Metadata?.CreationTimestamp ?? DateTimeOffset.MinValue;
        var tb = b.Metadata?.CreationTimestamp ?? DateTimeOffset.MinValue;
        return ta == tb ? string.CompareOrdinal(a.Metadata?.Name, b.Metadata?.Name) : ta.CompareTo(tb);
    }

    /// <summary>controller.ReplicaSetsBySizeOlder: largest first, older first among equals (scale down).</summary>
    public static int BySizeOlder(ReplicaSet a, ReplicaSet b) =>
        a.SpecReplicas() == b.SpecReplicas() ? ByCreationTimestamp(a, b) : b.SpecReplicas().CompareTo(a.SpecReplicas());

    /// <summary>controller.ReplicaSetsBySizeNewer: largest first, newer first among equals (scale up).</summary>
    public static int BySizeNewer(ReplicaSet a, ReplicaSet b) =>
        a.SpecReplicas() == b.SpecReplicas() ? ByCreationTimestamp(b, a) : b.SpecReplicas().CompareTo(a.SpecReplicas());

    /// <summary>ReplicaSetsByRevision: lowest revision first, by creation when a revision is missing, equal or bad.</summary>
    public static int ByRevision(ReplicaSet a, ReplicaSet b)
    {
        if (!TryRevision(a, out var ra) || !TryRevision(b, out var rb) || ra == rb)
        {
            return ByCreationTimestamp(a, b);
        }
        return ra.CompareTo(rb);
    }

    /// <summary>metav1.LabelSelectorAsSelector: null selects nothing, an empty selector everything.</summary>
    public static bool TrySelector(LabelSelector? selector, out Selector result, out string? error)
    {
        if (selector is null)
        {
            result = Selector.Nothing;
            error = null;
            return true;
        }
        var ok = Selector.TryFromMetav1(KubeJson.ToNode(selector), out var parsed, out error);
        result = parsed ?? Selector.Nothing;
        return ok;
    }

    /// <summary>labelsutil.CloneSelectorAndAddLabel.</summary>
    public static LabelSelector CloneSelectorAndAddLabel(LabelSelector? selector, string key, string value)
    {
        var clone = selector is null ? new LabelSelector() : KubeJson.DeepClone(selector);
        (clone.MatchLabels ??= [])[key] = value;
        return clone;
    }

    /// <summary>labelsutil.CloneAndAddLabel.</summary>
    public static Dictionary<string, string> CloneAndAddLabel(IReadOnlyDictionary<string, string>? labels, string key, string value)
    {
        var clone = labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(labels);
        clone[key] = value;
        return clone;
    }

    // strconv.Atoi / ParseInt: an optional sign and decimal digits.
    private static bool Atoi(string s, out int value) => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    private static bool ParseInt64(string s, out long value) => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
}
