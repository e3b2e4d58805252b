using System.Collections.Frozen;
using Berth.Api.Models;

namespace Berth.Client;

/// <summary>One kind's REST resource: where it lives and which list type its collection answers with.</summary>
internal sealed record Resource(KindInfo Kind, string Plural, bool Namespaced, Type ListType)
{
    private readonly string _prefix = Kind.Group.Length == 0 ? "api/" + Kind.Version : $"apis/{Kind.Group}/{Kind.Version}";

    /// <summary>
    /// The path of a collection (<paramref name="name"/> null) or an object. A null namespace on a namespaced
    /// resource means all namespaces (lists and watches).
    /// </summary>
    public string Path(string? ns, string? name = null, string? subresource = null)
    {
        var path = Namespaced && ns is not null
            ? $"{_prefix}/namespaces/{Uri.EscapeDataString(ns)}/{Plural}"
            : $"{_prefix}/{Plural}";
        if (name is not null)
        {
            path += "/" + Uri.EscapeDataString(name);
            if (subresource is not null)
            {
                path += "/" + subresource;
            }
        }
        return path;
    }
}

/// <summary>The kinds the client can reach (the resources Berth's API server serves).</summary>
internal static class ResourcePaths
{
    private static readonly FrozenDictionary<Type, Resource> s_byType = new (Type Type, string Plural, bool Namespaced)[]
    {
        (typeof(Pod), "pods", true),
        (typeof(Service), "services", true),
        (typeof(Endpoints), "endpoints", true),
        (typeof(Event), "events", true),
        (typeof(Node), "nodes", false),
        (typeof(ConfigMap), "configmaps", true),
        (typeof(Secret), "secrets", true),
        (typeof(Namespace), "namespaces", false),
        (typeof(PersistentVolumeClaim), "persistentvolumeclaims", true),
        (typeof(Deployment), "deployments", true),
        (typeof(ReplicaSet), "replicasets", true),
        (typeof(EndpointSlice), "endpointslices", true),
        (typeof(Lease), "leases", true),
    }.ToFrozenDictionary(r => r.Type, r => Create(r.Type, r.Plural, r.Namespaced));

    private static readonly FrozenDictionary<string, Resource> s_byPlural = s_byType.Values.ToFrozenDictionary(r => r.Plural, StringComparer.Ordinal);

    public static Resource For<T>() => For(typeof(T));

    public static Resource ForPlural(string plural) => s_byPlural.TryGetValue(plural, out var resource)
        ? resource
        : throw new NotSupportedException($"{plural} is not a resource Berth's client knows.");

    public static Resource For(Type type) => s_byType.TryGetValue(type, out var resource)
        ? resource
        : throw new NotSupportedException($"{type.Name} is not a resource Berth's client knows.");

    private static Resource Create(Type type, string plural, bool namespaced)
    {
        if (!KubeKinds.TryGet(type, out var kind) || !KubeKinds.TryGet(kind.ApiVersion, kind.Kind + "List", out var list))
        {
            throw new InvalidOperationException($"{type.Name} has no kind or list kind in KubeKinds.");
        }
        return new Resource(kind, plural, namespaced, list.Type);
    }
}
