using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.GarbageCollector;

namespace Berth.Controllers.Tests.GarbageCollector;

/// <summary>
/// Upstream's fake metadata client for the collector: objects in memory, and every call recorded as upstream's tests
/// print them ("get /v1, Resource=pods ns=ns1 name=podname1"). Failures can be set per call.
/// </summary>
internal sealed class FakeGarbageCollectorClient : IGarbageCollectorClient
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string ApiVersion, string Kind, string? Namespace, string Name), ObjectMeta> _objects = [];
    private readonly List<string> _actions = [];
    private readonly List<(string Action, string Body)> _writes = [];

    /// <summary>Status codes to answer instead, by recorded action text.</summary>
    public Dictionary<string, int> Failures { get; } = [];

    public void Create(ObjectIdentity identity, params ObjectIdentity[] owners) =>
        Create(identity, new ObjectMeta { OwnerReferences = [.. owners.Select(Reference)] });

    /// <summary>Stores <paramref name="meta"/> under <paramref name="identity"/> (its name, namespace and uid).</summary>
    public void Create(ObjectIdentity identity, ObjectMeta meta)
    {
        var kind = GcKinds.Resolve(identity.ApiVersion, identity.Kind);
        meta.Name = identity.Name;
        meta.Namespace = kind.NamespaceFor(identity.Namespace);
        meta.Uid = identity.Uid;
        meta.ResourceVersion ??= "1";
        lock (_lock)
        {
            _objects[(identity.ApiVersion, identity.Kind, meta.Namespace, identity.Name)] = meta;
        }
    }

    public void Delete(ObjectIdentity identity)
    {
        var kind = GcKinds.Resolve(identity.ApiVersion, identity.Kind);
        lock (_lock)
        {
            _objects.Remove((identity.ApiVersion, identity.Kind, kind.NamespaceFor(identity.Namespace), identity.Name));
        }
    }

    /// <summary>The calls made since the last call of this, in order; clears them.</summary>
    public List<string> TakeActions()
    {
        lock (_lock)
        {
            var actions = _actions.ToList();
            _actions.Clear();
            return actions;
        }
    }

    /// <summary>Deletes (their options as JSON) and patches (their body), in order; clears them.</summary>
    public List<(string Action, string Body)> TakeWrites()
    {
        lock (_lock)
        {
            var writes = _writes.ToList();
            _writes.Clear();
            return writes;
        }
    }

    public Task<ObjectMeta?> GetAsync(GcKind kind, string? ns, string name, CancellationToken ct)
    {
        Record("get", kind, ns, name);
        lock (_lock)
        {
            return Task.FromResult(_objects.GetValueOrDefault((kind.ApiVersion, kind.Kind, ns, name)));
        }
    }

    public Task DeleteAsync(GcKind kind, string? ns, string name, DeleteOptions options, CancellationToken ct)
    {
        var action = Record("delete", kind, ns, name);
        lock (_lock)
        {
            _writes.Add((action, System.Text.Encoding.UTF8.GetString(Berth.Api.Serialization.KubeJson.SerializeToUtf8Bytes(options))));
            if (!_objects.Remove((kind.ApiVersion, kind.Kind, ns, name)))
            {
                throw new KubeApiException(404, null);
            }
        }
        return Task.CompletedTask;
    }

    public Task PatchAsync(GcKind kind, string? ns, string name, PatchType type, string patch, CancellationToken ct)
    {
        var action = Record("patch", kind, ns, name);
        lock (_lock)
        {
            _writes.Add((action, patch));
            if (!_objects.ContainsKey((kind.ApiVersion, kind.Kind, ns, name)))
            {
                throw new KubeApiException(404, null);
            }
        }
        return Task.CompletedTask;
    }

    public static OwnerReference Reference(ObjectIdentity owner) =>
        new() { ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Name, Uid = owner.Uid };

    private string Record(string verb, GcKind kind, string? ns, string name)
    {
        var action = $"{verb} {kind.Group}/{kind.Version}, Resource={kind.Plural}" + (ns is null ? "" : " ns=" + ns) + " name=" + name;
        lock (_lock)
        {
            _actions.Add(action);
            if (Failures.TryGetValue(action, out var status))
            {
                throw new KubeApiException(status, null);
            }
        }
        return action;
    }
}
