namespace Berth.Storage;

/// <summary>Helpers over <see cref="IStore"/> that every backend gets for free.</summary>
public static class StoreExtensions
{
    /// <summary>
    /// Read-modify-write with optimistic concurrency, the store side of Kubernetes' <c>GuaranteedUpdate</c>
    /// (apiserver/pkg/storage/etcd3/store.go): applies <paramref name="update"/> to the current item and writes
    /// the result guarded by the item's mod-revision, retrying on conflict with the item the conflict carried.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The key, which must exist.</param>
    /// <param name="update">Returns the new value, or <see langword="null"/> to leave the item unchanged
    /// (then no revision is used). It may run several times; it may throw to abort.</param>
    /// <param name="cancellationToken">Cancels between attempts.</param>
    /// <returns>The item as written (or as found, when <paramref name="update"/> returned null).</returns>
    /// <exception cref="StoreKeyNotFoundException">The key does not exist (or was deleted meanwhile).</exception>
    public static async Task<StoreItem> GuaranteedUpdateAsync(this IStore store, string key, Func<StoreItem, byte[]?> update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(update);
        StoreItem current = await store.GetAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new StoreKeyNotFoundException(key);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            byte[]? next = update(current);
            if (next is null)
            {
                return current;
            }

            try
            {
                long revision = await store.UpdateAsync(key, next, current.ModRevision, cancellationToken).ConfigureAwait(false);
                return new StoreItem(key, next, current.CreateRevision, revision);
            }
            catch (ConflictException conflict)
            {
                current = conflict.Current;
            }
        }
    }
}
