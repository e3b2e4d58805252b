using System.Text.Json.Nodes;
using Berth.Api.Validation;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public sealed partial class ResourceHandler
{
    private const int MaxConflictRetries = 16;

    private async Task CreateAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var dryRun = DryRun(http.Request);
        var bytes = await RequestBody.ReadAsync(http.Request, ct).ConfigureAwait(false);
        var body = RequestBody.ParseObject(http.Request.ContentType, bytes);
        var obj = PrepareIncoming(http, def, info, body, RawJson(http, bytes));
        if (Meta.String(obj, "resourceVersion") is { Length: > 0 })
        {
            throw ApiException.BadRequest("resourceVersion should not be set on objects to be created");
        }
        var meta = Meta.Of(obj);
        if (string.IsNullOrEmpty(Meta.Name(obj)) && Meta.String(obj, "generateName") is { Length: > 0 } generateName)
        {
            meta["name"] = GenerateName(generateName);
        }
        var created = await CreateObjectAsync(def, obj, dryRun, ct).ConfigureAwait(false);
        await Respond.JsonAsync(http, 201, created).ConfigureAwait(false);
    }

    private async Task<JsonObject> CreateObjectAsync(ResourceDefinition def, JsonObject obj, DryRunMode dryRun, CancellationToken ct)
    {
        var name = Meta.Name(obj) ?? "";
        Strategy.PrepareForCreate(def, obj, Now);
        ThrowIfInvalid(def, obj, Strategy.ValidateMetadata(def, obj));
        if (def.Namespaced)
        {
            await EnsureNamespaceAcceptsAsync(def, Meta.Namespace(obj)!, name, ct).ConfigureAwait(false);
        }
        if (dryRun == DryRunMode.All)
        {
            if (await _objects.GetAsync(def, Meta.Namespace(obj), name, ct).ConfigureAwait(false) is not null)
            {
                throw ApiException.AlreadyExists(def.QualifiedResource, name);
            }
            return obj;
        }
        try
        {
            var stored = await _objects.CreateAsync(def, obj, ct).ConfigureAwait(false);
            return stored.Object;
        }
        catch (StoreException e)
        {
            throw Translate(e, def, name);
        }
    }

    private async Task UpdateAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var dryRun = DryRun(http.Request);
        var bytes = await RequestBody.ReadAsync(http.Request, ct).ConfigureAwait(false);
        var body = RequestBody.ParseObject(http.Request.ContentType, bytes);
        if (info.Subresource == "scale")
        {
            await Respond.JsonAsync(http, 200, await UpdateScaleAsync(def, info, _ => body, dryRun, ct).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }
        var obj = PrepareIncoming(http, def, info, body, RawJson(http, bytes));
        if (Meta.Name(obj) != info.Name)
        {
            throw ApiException.BadRequest($"the name of the object ({Meta.Name(obj)}) does not match the name on the URL ({info.Name})");
        }
        var requested = Meta.String(obj, "resourceVersion");
        var current = await _objects.GetAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false);
        if (current is null)
        {
            if (!AllowCreateOnUpdate(def) || info.Subresource is not null)
            {
                throw ApiException.NotFound(def.QualifiedResource, info.Name!);
            }
            Meta.Of(obj).Remove("resourceVersion");
            var created = await CreateObjectAsync(def, obj, dryRun, ct).ConfigureAwait(false);
            await Respond.JsonAsync(http, 201, created).ConfigureAwait(false);
            return;
        }
        if (requested is { Length: > 0 } && requested != current.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw ApiException.ModifiedConflict(def.QualifiedResource, info.Name!);
        }
        var result = await WriteUpdateAsync(def, current, obj, info.Subresource, dryRun, ct).ConfigureAwait(false);
        await Respond.JsonAsync(http, 200, result).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies an update computed from the current object, retrying on write conflicts when the caller did not pin a
    /// resourceVersion (upstream GuaranteedUpdate).
    /// </summary>
    private async Task<JsonObject> UpdateWithRetriesAsync(ResourceDefinition def, RequestInfo info,
        Func<StoredObject, JsonObject> compute, DryRunMode dryRun, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = await GetRequiredAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false);
            var updated = compute(current);
            var requested = Meta.String(updated, "resourceVersion");
            var pinned = requested is { Length: > 0 } && requested != current.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (pinned)
            {
                throw ApiException.ModifiedConflict(def.QualifiedResource, info.Name!);
            }
            try
            {
                return await WriteUpdateAsync(def, current, updated, info.Subresource, dryRun, ct).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Reason == "Conflict" && attempt < MaxConflictRetries && requested is not { Length: > 0 })
            {
                // Someone wrote in between: recompute from the new state.
            }
        }
    }

    private async Task<JsonObject> WriteUpdateAsync(ResourceDefinition def, StoredObject current, JsonObject updated, string? subresource, DryRunMode dryRun, CancellationToken ct)
    {
        var name = Meta.Name(current.Object)!;
        var errors = Strategy.ValidateMetadataUpdate(updated, current.Object);
        ThrowIfInvalid(def, updated, errors);
        var result = Strategy.PrepareForUpdate(def, updated, current.Object, subresource);
        ThrowIfInvalid(def, result, Strategy.ValidateMetadata(def, result));
        var rv = current.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Meta.Of(result)["resourceVersion"] = rv;
        if (JsonBytes.DeepEquals(result, current.Object))
        {
            // A no-op update writes nothing and keeps the resourceVersion, as upstream.
            return current.Object;
        }
        if (dryRun == DryRunMode.All)
        {
            return result;
        }
        try
        {
            if (Meta.IsDeleting(result) && !Meta.HasFinalizers(result) && FinishesDeletion(def, result))
            {
                await _objects.DeleteAsync(def, Meta.Namespace(result), name, current.ModRevision, ct).ConfigureAwait(false);
                return result;
            }
            var stored = await _objects.UpdateAsync(def, result, current.ModRevision, ct).ConfigureAwait(false);
            if (def.Kind == "Namespace" && Meta.IsDeleting(stored.Object))
            {
                _namespaces.Notify(name);
            }
            return stored.Object;
        }
        catch (StoreException e)
        {
            throw Translate(e, def, name);
        }
    }

    private async Task DeleteAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var options = await ReadDeleteOptionsAsync(http, ct).ConfigureAwait(false);
        var dryRun = DryRun(http.Request) == DryRunMode.All || options?["dryRun"] is JsonArray { Count: > 0 } ? DryRunMode.All : DryRunMode.None;
        var current = await GetRequiredAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false);
        var result = await DeleteObjectAsync(def, current, options, dryRun, ct).ConfigureAwait(false);
        await Respond.JsonAsync(http, 200, result).ConfigureAwait(false);
    }

    private async Task DeleteCollectionAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var options = await ReadDeleteOptionsAsync(http, ct).ConfigureAwait(false);
        var dryRun = DryRun(http.Request);
        var filter = ListFilter.FromQuery(def, http.Request.Query);
        var (items, revision) = await _objects.ListAsync(def, info.Namespace, ct).ConfigureAwait(false);
        var deleted = new JsonArray();
        foreach (var item in items.Where(i => filter.Matches(i.Object)))
        {
            try
            {
                deleted.Add(await DeleteObjectAsync(def, item, options, dryRun, ct).ConfigureAwait(false));
            }
            catch (ApiException e) when (e.Code is 404 or 409)
            {
                // Gone or changed meanwhile: deletecollection is best effort per item, as upstream.
            }
        }
        await Respond.JsonAsync(http, 200, new JsonObject
        {
            ["kind"] = def.ListKind,
            ["apiVersion"] = def.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["items"] = deleted,
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes one object the way upstream's registry does: preconditions; finalizers and graceful pod deletion
    /// only mark the object (deletionTimestamp); namespaces are emptied first; otherwise it is removed.
    /// </summary>
    private async Task<JsonObject> DeleteObjectAsync(ResourceDefinition def, StoredObject current, JsonObject? options, DryRunMode dryRun, CancellationToken ct)
    {
        var obj = current.Object;
        var name = Meta.Name(obj)!;
        if (options?["preconditions"] is JsonObject preconditions)
        {
            if (preconditions["uid"]?.GetValue<string>() is { } uid && uid != Meta.String(obj, "uid"))
            {
                throw ApiException.Conflict(def.QualifiedResource, name,
                    $"Precondition failed: UID in precondition: {uid}, UID in object meta: {Meta.String(obj, "uid")}");
            }
            if (preconditions["resourceVersion"]?.GetValue<string>() is { } rv && rv != Meta.String(obj, "resourceVersion"))
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
                return obj;
            }
            var marked = (JsonObject)obj.DeepClone();
            var meta = Meta.Of(marked);
            var now = Now;
            if (!Meta.IsDeleting(obj) || def.Kind == "Pod")
            {
                meta["deletionTimestamp"] = Meta.Timestamp(now.AddSeconds(grace ?? 0));
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
            if (dryRun == DryRunMode.All)
            {
                return marked;
            }
            if (def.Kind != "Namespace" && !Meta.HasFinalizers(marked) && grace == 0)
            {
                // A pod whose grace period is already over goes at once.
                await RemoveAsync(def, current, name, ct).ConfigureAwait(false);
                return marked;
            }
            try
            {
                var stored = await _objects.UpdateAsync(def, marked, current.ModRevision, ct).ConfigureAwait(false);
                if (def.Kind == "Namespace")
                {
                    _namespaces.Notify(name);
                }
                return stored.Object;
            }
            catch (StoreException e)
            {
                throw Translate(e, def, name);
            }
        }
        if (dryRun == DryRunMode.All)
        {
            return obj;
        }
        await RemoveAsync(def, current, name, ct).ConfigureAwait(false);
        return obj;
    }

    private async Task RemoveAsync(ResourceDefinition def, StoredObject current, string name, CancellationToken ct)
    {
        try
        {
            await _objects.DeleteAsync(def, Meta.Namespace(current.Object), name, current.ModRevision, ct).ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            throw Translate(e, def, name);
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

    private static bool FinishesDeletion(ResourceDefinition def, JsonObject obj) =>
        def.Kind != "Pod" || (Meta.Of(obj)["deletionGracePeriodSeconds"] is JsonValue v && v.TryGetValue<long>(out var g) && g == 0);

    private static async Task<JsonObject?> ReadDeleteOptionsAsync(HttpContext http, CancellationToken ct)
    {
        var bytes = await RequestBody.ReadAsync(http.Request, ct).ConfigureAwait(false);
        JsonObject? options = null;
        if (bytes.Length > 0)
        {
            options = RequestBody.ParseObject(http.Request.ContentType, bytes);
        }
        if (http.Request.Query["gracePeriodSeconds"].ToString() is { Length: > 0 } grace && long.TryParse(grace, out var g))
        {
            options ??= [];
            options["gracePeriodSeconds"] = g;
        }
        if (http.Request.Query["propagationPolicy"].ToString() is { Length: > 0 } policy)
        {
            options ??= [];
            options["propagationPolicy"] = policy;
        }
        if (options?["propagationPolicy"]?.GetValue<string>() is { } p && p is not ("Orphan" or "Background" or "Foreground"))
        {
            throw ApiException.Invalid("DeleteOptions", "", null,
                [new StatusCause("FieldValueNotSupported", $"Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\"", "propagationPolicy")]);
        }
        return options;
    }

    /// <summary>Fills apiVersion/kind/namespace from the URL, checks they agree, then normalizes through the model type.</summary>
    private static byte[]? RawJson(HttpContext http, byte[] body) =>
        MediaTypes.Essence(http.Request.ContentType) is MediaTypes.Json or "" ? body : null;

    private static JsonObject PrepareIncoming(HttpContext http, ResourceDefinition def, RequestInfo info, JsonObject body, byte[]? rawJson = null)
    {
        if (body["kind"]?.GetValue<string>() is { Length: > 0 } kind && kind != def.Kind)
        {
            throw ApiException.BadRequest($"the kind in the request body ({kind}) does not match the resource ({def.QualifiedResource}): expected {def.Kind}");
        }
        if (body["apiVersion"]?.GetValue<string>() is { Length: > 0 } apiVersion && apiVersion != def.ApiVersion)
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({def.ApiVersion})");
        }
        body["kind"] = def.Kind;
        body["apiVersion"] = def.ApiVersion;
        var obj = Normalize(http, def, body, rawJson);
        var meta = Meta.Of(obj);
        if (def.Namespaced)
        {
            var ns = Meta.Namespace(obj);
            if (ns is { Length: > 0 } && ns != info.Namespace)
            {
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }
            meta["namespace"] = info.Namespace;
        }
        else
        {
            meta.Remove("namespace");
        }
        if (info.Name is not null && string.IsNullOrEmpty(Meta.Name(obj)))
        {
            meta["name"] = info.Name;
        }
        return obj;
    }

    private async Task EnsureNamespaceAcceptsAsync(ResourceDefinition def, string ns, string name, CancellationToken ct)
    {
        var nsDef = _catalog.Get("", "namespaces");
        var nsObj = await _objects.GetAsync(nsDef, null, ns, ct).ConfigureAwait(false) ?? throw ApiException.NotFound("namespaces", ns);
        if (Meta.IsDeleting(nsObj.Object))
        {
            throw new ApiException(403, "Forbidden",
                $"{def.QualifiedResource} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                def.Plural, name, def.Group.Length == 0 ? null : def.Group,
                [new StatusCause("NamespaceTerminating", $"namespace {ns} is being terminated", "metadata.namespace")]);
        }
    }

    private static void ThrowIfInvalid(ResourceDefinition def, JsonObject obj, List<FieldError> errors)
    {
        if (errors.Count > 0)
        {
            throw ApiException.Invalid(def.Kind, Meta.Name(obj) ?? Meta.String(obj, "generateName") ?? "", def.Group.Length == 0 ? null : def.Group,
                [.. errors.Select(e => new StatusCause(e.Reason, e.Message, e.Field))]);
        }
    }

    // Kinds whose upstream strategy has AllowCreateOnUpdate() == true.
    private static bool AllowCreateOnUpdate(ResourceDefinition def) => def.Kind is "Endpoints" or "Event" or "Lease" or "EndpointSlice";

    // Upstream's SimpleNameGenerator: 5 characters from an alphabet without vowels or confusables.
    private static string GenerateName(string prefix)
    {
        const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";
        if (prefix.Length > 58)
        {
            prefix = prefix[..58];
        }
        Span<char> suffix = stackalloc char[5];
        for (var i = 0; i < suffix.Length; i++)
        {
            suffix[i] = Alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }
        return prefix + new string(suffix);
    }
}
