using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Berth.Api.Models;

/// <summary>What shape a kind has.</summary>
public enum KindShape
{
    /// <summary>An <see cref="IKubernetesObject"/> (has object metadata).</summary>
    Object,

    /// <summary>An <see cref="IKubernetesList"/>.</summary>
    List,

    /// <summary>Neither: Status, DeleteOptions, discovery documents.</summary>
    Other,
}

/// <summary>One generated kind: its C# type, group/version/kind and OpenAPI definition name.</summary>
public sealed record KindInfo(Type Type, string Group, string Version, string Kind, string DefinitionName, KindShape Shape)
{
    /// <summary><c>v1</c> for the core group, <c>group/version</c> otherwise.</summary>
    public string ApiVersion { get; } = Group.Length == 0 ? Version : Group + "/" + Version;
}

/// <summary>The table of generated kinds (the generator writes the rows into <c>Generated/KubeKinds.g.cs</c>).</summary>
public static partial class KubeKinds
{
    private static readonly KindInfo[] s_all = CreateAll();
    private static readonly FrozenDictionary<Type, KindInfo> s_byType = s_all.ToFrozenDictionary(k => k.Type);
    private static readonly FrozenDictionary<(string ApiVersion, string Kind), KindInfo> s_byApiVersionKind =
        s_all.ToFrozenDictionary(k => (k.ApiVersion, k.Kind));

    private static readonly FrozenDictionary<Type, string> s_definitionNames = CreateDefinitionNames().ToFrozenDictionary();

    /// <summary>Every generated kind.</summary>
    public static IReadOnlyList<KindInfo> All => s_all;

    /// <summary>Looks up a generated kind by its C# type.</summary>
    public static bool TryGet(Type type, [NotNullWhen(true)] out KindInfo? info) => s_byType.TryGetValue(type, out info);

    /// <summary>Looks up a generated kind by <c>apiVersion</c> (<c>v1</c>, <c>apps/v1</c>) and <c>kind</c>.</summary>
    public static bool TryGet(string apiVersion, string kind, [NotNullWhen(true)] out KindInfo? info) =>
        s_byApiVersionKind.TryGetValue((apiVersion, kind), out info);

    /// <summary>The OpenAPI definition name of any generated model type (kinds and their parts), e.g. <c>io.k8s.api.core.v1.ServiceSpec</c>.</summary>
    public static bool TryGetDefinitionName(Type type, [NotNullWhen(true)] out string? definitionName) =>
        s_definitionNames.TryGetValue(type, out definitionName);

    private static partial KindInfo[] CreateAll();

    private static partial Dictionary<Type, string> CreateDefinitionNames();
}
