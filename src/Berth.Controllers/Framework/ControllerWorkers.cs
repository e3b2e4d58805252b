using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.Framework;

/// <summary>The worker loop every controller runs over its queue (upstream processNextWorkItem + handleErr).</summary>
public static class ControllerWorkers
{
    /// <summary>
    /// Runs <paramref name="workers"/> loops: get a key, sync it, Forget it on success; on failure requeue it
    /// rate-limited until it has been requeued <paramref name="maxRetries"/> times, then drop it. When
    /// <paramref name="ct"/> is cancelled the queue is shut down, workers finish their current key, and this returns.
    /// </summary>
    public static async Task RunAsync(string controller, WorkQueue queue, int workers,
        Func<string, CancellationToken, Task> sync, Action<string> log, CancellationToken ct, int maxRetries = 15)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(sync);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        using var registration = ct.Register(queue.ShutDown);
        var loops = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            loops[i] = Task.Run(() => WorkAsync(controller, queue, sync, log, maxRetries, ct), CancellationToken.None);
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    /// <summary>The queue key of an object: "namespace/name", or "name" for cluster-scoped objects.</summary>
    public static string Key(IKubernetesObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var name = obj.Metadata?.Name ?? "";
        return obj.Metadata?.Namespace is { Length: > 0 } ns ? ns + "/" + name : name;
    }

    /// <summary>Splits a queue key (client-go SplitMetaNamespaceKey); the namespace is null for "name".</summary>
    public static (string? Namespace, string Name) SplitKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (null, key);
        }
        if (key.IndexOf('/', slash + 1) >= 0)
        {
            throw new ArgumentException($"unexpected key format: \"{key}\"", nameof(key));
        }
        return (key[..slash], key[(slash + 1)..]);
    }

    private static async Task WorkAsync(string controller, WorkQueue queue, Func<string, CancellationToken, Task> sync,
        Action<string> log, int maxRetries, CancellationToken ct)
    {
        // Shutdown is signalled by the queue (null), so the wait itself is not cancelled.
        while (await queue.GetAsync(CancellationToken.None).ConfigureAwait(false) is { } key)
        {
            try
            {
                if (ct.IsCancellationRequested)
                {
                    // Keys still queued at shutdown are left alone: the next run resyncs everything.
                    return;
                }
                await sync(key, ct).ConfigureAwait(false);
                queue.Forget(key);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Stopping, not failing.
            }
            catch (Exception e)
            {
                // A write conflict (another writer came first; the retry starts from the fresh copy) and a cache
                // behind the controller's own write are routine: say nothing unless they keep happening.
                if (e is not (KubeApiException { StatusCode: 409 } or StaleCacheException) || queue.NumRequeues(key) >= 3)
                {
                    log($"{controller}: error syncing {key}: {e.Message}");
                }
                if (queue.NumRequeues(key) < maxRetries)
                {
                    queue.AddRateLimited(key);
                }
                else
                {
                    queue.Forget(key);
                    log($"{controller}: dropping {key} out of the queue: {e.Message}");
                }
            }
            finally
            {
                queue.Done(key);
            }
        }
    }
}
