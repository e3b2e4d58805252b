using System.Threading.Channels;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Empties a namespace that is being deleted, then removes it: upstream's namespace controller behind the
/// "kubernetes" finalizer. Deletion requests are queued by name; namespaces found terminating at start are resumed.
/// </summary>
public sealed partial class NamespaceLifecycle : BackgroundService
{
    private static readonly TimeSpan s_retryDelay = TimeSpan.FromMilliseconds(500);

    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();
    private readonly ResourceCatalog _catalog;
    private readonly ObjectStore _objects;
    private readonly ILogger<NamespaceLifecycle> _logger;

    public NamespaceLifecycle(ResourceCatalog catalog, ObjectStore objects, ILogger<NamespaceLifecycle> logger)
    {
        _catalog = catalog;
        _objects = objects;
        _logger = logger;
    }

    public void Notify(string ns) => _queue.Writer.TryWrite(ns);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nsDef = _catalog.Get("", "namespaces");
        var (existing, _) = await _objects.ListAsync(nsDef, null, stoppingToken).ConfigureAwait(false);
        foreach (var ns in existing.Where(n => Meta.IsDeleting(n.Object)))
        {
            Notify(Meta.Name(ns.Object)!);
        }
        await foreach (var ns in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                if (!await TryFinishAsync(nsDef, ns, stoppingToken).ConfigureAwait(false))
                {
                    _ = RequeueLaterAsync(ns, stoppingToken);
                }
            }
            catch (Exception e) when (e is StoreException or IOException or InvalidOperationException)
            {
                LogRetry(ns, e.Message);
                _ = RequeueLaterAsync(ns, stoppingToken);
            }
        }
    }

    /// <summary>Deletes what is left in the namespace; true when the namespace itself is gone.</summary>
    private async Task<bool> TryFinishAsync(ResourceDefinition nsDef, string ns, CancellationToken ct)
    {
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
                if (Meta.HasFinalizers(item.Object))
                {
                    // Someone else's finalizer must let go first.
                    remaining++;
                    continue;
                }
                try
                {
                    await _objects.DeleteAsync(def, ns, Meta.Name(item.Object)!, item.ModRevision, ct).ConfigureAwait(false);
                }
                catch (StoreException)
                {
                    remaining++;
                }
            }
        }
        if (remaining > 0)
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

    private async Task RequeueLaterAsync(string ns, CancellationToken ct)
    {
        try
        {
            await Task.Delay(s_retryDelay, ct).ConfigureAwait(false);
            Notify(ns);
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
