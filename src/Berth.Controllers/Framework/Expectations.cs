namespace Berth.Controllers.Framework;

/// <summary>
/// What a controller is waiting to see in its informers after its own creates and deletes (upstream
/// controller_utils.go ControllerExpectations + UIDTrackingControllerExpectations): until they are observed, the
/// cache is stale for that controller and it must not act again. Deletions are tracked by pod key, so a deletion
/// seen twice (the update that set deletionTimestamp, then the delete) counts once. Expectations older than
/// <see cref="Timeout"/> count as satisfied, so a lost watch event cannot wedge a controller. Thread-safe.
/// </summary>
public sealed class Expectations
{
    /// <summary>upstream ExpectationsTimeout.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _deletedKeys = new(StringComparer.Ordinal);

    public Expectations(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>True when the controller may sync: nothing expected, everything observed, or the wait expired.</summary>
    public bool Satisfied(string controllerKey)
    {
        lock (_lock)
        {
            // A controller without expectations (new, or after a restart) can sync.
            return !_entries.TryGetValue(controllerKey, out var e)
                || (e.Add <= 0 && e.Del <= 0)
                || _time.GetUtcNow() - e.Timestamp > Timeout;
        }
    }

    /// <summary>Expects <paramref name="adds"/> creations, replacing any earlier expectation (SetExpectations(adds, 0)).</summary>
    public void ExpectCreations(string controllerKey, int adds)
    {
        lock (_lock)
        {
            _entries[controllerKey] = new Entry(adds, 0, _time.GetUtcNow());
        }
    }

    /// <summary>Expects the deletion of each of <paramref name="podKeys"/>, replacing any earlier expectation.</summary>
    public void ExpectDeletions(string controllerKey, IEnumerable<string> podKeys)
    {
        ArgumentNullException.ThrowIfNull(podKeys);
        var keys = new HashSet<string>(podKeys, StringComparer.Ordinal);
        lock (_lock)
        {
            _deletedKeys[controllerKey] = keys;
            _entries[controllerKey] = new Entry(0, keys.Count, _time.GetUtcNow());
        }
    }

    public void CreationObserved(string controllerKey) => LowerExpectations(controllerKey, 1, 0);

    /// <summary>Counts the deletion of <paramref name="podKey"/> if it was expected and not counted yet.</summary>
    public void DeletionObserved(string controllerKey, string podKey)
    {
        lock (_lock)
        {
            if (_deletedKeys.TryGetValue(controllerKey, out var keys) && keys.Remove(podKey) && _entries.TryGetValue(controllerKey, out var e))
            {
                e.Del--;
            }
        }
    }

    /// <summary>Takes back expectations for creates/deletes that failed and so will never be observed.</summary>
    public void LowerExpectations(string controllerKey, int add, int del)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(controllerKey, out var e))
            {
                e.Add -= add;
                e.Del -= del;
            }
        }
    }

    /// <summary>Forgets the controller (it was deleted).</summary>
    public void Delete(string controllerKey)
    {
        lock (_lock)
        {
            _entries.Remove(controllerKey);
            _deletedKeys.Remove(controllerKey);
        }
    }

    /// <summary>The outstanding counts, for tests (upstream GetExpectations); null when there are none.</summary>
    internal (long Add, long Del)? Get(string controllerKey)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(controllerKey, out var e) ? (e.Add, e.Del) : null;
        }
    }

    private sealed class Entry(long add, long del, DateTimeOffset timestamp)
    {
        public long Add { get; set; } = add;

        public long Del { get; set; } = del;

        public DateTimeOffset Timestamp { get; } = timestamp;
    }
}
