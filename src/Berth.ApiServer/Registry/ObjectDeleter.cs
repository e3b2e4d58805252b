using System.Text.Json.Nodes;
using Berth.Api.Validation;
using Berth.ApiServer.Http;
using Berth.ApiServer.Resources;
using Berth.Storage;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Deletion as upstream's registry does it, shared by DELETE requests and the namespace lifecycle: preconditions,
/// the garbage collector's finalizers as the propagation policy asks ("orphan", "foregroundDeletion"), then
/// finalizers and graceful pod deletion only mark the object (deletionTimestamp); otherwise it is removed.
/// </summary>
public sealed class ObjectDeleter
{
    public const string OrphanFinalizer = "orphan";
    public const string ForegroundFinalizer = "foregroundDeletion";

    private static readonly string[] s_protectedNamespaces = ["default", "kube-system", "kube-public"];

    private readonly ObjectStore _objects;
    private readonly TimeProvider _time;
    private readonly ObjectHooks _hooks;

    public ObjectDeleter(ObjectStore objects, TimeProvider time, ObjectHooks hooks)
    {
        _objects = objects;
        _time = time;
        _hooks = hooks;
    }

    /// <summary>
    /// Deletes or marks one object; returns what the DELETE response shows. If something else wrote the object
    /// meanwhile (a controller setting status), the delete starts over on the fresh object with the preconditions
    /// checked again: a user's delete must not fail because another writer came first.
    /// </summary>
    public Task<DeleteResult> DeleteAsync(ResourceDefinition def, StoredObject current, JsonObject? options, bool dryRun, CancellationToken ct) =>
        _objects.GuaranteedAsync(def, Meta.Namespace(current.Object), Meta.Name(current.Object)!, current,
            fresh => DeleteOnceAsync(def, fresh, options, dryRun, ct), ct);

    private async Task<DeleteResult> DeleteOnceAsync(ResourceDefinition def, StoredObject current, JsonObject? options, bool dryRun, CancellationToken ct)
    {
        var obj = current.Object;
        var name = Meta.Name(obj)!;
        if (options?["preconditions"] is JsonObject preconditions)
        {
            if (RequestBody.OptionalString(preconditions["uid"], "preconditions.uid") is { } uid && uid != Meta.String(obj, "uid"))
            {
                throw ApiException.Conflict(def.QualifiedResource, name,
                    $"Precondition failed: UID in precondition: {uid}, UID in object meta: {Meta.String(obj, "uid")}");
            }
            if (RequestBody.OptionalString(preconditions["resourceVersion"], "preconditions.resourceVersion") is { } rv && rv != Meta.String(obj, "resourceVersion"))
            {
                throw ApiException.Conflict(def.QualifiedResource, name,
                    $"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {Meta.String(obj, "resourceVersion")}");
            }
        }
        if (def.Kind == "Namespace")
        {
            return await DeleteNamespaceAsync(def, current, dryRun, ct).ConfigureAwait(false);
        }
        // Upstream Store.Delete: the graceful-deletion check, then the garbage collector's finalizers as the options
        // say, then either a write that marks the object (finalizers pending or a grace period running) or removal.
        var marked = (JsonObject)obj.DeepClone();
        var now = _time.GetUtcNow();
        var (graceful, pendingGraceful) = BeforeDelete(def, marked, options, now);
        if (pendingGraceful)
        {
            // A graceful deletion is under way and this delete does not shorten it: nothing changes, not even the
            // finalizers (upstream's "finalizers cannot be updated via DeleteOptions if a deletion is already pending").
            return new DeleteResult(obj, Pending: true);
        }
        UpdateFinalizersForGarbageCollection(def, marked, options);
        var pendingFinalizers = Meta.HasFinalizers(marked);
        if (!graceful)
        {
            if (!pendingFinalizers)
            {
                if (!dryRun)
                {
                    await RemoveAsync(def, current, ct).ConfigureAwait(false);
                }
                return new DeleteResult(obj, Pending: false);
            }
            MarkAsDeleting(marked, now);
        }
        else if (!pendingFinalizers && Meta.Of(marked)["deletionGracePeriodSeconds"]?.GetValue<long>() == 0)
        {
            // A pod whose grace period is already over goes at once.
            if (!dryRun)
            {
                await RemoveAsync(def, current, ct).ConfigureAwait(false);
            }
            return new DeleteResult(marked, Pending: false);
        }
        if (dryRun || JsonNode.DeepEquals(marked, obj))
        {
            return new DeleteResult(marked, Pending: true);
        }
        var stored = await _objects.UpdateAsync(def, marked, current.ModRevision, ct).ConfigureAwait(false);
        return new DeleteResult(stored.Object, Pending: true);
    }

