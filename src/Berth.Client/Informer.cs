using System.Threading.Channels;
using Berth.Api.Models;

namespace Berth.Client;

/// <summary>
/// A reflector and its cache (client-go's SharedInformer, one consumer): lists, then watches from the list's
/// resourceVersion, keeping a local copy of every object. Handlers run one at a time, in event order, on one dispatch
/// loop. Objects handed out are the cached instances: copy (<c>KubeJson.DeepClone</c>) before changing them.
/// Indexes (client-go Indexers) map computed values to cached objects; <see cref="NamespaceIndex"/> is always there.
/// </summary>
public sealed class Informer<T> : IAsyncDisposable
    where T : class, IKubernetesObject
{
    // client-go's reflector backs off from 800 ms to 30 s; a local cluster recovers in seconds, so cap lower.
    private static readonly TimeSpan s_minBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(5);

    private readonly KubeClient _client;
    private readonly string? _namespace;
    private readonly ListOptions _selectors;
    private readonly Action<string>? _log;
    private readonly List<Action<T>> _onAdd = [];
    private readonly List<Action<T, T>> _onUpdate = [];
    private readonly List<Action<T>> _onDelete = [];
    private readonly Dictionary<string, T> _cache = new(StringComparer.Ordinal);
    // Index name → its key function and, per indexed value, the cache keys of the objects with that value.
    private readonly Dictionary<string, (Func<T, IEnumerable<string>> Keys, Dictionary<string, HashSet<string>> Values)> _indexes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly Channel<Action> _dispatch = Channel.CreateUnbounded<Action>(new() { SingleReader = true });
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _stop;
    private Task _running = Task.CompletedTask;
    private string _resourceVersion = "";
    private int _lists;

    /// <param name="selectors">Label/field selectors; its TimeoutSeconds, when set, bounds each watch (else 5–10 minutes, as client-go).</param>
    public Informer(KubeClient client, string? ns = null, ListOptions? selectors = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _namespace = ns;
        _selectors = selectors ?? new ListOptions();
        _log = log;
        AddIndex(NamespaceIndex, static obj => [obj.Metadata?.Namespace ?? ""]);
    }

    /// <summary>The built-in index of objects by namespace ("" for cluster-scoped objects).</summary>
    public const string NamespaceIndex = "namespace";

    /// <summary>
    /// When positive, every period each cached object is handed to the update handlers as OnUpdate(obj, obj)
    /// (client-go resync), so controllers periodically re-check state they do not get events for.
    /// </summary>
    public TimeSpan ResyncPeriod { get; init; }

    public bool HasSynced => _synced.Task.IsCompleted;

    /// <summary>How many times the informer has listed (1 after the first sync; more after relists).</summary>
    internal int ListCount => Volatile.Read(ref _lists);

    public void OnAdd(Action<T> handler) => AddHandler(_onAdd, handler);

    public void OnUpdate(Action<T, T> handler) => AddHandler(_onUpdate, handler);

    public void OnDelete(Action<T> handler) => AddHandler(_onDelete, handler);

    /// <summary>Adds an index: <paramref name="keys"/> gives the values an object is found under. Before StartAsync only.</summary>
    public void AddIndex(string name, Func<T, IEnumerable<string>> keys)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(keys);
        if (_stop is not null)
        {
            throw new InvalidOperationException("add indexes before StartAsync");
        }
        lock (_lock)
        {
            if (!_indexes.TryAdd(name, (keys, new(StringComparer.Ordinal))))
            {
                throw new InvalidOperationException($"indexer conflict: {name}");
            }
        }
    }

    /// <summary>The cached objects found under <paramref name="value"/> in index <paramref name="name"/> (a snapshot).</summary>
    public IReadOnlyList<T> ByIndex(string name, string value)
    {
        lock (_lock)
        {
            if (!_indexes.TryGetValue(name, out var index))
            {
                throw new InvalidOperationException($"Index with name {name} does not exist");
            }
            return index.Values.TryGetValue(value, out var keys) ? [.. keys.Select(k => _cache[k])] : [];
        }
    }

    /// <summary>The cached objects of namespace <paramref name="ns"/> ("" = cluster-scoped), or all when null.</summary>
    public IReadOnlyList<T> List(string? ns)
    {
        if (ns is not null)
        {
            return ByIndex(NamespaceIndex, ns);
        }
        lock (_lock)
        {
            return [.. _cache.Values];
        }
    }

    /// <summary>Starts listing and watching in the background; returns at once.</summary>
    public Task StartAsync(CancellationToken ct)
    {
        if (_stop is not null)
        {
            throw new InvalidOperationException("the informer is already started");
        }
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var token = _stop.Token;
        _running = ResyncPeriod > TimeSpan.Zero
            ? Task.WhenAll(Task.Run(() => ReflectAsync(token), token), Task.Run(() => DispatchAsync(token), token), Task.Run(() => ResyncAsync(token), token))
            : Task.WhenAll(Task.Run(() => ReflectAsync(token), token), Task.Run(() => DispatchAsync(token), token));
        return Task.CompletedTask;
    }

    /// <summary>Completes once the first list is in the cache and its adds have been handled.</summary>
    public Task WaitForSyncAsync(CancellationToken ct) => _synced.Task.WaitAsync(ct);

    public IReadOnlyCollection<T> List()
    {
        lock (_lock)
        {
            return [.. _cache.Values];
        }
    }

    public T? Get(string? ns, string name)
    {
        lock (_lock)
        {
            return _cache.GetValueOrDefault(Key(ns, name));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop is null)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is the point.
        }
        _stop.Dispose();
    }

    private static string Key(string? ns, string? name) => string.IsNullOrEmpty(ns) ? name ?? "" : ns + "/" + name;

    private static string Key(T obj) => Key(obj.Metadata?.Namespace, obj.Metadata?.Name);

    private void AddHandler<THandler>(List<THandler> handlers, THandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (_stop is not null)
        {
            throw new InvalidOperationException("register handlers before StartAsync");
        }
        handlers.Add(handler);
    }

    private async Task ReflectAsync(CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var list = await _client.ListAsync<T>(_namespace, _selectors with { ResourceVersion = null, TimeoutSeconds = null }, ct).ConfigureAwait(false);
                Interlocked.Increment(ref _lists);
                Replace(list.Items, list.ResourceVersion);
                failures = 0;
                // Watch from the last resourceVersion until it expires; a stream the server ended normally is resumed.
                while (await WatchOnceAsync(ct).ConfigureAwait(false))
                {
                }
                _log?.Invoke($"{typeof(T).Name} watch at resourceVersion {_resourceVersion} expired; relisting");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException or System.Text.Json.JsonException)
            {
                failures++;
                var delay = Backoff(failures);
                _log?.Invoke($"{typeof(T).Name} list/watch failed ({e.Message}); retrying in {delay.TotalMilliseconds:0} ms");
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One watch from the current resourceVersion; false when it expired (410) and a relist is needed.</summary>
    private async Task<bool> WatchOnceAsync(CancellationToken ct)
    {
        var options = _selectors with
        {
            ResourceVersion = _resourceVersion,
            TimeoutSeconds = _selectors.TimeoutSeconds ?? Random.Shared.Next(300, 600),
            AllowWatchBookmarks = true,
        };
        await foreach (var e in _client.WatchAsync<T>(_namespace, options, ct).ConfigureAwait(false))
        {
            switch (e.Type)
            {
                case WatchEventType.Added or WatchEventType.Modified when e.Object is not null:
                    Upsert(e.Object);
                    break;
                case WatchEventType.Deleted when e.Object is not null:
                    Remove(e.Object);
                    break;
                case WatchEventType.Bookmark when e.Object?.Metadata?.ResourceVersion is { } rv:
                    _resourceVersion = rv;
                    break;
                case WatchEventType.Error when e.Error?.Code == 410:
                    return false;
                case WatchEventType.Error:
                    throw new KubeApiException(e.Error?.Code ?? 500, e.Error);
            }
        }
        return true;
    }

    private static TimeSpan Backoff(int failures)
    {
        var exponential = s_minBackoff * Math.Pow(2, Math.Min(failures - 1, 10));
        var capped = exponential < s_maxBackoff ? exponential : s_maxBackoff;
        // Jitter so many informers that lost the same server don't all come back at once.
        return capped * (0.5 + (Random.Shared.NextDouble() / 2));
    }

    /// <summary>Swaps in a fresh list: adds for new objects, updates for changed ones, deletes for the missing.</summary>
    internal void Replace(IReadOnlyList<T> items, string resourceVersion)
    {
        lock (_lock)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in items)
            {
                var key = Key(item);
                seen.Add(key);
                if (!_cache.TryGetValue(key, out var old))
                {
                    Notify(_onAdd, item);
                }
                else if (old.Metadata?.ResourceVersion != item.Metadata?.ResourceVersion)
                {
                    NotifyUpdate(old, item);
                }
                Store(key, old, item);
            }
            foreach (var (key, old) in _cache.Where(e => !seen.Contains(e.Key)).ToList())
            {
                Store(key, old, null);
                Notify(_onDelete, old);
            }
            _resourceVersion = resourceVersion;
            if (!_synced.Task.IsCompleted)
            {
                _dispatch.Writer.TryWrite(() => _synced.TrySetResult());
            }
        }
    }

    private void Upsert(T obj)
    {
        lock (_lock)
        {
            var key = Key(obj);
            if (_cache.TryGetValue(key, out var old))
            {
                NotifyUpdate(old, obj);
            }
            else
            {
                Notify(_onAdd, obj);
            }
            Store(key, old, obj);
            _resourceVersion = obj.Metadata?.ResourceVersion ?? _resourceVersion;
        }
    }

    private void Remove(T obj)
    {
        lock (_lock)
        {
            var key = Key(obj);
            Store(key, _cache.GetValueOrDefault(key), null);
            Notify(_onDelete, obj);
            _resourceVersion = obj.Metadata?.ResourceVersion ?? _resourceVersion;
        }
    }

    /// <summary>Writes (or, for null, removes) a cache entry and moves it in every index; under the lock.</summary>
    private void Store(string key, T? old, T? current)
    {
        if (current is null)
        {
            _cache.Remove(key);
        }
        else
        {
            _cache[key] = current;
        }
        foreach (var (keys, values) in _indexes.Values)
        {
            if (old is not null)
            {
                foreach (var value in keys(old))
                {
                    if (values.TryGetValue(value, out var set) && set.Remove(key) && set.Count == 0)
                    {
                        values.Remove(value);
                    }
                }
            }
            if (current is not null)
            {
                foreach (var value in keys(current))
                {
                    if (!values.TryGetValue(value, out var set))
                    {
                        values[value] = set = new(StringComparer.Ordinal);
                    }
                    set.Add(key);
                }
            }
        }
    }

    /// <summary>Every period after the first sync, queues OnUpdate(obj, obj) for each cached object.</summary>
    private async Task ResyncAsync(CancellationToken ct)
    {
        await _synced.Task.WaitAsync(ct).ConfigureAwait(false);
        using var timer = new PeriodicTimer(ResyncPeriod);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            lock (_lock)
            {
                foreach (var obj in _cache.Values)
                {
                    NotifyUpdate(obj, obj);
                }
            }
        }
    }

    private void Notify(List<Action<T>> handlers, T obj)
    {
        foreach (var handler in handlers)
        {
            _dispatch.Writer.TryWrite(() => handler(obj));
        }
    }

    private void NotifyUpdate(T old, T current)
    {
        foreach (var handler in _onUpdate)
        {
            _dispatch.Writer.TryWrite(() => handler(old, current));
        }
    }

    private async Task DispatchAsync(CancellationToken ct)
    {
        await foreach (var action in _dispatch.Reader.ReadAllAsync(ct).ConfigureAwait(false))
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                // One failing handler must not stop the others or the informer (client-go recovers handler panics too).
                _log?.Invoke($"{typeof(T).Name} handler failed: {e}");
            }
        }
    }
}
