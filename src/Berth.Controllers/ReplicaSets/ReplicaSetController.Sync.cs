using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.Framework;
using LabelSelector = Berth.Api.Selectors.LabelSelector;

namespace Berth.Controllers.ReplicaSets;

public sealed partial class ReplicaSetController
{
    // Upstream statusUpdateRetries: one re-read and retry after a failed status write.
    private const int StatusUpdateRetries = 1;

    /// <summary>
    /// Upstream syncReplicaSet: claim the active pods, create or delete pods when the expectations allow it, then
    /// write status. Throws to have the key retried with back-off.
    /// </summary>
    internal async Task SyncAsync(string key, CancellationToken ct)
    {
        var (ns, name) = ControllerWorkers.SplitKey(key);
        var cached = _replicaSets.Get(ns, name);
        if (cached is null)
        {
            // Deleted: the garbage collector removes its pods.
            Expectations.Delete(key);
            return;
        }

        var needsSync = Expectations.Satisfied(key);
        if (!ReplicaSetUtils.TrySelector(cached, out var selector, out var selectorError))
        {
            // Not retried: only a spec change (which enqueues again) can fix it.
            _log($"{ComponentName}: error converting pod selector to selector for rs {ns}/{name}: {selectorError}");
            return;
        }

        // The pods it controls and the orphans it might adopt; finished and deleting pods do not count.
        var active = ActivePods.FilterActivePods(PodControllerIndex.PodsOf(_pods, cached));
        var claimed = await ClaimPodsAsync(cached, selector, active, ct).ConfigureAwait(false);

        Exception? manageError = null;
        if (needsSync && cached.Metadata?.DeletionTimestamp is null)
        {
            manageError = await ManageReplicasAsync(claimed, cached, ct).ConfigureAwait(false);
        }

        var rs = KubeJson.DeepClone(cached);
        var status = ReplicaSetUtils.CalculateStatus(rs, claimed, manageError, _time.GetUtcNow());
        var updated = await UpdateStatusAsync(rs, status, ct).ConfigureAwait(false);

        // Sync again after minReadySeconds as a last line of defense against clock skew.
        var replicas = ReplicaSetUtils.Replicas(updated);
        var minReadySeconds = ReplicaSetUtils.MinReadySeconds(updated);
        if (manageError is null && minReadySeconds > 0
            && (updated.Status?.ReadyReplicas ?? 0) == replicas && (updated.Status?.AvailableReplicas ?? 0) != replicas)
        {
            Queue.AddAfter(key, TimeSpan.FromSeconds(minReadySeconds));
        }
        if (manageError is not null)
        {
            throw manageError;
        }
    }

    private Task<List<Pod>> ClaimPodsAsync(ReplicaSet rs, LabelSelector selector, List<Pod> pods, CancellationToken ct)
    {
        // Before any adoption, re-read the ReplicaSet live: the cache may not yet show that it is being deleted (#42639).
        var manager = new ControllerRefManager<Pod>(_client, rs, selector, s_kind,
            async token => await _client.GetAsync<ReplicaSet>(rs.Metadata?.Namespace, rs.Metadata!.Name!, token).ConfigureAwait(false));
        return manager.ClaimAsync(pods, ct);
    }

