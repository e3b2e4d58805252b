using System.Text.Json.Nodes;
using Berth.Api.Defaulting;
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
    private readonly ResourceCatalog _catalog;
    private readonly ObjectStore _objects;
    private readonly TimeProvider _time;
    private readonly ObjectDeleter _deleter;
    private readonly ObjectHooks _hooks;
    private readonly ApiServerOptions _options;

    private readonly KubeletProxy _kubelets;

    public ResourceHandler(ResourceCatalog catalog, ObjectStore objects, TimeProvider time, ObjectDeleter deleter, ObjectHooks hooks, KubeletProxy kubelets,
        ApiServerOptions options)
    {
        _options = options;
        _kubelets = kubelets;
        _catalog = catalog;
        _objects = objects;
        _time = time;
        _deleter = deleter;
        _hooks = hooks;
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
            case "get" when info.Subresource == "log":
                await _kubelets.LogsAsync(http, info, ct).ConfigureAwait(false);
                break;
            case "get" or "create" when info.Subresource == "exec":
                await _kubelets.ExecAsync(http, info, ct).ConfigureAwait(false);
                break;
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
    private static JsonObject Normalize(HttpContext http, ResourceDefinition def, JsonObject obj, byte[]? rawJson = null)
    {
        var mode = FieldValidation(http.Request);
        if (mode != "Ignore")
        {
            // The raw body also reveals duplicate fields, which a parsed JsonObject has already lost.
            var problems = rawJson is not null
                ? UnknownFieldDetector.FindStrictErrors(rawJson, def.ModelType)
                : [.. UnknownFieldDetector.FindUnknownFields(obj, def.ModelType).Select(f => $"unknown field \"{f}\"")];
            if (problems.Count > 0)
            {
                if (mode == "Strict")
                {
                    throw ApiException.BadRequest(
                        $"{def.Kind} in version \"{def.Version}\" cannot be handled as a {def.Kind}: strict decoding error: {string.Join(", ", problems)}");
                }
                foreach (var problem in problems)
                {
                    Respond.AddWarning(http.Response, problem);
                }
            }
        }
        try
        {
            var typed = KubeJson.Deserialize(obj, def.ModelType);
            Defaults.Apply(typed);
            var bytes = KubeJson.SerializeToUtf8Bytes(typed, def.ModelType);
            return JsonNode.Parse(bytes)!.AsObject();
        }
        catch (System.Text.Json.JsonException e)
        {
            var path = e.Path is { Length: > 2 } p ? p[2..] : "";
            throw ApiException.BadRequest(
                $"{def.Kind} in version \"{def.Version}\" cannot be handled as a {def.Kind}: json: cannot unmarshal the value of \"{path}\": " +
                ShortReason(e.Message));
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or NotSupportedException or ArgumentException)
        {
            throw ApiException.BadRequest($"{def.Kind} in version \"{def.Version}\" cannot be handled as a {def.Kind}: {e.Message}");
        }
    }

    // System.Text.Json appends " Path: ... | LineNumber: ..." which means nothing to a kubectl user.
    private static string ShortReason(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
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
}
