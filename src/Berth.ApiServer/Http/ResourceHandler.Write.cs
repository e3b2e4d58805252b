using System.Text.Json.Nodes;
using Berth.Api.Validation;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public sealed partial class ResourceHandler
{
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
        Strategy.Admit(def, obj, subresource: null, _options);
        Strategy.PrepareForCreate(def, obj, Now);
        ThrowIfInvalid(def, obj, Strategy.ValidateMetadata(def, obj));
        if (def.Namespaced)
        {
            await EnsureNamespaceAcceptsAsync(def, Meta.Namespace(obj)!, name, ct).ConfigureAwait(false);
        }
        var hooks = _hooks.For(def.Kind);
        // A dry run never reaches the store, and a kind with hooks would allocate for a name that is taken: both
        // check first. Other creates let the store's create-if-absent say AlreadyExists, saving a read.
        if ((hooks is not null || dryRun == DryRunMode.All) &&
            await _objects.GetAsync(def, Meta.Namespace(obj), name, ct).ConfigureAwait(false) is not null)
        {
            throw ApiException.AlreadyExists(def.QualifiedResource, name);
        }
        var txn = hooks is null ? null : await hooks.BeforeCreateAsync(obj, dryRun == DryRunMode.All, ct).ConfigureAwait(false);
        if (dryRun == DryRunMode.All)
        {
            return obj;
        }
        try
        {
            var stored = await _objects.CreateAsync(def, obj, ct).ConfigureAwait(false);
            if (txn is not null)
            {
                await txn.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            return stored.Object;
        }
        catch (Exception e)
        {
            if (txn is not null)
            {
                await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
            }
            throw e is StoreException se ? ObjectStore.Translate(se, def, name) : e;
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
        // A resourceVersion in the body must be the current one; without one the update lands on whatever is current.
        var result = await UpdateWithRetriesAsync(def, info, _ => (JsonObject)obj.DeepClone(), dryRun, ct, current).ConfigureAwait(false);
        await Respond.JsonAsync(http, 200, result).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies an update computed from the current object (<see cref="ObjectStore.GuaranteedAsync"/>): one that
    /// pins a resourceVersion other than the current one is a 409, others retry on the fresh object.
    /// </summary>
    private Task<JsonObject> UpdateWithRetriesAsync(ResourceDefinition def, RequestInfo info,
        Func<StoredObject, JsonObject> compute, DryRunMode dryRun, CancellationToken ct, StoredObject? current = null) =>
        _objects.GuaranteedAsync(def, info.Namespace, info.Name!, current, fresh =>
        {
            var updated = compute(fresh);
            var requested = Meta.String(updated, "resourceVersion");
            if (requested is { Length: > 0 } && requested != fresh.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                throw ApiException.ModifiedConflict(def.QualifiedResource, info.Name!);
            }
            return WriteUpdateAsync(def, fresh, updated, info.Subresource, dryRun, ct);
        }, ct);

    private async Task<JsonObject> WriteUpdateAsync(ResourceDefinition def, StoredObject current, JsonObject updated, string? subresource, DryRunMode dryRun, CancellationToken ct)
    {
        var errors = Strategy.ValidateMetadataUpdate(updated, current.Object);
        ThrowIfInvalid(def, updated, errors);
        var result = Strategy.PrepareForUpdate(def, updated, current.Object, subresource);
        Strategy.Admit(def, result, subresource, _options);
        ThrowIfInvalid(def, result, Strategy.ValidateMetadata(def, result));
        var txn = _hooks.For(def.Kind) is { } hooks
            ? await hooks.BeforeUpdateAsync(result, current.Object, subresource, dryRun == DryRunMode.All, ct).ConfigureAwait(false)
            : new AllocationTransaction();
        var rv = current.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Meta.Of(result)["resourceVersion"] = rv;
        if (JsonNode.DeepEquals(result, current.Object) || dryRun == DryRunMode.All)
        {
            await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
            // A no-op update writes nothing and keeps the resourceVersion, as upstream.
            return dryRun == DryRunMode.All ? result : current.Object;
        }
        try
        {
            if (Meta.IsDeleting(result) && !Meta.HasFinalizers(result) && ObjectDeleter.FinishesDeletion(def, result))
            {
                await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
                await _deleter.RemoveAsync(def, current, ct).ConfigureAwait(false);
                return result;
            }
            var stored = await _objects.UpdateAsync(def, result, current.ModRevision, ct).ConfigureAwait(false);
            await txn.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            return stored.Object;
        }
        catch (StoreException)
        {
            // Translated (or retried, for a conflict) by the caller's GuaranteedAsync loop.
            await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task DeleteAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var options = await ReadDeleteOptionsAsync(http, ct).ConfigureAwait(false);
        var dryRun = DryRun(http.Request) == DryRunMode.All || options?["dryRun"] is JsonArray { Count: > 0 } ? DryRunMode.All : DryRunMode.None;
        var current = await GetRequiredAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false);
        var result = await _deleter.DeleteAsync(def, current, options, dryRun == DryRunMode.All, ct).ConfigureAwait(false);
        // Upstream answers 202 Accepted while a graceful or finalizer-held deletion is still in progress.
        await Respond.JsonAsync(http, result.Pending ? 202 : 200, result.Object).ConfigureAwait(false);
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
                deleted.Add((await _deleter.DeleteAsync(def, item, options, dryRun == DryRunMode.All, ct).ConfigureAwait(false)).Object);
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
    /// DeleteOptions as upstream's delete handler reads them: from the body when there is one, else from the query
    /// (kubectl sends a body; curl users write ?propagationPolicy=Foreground), then validated.
    /// </summary>
    private static async Task<JsonObject?> ReadDeleteOptionsAsync(HttpContext http, CancellationToken ct)
    {
        var bytes = await RequestBody.ReadAsync(http.Request, ct).ConfigureAwait(false);
        JsonObject? options = null;
        if (bytes.Length > 0)
        {
            options = RequestBody.ParseObject(http.Request.ContentType, bytes);
        }
        else
        {
            var query = http.Request.Query;
            if (query["gracePeriodSeconds"].Count > 0)
            {
                var grace = query["gracePeriodSeconds"][0] ?? "";
                options ??= [];
                options["gracePeriodSeconds"] = long.TryParse(grace, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var g)
                    ? g
                    : throw ApiException.BadRequest($"strconv.ParseInt: parsing {FieldError.Quote(grace)}: invalid syntax");
            }
            if (query["propagationPolicy"].ToString() is { Length: > 0 } policy)
            {
                options ??= [];
                options["propagationPolicy"] = policy;
            }
            if (query["orphanDependents"].Count > 0)
            {
                // Go's query decoding of a *bool: only "0" and "false" (any case) are false.
                var orphan = query["orphanDependents"][0] ?? "";
                options ??= [];
                options["orphanDependents"] = !(orphan == "0" || orphan.Equals("false", StringComparison.OrdinalIgnoreCase));
            }
        }
        ObjectDeleter.ValidateOptions(options);
        return options;
    }

    /// <summary>Fills apiVersion/kind/namespace from the URL, checks they agree, then normalizes through the model type.</summary>
    private static byte[]? RawJson(HttpContext http, byte[] body) =>
        MediaTypes.Essence(http.Request.ContentType) is MediaTypes.Json or "" ? body : null;

    private static JsonObject PrepareIncoming(HttpContext http, ResourceDefinition def, RequestInfo info, JsonObject body, byte[]? rawJson = null)
    {
        if (RequestBody.OptionalString(body["kind"], "kind") is { Length: > 0 } kind && kind != def.Kind)
        {
            throw ApiException.BadRequest($"the kind in the request body ({kind}) does not match the resource ({def.QualifiedResource}): expected {def.Kind}");
        }
        if (RequestBody.OptionalString(body["apiVersion"], "apiVersion") is { Length: > 0 } apiVersion && apiVersion != def.ApiVersion)
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
