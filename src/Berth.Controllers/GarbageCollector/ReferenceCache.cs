namespace Berth.Controllers.GarbageCollector;

/// <summary>
/// Upstream ReferenceCache: the owners the API server said do not exist, least recently used evicted first, so the
/// dependents of a deleted owner do not each look it up again.
/// </summary>
internal sealed class ReferenceCache
{
    private readonly Lock _lock = new();
    private readonly int _capacity;
    private readonly LinkedList<ObjectIdentity> _order = new();
    private readonly Dictionary<ObjectIdentity, LinkedListNode<ObjectIdentity>> _entries = [];

    public ReferenceCache(int capacity) => _capacity = capacity;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public void Add(ObjectIdentity reference)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(reference, out var existing))
            {
                _order.Remove(existing);
                _order.AddFirst(existing);
                return;
            }
            _entries[reference] = _order.AddFirst(reference);
            if (_entries.Count > _capacity)
            {
                _entries.Remove(_order.Last!.Value);
                _order.RemoveLast();
            }
        }
    }

    /// <summary>Whether <paramref name="reference"/> is known absent; a hit makes it the most recently used.</summary>
    public bool Has(ObjectIdentity reference)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(reference, out var entry))
            {
                return false;
            }
            _order.Remove(entry);
            _order.AddFirst(entry);
            return true;
        }
    }
}
