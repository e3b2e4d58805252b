using System.Text.Json.Nodes;
using Berth.ApiServer.Http;
using Berth.ApiServer.Resources;
using Berth.Storage;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Deletion as upstream's registry does it, shared by DELETE requests and the namespace lifecycle: preconditions,
/// finalizers and graceful pod deletion only mark the object (deletionTimestamp); otherwise it is removed.
/// </summary>
public sealed class ObjectDeleter
{
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
        if (def.Kind == "Namespace" && s_protectedNamespaces.Contains(name))
        {
            throw ApiException.Forbidden(def.QualifiedResource, name, "this namespace may not be deleted");
        }
        var grace = GracePeriod(def, obj, options);
        var graceful = def.Kind == "Namespace" || Meta.HasFinalizers(obj) || grace > 0;
        if (graceful)
        {
            if (Meta.IsDeleting(obj) && def.Kind != "Pod")
            {
                return new DeleteResult(obj, Pending: true);
            }
            var marked = (JsonObject)obj.DeepClone();
            var meta = Meta.Of(marked);
            var now = _time.GetUtcNow();
            var deadline = now.AddSeconds(grace ?? 0);
            // A second delete may shorten a pod's grace period, never lengthen it (upstream BeforeDelete).
            if (!Meta.IsDeleting(obj) || (DateTimeOffset.TryParse(Meta.String(obj, "deletionTimestamp"), System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal, out var existing) && deadline < existing))
            {
                meta["deletionTimestamp"] = Meta.Timestamp(deadline);
                meta["deletionGracePeriodSeconds"] = grace ?? 0;
            }
            if (meta["generation"] is JsonValue generation)
            {
                meta["generation"] = generation.GetValue<long>() + 1;
            }
            if (def.Kind == "Namespace")
            {
                var status = marked["status"] as JsonObject ?? [];
                marked["status"] = status;
                status["phase"] = "Terminating";
            }
            if (dryRun)
            {
                return new DeleteResult(marked, Pending: true);
            }
            if (def.Kind != "Namespace" && !Meta.HasFinalizers(marked) && grace == 0)
            {
                // A pod whose grace period is already over goes at once.
                await RemoveAsync(def, current, ct).ConfigureAwait(false);
                return new DeleteResult(marked, Pending: false);
            }
            var stored = await _objects.UpdateAsync(def, marked, current.ModRevision, ct).ConfigureAwait(false);
            return new DeleteResult(stored.Object, Pending: true);
        }
        if (dryRun)
        {
            return new DeleteResult(obj, Pending: false);
        }
        await RemoveAsync(def, current, ct).ConfigureAwait(false);
        return new DeleteResult(obj, Pending: false);
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

    /// <summary>
    /// Upstream pods are deleted gracefully only once a kubelet runs them: an unscheduled pod, or one that has
    /// finished, goes at once. Other kinds have no grace period.
    /// </summary>
    private static long? GracePeriod(ResourceDefinition def, JsonObject obj, JsonObject? options)
    {
        if (def.Kind != "Pod")
        {
            return null;
        }
        var spec = obj["spec"] as JsonObject;
        var phase = Meta.Field(obj, "status.phase");
        if (spec?["nodeName"] is null || phase is "Succeeded" or "Failed")
        {
            return 0;
        }
        if (options?["gracePeriodSeconds"] is JsonValue requested && requested.TryGetValue<long>(out var seconds))
        {
            return Math.Max(0, seconds);
        }
        return spec["terminationGracePeriodSeconds"] is JsonValue value && value.TryGetValue<long>(out var fromSpec) ? fromSpec : 30;
    }

    public static bool FinishesDeletion(ResourceDefinition def, JsonObject obj) =>
        def.Kind != "Pod" || (Meta.Of(obj)["deletionGracePeriodSeconds"] is JsonValue v && v.TryGetValue<long>(out var g) && g == 0);
}

/// <summary>What a delete did: removed the object, or marked it for deletion that finishes later (202 Accepted).</summary>
public sealed record DeleteResult(JsonObject Object, bool Pending);
