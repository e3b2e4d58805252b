namespace Berth.ApiServer.Resources;

/// <summary>
/// One REST resource the API server serves: its coordinates in discovery, its model type
/// (used for strict decoding and OpenAPI) and the hooks that make it behave like upstream.
/// </summary>
public sealed record ResourceDefinition
{
    public required string Group { get; init; }
    public required string Version { get; init; }
    public required string Kind { get; init; }
    public required string Plural { get; init; }
    public required string Singular { get; init; }
    public required bool Namespaced { get; init; }
    public required Type ModelType { get; init; }
    public IReadOnlyList<string> ShortNames { get; init; } = [];
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>Subresources beyond the object itself: "status", "scale", "binding".</summary>
    public IReadOnlyList<string> Subresources { get; init; } = [];

    /// <summary>Field selector labels this kind supports beyond metadata.name/namespace (upstream's GetAttrs).</summary>
    public IReadOnlyList<string> SelectableFields { get; init; } = [];

    /// <summary>True when spec changes bump metadata.generation (upstream strategies for kinds with a spec).</summary>
    public bool HasGeneration { get; init; }

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string ListKind => Kind + "List";

    /// <summary>The resource name kubectl prints in errors: "services", "deployments.apps".</summary>
    public string QualifiedResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public bool HasStatus => Subresources.Contains("status");

    public string StorageKey(string? ns, string name) =>
        Namespaced ? $"/registry/{QualifiedResource}/{ns}/{name}" : $"/registry/{QualifiedResource}/{name}";

    /// <summary>Key prefix for a list; <paramref name="ns"/> null lists every namespace.</summary>
    public string StoragePrefix(string? ns) =>
        Namespaced && ns is not null ? $"/registry/{QualifiedResource}/{ns}/" : $"/registry/{QualifiedResource}/";
}
