using Berth.Api.Models;

namespace Berth.Controllers.GarbageCollector;

/// <summary>
/// Upstream's objectReference: an owner reference's coordinates (apiVersion, kind, name, uid) plus the namespace
/// ("" for cluster-scoped objects, and for virtual owners the namespace of the dependent that named them).
/// </summary>
internal readonly record struct ObjectIdentity(string ApiVersion, string Kind, string Namespace, string Name, string Uid)
{
    /// <summary>The coordinates of <paramref name="reference"/>, placed in <paramref name="ns"/>.</summary>
    public static ObjectIdentity Of(OwnerReference reference, string ns) =>
        new(reference.ApiVersion ?? "", reference.Kind ?? "", ns, reference.Name ?? "", reference.Uid ?? "");

    /// <summary>Upstream ownerReferenceMatchesCoordinates: same uid, name, kind and apiVersion.</summary>
    public bool MatchesCoordinates(OwnerReference reference) =>
        reference.Uid == Uid && reference.Name == Name && reference.Kind == Kind && reference.ApiVersion == ApiVersion;

    public override string ToString() => $"[{ApiVersion}/{Kind}, namespace: {Namespace}, name: {Name}, uid: {Uid}]";
}
