namespace Berth.Controllers.Scheduler;

/// <summary>
/// kube-scheduler's PriorityQueue, keyed by "namespace/name": pending pods wait in an active queue ordered by
/// priority, then by when they (re)entered the queue (PrioritySort); a pod that found no node is parked as
/// unschedulable until an event that may help moves it back (via its back-off if that has not run out yet), or until
/// it has been parked for <see cref="MaxInUnschedulable"/>; a pod whose attempt failed on an error waits out its
/// back-off. One consumer pops; informer handlers add, update, delete and move concurrently.
/// </summary>
internal sealed class SchedulingQueue
{
    // podInitialBackoffDuration / podMaxBackoffDuration.
    internal static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    // podMaxInUnschedulablePodsDuration. Every input the filters read (nodes, bound pods, the pod itself) moves parked
    // pods when it changes, so this flush is only a safety net; upstream's 5 minutes rather than a short retry keeps
    // a pod that cannot fit from writing a FailedScheduling event every few seconds.
    internal static readonly TimeSpan MaxInUnschedulable = TimeSpan.FromMinutes(5);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, QueuedPod> _pods = new(StringComparer.Ordinal);
    private readonly SortedSet<QueuedPod> _active = new(ActiveOrder.Instance);
    private readonly SortedSet<QueuedPod> _backoff = new(Comparer<QueuedPod>.Create(static (a, b) =>
        a.BackoffExpiry != b.BackoffExpiry ? a.BackoffExpiry.CompareTo(b.BackoffExpiry) : string.CompareOrdinal(a.Key, b.Key)));
    private readonly SortedSet<QueuedPod> _unschedulable = new(Comparer<QueuedPod>.Create(static (a, b) =>
        a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : string.CompareOrdinal(a.Key, b.Key)));
    private TaskCompletionSource? _waiter;
    private long _cycle;
    private long _moveRequestCycle = -1;

    public SchedulingQueue(TimeProvider time)
    {
        _time = time;
    }

    internal enum State
    {
        Active,
        Backoff,
        Unschedulable,
        InFlight,
    }

