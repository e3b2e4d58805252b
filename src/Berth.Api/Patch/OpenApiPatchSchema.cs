using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

/// <summary>
/// Patch metadata read from OpenAPI v3 component schemas in upstream's shape: properties carry
/// <c>x-kubernetes-patch-strategy</c> / <c>x-kubernetes-patch-merge-key</c>; types are reached
/// through <c>$ref</c>, directly or inside <c>allOf</c>; maps use <c>additionalProperties</c>.
/// Definitions are compiled on first use and cached, so one instance can serve many requests
/// concurrently (the source <see cref="JsonObject"/> is only read under a lock).
/// </summary>
public sealed class OpenApiPatchSchema : IPatchSchema
{
    private readonly Index _index;
    private readonly string? _refName;
    private readonly Compiled? _inline;

    private OpenApiPatchSchema(Index index, string? refName, Compiled? inline)
    {
        _index = index;
        _refName = refName;
        _inline = inline;
    }

    /// <summary>
    /// The schema of <paramref name="definitionName"/> (e.g. <c>io.k8s.api.core.v1.Service</c>).
    /// <paramref name="componentsSchemas"/> is either the components object (with <c>schemas</c>)
    /// or the <c>schemas</c> map itself.
    /// </summary>
    /// <exception cref="ArgumentException">The definition does not exist.</exception>
    public static OpenApiPatchSchema ForDefinition(JsonObject componentsSchemas, string definitionName)
    {
        ArgumentNullException.ThrowIfNull(componentsSchemas);
        ArgumentNullException.ThrowIfNull(definitionName);
        var schemas = componentsSchemas.TryGetPropertyValue("schemas", out var inner) && inner is JsonObject innerObject
            ? innerObject
            : componentsSchemas;
        if (!schemas.ContainsKey(definitionName))
        {
            throw new ArgumentException($"no schema named {definitionName}", nameof(definitionName));
        }

        return new OpenApiPatchSchema(new Index(schemas), definitionName, null);
    }

    public IPatchSchema? Field(string name)
    {
        var compiled = Resolve();
        if (compiled.Properties is not null && compiled.Properties.TryGetValue(name, out var property))
        {
            return property.Schema;
        }

        return compiled.AdditionalProperties;
    }

    public IPatchSchema? Items() => Resolve().Items;

    public PatchFieldInfo FieldInfo(string name)
    {
        var compiled = Resolve();
        return compiled.Properties is not null && compiled.Properties.TryGetValue(name, out var property) ? property.Info : default;
    }

    private Compiled Resolve() => _inline ?? _index.Get(_refName!);

    private sealed record Property(PatchFieldInfo Info, OpenApiPatchSchema? Schema);

    private sealed class Compiled
    {
        public static readonly Compiled Empty = new();

        public Dictionary<string, Property>? Properties { get; init; }

        public OpenApiPatchSchema? AdditionalProperties { get; init; }

        public OpenApiPatchSchema? Items { get; init; }
    }

    private sealed class Index(JsonObject schemas)
    {
        private readonly ConcurrentDictionary<string, Compiled> _compiled = new(StringComparer.Ordinal);
        private readonly Lock _gate = new();

        public Compiled Get(string name)
        {
            if (_compiled.TryGetValue(name, out var compiled))
            {
                return compiled;
            }

            lock (_gate)
            {
                if (!_compiled.TryGetValue(name, out compiled))
                {
                    compiled = schemas.TryGetPropertyValue(name, out var node) && node is JsonObject definition
                        ? CompileInline(definition)
                        : Compiled.Empty; // dangling $ref: no metadata, so replace semantics
                    _compiled[name] = compiled;
                }

                return compiled;
            }
        }

        // Inline schemas are compiled eagerly (their nesting is finite); named ones lazily via Get,
        // which is what breaks the recursion of self-referencing types (JSONSchemaProps).
        private Compiled CompileInline(JsonObject node)
        {
            Dictionary<string, Property>? properties = null;
            if (node.TryGetPropertyValue("properties", out var props) && props is JsonObject propsObject)
            {
                properties = new Dictionary<string, Property>(propsObject.Count, StringComparer.Ordinal);
                foreach (var (name, value) in propsObject)
                {
                    if (value is JsonObject propertyNode)
                    {
                        var info = PatchFieldInfo.From(
                            ReadString(propertyNode, "x-kubernetes-patch-strategy"),
                            ReadString(propertyNode, "x-kubernetes-patch-merge-key"));
                        properties[name] = new Property(info, Reference(propertyNode));
                    }
                }
            }

            return new Compiled
            {
                Properties = properties,
                AdditionalProperties = node.TryGetPropertyValue("additionalProperties", out var additional) && additional is JsonObject additionalNode
                    ? Reference(additionalNode)
                    : null,
                Items = node.TryGetPropertyValue("items", out var items) && items is JsonObject itemsNode ? Reference(itemsNode) : null,
            };
        }

        private OpenApiPatchSchema? Reference(JsonObject node)
        {
            var refName = FindRef(node);
            if (refName is not null)
            {
                return new OpenApiPatchSchema(this, refName, null);
            }

            var hasShape = node.ContainsKey("properties") || node.ContainsKey("additionalProperties") || node.ContainsKey("items");
            return hasShape ? new OpenApiPatchSchema(this, null, CompileInline(node)) : null;
        }

        private static string? FindRef(JsonObject node)
        {
            if (ReadString(node, "$ref") is { } direct)
            {
                return RefName(direct);
            }

            foreach (var combinator in (ReadOnlySpan<string>)["allOf", "oneOf", "anyOf"])
            {
                if (node.TryGetPropertyValue(combinator, out var list) && list is JsonArray array)
                {
                    foreach (var entry in array)
                    {
                        if (entry is JsonObject entryObject && ReadString(entryObject, "$ref") is { } nested)
                        {
                            return RefName(nested);
                        }
                    }
                }
            }

            return null;
        }

        // "#/components/schemas/io.k8s.api.core.v1.ServicePort" (v3) or "#/definitions/..." (v2).
        private static string RefName(string reference) => reference[(reference.LastIndexOf('/') + 1)..];

        private static string? ReadString(JsonObject node, string name) =>
            node.TryGetPropertyValue(name, out var value) && value is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : null;
    }
}
