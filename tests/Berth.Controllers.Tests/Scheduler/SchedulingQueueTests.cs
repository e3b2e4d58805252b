using Berth.Controllers.Scheduler;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Controllers.Tests.Scheduler;

public sealed class SchedulingQueueTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset s_t0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // scheduling_queue_test.go TestPriorityQueue_Add / queuesort TestLess: higher priority first, then the earlier timestamp.
    [Fact]
    public async Task PopAsync_OrdersByPriorityThenTimestamp()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        queue.Add("ns/low-early", 0, s_t0);
        queue.Add("ns/high-late", 10, s_t0.AddSeconds(5));
        queue.Add("ns/low-late", 0, s_t0.AddSeconds(2));
        queue.Add("ns/high-early", 10, s_t0.AddSeconds(1));

        var order = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            order.Add((await queue.PopAsync(CancellationToken.None)).Key);
        }

        Assert.Equal(["ns/high-early", "ns/high-late", "ns/low-early", "ns/low-late"], order);
    }

    [Fact]
    public async Task PopAsync_WaitsForAnAdd()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        var pop = queue.PopAsync(CancellationToken.None);
        await Task.Delay(50);
        Assert.False(pop.IsCompleted);

        queue.Add("ns/p", 0, s_t0);

        Assert.Equal("ns/p", (await pop.WaitAsync(s_wait)).Key);
    }

    [Fact]
    public async Task PopAsync_Cancelled_Throws()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        using var cts = new CancellationTokenSource();
        var pop = queue.PopAsync(cts.Token);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pop.WaitAsync(s_wait));
    }

    [Fact]
    public async Task AddUnschedulable_StaysParkedUntilAMove_ThenWaitsOutItsBackoff()
    {
        var time = new FakeTimeProvider(s_t0);
        var queue = new SchedulingQueue(time);
        queue.Add("ns/p", 0, s_t0);
        var first = await queue.PopAsync(CancellationToken.None);
        queue.AddUnschedulable(first);
        Assert.Equal(SchedulingQueue.State.Unschedulable, queue.StateOf("ns/p"));

        queue.MoveAllToActiveOrBackoff();

        // One attempt so far: a 1 s back-off from the failure.
        Assert.Equal(SchedulingQueue.State.Backoff, queue.StateOf("ns/p"));
        var pop = queue.PopAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(999));
        await Task.Delay(50);
        Assert.False(pop.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        var second = await pop.WaitAsync(s_wait);
        Assert.Equal(2, second.Attempts);
    }

    [Fact]
    public async Task MoveAll_AfterTheBackoffRanOut_GoesStraightToActive()
    {
        var time = new FakeTimeProvider(s_t0);
        var queue = new SchedulingQueue(time);
        queue.Add("ns/p", 0, s_t0);
        queue.AddUnschedulable(await queue.PopAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(2));

        queue.MoveAllToActiveOrBackoff();

        Assert.Equal(SchedulingQueue.State.Active, queue.StateOf("ns/p"));
    }

    // moveRequestCycle: an event during the attempt means the pod may fit now; it must not be parked.
    [Fact]
    public async Task AddUnschedulable_AfterAMoveDuringTheAttempt_GoesToBackoff()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        queue.Add("ns/p", 0, s_t0);
        var attempt = await queue.PopAsync(CancellationToken.None);

        queue.MoveAllToActiveOrBackoff();
        queue.AddUnschedulable(attempt);

        Assert.Equal(SchedulingQueue.State.Backoff, queue.StateOf("ns/p"));
    }

    [Fact]
    public async Task AddUnschedulable_AfterThePodChangedDuringTheAttempt_GoesToBackoff()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        queue.Add("ns/p", 0, s_t0);
        var attempt = await queue.PopAsync(CancellationToken.None);

        queue.Update("ns/p", 0, s_t0, changed: true);
        queue.AddUnschedulable(attempt);

        Assert.Equal(SchedulingQueue.State.Backoff, queue.StateOf("ns/p"));
    }

    [Theory]
    [InlineData(false, "Unschedulable")]
    [InlineData(true, "Backoff")]
    public async Task Update_ParkedPod_MovesOnlyForARealChange(bool changed, string expected)
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        queue.Add("ns/p", 0, s_t0);
        queue.AddUnschedulable(await queue.PopAsync(CancellationToken.None));

        queue.Update("ns/p", 0, s_t0, changed);

        Assert.Equal(expected, queue.StateOf("ns/p").ToString());
    }

    // flushUnschedulablePodsLeftover with podMaxInUnschedulablePodsDuration = 5 minutes.
    [Fact]
    public async Task ParkedPod_IsRetriedAfterFiveMinutes()
    {
        var time = new FakeTimeProvider(s_t0);
        var queue = new SchedulingQueue(time);
        queue.Add("ns/p", 0, s_t0);
        queue.AddUnschedulable(await queue.PopAsync(CancellationToken.None));

        var pop = queue.PopAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.False(pop.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("ns/p", (await pop.WaitAsync(s_wait)).Key);
    }

    [Fact]
    public async Task AddBackoff_RetriesAfterTheBackoff()
    {
        var time = new FakeTimeProvider(s_t0);
        var queue = new SchedulingQueue(time);
        queue.Add("ns/p", 0, s_t0);
        queue.AddBackoff(await queue.PopAsync(CancellationToken.None));
        Assert.Equal(SchedulingQueue.State.Backoff, queue.StateOf("ns/p"));

        var pop = queue.PopAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("ns/p", (await pop.WaitAsync(s_wait)).Key);
    }

    [Fact]
    public async Task Delete_DuringTheAttempt_IsNotRequeued()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        queue.Add("ns/p", 0, s_t0);
        var attempt = await queue.PopAsync(CancellationToken.None);

        queue.Delete("ns/p");
        queue.AddUnschedulable(attempt);

        Assert.Null(queue.StateOf("ns/p"));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task Done_ForgetsThePod()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        queue.Add("ns/p", 0, s_t0);

        queue.Done(await queue.PopAsync(CancellationToken.None));

        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task Update_ActivePod_ReordersByTheNewPriority()
    {
        var queue = new SchedulingQueue(new FakeTimeProvider(s_t0));
        queue.Add("ns/a", 0, s_t0);
        queue.Add("ns/b", 0, s_t0.AddSeconds(1));

        queue.Update("ns/b", 5, s_t0.AddSeconds(1), changed: true);

        Assert.Equal("ns/b", (await queue.PopAsync(CancellationToken.None)).Key);
    }

    // calculateBackoffDuration with podInitialBackoffDuration 1 s and podMaxBackoffDuration 10 s.
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 10)]
    [InlineData(50, 10)]
    public void Backoff_Table(int attempts, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), SchedulingQueue.Backoff(attempts));
    }
}
