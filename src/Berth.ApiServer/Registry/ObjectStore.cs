using System.Text.Json.Nodes;
using Berth.ApiServer.Http;
using Berth.ApiServer.Resources;
using Berth.Storage;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Objects as JSON over <see cref="IStore"/>. The stored bytes never contain metadata.resourceVersion: it is
/// the store's mod-revision, set on every read, exactly as upstream's etcd3 storage does.
/// </summary>
public sealed class ObjectStore
{
    public ObjectStore(IStore store)
    {
        Store = store;
    }

    public IStore Store { get; }

    public async Task<StoredObject?> GetAsync(ResourceDefinition def, string? ns, string name, CancellationToken ct)
    {
        var item = await Store.GetAsync(def.StorageKey(ns, name), ct).ConfigureAwait(false);
        return item is null ? null : Decode(item.Value, item.ModRevision);
    }

    public async Task<(List<StoredObject> Items, long Revision)> ListAsync(ResourceDefinition def, string? ns, CancellationToken ct)
    {
        var list = await Store.ListAsync(def.StoragePrefix(ns), ct).ConfigureAwait(false);
        var items = new List<StoredObject>(list.Items.Count);
        foreach (var item in list.Items)
        {
            items.Add(Decode(item.Value, item.ModRevision));
        }
        return (items, list.Revision);
    }

    public async Task<StoredObject> CreateAsync(ResourceDefinition def, JsonObject obj, CancellationToken ct)
    {
        var rev = await Store.CreateAsync(def.StorageKey(Meta.Namespace(obj), Meta.Name(obj)!), Encode(obj), ct).ConfigureAwait(false);
        return WithRevision(obj, rev);
    }

    public async Task<StoredObject> UpdateAsync(ResourceDefinition def, JsonObject obj, long expectedModRevision, CancellationToken ct)
    {
        var rev = await Store.UpdateAsync(def.StorageKey(Meta.Namespace(obj), Meta.Name(obj)!), Encode(obj), expectedModRevision, ct).ConfigureAwait(false);
        return WithRevision(obj, rev);
    }

    public Task<long> DeleteAsync(ResourceDefinition def, string? ns, string name, long expectedModRevision, CancellationToken ct) =>
        Store.DeleteAsync(def.StorageKey(ns, name), expectedModRevision, ct);

    /// <summary>
    /// Runs <paramref name="attempt"/> on the current object (<paramref name="current"/>, or read now) until its
    /// guarded write lands, as upstream's GuaranteedUpdate does: a store <see cref="ConflictException"/> means
    /// someone wrote in between, so the attempt starts over from the fresh object. A caller that pinned a
    /// resourceVersion or uid checks it in the attempt and throws its own 409; other store errors become API errors.
    /// </summary>
    public async Task<T> GuaranteedAsync<T>(ResourceDefinition def, string? ns, string name, StoredObject? current,
        Func<StoredObject, Task<T>> attempt, CancellationToken ct)
    {
        while (true)
        {
            current ??= await GetAsync(def, ns, name, ct).ConfigureAwait(false) ?? throw ApiException.NotFound(def.QualifiedResource, name);
            try
            {
                return await attempt(current).ConfigureAwait(false);
            }
            catch (ConflictException)
            {
                current = null;
            }
            catch (StoreException e)
            {
                throw Translate(e, def, name);
            }
        }
    }

    public static StoredObject Decode(ReadOnlyMemory<byte> value, long modRevision)
    {
        var obj = JsonNode.Parse(value.Span)!.AsObject();
        return WithRevision(obj, modRevision);
    }

    public static byte[] Encode(JsonObject obj)
    {
        var meta = Meta.Of(obj);
        meta.Remove("resourceVersion", out var rv);
        try
        {
            return JsonBytes.Of(obj);
        }
        finally
        {
            if (rv is not null)
            {
                meta["resourceVersion"] = rv;
            }
        }
    }

    /// <summary>The API error a store failure means for a request on this object.</summary>
    public static ApiException Translate(StoreException e, ResourceDefinition def, string name) => e switch
    {
        KeyExistsException => ApiException.AlreadyExists(def.QualifiedResource, name),
        StoreKeyNotFoundException => ApiException.NotFound(def.QualifiedResource, name),
        ConflictException => ApiException.ModifiedConflict(def.QualifiedResource, name),
        CompactedException c => ApiException.Gone($"too old resource version: {c.RequestedRevision} ({c.CompactedRevision})"),
        _ => new ApiException(500, "InternalError", e.Message),
    };

    private static StoredObject WithRevision(JsonObject obj, long rev)
    {
        Meta.Of(obj)["resourceVersion"] = rev.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new StoredObject(obj, rev);
    }
}