    /// <summary>
    /// Namespaces are emptied by <see cref="NamespaceLifecycle"/> behind their "kubernetes" finalizer: a delete
    /// only marks them Terminating, once.
    /// </summary>
    private async Task<DeleteResult> DeleteNamespaceAsync(ResourceDefinition def, StoredObject current, bool dryRun, CancellationToken ct)
    {
        var obj = current.Object;
        if (s_protectedNamespaces.Contains(Meta.Name(obj)))
        {
            throw ApiException.Forbidden(def.QualifiedResource, Meta.Name(obj)!, "this namespace may not be deleted");
        }
        if (Meta.IsDeleting(obj))
        {
            return new DeleteResult(obj, Pending: true);
        }
        var marked = (JsonObject)obj.DeepClone();
        MarkAsDeleting(marked, _time.GetUtcNow());
        var status = marked["status"] as JsonObject ?? [];
        marked["status"] = status;
        status["phase"] = "Terminating";
        if (dryRun)
        {
            return new DeleteResult(marked, Pending: true);
        }
        var stored = await _objects.UpdateAsync(def, marked, current.ModRevision, ct).ConfigureAwait(false);
        return new DeleteResult(stored.Object, Pending: true);
    }

    /// <summary>
    /// Upstream rest.BeforeDelete for the one kind with a graceful delete strategy, the pod: the first delete sets
    /// deletionTimestamp to now plus the grace period; a later one may only shorten it, otherwise the deletion is
    /// pending already. Other kinds are never graceful.
    /// </summary>
    private static (bool Graceful, bool Pending) BeforeDelete(ResourceDefinition def, JsonObject marked, JsonObject? options, DateTimeOffset now)
    {
        if (def.Kind != "Pod")
        {
            return (false, false);
        }
        var meta = Meta.Of(marked);
        // Negative grace periods count as one second on the delete path.
        long? requested = options?["gracePeriodSeconds"] is JsonValue value && value.TryGetValue<long>(out var seconds) ? (seconds < 0 ? 1 : seconds) : null;
        if (Meta.IsDeleting(marked))
        {
            var existing = meta["deletionGracePeriodSeconds"] is JsonValue g && g.TryGetValue<long>(out var e) ? (e < 0 ? 1 : e) : 0;
            if (existing == 0)
            {
                // Marked with no grace period left (for its finalizers): treated as not graceful, so a new delete
                // updates the finalizers and removes the pod once none remain.
                return (false, false);
            }
            if (requested is not { } period || period >= existing)
            {
                return (false, true);
            }
            var deadline = ParseTime(Meta.String(marked, "deletionTimestamp")).AddSeconds(period - existing);
            meta["deletionTimestamp"] = Meta.Timestamp(deadline);
            meta["deletionGracePeriodSeconds"] = period;
            return (true, false);
        }
        var grace = PodGracePeriod(marked, requested);
        meta["deletionTimestamp"] = Meta.Timestamp(now.AddSeconds(grace));
        meta["deletionGracePeriodSeconds"] = grace;
        BumpGeneration(meta);
        return (true, false);
    }

