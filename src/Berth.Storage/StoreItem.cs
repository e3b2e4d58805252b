namespace Berth.Storage;

/// <summary>A key with its current value and revisions.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value (owned by the store; do not mutate the underlying array).</param>
/// <param name="CreateRevision">The revision of the create that started this key's current life.</param>
/// <param name="ModRevision">The revision of the last write to the key (its Kubernetes <c>resourceVersion</c>).</param>
public sealed record StoreItem(string Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision);

/// <summary>The result of a prefix read.</summary>
/// <param name="Items">Items sorted by key (UTF-8 byte order, which is ordinal order for ASCII keys).</param>
/// <param name="Revision">The store revision at which <paramref name="Items"/> is consistent.</param>
public sealed record StoreList(IReadOnlyList<StoreItem> Items, long Revision);
