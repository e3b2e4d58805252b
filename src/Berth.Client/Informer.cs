using System.Threading.Channels;
using Berth.Api.Models;

namespace Berth.Client;

/// <summary>
/// A reflector and its cache (client-go's SharedInformer, one consumer): lists, then watches from the list's
/// resourceVersion, keeping a local copy of every object. Handlers run one at a time, in event order, on one dispatch
/// loop. Objects handed out are the cached instances: copy (<c>KubeJson.DeepClone</c>) before changing them.
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
    }

    public bool HasSynced => _synced.Task.IsCompleted;

    /// <summary>How many times the informer has listed (1 after the first sync; more after relists).</summary>
    internal int ListCount => Volatile.Read(ref _lists);

    public void OnAdd(Action<T> handler) => AddHandler(_onAdd, handler);

    public void OnUpdate(Action<T, T> handler) => AddHandler(_onUpdate, handler);

    public void OnDelete(Action<T> handler) => AddHandler(_onDelete, handler);

    /// <summary>Starts listing and watching in the background; returns at once.</summary>
    public Task StartAsync(CancellationToken ct)
    {
        if (_stop is not null)
        {
            throw new InvalidOperationException("the informer is already started");
        }
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var token = _stop.Token;
        _running = Task.WhenAll(Task.Run(() => ReflectAsync(token), token), Task.Run(() => DispatchAsync(token), token));
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
                _cache[key] = item;
            }
            foreach (var (key, old) in _cache.Where(e => !seen.Contains(e.Key)).ToList())
            {
                _cache.Remove(key);
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
            _cache[key] = obj;
            _resourceVersion = obj.Metadata?.ResourceVersion ?? _resourceVersion;
        }
    }

    private void Remove(T obj)
    {
        lock (_lock)
        {
            var key = Key(obj);
            _cache.Remove(key);
            Notify(_onDelete, obj);
            _resourceVersion = obj.Metadata?.ResourceVersion ?? _resourceVersion;
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