    /// <summary>
    /// Upstream's pod CheckGracefulDelete: the requested period, else the pod's terminationGracePeriodSeconds; a pod
    /// no kubelet runs (unscheduled) or that has finished goes at once.
    /// </summary>
    private static long PodGracePeriod(JsonObject pod, long? requested)
    {
        var spec = pod["spec"] as JsonObject;
        var period = requested
            ?? (spec?["terminationGracePeriodSeconds"] is JsonValue value && value.TryGetValue<long>(out var fromSpec) ? fromSpec : 30);
        if (spec?["nodeName"] is null || Meta.Field(pod, "status.phase") is "Succeeded" or "Failed")
        {
            period = 0;
        }
        return period < 0 ? 1 : period;
    }

    /// <summary>
    /// Upstream markAsDeleting: deletionTimestamp now (unless an earlier one is set), no grace period, and the
    /// generation bumped on the first mark.
    /// </summary>
    private static void MarkAsDeleting(JsonObject marked, DateTimeOffset now)
    {
        var meta = Meta.Of(marked);
        if (!Meta.IsDeleting(marked))
        {
            BumpGeneration(meta);
        }
        if (!Meta.IsDeleting(marked) || ParseTime(Meta.String(marked, "deletionTimestamp")) > now)
        {
            meta["deletionTimestamp"] = Meta.Timestamp(now);
        }
        meta["deletionGracePeriodSeconds"] = 0;
    }

    private static void BumpGeneration(JsonObject meta)
    {
        if (meta["generation"] is JsonValue generation && generation.TryGetValue<long>(out var value) && value > 0)
        {
            meta["generation"] = value + 1;
        }
    }

    private static DateTimeOffset ParseTime(string? timestamp) =>
        DateTimeOffset.Parse(timestamp!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);

    /// <summary>
    /// Upstream deletionFinalizersForGarbageCollection: the "orphan" and "foregroundDeletion" finalizers are set as
    /// the delete options say (orphanDependents, then propagationPolicy), else as the object already has them; the
    /// default for every kind Berth serves is Background, which sets neither. Kinds the garbage collector does not
    /// watch keep their finalizers as they are, as upstream stores with garbage collection disabled do: a finalizer
    /// nobody removes would hold the object forever.
    /// </summary>
    private static void UpdateFinalizersForGarbageCollection(ResourceDefinition def, JsonObject marked, JsonObject? options)
    {
        if (!GarbageCollected(def))
        {
            return;
        }
        var existing = Finalizers(marked);
        var orphan = ShouldOrphanDependents(existing, options);
        var foreground = ShouldDeleteDependents(existing, options);
        var updated = existing.Where(f => f is not (OrphanFinalizer or ForegroundFinalizer)).ToList();
        if (orphan)
        {
            updated.Add(OrphanFinalizer);
        }
        if (foreground)
        {
            updated.Add(ForegroundFinalizer);
        }
        if (updated.ToHashSet().SetEquals(existing))
        {
            return;
        }
        var meta = Meta.Of(marked);
        if (updated.Count == 0)
        {
            meta.Remove("finalizers");
        }
        else
        {
            meta["finalizers"] = new JsonArray([.. updated.Select(f => (JsonNode)JsonValue.Create(f))]);
        }
    }

    private static bool ShouldOrphanDependents(List<string> finalizers, JsonObject? options)
    {
        if (OrphanDependentsOption(options) is { } orphan)
        {
            return orphan;
        }
        if (PropagationPolicyOption(options) is { } policy)
        {
            return policy == "Orphan";
        }
        return finalizers.FirstOrDefault(f => f is OrphanFinalizer or ForegroundFinalizer) == OrphanFinalizer;
    }

    private static bool ShouldDeleteDependents(List<string> finalizers, JsonObject? options)
    {
        if (OrphanDependentsOption(options) is not null)
        {
            return false;
        }
        if (PropagationPolicyOption(options) is { } policy)
        {
            return policy == "Foreground";
        }
        return finalizers.FirstOrDefault(f => f is OrphanFinalizer or ForegroundFinalizer) == ForegroundFinalizer;
    }

    private static bool? OrphanDependentsOption(JsonObject? options) =>
        options?["orphanDependents"] is JsonValue value && value.TryGetValue<bool>(out var orphan) ? orphan : null;

