using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Tests.Framework;

// Upstream processNextWorkItem/handleErr (e.g. replica_set.go): Forget on success, rate-limited retries until
// maxRetries, then drop with a log line; cancellation is not a failure; one key is never synced concurrently.
public sealed class ControllerWorkersTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    // No backoff, so retries happen at once and the test needs no clock.
    private static WorkQueue NoDelayQueue() => new("test", limiter: RateLimiters.ItemExponential(TimeSpan.Zero, TimeSpan.Zero));

    [Fact]
    public async Task FailingSync_RetriedUntilMaxRetries_ThenDroppedAndForgotten()
    {
        using var queue = NoDelayQueue();
        var log = new ConcurrentQueue<string>();
        var dropped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = 0;
        using var cts = new CancellationTokenSource();
        queue.Add("default/web");

        var run = ControllerWorkers.RunAsync("replicaset-controller", queue, 2, (key, _) =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("boom");
        }, line =>
        {
            log.Enqueue(line);
            if (line.Contains("dropping", StringComparison.Ordinal))
            {
                dropped.TrySetResult();
            }
        }, cts.Token, maxRetries: 3);
        await dropped.Task.WaitAsync(s_wait);
        await cts.CancelAsync();
        await run.WaitAsync(s_wait);

        // The first try plus 3 retries.
        Assert.Equal(4, attempts);
        Assert.Equal(
            [
                .. Enumerable.Repeat("replicaset-controller: error syncing default/web: boom", 4),
                "replicaset-controller: dropping default/web out of the queue: boom",
            ],
            log);
        Assert.Equal(0, queue.NumRequeues("default/web"));
    }

    [Fact]
    public async Task SyncSucceedingAfterFailures_IsForgotten()
    {
        using var queue = NoDelayQueue();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = 0;
        var log = new ConcurrentQueue<string>();
        using var cts = new CancellationTokenSource();
        queue.Add("a");

        var run = ControllerWorkers.RunAsync("c", queue, 1, (key, _) =>
        {
            if (++attempts < 3)
            {
                throw new InvalidOperationException("not yet");
            }
            done.TrySetResult();
            return Task.CompletedTask;
        }, log.Enqueue, cts.Token);
        await done.Task.WaitAsync(s_wait);
        await cts.CancelAsync();
        await run.WaitAsync(s_wait);

        Assert.Equal(3, attempts);
        Assert.Equal(["c: error syncing a: not yet", "c: error syncing a: not yet"], log);
        Assert.Equal(0, queue.NumRequeues("a"));
    }

    [Fact]
    public async Task Cancelled_SyncInterruptedByTheToken_IsNotAFailure_AndRunReturns()
    {
        using var queue = NoDelayQueue();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new ConcurrentQueue<string>();
        using var cts = new CancellationTokenSource();
        queue.Add("a");

        var run = ControllerWorkers.RunAsync("c", queue, 3, async (key, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }, log.Enqueue, cts.Token);
        await started.Task.WaitAsync(s_wait);
        await cts.CancelAsync();
        await run.WaitAsync(s_wait);

        Assert.Empty(log);
        Assert.Equal(0, queue.NumRequeues("a"));
        // The queue is shut down: nothing more is accepted.
        queue.Add("b");
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task KeyAddedWhileSyncing_IsSyncedAgainAfterwards_NeverConcurrently()
    {
        using var queue = NoDelayQueue();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        var maxRunning = 0;
        var syncs = 0;
        using var cts = new CancellationTokenSource();
        queue.Add("a");

        var run = ControllerWorkers.RunAsync("c", queue, 5, async (key, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref maxRunning, now);
            if (Interlocked.Increment(ref syncs) == 1)
            {
                firstStarted.TrySetResult();
                await release.Task;
            }
            else
            {
                secondDone.TrySetResult();
            }
            Interlocked.Decrement(ref running);
        }, _ => { }, cts.Token);
        await firstStarted.Task.WaitAsync(s_wait);
        queue.Add("a");
        queue.Add("a");
        release.SetResult();
        await secondDone.Task.WaitAsync(s_wait);
        await cts.CancelAsync();
        await run.WaitAsync(s_wait);

        Assert.Equal(2, syncs);
        Assert.Equal(1, maxRunning);
    }

    [Theory]
    [InlineData("default", "web", "default/web")]
    [InlineData(null, "node-1", "node-1")]
    [InlineData("", "node-1", "node-1")]
    public void Key_NamespaceSlashNameOrName(string? ns, string name, string key)
    {
        Assert.Equal(key, ControllerWorkers.Key(new ConfigMap { Metadata = new ObjectMeta { Namespace = ns, Name = name } }));
    }

    [Theory]
    [InlineData("default/web", "default", "web")]
    [InlineData("node-1", null, "node-1")]
    [InlineData("/web", "", "web")]
    public void SplitKey_InvertsKey(string key, string? ns, string name)
    {
        Assert.Equal((ns, name), ControllerWorkers.SplitKey(key));
    }

    [Fact]
    public void SplitKey_MoreThanOneSlash_IsRejectedAsUpstream()
    {
        var e = Assert.Throws<ArgumentException>(() => ControllerWorkers.SplitKey("a/b/c"));
        Assert.StartsWith("unexpected key format: \"a/b/c\"", e.Message, StringComparison.Ordinal);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
