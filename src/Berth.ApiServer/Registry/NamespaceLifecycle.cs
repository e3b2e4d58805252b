using System.Threading.Channels;
using Berth.ApiServer.Http;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Empties a namespace that is being deleted, then removes it: upstream's namespace controller behind the
/// "kubernetes" finalizer. It watches namespaces, so it resumes after a restart, and deletes the contents the way a
/// DELETE request would: objects with finalizers (or pods on a node) are marked and waited for.
/// </summary>
public sealed partial class NamespaceLifecycle : BackgroundService
{
    private static readonly TimeSpan s_retryDelay = TimeSpan.FromSeconds(1);

    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();
    private readonly HashSet<string> _queued = [];
    private readonly ResourceCatalog _catalog;
    private readonly ObjectStore _objects;
    private readonly ObjectDeleter _deleter;
    private readonly ILogger<NamespaceLifecycle> _logger;

    public NamespaceLifecycle(ResourceCatalog catalog, ObjectStore objects, ObjectDeleter deleter, ILogger<NamespaceLifecycle> logger)
    {
        _catalog = catalog;
        _objects = objects;
        _deleter = deleter;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var worker = WorkAsync(stoppingToken);
        var nsDef = _catalog.Get("", "namespaces");
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (existing, revision) = await _objects.ListAsync(nsDef, null, stoppingToken).ConfigureAwait(false);
                foreach (var ns in existing.Where(n => Meta.IsDeleting(n.Object)))
                {
                    Enqueue(Meta.Name(ns.Object)!);
                }
                await foreach (var e in _objects.Store.WatchAsync(nsDef.StoragePrefix(null), revision, stoppingToken).ConfigureAwait(false))
                {
                    if (e.Type == WatchEventType.Put && ObjectStore.Decode(e.Value, e.ModRevision).Object is var ns && Meta.IsDeleting(ns))
                    {
                        Enqueue(Meta.Name(ns)!);
                    }
                }
            }
            catch (CompactedException)
            {
                // Fell behind the history: list again.
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
        await worker.ConfigureAwait(false);
    }

    private void Enqueue(string ns)
    {
        lock (_queued)
        {
            if (_queued.Add(ns))
            {
                _queue.Writer.TryWrite(ns);
            }
        }
    }

    private async Task WorkAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var ns in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                lock (_queued)
                {
                    _queued.Remove(ns);
                }
                bool done;
                try
                {
                    done = await TryFinishAsync(ns, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is StoreException or ApiException or IOException)
                {
                    LogRetry(ns, e.Message);
                    done = false;
                }
                if (!done)
                {
                    _ = RetryLaterAsync(ns, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Deletes what is left in the namespace; true when the namespace itself is gone.</summary>
    private async Task<bool> TryFinishAsync(string ns, CancellationToken ct)
    {
        var nsDef = _catalog.Get("", "namespaces");
        var current = await _objects.GetAsync(nsDef, null, ns, ct).ConfigureAwait(false);
        if (current is null || !Meta.IsDeleting(current.Object))
        {
            return true;
        }
        var remaining = 0;
        foreach (var def in _catalog.All.Where(d => d.Namespaced))
        {
            var (items, _) = await _objects.ListAsync(def, ns, ct).ConfigureAwait(false);
            foreach (var item in items)
            {
                remaining++;
                if (Meta.IsDeleting(item.Object))
                {
                    // Marked already: waiting for a finalizer to let go or a kubelet to stop the pod.
                    continue;
                }
                try
                {
                    await _deleter.DeleteAsync(def, item, options: null, dryRun: false, ct).ConfigureAwait(false);
                }
                catch (ApiException e) when (e.Code is 404 or 409)
                {
                    // Gone or changed meanwhile: the next pass sees it.
                }
            }
        }
        if (remaining > 0 && await AnythingLeftAsync(ns, ct).ConfigureAwait(false))
        {
            return false;
        }
        try
        {
            await _objects.DeleteAsync(nsDef, null, ns, current.ModRevision, ct).ConfigureAwait(false);
            LogDeleted(ns);
            return true;
        }
        catch (StoreException)
        {
            return false;
        }
    }

    private async Task<bool> AnythingLeftAsync(string ns, CancellationToken ct)
    {
        foreach (var def in _catalog.All.Where(d => d.Namespaced))
        {
            var (items, _) = await _objects.ListAsync(def, ns, ct).ConfigureAwait(false);
            if (items.Count > 0)
            {
                return true;
            }
        }
        return false;
    }

    private async Task RetryLaterAsync(string ns, CancellationToken ct)
    {
        try
        {
            await Task.Delay(s_retryDelay, ct).ConfigureAwait(false);
            Enqueue(ns);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Namespace {Namespace} deleted")]
    private partial void LogDeleted(string @namespace);

    [LoggerMessage(2, LogLevel.Warning, "Namespace {Namespace} deletion will be retried: {Reason}")]
    private partial void LogRetry(string @namespace, string reason);
}