    /// <summary>Upstream manageReplicas: creates or deletes pods to reach spec.replicas; returns the failure, if any.</summary>
    private async Task<Exception?> ManageReplicasAsync(List<Pod> filteredPods, ReplicaSet rs, CancellationToken ct)
    {
        var key = ControllerWorkers.Key(rs);
        var ns = rs.Metadata?.Namespace ?? "default";
        var diff = filteredPods.Count - ReplicaSetUtils.Replicas(rs);
        if (diff < 0)
        {
            var toCreate = Math.Min(-diff, _burstReplicas);
            // Creations are counted, not tracked by name: the name is only known once the create returns.
            Expectations.ExpectCreations(key, toCreate);
            var template = rs.Spec?.Template ?? new PodTemplateSpec();
            var (successes, error) = await ReplicaSetUtils.SlowStartBatchAsync(toCreate, SlowStartInitialBatchSize, async () =>
            {
                try
                {
                    await _podControl.CreatePodsWithControllerRefAsync(ns, template, rs, OwnerRefs.NewControllerRef(rs, s_kind), ct).ConfigureAwait(false);
                }
                catch (KubeApiException e) when (IsNamespaceTerminating(e))
                {
                    // Every create in a terminating namespace fails; nothing to retry.
                }
            }).ConfigureAwait(false);

            // Pods never attempted will not be observed: stop expecting them; the next sync tries again.
            if (toCreate - successes is var skipped and > 0)
            {
                _log($"{ComponentName}: slow-start failure, skipping creation of {skipped} pods, decrementing expectations for ReplicaSet {key}");
                Expectations.LowerExpectations(key, skipped, 0);
            }
            return error;
        }
        if (diff > 0)
        {
            var toDelete = Math.Min(diff, _burstReplicas);
            // Prefer pods in earlier stages of startup, and pods crowded on a node with their siblings.
            var podsToDelete = ReplicaSetUtils.GetPodsToDelete(filteredPods, GetIndirectlyRelatedPods(rs), toDelete, _time.GetUtcNow());

            // Tracked by pod key, so the deletion is counted once whether it is first seen as the update setting
            // deletionTimestamp or as the delete itself.
            Expectations.ExpectDeletions(key, podsToDelete.Select(ReplicaSetUtils.PodKey));
            var errors = await Task.WhenAll(podsToDelete.Select(async pod =>
            {
                try
                {
                    await _podControl.DeletePodAsync(ns, pod.Metadata!.Name!, rs, ct).ConfigureAwait(false);
                    return null;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The informer will not see this deletion.
                    Expectations.DeletionObserved(key, ReplicaSetUtils.PodKey(pod));
                    if (e is KubeApiException { StatusCode: 404 })
                    {
                        return null;
                    }
                    _log($"{ComponentName}: failed to delete {ReplicaSetUtils.PodKey(pod)}, decremented expectations for ReplicaSet {key}");
                    return e;
                }
            })).ConfigureAwait(false);
            // They were all reported and are likely the same: the first is enough.
            return errors.FirstOrDefault(e => e is not null);
        }
        return null;
    }

    /// <summary>
    /// Upstream getIndirectlyRelatedPods: the pods of every ReplicaSet controlled by the same owner as
    /// <paramref name="rs"/> (a Deployment's old and new ReplicaSets), each pod once.
    /// </summary>
    internal List<Pod> GetIndirectlyRelatedPods(ReplicaSet rs)
    {
        var related = new List<Pod>();
        if (OwnerRefs.ControllerOf(rs) is not { Uid: { } ownerUid })
        {
            return related;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var relatedRs in _replicaSets.ByIndex(ControllerUidIndex, ownerUid))
        {
            if (!ReplicaSetUtils.TrySelector(relatedRs, out var selector, out _))
            {
                // An invalid selector matches no pods.
                continue;
            }
            foreach (var pod in _pods.List(relatedRs.Metadata?.Namespace ?? ""))
            {
                if (selector.Matches(pod.Metadata?.Labels) && seen.Add(pod.Metadata?.Uid ?? ReplicaSetUtils.PodKey(pod)))
                {
                    related.Add(pod);
                }
            }
        }
        return related;
    }

    /// <summary>
    /// Upstream updateReplicaSetStatus: writes the status subresource (with observedGeneration = generation) unless
    /// nothing changed; a failed write is retried once on a fresh read.
    /// </summary>
    private async Task<ReplicaSet> UpdateStatusAsync(ReplicaSet rs, ReplicaSetStatus status, CancellationToken ct)
    {
        if (ReplicaSetUtils.StatusUnchanged(rs, status))
        {
            return rs;
        }
        // The generation acted on, so a retry cannot claim to have seen a newer spec.
        status.ObservedGeneration = rs.Metadata?.Generation ?? 0;
        for (var attempt = 0; ; attempt++)
        {
            rs.Status = status;
            try
            {
                return await _client.UpdateStatusAsync(rs, ct).ConfigureAwait(false);
            }
            catch (KubeApiException) when (attempt < StatusUpdateRetries)
            {
                // Usually a conflict: take the latest resourceVersion (a failed GET is the more interesting error).
                rs = await _client.GetAsync<ReplicaSet>(rs.Metadata?.Namespace, rs.Metadata!.Name!, ct).ConfigureAwait(false);
            }
        }
    }

    private static bool IsNamespaceTerminating(KubeApiException e) =>
        e.Status?.Details?.Causes?.Any(c => c.Reason == "NamespaceTerminating") == true;
}
