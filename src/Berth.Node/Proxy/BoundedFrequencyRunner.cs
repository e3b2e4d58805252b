using System.Threading.Channels;

namespace Berth.Node.Proxy;

/// <summary>
/// Runs a function on request, but at most once per minInterval (from the end of one run to the start of the next)
/// and at least once per maxInterval (upstream pkg/util/async/bounded_frequency_runner.go, with one burst run).
/// Requests made while the function runs, or before minInterval has passed, fold into one later run. The function
/// runs on the <see cref="Loop"/> task only, never concurrently with itself.
/// </summary>
internal sealed class BoundedFrequencyRunner
{
    private readonly string _name;
    private readonly Action _run;
    private readonly TimeSpan _minInterval;
    private readonly TimeSpan _maxInterval;
    private readonly TimeProvider _time;

    // Wakes the loop; holds at most one signal, so a burst of requests costs one wake-up (upstream's run channel).
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _lock = new();

    // Guarded by _lock; timestamps of _time.
    private bool _requested;
    private long? _retryAt;
    private long? _lastRunEnd;
    private long _periodicAt;

    public BoundedFrequencyRunner(string name, Action run, TimeSpan minInterval, TimeSpan maxInterval, TimeProvider time)
    {
        if (maxInterval < minInterval)
        {
            throw new ArgumentException($"{name}: maxInterval ({maxInterval}) must be >= minInterval ({minInterval})", nameof(maxInterval));
        }
        _name = name;
        _run = run;
        _minInterval = minInterval;
        _maxInterval = maxInterval;
        _time = time;
    }

    /// <summary>Asks for a run as soon as minInterval allows.</summary>
    public void Run()
    {
        lock (_lock)
        {
            _requested = true;
        }
        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Asks for a run no later than <paramref name="interval"/> from now (minInterval still applies); may be called from
    /// inside the function. The earliest of several pending retries wins; any run that starts meanwhile satisfies it.
    /// </summary>
    public void RetryAfter(TimeSpan interval)
    {
        var at = _time.GetTimestamp() + Ticks(interval);
        lock (_lock)
        {
            if (_retryAt is { } pending && pending <= at)
            {
                return;
            }
            _retryAt = at;
        }
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Runs the function when due until <paramref name="ct"/> is cancelled; an exception from the function ends the loop with it.</summary>
    public async Task Loop(CancellationToken ct)
    {
        lock (_lock)
        {
            _periodicAt = _time.GetTimestamp() + Ticks(_maxInterval);
        }
        while (!ct.IsCancellationRequested)
        {
            // A request writes its state before its wake-up, so the state read next includes every request whose
            // wake-up this takes; one made after leaves its wake-up for the wait below.
            _wake.Reader.TryRead(out _);
            var now = _time.GetTimestamp();
            var due = Due();
            if (due <= now)
            {
                RunOnce();
                continue;
            }
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var woken = _wake.Reader.WaitToReadAsync(wait.Token).AsTask();
            var delay = Task.Delay(_time.GetElapsedTime(now, due), _time, wait.Token);
            await Task.WhenAny(woken, delay).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
        }
    }

    public override string ToString() => _name;

    /// <summary>When the next run may start: the earliest of requested (now), retry and periodic, but not before minInterval after the last run.</summary>
    private long Due()
    {
        lock (_lock)
        {
            var due = _periodicAt;
            if (_retryAt is { } retry && retry < due)
            {
                due = retry;
            }
            if (_requested)
            {
                due = long.MinValue;
            }
            if (_lastRunEnd is { } last && last + Ticks(_minInterval) > due)
            {
                due = last + Ticks(_minInterval);
            }
            return due;
        }
    }

    private void RunOnce()
    {
        lock (_lock)
        {
            // This run serves every request made so far; one made while it runs asks for another.
            _requested = false;
            _retryAt = null;
        }
        _run();
        var end = _time.GetTimestamp();
        lock (_lock)
        {
            _lastRunEnd = end;
            _periodicAt = end + Ticks(_maxInterval);
        }
    }

    private long Ticks(TimeSpan interval) => (long)(interval.TotalSeconds * _time.TimestampFrequency);
}
