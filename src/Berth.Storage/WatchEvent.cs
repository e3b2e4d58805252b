namespace Berth.Storage;

/// <summary>The kind of change a <see cref="WatchEvent"/> reports.</summary>
public enum WatchEventType
{
    /// <summary>A create or update.</summary>
    Put = 0,

    /// <summary>A delete.</summary>
    Delete = 1,
}

/// <summary>One committed change, shared by every watcher that receives it (treat as immutable).</summary>
public sealed class WatchEvent
{
    /// <summary>Creates an event.</summary>
    public WatchEvent(WatchEventType type, string key, ReadOnlyMemory<byte> value, ReadOnlyMemory<byte> prevValue, long createRevision, long modRevision)
    {
        Type = type;
        Key = key;
        Value = value;
        PrevValue = prevValue;
        CreateRevision = createRevision;
        ModRevision = modRevision;
    }

    /// <summary>Put or Delete.</summary>
    public WatchEventType Type { get; }

    /// <summary>The key that changed.</summary>
    public string Key { get; }

    /// <summary>For a put, the new value; for a delete, the last value before the delete
    /// (what Kubernetes sends in a DELETED event).</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The value before this change; empty for a create. Kubernetes needs it to filter watches by
    /// label or field selectors (an update that makes an object stop matching becomes DELETED).</summary>
    public ReadOnlyMemory<byte> PrevValue { get; }

    /// <summary>The create-revision of the key (for a delete, of the life that ended).</summary>
    public long CreateRevision { get; }

    /// <summary>The revision of this change (for a delete, the revision of the delete itself).</summary>
    public long ModRevision { get; }

    /// <summary>Whether this put created the key.</summary>
    public bool IsCreate => Type == WatchEventType.Put && CreateRevision == ModRevision;
}
