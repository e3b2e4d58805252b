namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// Upstream tainteviction.TimedWorkerQueue: per key, work that runs no earlier than its fire time, on the given clock,
/// and can be cancelled until then. A key whose work succeeded stays (with no timer) so it is not scheduled again
/// until cancelled; one whose work failed is forgotten.
/// </summary>
internal sealed class TimedWorkerQueue : IAsyncDisposable
{
    private readonly Func<string, DateTimeOffset, Task> _work;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TimedWorker?> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _running = [];

    public TimedWorkerQueue(Func<string, DateTimeOffset, Task> work, TimeProvider time, Action<string> log)
    {
        _work = work;
        _time = time;
        _log = log;
    }

    /// <summary>A scheduled eviction: when it was scheduled and when it fires.</summary>
    public sealed class TimedWorker(DateTimeOffset createdAt, DateTimeOffset fireAt)
    {
        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset FireAt { get; } = fireAt;

        internal ITimer? Timer { get; set; }

        internal bool Cancelled { get; set; }
    }

    /// <summary>
    /// AddWork: runs the work for <paramref name="key"/> <paramref name="fireAt"/> − <paramref name="createdAt"/>
    /// from now (at once when that is not positive), unless the key already has work.
    /// </summary>
    public void AddWork(string key, DateTimeOffset createdAt, DateTimeOffset fireAt)
    {
        lock (_lock)
        {
            if (_workers.ContainsKey(key))
            {
                return;
            }
            var delay = fireAt - createdAt;
            if (delay <= TimeSpan.Zero)
            {
                _workers[key] = null;
                Start(key, fireAt, null);
                return;
            }
            var worker = new TimedWorker(createdAt, fireAt);
            worker.Timer = _time.CreateTimer(_ => Fire(key, worker), null, delay, Timeout.InfiniteTimeSpan);
            _workers[key] = worker;
        }
    }

    /// <summary>CancelWork: forgets the key; true when a scheduled, not yet started, work was cancelled.</summary>
    public bool CancelWork(string key)
    {
        lock (_lock)
        {
            if (!_workers.Remove(key, out var worker) || worker is null)
            {
                return false;
            }
            worker.Cancelled = true;
            worker.Timer?.Dispose();
            return true;
        }
    }

    /// <summary>GetWorkerUnsafe: the scheduled work of <paramref name="key"/>; null when none or it already ran.</summary>
    public TimedWorker? GetWorker(string key)
    {
        lock (_lock)
        {
            return _workers.GetValueOrDefault(key);
        }
    }

    /// <summary>Whether <paramref name="key"/> has work scheduled, running, or done and not yet cancelled.</summary>
    public bool Contains(string key)
    {
        lock (_lock)
        {
            return _workers.ContainsKey(key);
        }
    }

    /// <summary>Completes when the work running now has finished (tests).</summary>
    internal Task IdleAsync()
    {
        lock (_lock)
        {
            return Task.WhenAll(_running);
        }
    }

    /// <summary>CancelAndWait: cancels every timer and waits for work already running.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_lock)
        {
            foreach (var worker in _workers.Values.OfType<TimedWorker>())
            {
                worker.Cancelled = true;
                worker.Timer?.Dispose();
            }
            _workers.Clear();
            running = [.. _running];
        }
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private void Fire(string key, TimedWorker worker)
    {
        lock (_lock)
        {
            if (worker.Cancelled)
            {
                return;
            }
            worker.Timer?.Dispose();
            Start(key, worker.FireAt, worker);
        }
    }

    // Under _lock: the work runs on the thread pool; the key is kept on success and forgotten on failure.
    private void Start(string key, DateTimeOffset fireAt, TimedWorker? worker)
    {
        var task = Task.Run(async () =>
        {
            var failed = false;
            try
            {
                await _work(key, fireAt).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failed = true;
                _log($"timed worker for {key} failed: {e.Message}");
            }
            lock (_lock)
            {
                if (_workers.TryGetValue(key, out var current) && (current is null || current == worker))
                {
                    if (failed)
                    {
                        _workers.Remove(key);
                    }
                    else
                    {
                        // Kept, so the same pod is not scheduled twice while its deletion completes.
                        _workers[key] = null;
                    }
                }
            }
        });
        _running.Add(task);
        _ = task.ContinueWith(t =>
        {
            lock (_lock)
            {
                _running.Remove(t);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
