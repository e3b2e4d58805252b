using Berth.Controllers.Framework;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Controllers.Tests.Framework;

// client-go util/workqueue/delaying_queue_test.go, on a fake clock: a delayed key is added when its time comes,
// the earlier of two pending times wins, and keys come out in ready-time order.
public sealed class DelayingQueueTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public async Task SimpleQueue_AddedOnlyAfterTheDelay()
    {
        // TestSimpleQueue.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("simple", clock);

        q.AddAfter("foo", Ms(50));
        Assert.Equal(0, q.Count);

        clock.Advance(Ms(60));
        Assert.Equal(1, q.Count);
        var key = await q.GetAsync(CancellationToken.None);
        q.Done(key!);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void AddAfter_ReadyExactlyAtTheDelay()
    {
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("exact", clock);

        q.AddAfter("foo", Ms(50));
        clock.Advance(Ms(50) - TimeSpan.FromTicks(1));
        Assert.Equal(0, q.Count);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, q.Count);
    }

    [Fact]
    public async Task Deduping_EarlierPendingTimeWins()
    {
        // TestDeduping.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("dedup", clock);

        q.AddAfter("foo", Ms(50));
        q.AddAfter("foo", Ms(70));
        Assert.Equal(0, q.Count);

        // Past the first time: added once.
        clock.Advance(Ms(60));
        Assert.Equal(1, q.Count);
        q.Done((await q.GetAsync(CancellationToken.None))!);

        // Past the second time: the later add was folded into the first.
        clock.Advance(Ms(20));
        Assert.Equal(0, q.Count);

        // The earlier time overrides a later one.
        q.AddAfter("foo", Ms(50));
        q.AddAfter("foo", Ms(30));
        Assert.Equal(0, q.Count);
        clock.Advance(Ms(40));
        Assert.Equal(1, q.Count);
        q.Done((await q.GetAsync(CancellationToken.None))!);

        clock.Advance(Ms(20));
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public async Task AddTwoFireEarly_EachKeyAddedAtItsOwnTime()
    {
        // TestAddTwoFireEarly.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("two", clock);

        q.AddAfter("foo", TimeSpan.FromSeconds(1));
        q.AddAfter("bar", Ms(50));
        Assert.Equal(0, q.Count);

        clock.Advance(Ms(60));
        Assert.Equal(1, q.Count);
        Assert.Equal("bar", await q.GetAsync(CancellationToken.None));

        q.AddAfter("baz", TimeSpan.FromSeconds(2));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, q.Count);
        Assert.Equal("foo", await q.GetAsync(CancellationToken.None));

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, q.Count);
        Assert.Equal("baz", await q.GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task CopyShifting_KeysComeOutInReadyTimeOrder()
    {
        // TestCopyShifting.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("order", clock);

        q.AddAfter("foo", TimeSpan.FromSeconds(1));
        q.AddAfter("bar", Ms(500));
        q.AddAfter("baz", Ms(250));
        Assert.Equal(0, q.Count);

        clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(3, q.Count);
        Assert.Equal("baz", await q.GetAsync(CancellationToken.None));
        Assert.Equal("bar", await q.GetAsync(CancellationToken.None));
        Assert.Equal("foo", await q.GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AddAfter_WhileTheKeyIsProcessed_ComesBackAfterDoneAndTheDelay()
    {
        // TestDeduping's last case: a delayed add of a key being processed.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("processing", clock);
        q.Add("foo");
        Assert.Equal("foo", await q.GetAsync(CancellationToken.None));

        q.AddAfter("foo", Ms(5));
        clock.Advance(Ms(5));
        Assert.Equal(0, q.Count);
        q.Done("foo");

        Assert.Equal(1, q.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void AddAfter_NoDelay_AddsAtOnce(int ms)
    {
        using var q = new WorkQueue("now", new FakeTimeProvider());

        q.AddAfter("foo", Ms(ms));

        Assert.Equal(1, q.Count);
    }

    [Fact]
    public async Task GetAsync_Waiting_IsWokenByTheDelayedAdd()
    {
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("wake", clock);
        var get = q.GetAsync(CancellationToken.None).AsTask();

        q.AddAfter("foo", TimeSpan.FromMinutes(1));
        Assert.False(get.IsCompleted);
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal("foo", await get.WaitAsync(s_wait));
    }

    [Fact]
    public void ShutDown_DropsDelayedKeys()
    {
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("shutdown", clock);
        q.AddAfter("foo", Ms(10));

        q.ShutDown();
        q.AddAfter("bar", Ms(10));
        clock.Advance(Ms(20));

        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void ManyDelayedKeys_AllAddedAfterTheLongestDelay()
    {
        // BenchmarkDelayingQueue_AddAfter's shape: random delays up to 10 minutes, one timer for all of them.
        var clock = new FakeTimeProvider();
        using var q = new WorkQueue("many", clock);
        var random = new Random(1);
        for (var i = 0; i < 1000; i++)
        {
            q.AddAfter(i.ToString(System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromTicks(random.NextInt64(TimeSpan.FromMinutes(10).Ticks)));
        }

        clock.Advance(TimeSpan.FromMinutes(5));
        var half = q.Count;
        clock.Advance(TimeSpan.FromMinutes(6));

        Assert.InRange(half, 1, 999);
        Assert.Equal(1000, q.Count);
    }
}
