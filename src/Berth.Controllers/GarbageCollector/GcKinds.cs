using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.GarbageCollector;

/// <summary>
/// The kinds the garbage collector watches and acts on: every kind Berth's client reaches but Events (never owners;
/// upstream ignores them too) and Namespaces (their deletion is the API server's namespace lifecycle). Upstream
/// discovers the deletable resources and maps kinds through a RESTMapper; an owner reference to any other
/// apiVersion/kind fails to resolve here as it does there (a restMappingError, retried).
/// </summary>
internal static class GcKinds
{
    public static readonly IReadOnlyList<GcKind> All =
    [
        new GcKind<Pod>("pods", namespaced: true),
        new GcKind<Service>("services", namespaced: true),
        new GcKind<Endpoints>("endpoints", namespaced: true),
        new GcKind<Node>("nodes", namespaced: false),
        new GcKind<ConfigMap>("configmaps", namespaced: true),
        new GcKind<Secret>("secrets", namespaced: true),
        new GcKind<PersistentVolumeClaim>("persistentvolumeclaims", namespaced: true),
        new GcKind<Deployment>("deployments", namespaced: true),
        new GcKind<ReplicaSet>("replicasets", namespaced: true),
        new GcKind<EndpointSlice>("endpointslices", namespaced: true),
        new GcKind<Lease>("leases", namespaced: true),
    ];

    private static readonly Dictionary<(string ApiVersion, string Kind), GcKind> s_byKind = All.ToDictionary(k => (k.ApiVersion, k.Kind));

    public static GcKind? Find(string apiVersion, string kind) => s_byKind.GetValueOrDefault((apiVersion, kind));

    /// <summary>Upstream apiResource: the kind of an apiVersion/kind, or a restMappingError.</summary>
    public static GcKind Resolve(string apiVersion, string kind) =>
        Find(apiVersion, kind) ?? throw new RestMappingException(kind, apiVersion);
}

/// <summary>One kind: how it is addressed, and typed access to it through <see cref="KubeClient"/>.</summary>
internal abstract class GcKind
{
    protected GcKind(KindInfo info, string plural, bool namespaced)
    {
        ApiVersion = info.ApiVersion;
        Group = info.Group;
        Version = info.Version;
        Kind = info.Kind;
        Plural = plural;
        Namespaced = namespaced;
    }

    public string ApiVersion { get; }

    public string Group { get; }

    public string Version { get; }

    public string Kind { get; }

    public string Plural { get; }

    public bool Namespaced { get; }

    /// <summary>Upstream resourceDefaultNamespace: cluster-scoped objects are addressed without a namespace.</summary>
    public string? NamespaceFor(string ns) => Namespaced && ns.Length > 0 ? ns : null;

    /// <summary>The object's metadata as the API server has it now; null when it does not exist.</summary>
    public abstract Task<ObjectMeta?> GetAsync(KubeClient client, string? ns, string name, CancellationToken ct);

    public abstract Task DeleteAsync(KubeClient client, string? ns, string name, DeleteOptions options, CancellationToken ct);

    public abstract Task PatchAsync(KubeClient client, string? ns, string name, PatchType type, string patch, CancellationToken ct);

    /// <summary>Feeds the kind's shared informer events to <paramref name="graph"/>.</summary>
    public abstract void Watch(SharedInformers informers, GraphBuilder graph);

    /// <summary>An object of this kind carrying only <paramref name="identity"/>, for an Event's involvedObject.</summary>
    public abstract IKubernetesObject Stub(ObjectIdentity identity);
}

internal sealed class GcKind<T> : GcKind
    where T : class, IKubernetesObject, new()
{
    public GcKind(string plural, bool namespaced)
        : base(KubeKinds.TryGet(typeof(T), out var info) ? info : throw new InvalidOperationException($"{typeof(T).Name} is not a generated kind"),
            plural, namespaced)
    {
    }

    public override async Task<ObjectMeta?> GetAsync(KubeClient client, string? ns, string name, CancellationToken ct) =>
        (await client.TryGetAsync<T>(ns, name, ct).ConfigureAwait(false))?.Metadata;

    public override Task DeleteAsync(KubeClient client, string? ns, string name, DeleteOptions options, CancellationToken ct) =>
        client.DeleteAsync<T>(ns, name, options, ct);

    public override Task PatchAsync(KubeClient client, string? ns, string name, PatchType type, string patch, CancellationToken ct) =>
        client.PatchAsync<T>(ns, name, type, patch, ct: ct);

    public override void Watch(SharedInformers informers, GraphBuilder graph)
    {
        var informer = informers.For<T>();
        informer.OnAdd(obj => graph.Enqueue(new GraphEvent(GraphEventType.Add, ApiVersion, Kind, obj.Metadata ?? new ObjectMeta())));
        informer.OnUpdate((old, obj) => graph.Enqueue(new GraphEvent(GraphEventType.Update, ApiVersion, Kind, obj.Metadata ?? new ObjectMeta(), old.Metadata)));
        informer.OnDelete(obj => graph.Enqueue(new GraphEvent(GraphEventType.Delete, ApiVersion, Kind, obj.Metadata ?? new ObjectMeta())));
    }

    public override IKubernetesObject Stub(ObjectIdentity identity) => new T
    {
        ApiVersion = identity.ApiVersion,
        Kind = identity.Kind,
        Metadata = new ObjectMeta
        {
            Name = identity.Name,
            Namespace = identity.Namespace.Length > 0 ? identity.Namespace : null,
            Uid = identity.Uid,
        },
    };
}

/// <summary>Upstream restMappingError: an owner reference to a kind or version the collector cannot reach.</summary>
internal sealed class RestMappingException(string kind, string apiVersion)
    : Exception($"unable to get REST mapping for {kind}/{apiVersion}.");
