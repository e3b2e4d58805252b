using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Validation;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Http;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Upstream's endpoints strategy (pkg/registry/core/endpoint/strategy.go): an Endpoints write is validated, and
/// nothing else is done to it. Users write Endpoints themselves for Services without a selector, so bad input must
/// be a 422 naming the field, not a proxy that later chokes on it.
/// </summary>
internal sealed class EndpointsHooks : IObjectHooks
{
    public string Kind => "Endpoints";

    public Task<AllocationTransaction> BeforeCreateAsync(JsonObject obj, bool dryRun, CancellationToken ct)
    {
        ThrowIfInvalid(obj);
        return Task.FromResult(new AllocationTransaction());
    }

    public Task<AllocationTransaction> BeforeUpdateAsync(JsonObject updated, JsonObject old, string? subresource, bool dryRun, CancellationToken ct)
    {
        ThrowIfInvalid(updated);
        return Task.FromResult(new AllocationTransaction());
    }

    public Task AfterDeleteAsync(JsonObject deleted, CancellationToken ct) => Task.CompletedTask;

    private static void ThrowIfInvalid(JsonObject obj)
    {
        // Validated after v1 defaulting (ports' protocol), as upstream: every write is defaulted when it is decoded.
        var endpoints = KubeJson.Deserialize<Endpoints>(obj);
        if (EndpointsValidation.Validate(endpoints) is { Count: > 0 } errors)
        {
            throw ApiException.Invalid("Endpoints", endpoints.Metadata?.Name ?? "", errors);
        }
    }
}

/// <summary>
/// Upstream's endpointslice strategy (pkg/registry/discovery/endpointslice/strategy.go) beyond what
/// <see cref="Strategy"/> does (which holds its generation rule): a write drops deprecatedTopology as v1 writes do
/// upstream (Berth serves discovery.k8s.io/v1 only), then the slice is validated.
/// </summary>
internal sealed class EndpointSliceHooks : IObjectHooks
{
    private const string Group = "discovery.k8s.io";
    private const string HostnameLabel = "kubernetes.io/hostname";

    public string Kind => "EndpointSlice";

    public Task<AllocationTransaction> BeforeCreateAsync(JsonObject obj, bool dryRun, CancellationToken ct)
    {
        DropTopologyOnV1(obj, null);
        ThrowIfInvalid(obj, EndpointSliceValidation.ValidateCreate(KubeJson.Deserialize<EndpointSlice>(obj)));
        return Task.FromResult(new AllocationTransaction());
    }

    public Task<AllocationTransaction> BeforeUpdateAsync(JsonObject updated, JsonObject old, string? subresource, bool dryRun, CancellationToken ct)
    {
        DropTopologyOnV1(updated, old);
        ThrowIfInvalid(updated, EndpointSliceValidation.ValidateUpdate(KubeJson.Deserialize<EndpointSlice>(updated), KubeJson.Deserialize<EndpointSlice>(old)));
        return Task.FromResult(new AllocationTransaction());
    }

    public Task AfterDeleteAsync(JsonObject deleted, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// dropTopologyOnV1: v1 writes to endpoints[].deprecatedTopology are dropped, unless the endpoints are unchanged.
    /// A node name the previous version already carried as its kubernetes.io/hostname topology label moves into an
    /// empty nodeName on the way, as long as it is a valid node name.
    /// </summary>
    private static void DropTopologyOnV1(JsonObject slice, JsonObject? old)
    {
        if (old is not null && Strategy.SemanticEquals(slice["endpoints"], old["endpoints"]))
        {
            return;
        }
        var previousNodeNames = TopologyNodeNames(old);
        foreach (var endpoint in (slice["endpoints"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (endpoint["nodeName"] is null &&
                (endpoint["deprecatedTopology"] as JsonObject)?[HostnameLabel] is JsonValue value &&
                value.TryGetValue<string>(out var nodeName) && previousNodeNames.Contains(nodeName) &&
                NameValidation.IsDns1123Subdomain(nodeName).Count == 0)
            {
                endpoint["nodeName"] = nodeName;
            }
            endpoint.Remove("deprecatedTopology");
        }
    }

    private static HashSet<string> TopologyNodeNames(JsonObject? slice) =>
    [
        .. ((slice?["endpoints"] as JsonArray)?.OfType<JsonObject>() ?? [])
            .Select(e => (e["deprecatedTopology"] as JsonObject)?[HostnameLabel])
            .Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "")
            .Where(s => s.Length > 0),
    ];

    private static void ThrowIfInvalid(JsonObject obj, List<FieldError> errors)
    {
        if (errors.Count > 0)
        {
            throw ApiException.Invalid("EndpointSlice", Meta.Name(obj) ?? "", Group,
                [.. errors.Select(e => new Http.StatusCause(e.Reason, e.Message, e.Field))]);
        }
    }
}
