using Berth.Api.Models;
using Microsoft.Extensions.Time.Testing;
using static Berth.Controllers.Tests.EndpointSlices.ControllerHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.EndpointSlices;

// Upstream TestPodAddsBatching / TestPodUpdatesBatching / TestPodDeleteBatching, on a fake clock instead of sleeps:
// pod changes within one batch period cost one slice write. Each case lists, before each pod change, the clock
// advance (upstream's delay) and the writes that must have happened by then; the clock then moves 3 s on (upstream's
// final delay) and the slice writes since the Service's placeholder are counted.
public sealed class ControllerBatchingTests(SliceControllerApiFixture fixture) : IClassFixture<SliceControllerApiFixture>
{
    private static readonly Dictionary<string, string> s_fooBar = new() { ["foo"] = "bar" };

    public static TheoryData<string, int, int[], int[], int> AddCases => new()
    {
        { "three adds with no batching", 0, [200, 100, 100], [0, 1, 2], 3 },
        { "three adds in one batch", 1000, [200, 100, 100], [0, 0, 0], 1 },
        { "three adds in two batches", 1000, [200, 100, 1000], [0, 0, 1], 2 },
    };

    public static TheoryData<string, int, int[], int[], int> UpdateCases => new()
    {
        { "three updates with no batching", 0, [200, 100, 100], [0, 1, 2], 3 },
        { "three updates in one batch", 1000, [200, 100, 100], [0, 0, 0], 1 },
        { "three updates in two batches", 1000, [200, 100, 1000], [0, 0, 1], 2 },
    };

    public static TheoryData<string, int, int[], int[], int> DeleteCases => new()
    {
        { "three deletes with no batching", 0, [200, 100, 100], [0, 1, 2], 3 },
        { "three deletes in one batch", 1000, [200, 100, 100], [0, 0, 0], 1 },
        { "three deletes in two batches", 1000, [200, 100, 1000], [0, 0, 1], 2 },
    };

    // A pod's creation and its first Running/Ready status are both the "add" here: the API server never creates a
    // pod with an IP, so the add alone would change no endpoint.
    [Theory]
    [MemberData(nameof(AddCases))]
    public async Task PodAdds_WithinBatchPeriod_OneWrite(string name, int batchMs, int[] delaysMs, int[] writesBefore, int wantWrites)
    {
        await using var run = await BatchRun.StartAsync(fixture, batchMs, pods: 0);

        await run.StepsAsync(delaysMs, writesBefore, i =>
            run.H.RunPodAsync(NewPod(run.Ns, $"pod{i}", s_fooBar, run.Node), $"127.244.0.{i + 1}"));

        await run.H.OneSliceWithAsync(run.Ns, "foo", "pod0", "pod1", "pod2");
        Assert.True(wantWrites == run.Writes, $"{name}: {wantWrites} writes expected, got {run.Writes}");
    }

    [Theory]
    [MemberData(nameof(UpdateCases))]
    public async Task PodUpdates_WithinBatchPeriod_OneWrite(string name, int batchMs, int[] delaysMs, int[] writesBefore, int wantWrites)
    {
        await using var run = await BatchRun.StartAsync(fixture, batchMs, pods: 10);

        await run.StepsAsync(delaysMs, writesBefore, i =>
            run.H.SetStatusAsync(run.Ns, $"pod{i}", ready: true, "Running", $"127.244.1.{i + 1}"));

        await UntilAsync(() => run.H.SlicesAsync(run.Ns, "foo"),
            s => s.Count == 1 && new[] { "127.244.1.1", "127.244.1.2", "127.244.1.3" }.All(ip => s[0].Endpoints!.Any(e => e.Addresses!.Contains(ip))),
            "the new pod IPs in the slice");
        Assert.True(wantWrites == run.Writes, $"{name}: {wantWrites} writes expected, got {run.Writes}");
    }

    [Theory]
    [MemberData(nameof(DeleteCases))]
    public async Task PodDeletes_WithinBatchPeriod_OneWrite(string name, int batchMs, int[] delaysMs, int[] writesBefore, int wantWrites)
    {
        await using var run = await BatchRun.StartAsync(fixture, batchMs, pods: 10);

        await run.StepsAsync(delaysMs, writesBefore, async i =>
        {
            var pod = await run.H.Client.GetAsync<Pod>(run.Ns, $"pod{i}");
            await run.H.Client.DeleteAsync<Pod>(run.Ns, $"pod{i}", new DeleteOptions { GracePeriodSeconds = 0 });
            await run.H.GoneAsync(pod);
        });

        await run.H.OneSliceWithAsync(run.Ns, "foo", [.. Enumerable.Range(3, 7).Select(i => $"pod{i}")]);
        Assert.True(wantWrites == run.Writes, $"{name}: {wantWrites} writes expected, got {run.Writes}");
    }

    /// <summary>A running controller on a fake clock with Service foo (selector foo=bar) and its first slice written.</summary>
    private sealed class BatchRun : IAsyncDisposable
    {
        private readonly FakeTimeProvider _clock;
        private int _baseline;

        private BatchRun(ControllerHarness h, FakeTimeProvider clock, string ns, string node)
        {
            H = h;
            _clock = clock;
            Ns = ns;
            Node = node;
        }

        public ControllerHarness H { get; }

        public string Ns { get; }

        public string Node { get; }

        /// <summary>Slice writes since the setup.</summary>
        public int Writes => H.Writes.Count - _baseline;

        /// <param name="pods">Ready pods pod0..pod{n-1} in the slice before the steps.</param>
        public static async Task<BatchRun> StartAsync(SliceControllerApiFixture fixture, int batchMs, int pods)
        {
            var ns = await fixture.NamespaceAsync();
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var h = await ControllerHarness.StartAsync(fixture.Client, run: true, TimeSpan.FromMilliseconds(batchMs), clock);
            var run = new BatchRun(h, clock, ns, (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!);
            await h.CreateServiceAsync(NewService(ns, "foo", s_fooBar));
            await UntilAsync(() => h.SlicesAsync(ns, "foo"), s => s.Count == 1, "the placeholder slice");
            for (var i = 0; i < pods; i++)
            {
                await h.RunPodAsync(NewPod(ns, $"pod{i}", s_fooBar, run.Node), $"127.244.0.{i + 1}");
            }
            if (pods > 0)
            {
                clock.Advance(TimeSpan.FromMilliseconds(batchMs));
                await h.OneSliceWithAsync(ns, "foo", [.. Enumerable.Range(0, pods).Select(i => $"pod{i}")]);
            }
            run._baseline = h.Writes.Count;
            return run;
        }

        public async Task StepsAsync(int[] delaysMs, int[] writesBefore, Func<int, Task> change)
        {
            for (var i = 0; i < delaysMs.Length; i++)
            {
                _clock.Advance(TimeSpan.FromMilliseconds(delaysMs[i]));
                await UntilAsync(() => Writes == writesBefore[i], $"{writesBefore[i]} writes before change {i}");
                await change(i);
            }
            _clock.Advance(TimeSpan.FromSeconds(3));
        }

        public ValueTask DisposeAsync() => H.DisposeAsync();
    }
}