    private static string? PropagationPolicyOption(JsonObject? options) =>
        options?["propagationPolicy"] is JsonValue value && value.TryGetValue<string>(out var policy) ? policy : null;

    private static List<string> Finalizers(JsonObject obj) =>
        ((obj["metadata"] as JsonObject)?["finalizers"] as JsonArray)?
            .Select(f => f is JsonValue v && v.TryGetValue<string>(out var s) ? s : "").ToList() ?? [];

    // Berth's garbage collector watches every kind it serves but these two (upstream's namespace registry keeps
    // its own deletion, and Events are never owners of anything).
    private static bool GarbageCollected(ResourceDefinition def) => def.Kind is not ("Namespace" or "Event");

    /// <summary>
    /// Upstream ValidateDeleteOptions (apimachinery meta/v1 validation), answered as upstream's handler does:
    /// 422 Invalid for DeleteOptions.meta.k8s.io. Type errors in the body are 400s, as a decode error would be.
    /// </summary>
    public static void ValidateOptions(JsonObject? options)
    {
        if (options is null)
        {
            return;
        }
        var policy = RequestBody.OptionalString(options["propagationPolicy"], "propagationPolicy");
        if (options["orphanDependents"] is { } orphan && !(orphan is JsonValue v && v.TryGetValue<bool>(out _)))
        {
            throw ApiException.BadRequest($"orphanDependents must be a boolean, got {orphan.ToJsonString()}");
        }
        var errors = new List<FieldError>();
        if (options["orphanDependents"] is not null && policy is not null)
        {
            errors.Add(FieldError.Invalid("propagationPolicy", policy, "orphanDependents and deletionPropagation cannot be both set"));
        }
        if (policy is not null and not ("Foreground" or "Background" or "Orphan"))
        {
            errors.Add(FieldError.NotSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"]));
        }
        if (options["dryRun"] is { } dryRun)
        {
            var values = dryRun is JsonArray array
                ? array.Select(d => RequestBody.OptionalString(d, "dryRun") ?? "").ToList()
                : throw ApiException.BadRequest($"dryRun must be a list of strings, got {dryRun.ToJsonString()}");
            if (values.Any(d => d != "All"))
            {
                errors.Add(new FieldError("Unsupported value", "dryRun", "supported values: \"All\"", GoValue.Strings(values).Text));
            }
        }
        if (errors.Count > 0)
        {
            var causes = errors.Select(e => new StatusCause(e.Reason, e.Message, e.Field)).ToList();
            // Upstream names the kind with its group in the message: DeleteOptions.meta.k8s.io "" is invalid: ...
            var message = ApiException.Invalid("DeleteOptions.meta.k8s.io", "", null, causes).Message;
            throw new ApiException(422, "Invalid", message, "DeleteOptions", "", "meta.k8s.io", causes);
        }
    }

    /// <summary>
    /// Removes the object from the store (guarded by its revision), then runs the kind's after-delete hook. Store
    /// errors are thrown as they are, for the caller's <see cref="ObjectStore.GuaranteedAsync"/> loop.
    /// </summary>
    public async Task RemoveAsync(ResourceDefinition def, StoredObject current, CancellationToken ct)
    {
        await _objects.DeleteAsync(def, Meta.Namespace(current.Object), Meta.Name(current.Object)!, current.ModRevision, ct).ConfigureAwait(false);
        if (_hooks.For(def.Kind) is { } hooks)
        {
            // The object is gone whatever happens to the caller now, so its clean-up must not be cancelled half-way.
            await hooks.AfterDeleteAsync(current.Object, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public static bool FinishesDeletion(ResourceDefinition def, JsonObject obj) =>
        def.Kind != "Pod" || (Meta.Of(obj)["deletionGracePeriodSeconds"] is JsonValue v && v.TryGetValue<long>(out var g) && g == 0);
}

/// <summary>What a delete did: removed the object, or marked it for deletion that finishes later (202 Accepted).</summary>
public sealed record DeleteResult(JsonObject Object, bool Pending);
