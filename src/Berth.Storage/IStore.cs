namespace Berth.Storage;

/// <summary>
/// A revisioned key-value store with etcd v3 semantics: one global, monotonically increasing
/// revision shared by all keys, writes guarded by mod-revision, and watches that resume from any
/// revision still in history. The Kubernetes <c>resourceVersion</c> of an object is its
/// <see cref="StoreItem.ModRevision"/>; the <c>resourceVersion</c> of a list is <see cref="StoreList.Revision"/>.
/// </summary>
/// <remarks>
/// <para>Revisions: an empty store is at revision 1 and the first write gets revision 2, as in etcd
/// (revision 0 is never a real revision, so Kubernetes can keep using <c>resourceVersion=0</c> to mean "any").
/// Every successful create, update or delete takes exactly one new revision; failed writes and compactions
/// take none.</para>
/// <para>Keys are compared as ordinal UTF-8 byte strings. Prefixes are plain byte prefixes, as in etcd:
/// callers that list a directory pass the trailing separator (<c>/registry/services/</c>) so that
/// <c>/registry/servicesX/</c> is not included.</para>
/// <para>Values are opaque bytes. The store takes ownership of arrays passed to it: callers must not mutate
/// them afterwards (the same array is handed to watchers).</para>
/// <para>Errors are typed: <see cref="KeyExistsException"/>, <see cref="StoreKeyNotFoundException"/>,
/// <see cref="ConflictException"/> and <see cref="CompactedException"/>, all <see cref="StoreException"/>.</para>
/// <para>Cancellation of a write is best-effort: a write that is already being committed when the token is
/// cancelled still commits, like a request to etcd that has reached the leader.</para>
/// </remarks>
public interface IStore : IAsyncDisposable
{
    /// <summary>The latest revision this store instance has committed or observed.</summary>
    /// <remarks>For a distributed backend this may lag writes made through other members; use
    /// <see cref="GetRevisionAsync"/> when an authoritative value is needed.</remarks>
    long CurrentRevision { get; }

    /// <summary>The highest revision whose history has been dropped (0 when nothing was compacted).
    /// A watch must start at or after it.</summary>
    long CompactedRevision { get; }

    /// <summary>Reads the current store revision authoritatively.</summary>
    Task<long> GetRevisionAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads one key; <see langword="null"/> when it does not exist.</summary>
    Task<StoreItem?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Reads every key starting with <paramref name="prefix"/>, sorted by key, together with the
    /// store revision the result is consistent at (use it as the list <c>resourceVersion</c> and as the
    /// starting point of a following watch).</summary>
    Task<StoreList> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Creates a key that must not exist.</summary>
    /// <returns>The revision of the create (the new item's create- and mod-revision).</returns>
    /// <exception cref="KeyExistsException">The key already exists.</exception>
    Task<long> CreateAsync(string key, byte[] value, CancellationToken cancellationToken = default);

    /// <summary>Replaces the value of an existing key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The new value.</param>
    /// <param name="expectedModRevision">The mod-revision the caller read; 0 updates unconditionally.</param>
    /// <param name="cancellationToken">Cancels a write that has not started committing.</param>
    /// <returns>The revision of the update (the item's new mod-revision).</returns>
    /// <exception cref="StoreKeyNotFoundException">The key does not exist (whatever <paramref name="expectedModRevision"/> is).</exception>
    /// <exception cref="ConflictException">The key's mod-revision differs from <paramref name="expectedModRevision"/>.</exception>
    Task<long> UpdateAsync(string key, byte[] value, long expectedModRevision, CancellationToken cancellationToken = default);

    /// <summary>Deletes an existing key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="expectedModRevision">The mod-revision the caller read; 0 deletes unconditionally.</param>
    /// <param name="cancellationToken">Cancels a write that has not started committing.</param>
    /// <returns>The revision of the delete.</returns>
    /// <exception cref="StoreKeyNotFoundException">The key does not exist.</exception>
    /// <exception cref="ConflictException">The key's mod-revision differs from <paramref name="expectedModRevision"/>.</exception>
    Task<long> DeleteAsync(string key, long expectedModRevision, CancellationToken cancellationToken = default);

    /// <summary>Streams every change to keys under <paramref name="prefix"/> with a revision greater than
    /// <paramref name="fromRevisionExclusive"/>: first the history, then live changes, in revision order with
    /// no gaps and no duplicates. The stream ends only by cancellation, disposal of the store, or an error.</summary>
    /// <remarks>
    /// <para>A Kubernetes watch at <c>resourceVersion=R</c> maps to <c>fromRevisionExclusive=R</c>.
    /// A revision in the future is allowed; events start once the store gets there.</para>
    /// <para>A watcher that stops reading never blocks writers: it has a bounded buffer, and when that
    /// overflows it is detached from live delivery and transparently catches up from history once it reads
    /// again. It fails with <see cref="CompactedException"/> (HTTP 410 Gone) only if the history it still needs
    /// was compacted meanwhile.</para>
    /// </remarks>
    /// <exception cref="CompactedException">History after <paramref name="fromRevisionExclusive"/> is no longer
    /// complete (thrown when enumeration reaches that point, also in the middle of a catch-up).</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed while the watch was open.</exception>
    IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevisionExclusive, CancellationToken cancellationToken = default);

    /// <summary>Drops the history of every revision at or below <paramref name="revision"/> while keeping
    /// current values. Afterwards a watch needs <c>fromRevisionExclusive &gt;= revision</c>.
    /// Compacting to a revision at or below <see cref="CompactedRevision"/> does nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="revision"/> is greater than the current revision.</exception>
    Task CompactAsync(long revision, CancellationToken cancellationToken = default);
}