    /// <summary>Pods the queue holds in any state, in flight included.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _pods.Count;
            }
        }
    }

    /// <summary>Where <paramref name="key"/> is, or null (tests).</summary>
    internal State? StateOf(string key)
    {
        lock (_lock)
        {
            return _pods.TryGetValue(key, out var pod) ? pod.State : null;
        }
    }

    /// <summary>A new pending pod goes to the active queue (a pod already held is only updated).</summary>
    public void Add(string key, int priority, DateTimeOffset timestamp)
    {
        lock (_lock)
        {
            if (_pods.ContainsKey(key))
            {
                UpdateLocked(key, priority, changed: false);
                return;
            }
            var pod = new QueuedPod(key) { Priority = priority, Timestamp = timestamp };
            _pods.Add(key, pod);
            ToActive(pod);
        }
    }

    /// <summary>
    /// The pending pod changed. Its priority is refreshed; when the change is more than status
    /// (<paramref name="changed"/>), a parked pod is moved back (as upstream's Update), and one being scheduled goes
    /// to back-off rather than being parked if this attempt fails. A pod the queue does not hold is added.
    /// </summary>
    public void Update(string key, int priority, DateTimeOffset timestamp, bool changed)
    {
        lock (_lock)
        {
            if (!_pods.ContainsKey(key))
            {
                var pod = new QueuedPod(key) { Priority = priority, Timestamp = timestamp };
                _pods.Add(key, pod);
                ToActive(pod);
                return;
            }
            UpdateLocked(key, priority, changed);
        }
    }

    public void Delete(string key)
    {
        lock (_lock)
        {
            if (_pods.Remove(key, out var pod))
            {
                Detach(pod);
            }
        }
    }

    /// <summary>
    /// MoveAllToActiveOrBackoffQueue: an event that may make parked pods schedulable. Pods being scheduled right now
    /// will go to back-off instead of being parked if their attempt fails (it may have missed this event).
    /// </summary>
    public void MoveAllToActiveOrBackoff()
    {
        lock (_lock)
        {
            _moveRequestCycle = _cycle;
            if (_unschedulable.Count == 0)
            {
                return;
            }
            var now = _time.GetUtcNow();
            foreach (var pod in _unschedulable.ToList())
            {
                _unschedulable.Remove(pod);
                Requeue(pod, now);
            }
            Wake();
        }
    }

    /// <summary>The next pod to schedule: waits until one is active, a back-off runs out or a parked pod is flushed.</summary>
    public async Task<QueuedPod> PopAsync(CancellationToken ct)
    {
        while (true)
        {
            Task signal;
            TimeSpan? wait;
            lock (_lock)
            {
                var now = _time.GetUtcNow();
                Flush(now);
                if (_active.Min is { } next)
                {
                    _active.Remove(next);
                    next.State = State.InFlight;
                    next.Attempts++;
                    next.Cycle = ++_cycle;
                    next.ChangedInFlight = false;
                    return next;
                }
                wait = NextDue(now);
                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                signal = _waiter.Task;
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            await Task.WhenAny(signal, Task.Delay(wait ?? Timeout.InfiniteTimeSpan, _time, stop.Token)).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The attempt ended for good (bound, or the pod is gone).</summary>
    public void Done(QueuedPod pod)
    {
        lock (_lock)
        {
            if (IsCurrent(pod))
            {
                _pods.Remove(pod.Key);
            }
        }
    }

    /// <summary>
    /// AddUnschedulableIfNotPresent: no node fits. The pod is parked, unless something that may help happened during
    /// its attempt, in which case it only waits out its back-off.
    /// </summary>
    public void AddUnschedulable(QueuedPod pod)
    {
        lock (_lock)
        {
            if (!IsCurrent(pod))
            {
                return;
            }
            var now = _time.GetUtcNow();
            pod.Timestamp = now;
            if (pod.ChangedInFlight || _moveRequestCycle >= pod.Cycle)
            {
                Requeue(pod, now);
            }
            else
            {
                pod.State = State.Unschedulable;
                _unschedulable.Add(pod);
            }
            Wake();
        }
    }

    /// <summary>The attempt failed on an error (binding, API): retried once its back-off runs out.</summary>
    public void AddBackoff(QueuedPod pod)
    {
        lock (_lock)
        {
            if (!IsCurrent(pod))
            {
                return;
            }
            var now = _time.GetUtcNow();
            pod.Timestamp = now;
            Requeue(pod, now);
            Wake();
        }
    }

    /// <summary>calculateBackoffDuration: 1 s doubled per attempt after the first, at most 10 s; none before any attempt.</summary>
    internal static TimeSpan Backoff(int attempts)
    {
        if (attempts == 0)
        {
            return TimeSpan.Zero;
        }
        var duration = InitialBackoff;
        for (var i = 1; i < attempts; i++)
        {
            if (duration > MaxBackoff - duration)
            {
                return MaxBackoff;
            }
            duration += duration;
        }
        return duration;
    }

    private bool IsCurrent(QueuedPod pod) =>
        pod.State == State.InFlight && _pods.TryGetValue(pod.Key, out var held) && ReferenceEquals(held, pod);

    private void UpdateLocked(string key, int priority, bool changed)
    {
        var pod = _pods[key];
        switch (pod.State)
        {
            case State.Active:
                _active.Remove(pod);
                pod.Priority = priority;
                _active.Add(pod);
                break;
            case State.Unschedulable when changed:
                _unschedulable.Remove(pod);
                pod.Priority = priority;
                Requeue(pod, _time.GetUtcNow());
                Wake();
                break;
            case State.InFlight:
                pod.Priority = priority;
                pod.ChangedInFlight |= changed;
                break;
            default:
                // Backoff and Unschedulable sets are not ordered by priority.
                pod.Priority = priority;
                break;
        }
    }

    // To the active queue if its back-off has run out, else to the back-off queue.
    private void Requeue(QueuedPod pod, DateTimeOffset now)
    {
        pod.BackoffExpiry = pod.Timestamp + Backoff(pod.Attempts);
        if (pod.BackoffExpiry > now)
        {
            pod.State = State.Backoff;
            _backoff.Add(pod);
        }
        else
        {
            ToActive(pod);
        }
    }

    private void ToActive(QueuedPod pod)
    {
        pod.State = State.Active;
        _active.Add(pod);
        Wake();
    }

    private void Detach(QueuedPod pod)
    {
        switch (pod.State)
        {
            case State.Active:
                _active.Remove(pod);
                break;
            case State.Backoff:
                _backoff.Remove(pod);
                break;
            case State.Unschedulable:
                _unschedulable.Remove(pod);
                break;
            default:
                break;
        }
    }

    // flushBackoffQCompleted and flushUnschedulablePodsLeftover.
    private void Flush(DateTimeOffset now)
    {
        while (_backoff.Min is { } pod && pod.BackoffExpiry <= now)
        {
            _backoff.Remove(pod);
            ToActive(pod);
        }
        while (_unschedulable.Min is { } pod && pod.Timestamp + MaxInUnschedulable <= now)
        {
            _unschedulable.Remove(pod);
            Requeue(pod, now);
        }
    }

    private TimeSpan? NextDue(DateTimeOffset now)
    {
        DateTimeOffset? due = _backoff.Min?.BackoffExpiry;
        if (_unschedulable.Min is { } parked && (due is null || parked.Timestamp + MaxInUnschedulable < due))
        {
            due = parked.Timestamp + MaxInUnschedulable;
        }
        return due is { } at ? (at > now ? at - now : TimeSpan.Zero) : null;
    }

    private void Wake()
    {
        _waiter?.TrySetResult();
        _waiter = null;
    }

    private sealed class ActiveOrder : IComparer<QueuedPod>
    {
        public static readonly ActiveOrder Instance = new();

        // queuesort.PrioritySort.Less: higher priority first, then the earlier timestamp.
        public int Compare(QueuedPod? a, QueuedPod? b)
        {
            var c = b!.Priority.CompareTo(a!.Priority);
            c = c != 0 ? c : a.Timestamp.CompareTo(b.Timestamp);
            return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
        }
    }
}

/// <summary>A pod the queue holds (upstream QueuedPodInfo); its fields change only under the queue's lock.</summary>
internal sealed class QueuedPod(string key)
{
    public string Key { get; } = key;

    public int Priority { get; set; }

    /// <summary>When the pod last entered the queue: created, or its last attempt failed.</summary>
    public DateTimeOffset Timestamp { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset BackoffExpiry { get; set; }

    public SchedulingQueue.State State { get; set; }

    /// <summary>The scheduling cycle that popped it.</summary>
    public long Cycle { get; set; }

    /// <summary>The pod itself changed while it was being scheduled.</summary>
    public bool ChangedInFlight { get; set; }
}
