namespace Berth.Controllers.Framework;

/// <summary>How long to wait before an item is retried (client-go workqueue.TypedRateLimiter).</summary>
public interface IRateLimiter
{
    /// <summary>The delay before <paramref name="key"/> may be processed again; counts one more requeue.</summary>
    TimeSpan When(string key);

    /// <summary>Stops tracking <paramref name="key"/>: the next failure starts from the base delay.</summary>
    void Forget(string key);

    /// <summary>How many times <paramref name="key"/> has been requeued since it was last forgotten.</summary>
    int NumRequeues(string key);
}

/// <summary>client-go's default_rate_limiters.go.</summary>
public static class RateLimiters
{
    /// <summary>baseDelay * 2^failures per key, capped at maxDelay (ItemExponentialFailureRateLimiter).</summary>
    public static IRateLimiter ItemExponential(TimeSpan baseDelay, TimeSpan maxDelay) => new ItemExponentialFailureRateLimiter(baseDelay, maxDelay);

    /// <summary>One token bucket for all keys, refilled at qps up to burst (BucketRateLimiter over x/time/rate).</summary>
    public static IRateLimiter Bucket(double qps, int burst, TimeProvider time) => new BucketRateLimiter(qps, burst, time);

    /// <summary>The longest delay of all the limiters (MaxOfRateLimiter).</summary>
    public static IRateLimiter Max(params IRateLimiter[] limiters) => new MaxOfRateLimiter(limiters);

    /// <summary>
    /// DefaultControllerRateLimiter: per-key exponential backoff 5 ms .. 1000 s, and overall 10 qps with a burst of
    /// 100 (only bites with a flood of retries).
    /// </summary>
    public static IRateLimiter Default(TimeProvider time) => Max(
        ItemExponential(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000)),
        Bucket(10, 100, time));

    private sealed class ItemExponentialFailureRateLimiter : IRateLimiter
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
        private readonly TimeSpan _baseDelay;
        private readonly TimeSpan _maxDelay;

        public ItemExponentialFailureRateLimiter(TimeSpan baseDelay, TimeSpan maxDelay)
        {
            _baseDelay = baseDelay;
            _maxDelay = maxDelay;
        }

        public TimeSpan When(string key)
        {
            int exp;
            lock (_lock)
            {
                exp = _failures.GetValueOrDefault(key);
                _failures[key] = exp + 1;
            }
            // Computed in floating point so a large exponent saturates at the cap instead of overflowing.
            var ticks = _baseDelay.Ticks * Math.Pow(2, exp);
            return ticks >= _maxDelay.Ticks ? _maxDelay : TimeSpan.FromTicks((long)ticks);
        }

        public void Forget(string key)
        {
            lock (_lock)
            {
                _failures.Remove(key);
            }
        }

        public int NumRequeues(string key)
        {
            lock (_lock)
            {
                return _failures.GetValueOrDefault(key);
            }
        }
    }

    /// <summary>
    /// golang.org/x/time/rate's Limiter.Reserve: the bucket starts full; each When takes a token, going into debt
    /// when empty, and waits until the debt is repaid at qps.
    /// </summary>
    private sealed class BucketRateLimiter : IRateLimiter
    {
        private readonly Lock _lock = new();
        private readonly double _qps;
        private readonly int _burst;
        private readonly TimeProvider _time;
        private double _tokens;
        private long _last;

        public BucketRateLimiter(double qps, int burst, TimeProvider time)
        {
            ArgumentNullException.ThrowIfNull(time);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(qps);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
            _qps = qps;
            _burst = burst;
            _time = time;
            _tokens = burst;
            _last = time.GetTimestamp();
        }

        public TimeSpan When(string key)
        {
            lock (_lock)
            {
                var now = _time.GetTimestamp();
                var elapsed = _time.GetElapsedTime(_last, now);
                _last = now;
                _tokens = Math.Min(_burst, _tokens + (elapsed.TotalSeconds * _qps)) - 1;
                return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)Math.Round(-_tokens / _qps * TimeSpan.TicksPerSecond));
            }
        }

        // The bucket is shared by all keys: nothing to forget or count per key.
        public void Forget(string key)
        {
        }

        public int NumRequeues(string key) => 0;
    }

    private sealed class MaxOfRateLimiter : IRateLimiter
    {
        private readonly IRateLimiter[] _limiters;

        public MaxOfRateLimiter(IRateLimiter[] limiters)
        {
            ArgumentNullException.ThrowIfNull(limiters);
            _limiters = [.. limiters];
        }

        public TimeSpan When(string key)
        {
            // Every limiter is asked, so each one counts the failure.
            var max = TimeSpan.Zero;
            foreach (var limiter in _limiters)
            {
                var when = limiter.When(key);
                if (when > max)
                {
                    max = when;
                }
            }
            return max;
        }

        public void Forget(string key)
        {
            foreach (var limiter in _limiters)
            {
                limiter.Forget(key);
            }
        }

        public int NumRequeues(string key)
        {
            var max = 0;
            foreach (var limiter in _limiters)
            {
                max = Math.Max(max, limiter.NumRequeues(key));
            }
            return max;
        }
    }
}
