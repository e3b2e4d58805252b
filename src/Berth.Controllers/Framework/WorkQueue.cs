namespace Berth.Controllers.Framework;

/// <summary>
/// Rate-limited, delaying work queue of string keys ("namespace/name" or "name"): client-go's util/workqueue
/// (queue.go, delaying_queue.go, rate_limiting_queue.go). A key is queued at most once however often it is added;
/// a key added while it is being processed is handed out again only after <see cref="Done"/>, so no two workers
/// ever hold the same key.
/// </summary>
public sealed class WorkQueue : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly IRateLimiter _limiter;
    private readonly long _start;

    // queue.go: queue holds the order, dirty what needs processing, processing what a worker holds.
    private readonly Queue<string> _queue = new();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    private readonly LinkedList<Waiter> _waiters = new();
    private bool _shuttingDown;

    // delaying_queue.go: keys waiting for their ready time (elapsed since _start), earliest first, and each
    // key's current ready time; heap entries whose time no longer matches are stale and skipped.
    private readonly PriorityQueue<string, TimeSpan> _waiting = new();
    private readonly Dictionary<string, TimeSpan> _readyAt = new(StringComparer.Ordinal);
    private ITimer? _timer;
    private TimeSpan _timerDue = TimeSpan.MaxValue;

    /// <param name="name">The queue's name (client-go names queues for metrics); kept for diagnostics.</param>
    /// <param name="limiter">Defaults to <see cref="RateLimiters.Default"/> on <paramref name="time"/>.</param>
    public WorkQueue(string name, TimeProvider? time = null, IRateLimiter? limiter = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        _time = time ?? TimeProvider.System;
        _limiter = limiter ?? RateLimiters.Default(_time);
        _start = _time.GetTimestamp();
    }

    public string Name { get; }

    /// <summary>Keys ready to be handed out (not those waiting for a delay, nor those being processed).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Marks <paramref name="key"/> as needing processing; ignored after <see cref="ShutDown"/>.</summary>
    public void Add(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            AddLocked(key);
        }
    }

    /// <summary>Adds <paramref name="key"/> once <paramref name="delay"/> has passed; an earlier pending time wins.</summary>
    public void AddAfter(string key, TimeSpan delay)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }
            if (delay <= TimeSpan.Zero)
            {
                AddLocked(key);
                return;
            }
            var readyAt = Elapsed() + delay;
            if (_readyAt.TryGetValue(key, out var pending) && pending <= readyAt)
            {
                return;
            }
            _readyAt[key] = readyAt;
            _waiting.Enqueue(key, readyAt);
            ArmLocked(readyAt);
        }
    }

    /// <summary>Adds <paramref name="key"/> after the rate limiter's delay for it.</summary>
    public void AddRateLimited(string key) => AddAfter(key, _limiter.When(key));

    /// <summary>Stops the rate limiter tracking <paramref name="key"/> (it succeeded, or is given up on).</summary>
    public void Forget(string key) => _limiter.Forget(key);

    public int NumRequeues(string key) => _limiter.NumRequeues(key);

    /// <summary>
    /// The next key to process, waiting for one without polling; the caller must call <see cref="Done"/> with it.
    /// Null once the queue is shut down and no ready keys are left.
    /// </summary>
    public ValueTask<string?> GetAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_lock)
        {
            if (_queue.Count > 0)
            {
                return new(TakeLocked());
            }
            if (_shuttingDown)
            {
                return new((string?)null);
            }
            waiter = new Waiter(this);
            waiter.Node = _waiters.AddLast(waiter);
        }
        return ct.CanBeCanceled ? WaitAsync(waiter, ct) : new(waiter.Task);
    }

    /// <summary>Ends processing of <paramref name="key"/>; if it was added meanwhile, it is queued again now.</summary>
    public void Done(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            _processing.Remove(key);
            if (_dirty.Contains(key))
            {
                EnqueueLocked(key);
            }
        }
    }

    /// <summary>
    /// Stops accepting keys and drops the delayed ones; <see cref="GetAsync"/> still hands out ready keys, then null.
    /// </summary>
    public void ShutDown()
    {
        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }
            _shuttingDown = true;
            _waiting.Clear();
            _readyAt.Clear();
            _timer?.Dispose();
            _timer = null;
            // Waiters exist only while nothing is ready, so all of them get the end of the queue.
            while (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                first.Value.TrySetResult(null);
            }
        }
    }

    public void Dispose() => ShutDown();

    private TimeSpan Elapsed() => _time.GetElapsedTime(_start);

    private void AddLocked(string key)
    {
        if (_shuttingDown || !_dirty.Add(key))
        {
            return;
        }
        // A key being processed is queued again by Done.
        if (!_processing.Contains(key))
        {
            EnqueueLocked(key);
        }
    }

    private void EnqueueLocked(string key)
    {
        _queue.Enqueue(key);
        if (_waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            // Continuations run asynchronously (Waiter's options), never inline under the lock.
            first.Value.TrySetResult(TakeLocked());
        }
    }

    private string TakeLocked()
    {
        var key = _queue.Dequeue();
        _processing.Add(key);
        _dirty.Remove(key);
        return key;
    }

    private static async ValueTask<string?> WaitAsync(Waiter waiter, CancellationToken ct)
    {
        using (ct.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter))
        {
            return await waiter.Task.ConfigureAwait(false);
        }
    }

    private void ArmLocked(TimeSpan readyAt)
    {
        if (readyAt >= _timerDue)
        {
            return;
        }
        _timerDue = readyAt;
        var due = readyAt - Elapsed();
        _timer ??= _time.CreateTimer(static state => ((WorkQueue)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The one timer for all delayed keys: adds every key whose time has come, then re-arms for the next.</summary>
    private void OnTimer()
    {
        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }
            _timerDue = TimeSpan.MaxValue;
            var now = Elapsed();
            while (_waiting.TryPeek(out var key, out var readyAt))
            {
                if (!_readyAt.TryGetValue(key, out var current) || current != readyAt)
                {
                    _waiting.Dequeue();
                    continue;
                }
                if (readyAt > now)
                {
                    ArmLocked(readyAt);
                    return;
                }
                _waiting.Dequeue();
                _readyAt.Remove(key);
                AddLocked(key);
            }
        }
    }

    private sealed class Waiter : TaskCompletionSource<string?>
    {
        private readonly WorkQueue _queue;

        public Waiter(WorkQueue queue)
            : base(TaskCreationOptions.RunContinuationsAsynchronously) => _queue = queue;

        public LinkedListNode<Waiter>? Node { get; set; }

        public void Cancel(CancellationToken token)
        {
            lock (_queue._lock)
            {
                // A waiter already handed a key keeps it: the caller must process it and call Done.
                if (Node?.List is null)
                {
                    return;
                }
                _queue._waiters.Remove(Node);
            }
            TrySetCanceled(token);
        }
    }
}
