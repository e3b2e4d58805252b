using Berth.Controllers.Framework;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Controllers.Tests.Framework;

// client-go util/workqueue/rate_limiting_queue_test.go: AddRateLimited delays by the limiter's answer per key,
// and Forget resets it.
public sealed class RateLimitingQueueTests
{
    [Fact]
    public async Task AddRateLimited_DelaysByTheLimiterPerKey_AndForgetResets()
    {
        // TestRateLimitingQueue.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("rate", clock, RateLimiters.ItemExponential(TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)));

        await AssertReadyAfter(q, clock, "one", TimeSpan.FromMilliseconds(1));
        await AssertReadyAfter(q, clock, "one", TimeSpan.FromMilliseconds(2));
        Assert.Equal(2, q.NumRequeues("one"));

        await AssertReadyAfter(q, clock, "two", TimeSpan.FromMilliseconds(1));
        await AssertReadyAfter(q, clock, "two", TimeSpan.FromMilliseconds(2));

        q.Forget("one");
        Assert.Equal(0, q.NumRequeues("one"));
        await AssertReadyAfter(q, clock, "one", TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task DefaultLimiter_FirstRetryAfterFiveMilliseconds()
    {
        // TestNewNamedRateLimitingWithCustomQueue's default limiter: the first retry waits its base delay.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("default", clock);

        await AssertReadyAfter(q, clock, "one", TimeSpan.FromMilliseconds(5));
        await AssertReadyAfter(q, clock, "one", TimeSpan.FromMilliseconds(10));
    }

    private static async Task AssertReadyAfter(WorkQueue q, FakeTimeProvider clock, string key, TimeSpan delay)
    {
        q.AddRateLimited(key);
        clock.Advance(delay - TimeSpan.FromTicks(1));
        Assert.Equal(0, q.Count);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, q.Count);
        Assert.Equal(key, await q.GetAsync(CancellationToken.None));
        q.Done(key);
    }
}
