using System.Text.Json.Nodes;
using Berth.Api.Selectors;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public sealed partial class ResourceHandler
{
    private async Task<JsonObject> GetScaleAsync(ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var current = await GetRequiredAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false);
        return ToScale(current.Object);
    }

    /// <summary>The autoscaling/v1 Scale view of a Deployment or ReplicaSet; writing it changes spec.replicas.</summary>
    private async Task<JsonObject> UpdateScaleAsync(ResourceDefinition def, RequestInfo info,
        Func<JsonObject, JsonObject> change, DryRunMode dryRun, CancellationToken ct)
    {
        var result = await UpdateWithRetriesAsync(def, info with { Subresource = null }, current =>
        {
            var scale = change(ToScale(current.Object));
            var replicas = (scale["spec"] as JsonObject)?["replicas"];
            long value = 0;
            if (replicas is not null && !(replicas is JsonValue v && v.TryGetValue(out value)))
            {
                throw ApiException.BadRequest("Scale in version \"v1\" cannot be handled as a Scale: spec.replicas must be an integer");
            }
            if (value < 0)
            {
                throw ApiException.Invalid("Scale", info.Name!, "autoscaling",
                    [new StatusCause("FieldValueInvalid", $"Invalid value: {value}: must be greater than or equal to 0", "spec.replicas")]);
            }
            var updated = (JsonObject)current.Object.DeepClone();
            var spec = updated["spec"] as JsonObject ?? [];
            updated["spec"] = spec;
            spec["replicas"] = value;
            var requested = Meta.String(scale, "resourceVersion");
            if (requested is { Length: > 0 } && requested != Meta.String(current.Object, "resourceVersion"))
            {
                throw ApiException.ModifiedConflict(def.QualifiedResource, info.Name!);
            }
            Meta.Of(updated).Remove("resourceVersion");
            return updated;
        }, dryRun, ct).ConfigureAwait(false);
        return ToScale(result);
    }

    private static JsonObject ToScale(JsonObject obj)
    {
        var meta = Meta.Of(obj);
        var spec = obj["spec"] as JsonObject;
        var status = obj["status"] as JsonObject;
        var scaleMeta = new JsonObject();
        foreach (var field in new[] { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" })
        {
            if (meta[field] is { } value)
            {
                scaleMeta[field] = value.DeepClone();
            }
        }
        var selector = LabelSelector.FromMetav1(spec?["selector"]);
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = scaleMeta,
            ["spec"] = new JsonObject { ["replicas"] = spec?["replicas"]?.DeepClone() ?? 1 },
            ["status"] = new JsonObject
            {
                ["replicas"] = status?["replicas"]?.DeepClone() ?? 0,
                ["selector"] = selector.ToString(),
            },
        };
    }

    /// <summary>pods/binding: assigns a pending pod to a node once (the scheduler's write).</summary>
    private async Task BindAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var body = RequestBody.ParseObject(http.Request.ContentType, await RequestBody.ReadAsync(http.Request, ct).ConfigureAwait(false));
        var node = RequestBody.OptionalString((body["target"] as JsonObject)?["name"], "target.name");
        if (string.IsNullOrEmpty(node))
        {
            throw ApiException.Invalid("Binding", info.Name!, null, [new StatusCause("FieldValueRequired", "Required value", "target.name")]);
        }
        var dryRun = DryRun(http.Request);
        await UpdateWithRetriesAsync(def, info with { Subresource = null }, current =>
        {
            var pod = (JsonObject)current.Object.DeepClone();
            if (Meta.IsDeleting(pod))
            {
                throw ApiException.Conflict("pods/binding", info.Name!, $"pod {info.Name} is being deleted, cannot be assigned to a host");
            }
            var spec = pod["spec"] as JsonObject ?? [];
            pod["spec"] = spec;
            if (Meta.Field(pod, "spec.nodeName") is { Length: > 0 } assigned)
            {
                throw ApiException.Conflict("pods/binding", info.Name!, $"pod {info.Name} is already assigned to node \"{assigned}\"");
            }
            spec["nodeName"] = node;
            Meta.Of(pod).Remove("resourceVersion");
            return pod;
        }, dryRun, ct).ConfigureAwait(false);
        await Respond.JsonAsync(http, 201, new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["code"] = 201,
        }).ConfigureAwait(false);
    }
}
