using System.Collections.Concurrent;

namespace Berth.Controllers.Framework;

/// <summary>
/// A sync found its informer behind the controller's own last write (upstream's stale-cache errors). It is retried
/// like any failure, but it is routine, so <see cref="ControllerWorkers"/> logs it only when it keeps happening.
/// </summary>
public class StaleCacheException(string message) : Exception(message);

/// <summary>
/// Services (or other keys) whose sync may find the cache behind the controller's own writes. The failure back-off
/// alone retries such a key after a second or more (upstream's EndpointSlice queue starts at 1 s); instead the sync
/// marks its key before it reads the cache, and the informer handler that delivers the awaited event wakes it, so
/// the retry runs as soon as the cache has caught up.
/// </summary>
public sealed class StaleCacheWaiters(WorkQueue queue)
{
    private readonly ConcurrentDictionary<string, byte> _waiting = new(StringComparer.Ordinal);

    /// <summary>Before the sync reads the cache: an event from now on wakes <paramref name="key"/>.</summary>
    public void Expect(string key) => _waiting[key] = 0;

    /// <summary>The sync found the cache current: nothing to wait for.</summary>
    public void Clear(string key) => _waiting.TryRemove(key, out _);

    /// <summary>From an informer handler: an event about <paramref name="key"/> arrived; a sync waiting for it runs now.</summary>
    public void Wake(string? key)
    {
        if (key is not null && _waiting.TryRemove(key, out _))
        {
            queue.Add(key);
        }
    }
}
