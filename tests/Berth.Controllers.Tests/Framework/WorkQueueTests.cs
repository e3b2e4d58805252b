using System.Collections.Concurrent;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Tests.Framework;

// client-go util/workqueue/queue_test.go: a key is queued once, re-added keys come back after Done, no two
// consumers hold the same key, ShutDown hands out what is left and then ends every consumer.
public sealed class WorkQueueTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Basic_ManyProducersAndConsumers_EveryConsumerEndsAndNothingAfterShutDownIsHandedOut()
    {
        // TestBasic.
        using var q = new WorkQueue("basic");
        var producers = Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
        {
            for (var j = 0; j < 50; j++)
            {
                q.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Task.Yield();
            }
        })).ToArray();
        var handedOut = new ConcurrentBag<string>();
        var consumers = Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
        {
            while (await q.GetAsync(CancellationToken.None) is { } key)
            {
                handedOut.Add(key);
                await Task.Yield();
                q.Done(key);
            }
        })).ToArray();

        await Task.WhenAll(producers).WaitAsync(s_wait);
        q.ShutDown();
        q.Add("added after shutdown!");
        await Task.WhenAll(consumers).WaitAsync(s_wait);

        Assert.DoesNotContain("added after shutdown!", handedOut);
        Assert.Equal(0, q.Count);
        // Every producer's key was processed at least once.
        Assert.Equal(50, handedOut.Distinct().Count());
    }

    [Fact]
    public async Task AddWhileProcessing_KeyIsRequeuedAfterDone_AndNeverHeldByTwoConsumers()
    {
        // TestAddWhileProcessing: every consumer re-adds every key it gets (up to twice) while holding it.
        using var q = new WorkQueue("add-while-processing");
        for (var i = 0; i < 50; i++)
        {
            q.Add("k" + i);
        }
        var held = new ConcurrentDictionary<string, bool>();
        var overlaps = 0;
        var processed = new ConcurrentDictionary<string, int>();
        var consumers = Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
        {
            var counters = new Dictionary<string, int>();
            while (await q.GetAsync(CancellationToken.None) is { } key)
            {
                if (!held.TryAdd(key, true))
                {
                    Interlocked.Increment(ref overlaps);
                }
                counters[key] = counters.GetValueOrDefault(key) + 1;
                processed.AddOrUpdate(key, 1, (_, n) => n + 1);
                if (counters[key] < 2)
                {
                    q.Add(key);
                }
                await Task.Yield();
                held.TryRemove(key, out var _);
                q.Done(key);
            }
        })).ToArray();

        // Each key is processed at least twice (its first consumer re-adds it once); wait for that, then stop.
        var deadline = DateTime.UtcNow + s_wait;
        while (processed.Count < 50 || processed.Values.Any(n => n < 2))
        {
            Assert.True(DateTime.UtcNow < deadline, "keys re-added while processing were not handed out again");
            await Task.Delay(10);
        }
        q.ShutDown();
        await Task.WhenAll(consumers).WaitAsync(s_wait);

        Assert.Equal(0, overlaps);
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void Count_SameKeyTwice_CountsOnce()
    {
        // TestLen.
        using var q = new WorkQueue("len");
        q.Add("foo");
        Assert.Equal(1, q.Count);
        q.Add("bar");
        Assert.Equal(2, q.Count);
        q.Add("foo");
        Assert.Equal(2, q.Count);
    }

    [Fact]
    public async Task Reinsert_AddedWhileProcessing_IsQueuedAgainOnlyAfterDone()
    {
        // TestReinsert.
        using var q = new WorkQueue("reinsert");
        q.Add("foo");
        var key = await q.GetAsync(CancellationToken.None);
        Assert.Equal("foo", key);

        q.Add("foo");
        Assert.Equal(0, q.Count);
        q.Done("foo");

        Assert.Equal(1, q.Count);
        Assert.Equal("foo", await q.GetAsync(CancellationToken.None));
        q.Done("foo");
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public async Task GetAsync_Empty_WaitsUntilAKeyIsAdded()
    {
        using var q = new WorkQueue("wait");
        var get = q.GetAsync(CancellationToken.None).AsTask();
        Assert.False(get.IsCompleted);

        q.Add("foo");

        Assert.Equal("foo", await get.WaitAsync(s_wait));
        // The key was handed straight to the waiting consumer: it is being processed, not queued.
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public async Task GetAsync_Cancelled_ThrowsAndTheNextKeyGoesToTheNextConsumer()
    {
        using var q = new WorkQueue("cancel");
        using var cts = new CancellationTokenSource();
        var cancelled = q.GetAsync(cts.Token).AsTask();
        var other = q.GetAsync(CancellationToken.None).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(s_wait));
        q.Add("foo");

        Assert.Equal("foo", await other.WaitAsync(s_wait));
    }

    [Fact]
    public async Task ShutDown_ReadyKeysAreStillHandedOut_ThenNull()
    {
        // ShutDown does not drop keys already queued (client-go Get returns shutdown only when the queue is empty).
        using var q = new WorkQueue("drain");
        q.Add("foo");
        q.Add("bar");

        q.ShutDown();

        Assert.Equal("foo", await q.GetAsync(CancellationToken.None));
        Assert.Equal("bar", await q.GetAsync(CancellationToken.None));
        Assert.Null(await q.GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ShutDown_WaitingConsumersGetNull()
    {
        // TestNoQueueDrainageUsingShutDown: ShutDown does not wait for keys being processed.
        using var q = new WorkQueue("end");
        q.Add("held");
        Assert.Equal("held", await q.GetAsync(CancellationToken.None));
        var waiting = new[] { q.GetAsync(CancellationToken.None).AsTask(), q.GetAsync(CancellationToken.None).AsTask() };

        q.ShutDown();

        Assert.All(await Task.WhenAll(waiting).WaitAsync(s_wait), Assert.Null);
    }

    [Fact]
    public async Task ShutDown_DirtyKeyBeingProcessed_IsHandedOutAfterDone()
    {
        // TestQueueDrainageUsingShutDownWithDrainWithDirtyItem.
        using var q = new WorkQueue("dirty");
        q.Add("foo");
        var gotten = await q.GetAsync(CancellationToken.None);
        q.Add("foo");
        q.ShutDown();
        Assert.Null(await q.GetAsync(CancellationToken.None));

        q.Done(gotten!);

        Assert.Equal("foo", await q.GetAsync(CancellationToken.None));
        q.Done("foo");
        Assert.Null(await q.GetAsync(CancellationToken.None));
    }
}
