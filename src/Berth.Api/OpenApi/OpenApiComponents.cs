using System.Text.Json.Nodes;
using Berth.Api.Models;

namespace Berth.Api.OpenApi;

/// <summary>
/// The OpenAPI v3 <c>components</c> of the served kinds, generated from the upstream v1.32 schema
/// (tools/modelgen) with upstream definition names (<c>io.k8s.api.core.v1.Service</c>) and the
/// strategic-merge-patch extensions kubectl reads (<c>x-kubernetes-patch-merge-key</c>, ...).
/// </summary>
public static class OpenApiComponents
{
    private const string ResourceName = "Berth.Api.OpenApi.components.json";

    private static readonly Lazy<byte[]> s_utf8 = new(LoadUtf8);
    private static readonly Lazy<JsonObject> s_schemas = new(() =>
        (JsonObject)JsonNode.Parse(s_utf8.Value)!["schemas"]!);

    /// <summary>
    /// <c>{"io.k8s.api.core.v1.Service": {...}, ...}</c>. One shared instance parsed once: treat it as
    /// read-only (deep-clone a schema before changing it).
    /// </summary>
    public static JsonObject Schemas => s_schemas.Value;

    /// <summary>The embedded document <c>{"schemas":{...}}</c> as UTF-8 JSON, for serving without re-serialising.</summary>
    public static ReadOnlyMemory<byte> Utf8 => s_utf8.Value;

    /// <summary>The OpenAPI definition name of a generated model type, e.g. <c>io.k8s.api.apps.v1.Deployment</c>.</summary>
    /// <exception cref="ArgumentException">The type is not a generated model type.</exception>
    public static string DefinitionName(Type kind) =>
        KubeKinds.TryGetDefinitionName(kind, out var name)
            ? name
            : throw new ArgumentException($"{kind} is not a generated Kubernetes model type.", nameof(kind));

    private static byte[] LoadUtf8()
    {
        using var stream = typeof(OpenApiComponents).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
