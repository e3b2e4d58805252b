using System.Text.Json.Nodes;
using Berth.Api.Serialization;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

/// <summary>
/// The REST verbs on every resource: get, list, watch, create, update, patch, delete, deletecollection and the
/// status/scale/binding/finalize subresources, with upstream's semantics (kubectl-wire.md §3).
/// </summary>
public sealed partial class ResourceHandler
{
    private static readonly string[] s_protectedNamespaces = ["default", "kube-system", "kube-public"];

    private readonly ResourceCatalog _catalog;
    private readonly ObjectStore _objects;
    private readonly TimeProvider _time;
    private readonly NamespaceLifecycle _namespaces;

    public ResourceHandler(ResourceCatalog catalog, ObjectStore objects, TimeProvider time, NamespaceLifecycle namespaces)
    {
        _catalog = catalog;
        _objects = objects;
        _time = time;
        _namespaces = namespaces;
    }

    public async Task HandleAsync(HttpContext http, RequestInfo info)
    {
        var def = _catalog.Find(info.Group, info.Version, info.Resource)
            ?? throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        if (def.Namespaced is false && info.Namespace is not null)
        {
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        }
        if (info.Subresource is { } sub && !def.Subresources.Contains(sub))
        {
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        }
        var ct = http.RequestAborted;
        switch (info.Verb)
        {
            case "get" when info.Subresource == "scale":
                await Respond.JsonAsync(http, 200, await GetScaleAsync(def, info, ct)).ConfigureAwait(false);
                break;
            case "get":
                await GetAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "list":
                await ListAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "watch":
                await WatchAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "create" when info.Subresource == "binding":
                await BindAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "create" when info.Name is null:
                await CreateAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "update" when info.Name is not null:
                await UpdateAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "patch" when info.Name is not null:
                await PatchAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "delete" when info.Subresource is null:
                await DeleteAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            case "deletecollection" when def.Plural != "namespaces":
                await DeleteCollectionAsync(http, def, info, ct).ConfigureAwait(false);
                break;
            default:
                throw new ApiException(405, "MethodNotAllowed",
                    $"the server does not allow this method on the requested resource");
        }
    }

    private static DryRunMode DryRun(HttpRequest request)
    {
        var values = request.Query["dryRun"];
        if (values.Count == 0)
        {
            return DryRunMode.None;
        }
        foreach (var v in values)
        {
            if (v != "All")
            {
                throw ApiException.BadRequest($"Invalid dryRun value: {v}; supported values: \"All\"");
            }
        }
        return DryRunMode.All;
    }

    private enum DryRunMode
    {
        None,
        All,
    }

    /// <summary>
    /// Decodes into the kind's model type and back: unknown fields are reported (per fieldValidation) and dropped,
    /// values of the wrong type are a 400 (upstream "cannot be handled as a X"), and the result is canonical JSON.
    /// </summary>
    private static JsonObject Normalize(HttpContext http, ResourceDefinition def, JsonObject obj, Type? modelType = null, string? kind = null)
    {
        modelType ??= def.ModelType;
        kind ??= def.Kind;
        var version = modelType == def.ModelType ? def.ApiVersion : (string?)obj["apiVersion"]?.GetValue<string>() ?? def.ApiVersion;
        var mode = FieldValidation(http.Request);
        if (mode != "Ignore")
        {
            var unknown = UnknownFieldDetector.FindUnknownFields(obj, modelType);
            if (unknown.Count > 0)
            {
                if (mode == "Strict")
                {
                    throw ApiException.BadRequest(
                        $"{kind} in version \"{VersionOnly(version)}\" cannot be handled as a {kind}: strict decoding error: " +
                        string.Join(", ", unknown.Select(u => u.StartsWith("duplicate field", StringComparison.Ordinal) ? u : $"unknown field \"{u}\"")));
                }
                foreach (var field in unknown)
                {
                    var text = field.StartsWith("duplicate field", StringComparison.Ordinal) ? field : $"unknown field \"{field}\"";
                    Respond.AddWarning(http.Response, text);
                }
            }
        }
        try
        {
            var typed = KubeJson.Deserialize(obj, modelType);
            var bytes = KubeJson.SerializeToUtf8Bytes(typed, modelType);
            return JsonNode.Parse(bytes)!.AsObject();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or OverflowException or NotSupportedException or ArgumentException)
        {
            throw ApiException.BadRequest($"{kind} in version \"{VersionOnly(version)}\" cannot be handled as a {kind}: {e.Message}");
        }
    }

    private static string VersionOnly(string apiVersion)
    {
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? apiVersion : apiVersion[(slash + 1)..];
    }

    private static string FieldValidation(HttpRequest request)
    {
        var value = request.Query["fieldValidation"].ToString();
        return value switch
        {
            "" => "Warn",
            "Strict" or "Warn" or "Ignore" => value,
            _ => throw ApiException.BadRequest($"fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {value}"),
        };
    }

    private async Task<StoredObject> GetRequiredAsync(ResourceDefinition def, string? ns, string name, CancellationToken ct) =>
        await _objects.GetAsync(def, ns, name, ct).ConfigureAwait(false) ?? throw ApiException.NotFound(def.QualifiedResource, name);

    private DateTimeOffset Now => _time.GetUtcNow();

    private static ApiException Translate(StoreException e, ResourceDefinition def, string name) => e switch
    {
        KeyExistsException => ApiException.AlreadyExists(def.QualifiedResource, name),
        StoreKeyNotFoundException => ApiException.NotFound(def.QualifiedResource, name),
        ConflictException => ApiException.ModifiedConflict(def.QualifiedResource, name),
        CompactedException c => ApiException.Gone($"too old resource version: {c.RequestedRevision} ({c.CompactedRevision})"),
        _ => new ApiException(500, "InternalError", e.Message),
    };
}
