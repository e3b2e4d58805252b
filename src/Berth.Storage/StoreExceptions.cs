namespace Berth.Storage;

/// <summary>Base of the typed errors an <see cref="IStore"/> reports.</summary>
public abstract class StoreException : Exception
{
    /// <summary>Creates the error.</summary>
    protected StoreException(string message, string key)
        : base(message)
    {
        Key = key;
    }

    /// <summary>The key concerned; empty when none.</summary>
    public string Key { get; }
}

/// <summary>A create found the key already present (Kubernetes: 409 AlreadyExists).</summary>
public sealed class KeyExistsException : StoreException
{
    /// <summary>Creates the error.</summary>
    public KeyExistsException(string key)
        : base($"key already exists: {key}", key)
    {
    }
}

/// <summary>An update or delete found no such key (Kubernetes: 404 NotFound).</summary>
public sealed class StoreKeyNotFoundException : StoreException
{
    /// <summary>Creates the error.</summary>
    public StoreKeyNotFoundException(string key)
        : base($"key not found: {key}", key)
    {
    }
}

/// <summary>A guarded write found a different mod-revision than expected (Kubernetes: 409 Conflict).</summary>
public sealed class ConflictException : StoreException
{
    /// <summary>Creates the error.</summary>
    public ConflictException(string key, long expectedModRevision, StoreItem current)
        : base($"mod-revision conflict on {key}: expected {expectedModRevision}, current {current.ModRevision}", key)
    {
        ExpectedModRevision = expectedModRevision;
        Current = current;
    }

    /// <summary>The revision the caller expected.</summary>
    public long ExpectedModRevision { get; }

    /// <summary>The item as it is now, so a read-modify-write loop can retry without another read.</summary>
    public StoreItem Current { get; }
}

/// <summary>The history a watch needs was compacted (Kubernetes: 410 Gone, "too old resource version").</summary>
public sealed class CompactedException : StoreException
{
    /// <summary>Creates the error.</summary>
    public CompactedException(long requestedRevision, long compactedRevision)
        : base($"required revision {requestedRevision} has been compacted (compacted revision {compactedRevision})", string.Empty)
    {
        RequestedRevision = requestedRevision;
        CompactedRevision = compactedRevision;
    }

    /// <summary>The exclusive starting revision the watch asked for.</summary>
    public long RequestedRevision { get; }

    /// <summary>The store's compacted revision at the time.</summary>
    public long CompactedRevision { get; }
}
