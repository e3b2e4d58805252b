using System.Threading.Channels;
using Berth.Node.Proxy;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Proxy;

/// <summary>
/// Driven by fake time: every wait of the loop shows up as a created timer with its due time, and every run records
/// the fake time it started at, so the schedule is asserted exactly and nothing depends on real time passing.
/// </summary>
public class BoundedFrequencyRunnerTests
{
    private static readonly TimeSpan s_min = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_max = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Loop_NothingRequested_RunsEveryMaxInterval()
    {
        await using var h = new Harness(s_min, s_max);
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());

        h.Time.Advance(s_max);
        Assert.Equal(s_max, await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());

        h.Time.Advance(s_max);
        Assert.Equal(2 * s_max, await h.NextRun());
    }

    [Fact]
    public async Task Run_RequestedBeforeTheLoopStarts_RunsWhenItStarts()
    {
        await using var h = new Harness(s_min, s_max);
        h.Runner.Run();
        h.Start();

        Assert.Equal(TimeSpan.Zero, await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());
    }

    [Fact]
    public async Task Run_MinIntervalZero_RunsAtOnceAndRestartsTheMaxInterval()
    {
        await using var h = new Harness(TimeSpan.Zero, s_max);
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());
        h.Time.Advance(TimeSpan.FromSeconds(4));

        h.Runner.Run();

        Assert.Equal(TimeSpan.FromSeconds(4), await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());
        h.Runner.Run();
        Assert.Equal(TimeSpan.FromSeconds(4), await h.NextRun());
    }

    [Fact]
    public async Task Run_WithinMinIntervalOfTheLastRun_FoldsIntoOneRunWhenItHasPassed()
    {
        await using var h = new Harness(s_min, s_max);
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());
        h.Runner.Run();
        Assert.Equal(TimeSpan.Zero, await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());
        h.Time.Advance(TimeSpan.FromMilliseconds(300));

        h.Runner.Run();
        Assert.Equal(TimeSpan.FromMilliseconds(700), await h.NextTimer());
        h.Runner.Run();
        Assert.Equal(TimeSpan.FromMilliseconds(700), await h.NextTimer());

        h.Time.Advance(TimeSpan.FromMilliseconds(700));
        Assert.Equal(s_min, await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());
        h.AssertNoRun();
    }

    [Fact]
    public async Task Run_WhileRunning_CoalescedIntoExactlyOneMoreRun()
    {
        using var entered = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var calls = 0;
        await using var h = new Harness(TimeSpan.Zero, s_max, _ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                entered.Release();
                release.Wait();
            }
        });
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());
        h.Runner.Run();
        Assert.True(await entered.WaitAsync(Harness.Safety));

        h.Runner.Run();
        h.Runner.Run();
        h.Runner.Run();
        release.Release();

        Assert.Equal(TimeSpan.Zero, await h.NextRun());
        Assert.Equal(TimeSpan.Zero, await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());
        h.AssertNoRun();
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task RetryAfter_SchedulesARun_EarliestWins_AndARunSatisfiesIt()
    {
        await using var h = new Harness(TimeSpan.Zero, s_max);
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());

        h.Runner.RetryAfter(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(5), await h.NextTimer());
        h.Runner.RetryAfter(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), await h.NextTimer());
        // Later than the pending one: nothing changes (no new wait).
        h.Runner.RetryAfter(TimeSpan.FromSeconds(4));

        h.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), await h.NextRun());
        // The run satisfied every pending retry: the next is the periodic one.
        Assert.Equal(s_max, await h.NextTimer());
        h.AssertNoTimer();
    }

    [Fact]
    public async Task RetryAfter_FromInsideTheRun_RunsAgainThen()
    {
        BoundedFrequencyRunner? runner = null;
        await using var h = new Harness(TimeSpan.Zero, s_max, n =>
        {
            if (n == 1)
            {
                runner!.RetryAfter(TimeSpan.FromSeconds(3));
            }
        });
        runner = h.Runner;
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());

        h.Runner.Run();
        Assert.Equal(TimeSpan.Zero, await h.NextRun());
        Assert.Equal(TimeSpan.FromSeconds(3), await h.NextTimer());

        h.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());
    }

    [Fact]
    public async Task RetryAfter_SoonerThanMinInterval_WaitsForIt()
    {
        await using var h = new Harness(TimeSpan.FromSeconds(2), s_max);
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());
        h.Runner.Run();
        Assert.Equal(TimeSpan.Zero, await h.NextRun());
        Assert.Equal(s_max, await h.NextTimer());

        h.Runner.RetryAfter(TimeSpan.FromMilliseconds(500));

        Assert.Equal(TimeSpan.FromSeconds(2), await h.NextTimer());
        h.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), await h.NextRun());
    }

    [Fact]
    public async Task Loop_Cancelled_Completes()
    {
        await using var h = new Harness(s_min, s_max);
        h.Start();
        Assert.Equal(s_max, await h.NextTimer());

        await h.StopAsync();

        h.AssertNoRun();
    }

    [Fact]
    public async Task Loop_FunctionThrows_EndsTheLoopWithIt()
    {
        var time = new FakeTimeProvider();
        var runner = new BoundedFrequencyRunner("sync", () => throw new InvalidOperationException("boom"), s_min, s_max, time);
        runner.Run();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.Loop(CancellationToken.None).WaitAsync(Harness.Safety));

        Assert.Equal("boom", e.Message);
    }

    [Fact]
    public void Ctor_MaxIntervalBelowMinInterval_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new BoundedFrequencyRunner("sync", () => { }, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), new FakeTimeProvider()));

        Assert.StartsWith("sync: maxInterval (00:00:01) must be >= minInterval (00:00:02)", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Fake time that reports the due time of every timer created on it (the loop's waits).</summary>
    private sealed class ProbeTime : FakeTimeProvider
    {
        public Channel<TimeSpan> Timers { get; } = Channel.CreateUnbounded<TimeSpan>();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Timers.Writer.TryWrite(dueTime);
            return timer;
        }
    }

    private sealed class Harness : IAsyncDisposable
    {
        // Only guards against a hang; every assertion is on fake time.
        public static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);

        private readonly Channel<TimeSpan> _runs = Channel.CreateUnbounded<TimeSpan>();
        private readonly CancellationTokenSource _stop = new();
        private readonly DateTimeOffset _start;
        private Task _loop = Task.CompletedTask;
        private int _count;

        public Harness(TimeSpan min, TimeSpan max, Action<int>? during = null)
        {
            _start = Time.GetUtcNow();
            Runner = new BoundedFrequencyRunner("test", () =>
            {
                _runs.Writer.TryWrite(Time.GetUtcNow() - _start);
                during?.Invoke(Interlocked.Increment(ref _count));
            }, min, max, Time);
        }

        public ProbeTime Time { get; } = new();

        public BoundedFrequencyRunner Runner { get; }

        public void Start() => _loop = Task.Run(() => Runner.Loop(_stop.Token));

        /// <summary>The fake time (since the start) at which the next run started.</summary>
        public async Task<TimeSpan> NextRun() => await _runs.Reader.ReadAsync().AsTask().WaitAsync(Safety);

        /// <summary>How long the loop's next wait is.</summary>
        public async Task<TimeSpan> NextTimer() => await Time.Timers.Reader.ReadAsync().AsTask().WaitAsync(Safety);

        public void AssertNoRun() => Assert.False(_runs.Reader.TryRead(out var run), $"unexpected run at {run}");

        public void AssertNoTimer() => Assert.False(Time.Timers.Reader.TryRead(out var timer), $"unexpected wait of {timer}");

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop.WaitAsync(Safety);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }
    }
}
