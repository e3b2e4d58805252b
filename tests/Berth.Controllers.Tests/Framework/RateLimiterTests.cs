using Berth.Controllers.Framework;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Controllers.Tests.Framework;

// client-go util/workqueue/default_rate_limiters_test.go, with the exact delay tables; the token bucket follows
// golang.org/x/time/rate's Reserve().Delay().
public sealed class RateLimiterTests
{
    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void ItemExponential_DoublesPerKey_AndForgetResets()
    {
        // TestItemExponentialFailureRateLimiter.
        var limiter = RateLimiters.ItemExponential(Ms(1), TimeSpan.FromSeconds(1));

        Assert.Equal([Ms(1), Ms(2), Ms(4), Ms(8), Ms(16)], Enumerable.Range(0, 5).Select(_ => limiter.When("one")));
        Assert.Equal(5, limiter.NumRequeues("one"));

        Assert.Equal(Ms(1), limiter.When("two"));
        Assert.Equal(Ms(2), limiter.When("two"));
        Assert.Equal(2, limiter.NumRequeues("two"));

        limiter.Forget("one");
        Assert.Equal(0, limiter.NumRequeues("one"));
        Assert.Equal(Ms(1), limiter.When("one"));
    }

    [Fact]
    public void ItemExponential_ManyFailures_CapAtTheMaximumWithoutOverflow()
    {
        // TestItemExponentialFailureRateLimiterOverFlow.
        var limiter = RateLimiters.ItemExponential(Ms(1), TimeSpan.FromSeconds(1000));
        for (var i = 0; i < 5; i++)
        {
            limiter.When("one");
        }
        Assert.Equal(Ms(32), limiter.When("one"));
        for (var i = 0; i < 1000; i++)
        {
            limiter.When("overflow1");
        }
        Assert.Equal(TimeSpan.FromSeconds(1000), limiter.When("overflow1"));

        limiter = RateLimiters.ItemExponential(TimeSpan.FromMinutes(1), TimeSpan.FromHours(1000));
        for (var i = 0; i < 2; i++)
        {
            limiter.When("two");
        }
        Assert.Equal(TimeSpan.FromMinutes(4), limiter.When("two"));
        for (var i = 0; i < 1000; i++)
        {
            limiter.When("overflow2");
        }
        Assert.Equal(TimeSpan.FromHours(1000), limiter.When("overflow2"));
    }

    [Fact]
    public void Max_WorstCaseOfAllLimiters_AndForgetReachesAll()
    {
        // TestMaxOfRateLimiter.
        var limiter = RateLimiters.Max(
            new ItemFastSlowRateLimiter(Ms(5), TimeSpan.FromSeconds(3), 3),
            RateLimiters.ItemExponential(Ms(1), TimeSpan.FromSeconds(1)));

        Assert.Equal([Ms(5), Ms(5), Ms(5), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)], Enumerable.Range(0, 5).Select(_ => limiter.When("one")));
        Assert.Equal(5, limiter.NumRequeues("one"));

        Assert.Equal(Ms(5), limiter.When("two"));
        Assert.Equal(Ms(5), limiter.When("two"));
        Assert.Equal(2, limiter.NumRequeues("two"));

        limiter.Forget("one");
        Assert.Equal(0, limiter.NumRequeues("one"));
        Assert.Equal(Ms(5), limiter.When("one"));
    }

    [Fact]
    public void Bucket_BurstIsFree_ThenOneTokenPerInterval_RefilledByTime()
    {
        var clock = new FakeTimeProvider();
        var limiter = RateLimiters.Bucket(10, 3, clock);

        // The bucket starts full: a burst of 3 goes at once, then each reservation waits for its token.
        Assert.Equal(
            [TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, Ms(100), Ms(200)],
            Enumerable.Range(0, 5).Select(i => limiter.When("k" + i)));

        // 0.5 s repays the 2-token debt and refills 3 tokens (capped at the burst).
        clock.Advance(Ms(500));
        Assert.Equal([TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, Ms(100)], Enumerable.Range(0, 4).Select(_ => limiter.When("k")));

        // Shared by all keys, nothing per key.
        Assert.Equal(0, limiter.NumRequeues("k"));
    }

    [Fact]
    public void Default_ExponentialPerKey_UntilTheOverallBucketRunsDry()
    {
        // DefaultControllerRateLimiter: 5 ms .. 1000 s per key, and 10 qps with a burst of 100 overall.
        var clock = new FakeTimeProvider();
        var limiter = RateLimiters.Default(clock);

        Assert.Equal([Ms(5), Ms(10), Ms(20)], Enumerable.Range(0, 3).Select(_ => limiter.When("one")));
        Assert.Equal(3, limiter.NumRequeues("one"));
        for (var i = 0; i < 97; i++)
        {
            Assert.Equal(Ms(5), limiter.When("key" + i));
        }

        // The 101st retry within the same instant waits for the bucket: 1 token at 10 qps.
        Assert.Equal(Ms(100), limiter.When("another"));

        for (var i = 0; i < 30; i++)
        {
            limiter.When("slow");
        }
        Assert.Equal(TimeSpan.FromSeconds(1000), limiter.When("slow"));
    }

    /// <summary>client-go's ItemFastSlowRateLimiter, needed by its MaxOf test.</summary>
    private sealed class ItemFastSlowRateLimiter(TimeSpan fastDelay, TimeSpan slowDelay, int maxFastAttempts) : IRateLimiter
    {
        private readonly Dictionary<string, int> _failures = [];

        public TimeSpan When(string key)
        {
            _failures[key] = _failures.GetValueOrDefault(key) + 1;
            return _failures[key] <= maxFastAttempts ? fastDelay : slowDelay;
        }

        public void Forget(string key) => _failures.Remove(key);

        public int NumRequeues(string key) => _failures.GetValueOrDefault(key);
    }
}
