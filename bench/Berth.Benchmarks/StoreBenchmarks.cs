using System.Text;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Berth.Storage;
using Berth.Storage.Sqlite;
using Berth.Storage.Watch;

namespace Berth.Benchmarks;

/// <summary>
/// The SQLite store with durable commits (WAL, synchronous=FULL) on the disk holding the temp directory
/// (set BERTH_BENCH_DIR to measure another one): create throughput without and with group commit, a 10k-key
/// list, and watch delivery to 100 watchers.
/// </summary>
[MemoryDiagnoser]
public class StoreBenchmarks
{
    private const int SequentialCreates = 64;
    private const int ConcurrentWriters = 16;
    private const int CreatesPerWriter = 16;
    private const int Watchers = 100;

    // A Service-sized JSON value.
    private static readonly byte[] s_value = Encoding.UTF8.GetBytes(
        "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}}," +
        "\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"}],\"selector\":{\"app\":\"web\"},\"clusterIP\":\"127.96.0.12\",\"type\":\"ClusterIP\"}}");

    private string _dir = null!;
    private IStore _store = null!;
    private long _next;
    private CancellationTokenSource _stop = null!;
    private Task[] _watchTasks = [];
    private int _remaining;
    private TaskCompletionSource _allSeen = null!;
    private long _target;
    private long _modRevision;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        string root = Environment.GetEnvironmentVariable("BERTH_BENCH_DIR") ?? Path.GetTempPath();
        _dir = Path.Combine(root, "berth-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _store = await SqliteStore.OpenAsync(Path.Combine(_dir, "state.db"), new SqliteStoreOptions { CompactionInterval = null });
        // Loaded by 32 concurrent writers so group commit keeps the setup short.
        await Parallel.ForAsync(0, 10_000, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            await _store.CreateAsync($"/registry/services/ns{i % 10}/svc-{i:D5}", s_value, ct));

        _modRevision = await _store.CreateAsync("/registry/watched/default/web", s_value);
        _stop = new CancellationTokenSource();
        _watchTasks = new Task[Watchers];
        for (int w = 0; w < Watchers; w++)
        {
            _watchTasks[w] = Task.Run(() => WatchLoopAsync(_stop.Token));
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _stop.CancelAsync();
        await _store.DisposeAsync();
        try
        {
            await Task.WhenAll(_watchTasks);
        }
        catch (Exception)
        {
            // Cancellation or disposal ends the watchers.
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = SequentialCreates)]
    public async Task CreateSequential()
    {
        for (int i = 0; i < SequentialCreates; i++)
        {
            await _store.CreateAsync($"/registry/bench/seq/{Interlocked.Increment(ref _next)}", s_value);
        }
    }

    [Benchmark(OperationsPerInvoke = ConcurrentWriters * CreatesPerWriter)]
    public async Task CreateConcurrent16()
    {
        Task[] writers = new Task[ConcurrentWriters];
        for (int w = 0; w < ConcurrentWriters; w++)
        {
            writers[w] = Task.Run(async () =>
            {
                for (int i = 0; i < CreatesPerWriter; i++)
                {
                    await _store.CreateAsync($"/registry/bench/conc/{Interlocked.Increment(ref _next)}", s_value);
                }
            });
        }

        await Task.WhenAll(writers);
    }

    [Benchmark]
    public async Task<int> List10k() => (await _store.ListAsync("/registry/services/")).Items.Count;

    /// <summary>One durable update, until all 100 watchers have received it.</summary>
    [Benchmark]
    public async Task WatchDeliveryTo100()
    {
        _allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _remaining, Watchers);
        Volatile.Write(ref _target, _modRevision + 1);
        _modRevision = await _store.UpdateAsync("/registry/watched/default/web", s_value, _modRevision);
        await _allSeen.Task;
    }

    private async Task WatchLoopAsync(CancellationToken cancellationToken)
    {
        await foreach (WatchEvent e in _store.WatchAsync("/registry/watched/", _store.CurrentRevision, cancellationToken))
        {
            if (e.ModRevision >= Volatile.Read(ref _target) && Interlocked.Decrement(ref _remaining) == 0)
            {
                _allSeen.TrySetResult();
            }
        }
    }
}

/// <summary>The in-memory fan-out alone: 100 events published to 100 live watchers that drain them.</summary>
[MemoryDiagnoser]
public class WatchBroadcasterBenchmarks
{
    private const int Watchers = 100;
    private const int Events = 100;

    private readonly List<WatchEvent> _events = [];
    private WatchBroadcaster _broadcaster = null!;
    private WatchSubscription[] _subscriptions = [];
    private Task[] _readers = [];
    private CountdownEvent _drained = null!;
    private long _revision;

    [GlobalSetup]
    public void Setup()
    {
        _broadcaster = new WatchBroadcaster(1);
        _subscriptions = new WatchSubscription[Watchers];
        _readers = new Task[Watchers];
        _drained = new CountdownEvent(Watchers);
        for (int w = 0; w < Watchers; w++)
        {
            _subscriptions[w] = new WatchSubscription("/registry/pods/", 1024);
            _broadcaster.TryAttach(_subscriptions[w], long.MaxValue);
            ChannelReader<WatchEvent> reader = _subscriptions[w].Reader;
            _readers[w] = Task.Run(async () =>
            {
                int seen = 0;
                while (await reader.WaitToReadAsync())
                {
                    while (reader.TryRead(out _))
                    {
                        if (++seen == Events)
                        {
                            seen = 0;
                            _drained.Signal();
                        }
                    }
                }
            });
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _broadcaster.Complete(new OperationCanceledException());

    [Benchmark(OperationsPerInvoke = Events)]
    public void Publish100EventsTo100Watchers()
    {
        _events.Clear();
        for (int i = 0; i < Events; i++)
        {
            _revision++;
            _events.Add(new WatchEvent(WatchEventType.Put, "/registry/pods/default/p", ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, 2, _revision));
        }

        _drained.Reset();
        _broadcaster.Publish(_events, _revision);
        _drained.Wait();
    }
}
