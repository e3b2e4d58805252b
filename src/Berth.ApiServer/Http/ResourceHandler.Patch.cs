using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Berth.Api.OpenApi;
using Berth.Api.Patch;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public sealed partial class ResourceHandler
{
    private static readonly ConcurrentDictionary<Type, IPatchSchema> s_patchSchemas = new();

    private async Task PatchAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var dryRun = DryRun(http.Request);
        var bytes = await RequestBody.ReadAsync(http.Request, ct).ConfigureAwait(false);
        var contentType = MediaTypes.Essence(http.Request.ContentType);
        JsonNode patch = contentType switch
        {
            MediaTypes.JsonPatch => RequestBody.ParseJson(bytes) as JsonArray ?? throw ApiException.BadRequest("a JSON patch must be an array of operations"),
            MediaTypes.MergePatch or MediaTypes.StrategicMergePatch => RequestBody.ParseJson(bytes) as JsonObject
                ?? throw ApiException.BadRequest("a merge patch must be a JSON object"),
            MediaTypes.ApplyPatch => RequestBody.ParseYamlObject(bytes),
            _ => throw ApiException.UnsupportedMediaType(http.Request.ContentType ?? ""),
        };
        var pinsVersion = PinsResourceVersion(patch);
        if (contentType == MediaTypes.ApplyPatch && http.Request.Query["fieldManager"].ToString().Length == 0)
        {
            throw ApiException.BadRequest("PATCH, application/apply-patch+yaml: fieldManager is required for apply requests");
        }

        if (info.Subresource == "scale")
        {
            var scale = await UpdateScaleAsync(def, info, current => ApplyPatch(contentType, current, patch, schema: null), dryRun, ct).ConfigureAwait(false);
            await Respond.JsonAsync(http, 200, scale).ConfigureAwait(false);
            return;
        }

        if (contentType == MediaTypes.ApplyPatch && info.Subresource is null)
        {
            if (await _objects.GetAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false) is null)
            {
                // Server-side apply creates what does not exist yet.
                var applied = (JsonObject)patch.DeepClone();
                var obj = PrepareIncoming(http, def, info, applied);
                if (Meta.Name(obj) != info.Name)
                {
                    throw ApiException.BadRequest($"the name of the object ({Meta.Name(obj)}) does not match the name on the URL ({info.Name})");
                }
                Meta.Of(obj).Remove("resourceVersion");
                await Respond.JsonAsync(http, 201, await CreateObjectAsync(def, obj, dryRun, ct).ConfigureAwait(false)).ConfigureAwait(false);
                return;
            }
        }

        var schema = PatchSchemaFor(def);
        var result = await UpdateWithRetriesAsync(def, info, current =>
        {
            var patched = ApplyPatch(contentType, (JsonObject)current.Object.DeepClone(), patch, schema);
            if (!pinsVersion)
            {
                Meta.Of(patched).Remove("resourceVersion");
            }
            var normalized = PrepareIncoming(http, def, info, patched);
            if (Meta.Name(normalized) != info.Name)
            {
                throw ApiException.BadRequest($"the name of the object ({Meta.Name(normalized)}) does not match the name on the URL ({info.Name})");
            }
            return normalized;
        }, dryRun, ct).ConfigureAwait(false);
        await Respond.JsonAsync(http, 200, result).ConfigureAwait(false);
    }

    private static JsonObject ApplyPatch(string contentType, JsonObject current, JsonNode patch, IPatchSchema? schema)
    {
        try
        {
            var result = contentType switch
            {
                MediaTypes.JsonPatch => JsonPatch.Apply(current, (JsonArray)patch),
                MediaTypes.MergePatch => JsonMergePatch.Apply(current, patch),
                MediaTypes.StrategicMergePatch => StrategicMergePatch.Apply(current, (JsonObject)patch, schema ?? NoPatchSchema.Instance),
                MediaTypes.ApplyPatch => ServerSideApply.Apply(current, (JsonObject)patch, schema ?? NoPatchSchema.Instance),
                _ => throw ApiException.UnsupportedMediaType(contentType),
            };
            return result as JsonObject ?? throw ApiException.BadRequest("the patch must leave an object");
        }
        catch (PatchException e)
        {
            // Upstream answers a few unclassified strategic-merge errors with 500; bad input is never a 500 here.
            throw e.StatusCode == 400 ? ApiException.BadRequest(e.Message) : new ApiException(422, "Invalid", e.Message);
        }
    }

    private static bool PinsResourceVersion(JsonNode patch) => patch switch
    {
        JsonObject obj => (obj["metadata"] as JsonObject)?["resourceVersion"] is JsonValue,
        JsonArray ops => ops.OfType<JsonObject>().Any(op => op["path"] is JsonValue path && path.TryGetValue<string>(out var p) && p == "/metadata/resourceVersion"),
        _ => false,
    };

    private static IPatchSchema PatchSchemaFor(ResourceDefinition def) =>
        s_patchSchemas.GetOrAdd(def.ModelType, type =>
            OpenApiPatchSchema.ForDefinition(OpenApiComponents.Schemas, OpenApiComponents.DefinitionName(type)));
}
