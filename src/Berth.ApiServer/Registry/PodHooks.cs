using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Validation;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Http;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Upstream's pod strategy validation (pkg/registry/core/pod/strategy.go Validate), for the DNS fields the node
/// agent turns into the pod's resolv.conf and hosts (<see cref="PodValidation"/>): a bad dnsPolicy, dnsConfig or
/// hostAliases is a 422 naming the field, not a pod that fails on its node. Pods written by controllers come the
/// same way. An update is checked only when it changes those fields, so a pod stored before these checks existed
/// can still get its status and deletion written.
/// </summary>
internal sealed class PodHooks : IObjectHooks
{
    private static readonly string[] s_dnsFields = ["dnsPolicy", "dnsConfig", "hostAliases", "hostname", "subdomain"];

    public string Kind => "Pod";

    public Task<AllocationTransaction> BeforeCreateAsync(JsonObject obj, bool dryRun, CancellationToken ct)
    {
        ThrowIfInvalid(obj);
        return Task.FromResult(new AllocationTransaction());
    }

    public Task<AllocationTransaction> BeforeUpdateAsync(JsonObject updated, JsonObject old, string? subresource, bool dryRun, CancellationToken ct)
    {
        var spec = updated["spec"] as JsonObject;
        var oldSpec = old["spec"] as JsonObject;
        if (subresource is null && s_dnsFields.Any(f => !Strategy.SemanticEquals(spec?[f], oldSpec?[f])))
        {
            ThrowIfInvalid(updated);
        }
        return Task.FromResult(new AllocationTransaction());
    }

    public Task AfterDeleteAsync(JsonObject deleted, CancellationToken ct) => Task.CompletedTask;

    private static void ThrowIfInvalid(JsonObject obj)
    {
        var pod = KubeJson.Deserialize<Pod>(obj);
        if (PodValidation.ValidateDns(pod.Spec ?? new PodSpec()) is { Count: > 0 } errors)
        {
            throw ApiException.Invalid("Pod", pod.Metadata?.Name ?? "", errors);
        }
    }
}
