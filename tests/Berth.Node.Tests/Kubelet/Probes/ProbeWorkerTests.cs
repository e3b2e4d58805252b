using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Node.Kubelet.Probes;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Kubelet.Probes;

// Cases from upstream pkg/kubelet/prober/worker_test.go, on a fake clock with an exec probe whose exit code
// the test sets. Each tick is awaited through the worker's TickCompleted hook; the 10s wait is only a
// guard against a hang, never a timing assertion.
public sealed class ProbeWorkerTests : IAsyncDisposable
{
    private static readonly TimeSpan s_period = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly Prober _prober = new();
    private readonly SemaphoreSlim _tickSignal = new(0);
    private readonly ConcurrentQueue<bool> _ticks = new();
    private readonly List<ProbeResult> _changes = [];
    private readonly List<string> _events = [];
    private ProbeWorker? _worker;
    private int _execs;

    /// <summary>What the probe's command does next: its exit code, or null to fail to run.</summary>
    private int? ExitCode { get; set; }

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        _prober.Dispose();
        _tickSignal.Dispose();
    }

    private ProbeWorker Worker(ProbeKind kind, Probe? probe = null, bool started = true)
    {
        probe ??= new Probe();
        probe.Exec = new ExecAction { Command = ["check"] };
        var target = new ProbeTarget("127.0.0.1", [], (_, _, _) =>
        {
            Interlocked.Increment(ref _execs);
            return ExitCode is { } code
                ? Task.FromResult(new ExecOutcome(code, code == 0 ? "" : "unhealthy", false))
                : throw new InvalidOperationException("container not running");
        });
        _worker = new ProbeWorker(probe, kind, _prober, target, _time,
            result =>
            {
                lock (_changes)
                {
                    _changes.Add(result);
                }
            },
            outcome =>
            {
                lock (_events)
                {
                    _events.Add(ProbeWorker.EventReason(outcome) + ": " + ProbeWorker.EventMessage(kind, outcome));
                }
            })
        {
            TickCompleted = probed =>
            {
                _ticks.Enqueue(probed);
                _tickSignal.Release();
            },
        };
        _worker.SetStarted(started);
        return _worker;
    }

    private async Task<bool> NextTickAsync()
    {
        Assert.True(await _tickSignal.WaitAsync(TimeSpan.FromSeconds(10)), "the worker did not tick");
        Assert.True(_ticks.TryDequeue(out var probed));
        return probed;
    }

    private async Task<bool> PeriodAsync()
    {
        _time.Advance(s_period);
        return await NextTickAsync();
    }

    private async Task<List<ProbeResult>> ResultsAfterPeriodsAsync(ProbeWorker worker, params int?[] exitCodes)
    {
        var results = new List<ProbeResult>();
        foreach (var code in exitCodes)
        {
            ExitCode = code;
            Assert.True(await PeriodAsync());
            results.Add(worker.Result);
        }

        return results;
    }

    [Theory]
    [InlineData(ProbeKind.Readiness, ProbeResult.Failure)]
    [InlineData(ProbeKind.Liveness, ProbeResult.Success)]
    [InlineData(ProbeKind.Startup, ProbeResult.Unknown)]
    public void Result_BeforeAnyProbe_IsUpstreamInitialValue(ProbeKind kind, ProbeResult initial)
    {
        var worker = Worker(kind, started: kind != ProbeKind.Startup);

        worker.ContainerStarted(_time.GetUtcNow());

        Assert.Equal(initial, worker.Result);
        Assert.Empty(_changes);
    }

    [Fact]
    public async Task ContainerStarted_InitialDelay_FirstProbeWaitsForIt()
    {
        var worker = Worker(ProbeKind.Readiness, new Probe { InitialDelaySeconds = 15 });
        ExitCode = 0;

        worker.ContainerStarted(_time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(14));
        var execsBeforeDelay = Volatile.Read(ref _execs);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, execsBeforeDelay);
        Assert.True(await NextTickAsync());
        Assert.Equal(ProbeResult.Success, worker.Result);
        Assert.Equal([ProbeResult.Success], _changes);
    }

    [Fact]
    public async Task ContainerStarted_InitialDelayAlreadyPassed_ProbesAtOnceThenEveryPeriod()
    {
        var worker = Worker(ProbeKind.Readiness, new Probe { InitialDelaySeconds = 5 });
        ExitCode = 0;

        worker.ContainerStarted(_time.GetUtcNow() - TimeSpan.FromSeconds(30));

        Assert.True(await NextTickAsync());
        Assert.Equal(1, Volatile.Read(ref _execs));
        _time.Advance(s_period - TimeSpan.FromSeconds(1));
        Assert.Equal(1, Volatile.Read(ref _execs));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await NextTickAsync());
        Assert.Equal(2, Volatile.Read(ref _execs));
    }

    // upstream TestFailureThreshold: the result flips only after failureThreshold failures in a row.
    [Fact]
    public async Task Tick_FailureThreshold_FlipsAfterThatManyFailuresInARow()
    {
        var worker = Worker(ProbeKind.Readiness, new Probe { InitialDelaySeconds = 10 });
        worker.ContainerStarted(_time.GetUtcNow());

        var results = await ResultsAfterPeriodsAsync(worker, 0, 1, 1, 0, 1, 1, 1, 1);

        Assert.Equal(
            [ProbeResult.Success, ProbeResult.Success, ProbeResult.Success, ProbeResult.Success, ProbeResult.Success, ProbeResult.Success, ProbeResult.Failure, ProbeResult.Failure],
            results);
        Assert.Equal([ProbeResult.Success, ProbeResult.Failure], _changes);
        Assert.Equal(6, _events.Count);
        Assert.All(_events, e => Assert.Equal("Unhealthy: Readiness probe failed: unhealthy", e));
    }

    // upstream TestSuccessThreshold.
    [Fact]
    public async Task Tick_SuccessThreshold_FlipsAfterThatManySuccessesInARow()
    {
        var worker = Worker(ProbeKind.Readiness, new Probe { InitialDelaySeconds = 10, SuccessThreshold = 3, FailureThreshold = 1 });
        worker.ContainerStarted(_time.GetUtcNow());

        var results = await ResultsAfterPeriodsAsync(worker, 0, 0, 1, 0, 0, 0);

        Assert.Equal(
            [ProbeResult.Failure, ProbeResult.Failure, ProbeResult.Failure, ProbeResult.Failure, ProbeResult.Failure, ProbeResult.Success],
            results);
        Assert.Equal([ProbeResult.Success], _changes);
    }

    // upstream TestOnHoldOnLivenessOrStartupCheckFailure: a failed liveness result stays until a new instance.
    [Fact]
    public async Task Tick_LivenessFailure_HoldsUntilNextContainerInstance()
    {
        var worker = Worker(ProbeKind.Liveness, new Probe { InitialDelaySeconds = 10, FailureThreshold = 1 });
        worker.ContainerStarted(_time.GetUtcNow());
        ExitCode = 1;
        Assert.True(await PeriodAsync());
        ExitCode = 0;

        var probedWhileHeld = await PeriodAsync();
        var resultWhileHeld = worker.Result;
        worker.ContainerStarted(_time.GetUtcNow());
        var resultOfNewInstance = worker.Result;
        var probedNewInstance = await PeriodAsync();

        Assert.False(probedWhileHeld);
        Assert.Equal(ProbeResult.Failure, resultWhileHeld);
        Assert.Equal(ProbeResult.Success, resultOfNewInstance);
        Assert.True(probedNewInstance);
        Assert.Equal(2, Volatile.Read(ref _execs));
        Assert.Equal([ProbeResult.Failure, ProbeResult.Success], _changes);
        Assert.Equal(["Unhealthy: Liveness probe failed: unhealthy"], _events);
    }

    // upstream TestResultRunOnLivenessCheckFailure: a new instance counts failures from zero.
    [Fact]
    public async Task ContainerStarted_ResetsTheFailureRun()
    {
        var worker = Worker(ProbeKind.Liveness, new Probe { InitialDelaySeconds = 10, FailureThreshold = 3 });
        worker.ContainerStarted(_time.GetUtcNow());
        await ResultsAfterPeriodsAsync(worker, 1, 1);
        worker.ContainerStarted(_time.GetUtcNow());

        var results = await ResultsAfterPeriodsAsync(worker, 1, 1, 1);

        Assert.Equal([ProbeResult.Success, ProbeResult.Success, ProbeResult.Failure], results);
    }

    // upstream TestLivenessProbeDisabledByStarted / TestStartupProbeDisabledByStarted.
    [Theory]
    [InlineData(ProbeKind.Liveness, false, false)]
    [InlineData(ProbeKind.Readiness, false, false)]
    [InlineData(ProbeKind.Liveness, true, true)]
    [InlineData(ProbeKind.Startup, false, true)]
    [InlineData(ProbeKind.Startup, true, false)]
    public async Task Tick_StartedGate_ProbesOnlyWhenAllowed(ProbeKind kind, bool started, bool probes)
    {
        var worker = Worker(kind, new Probe { InitialDelaySeconds = 10 }, started);
        worker.ContainerStarted(_time.GetUtcNow());
        ExitCode = 0;

        Assert.Equal(probes, await PeriodAsync());
        worker.SetStarted(!started);
        Assert.Equal(!probes, await PeriodAsync());
    }

    // upstream TestStartupProbeSuccessThreshold / FailureThreshold: a decided startup probe stops probing.
    [Theory]
    [InlineData(0, ProbeResult.Success)]
    [InlineData(1, ProbeResult.Failure)]
    public async Task Tick_StartupDecided_StopsProbing(int exitCode, ProbeResult decided)
    {
        var worker = Worker(ProbeKind.Startup, new Probe { InitialDelaySeconds = 10, FailureThreshold = 2 }, started: false);
        worker.ContainerStarted(_time.GetUtcNow());

        // successThreshold 1 decides on the first success, failureThreshold 2 on the second failure.
        int?[] attempts = decided == ProbeResult.Success ? [exitCode] : [exitCode, exitCode];
        var results = await ResultsAfterPeriodsAsync(worker, attempts);
        var probedAfter = await PeriodAsync();

        Assert.Equal(decided == ProbeResult.Success ? [decided] : [ProbeResult.Unknown, decided], results);
        Assert.False(probedAfter);
        Assert.Equal([decided], _changes);
    }

    // upstream prober.probe: an errored attempt records "probe errored" and the worker throws it away.
    [Fact]
    public async Task Tick_ProbeErrored_RecordsEventAndKeepsResult()
    {
        var worker = Worker(ProbeKind.Liveness, new Probe { InitialDelaySeconds = 10, FailureThreshold = 1 });
        worker.ContainerStarted(_time.GetUtcNow());

        var results = await ResultsAfterPeriodsAsync(worker, [null]);

        Assert.Equal([ProbeResult.Success], results);
        Assert.Empty(_changes);
        Assert.Equal(["Unhealthy: Liveness probe errored: container not running"], _events);
        Assert.Equal(3, Volatile.Read(ref _execs));
    }

    [Fact]
    public async Task ContainerStopped_SetsFailureAndStopsProbing()
    {
        var worker = Worker(ProbeKind.Readiness, new Probe { InitialDelaySeconds = 10 });
        worker.ContainerStarted(_time.GetUtcNow());
        await ResultsAfterPeriodsAsync(worker, 0);

        worker.ContainerStopped();
        _time.Advance(s_period * 3);

        Assert.Equal(ProbeResult.Failure, worker.Result);
        Assert.Equal([ProbeResult.Success, ProbeResult.Failure], _changes);
        Assert.Equal(1, Volatile.Read(ref _execs));
    }

    [Fact]
    public async Task Defaults_PeriodTenSecondsAndFailureThresholdThree()
    {
        var worker = Worker(ProbeKind.Liveness);
        ExitCode = 1;
        worker.ContainerStarted(_time.GetUtcNow());
        Assert.True(await NextTickAsync());

        var results = await ResultsAfterPeriodsAsync(worker, 1, 1);

        Assert.Equal([ProbeResult.Success, ProbeResult.Failure], results);
    }

    public static TheoryData<ProbeKind, ProbeOutcome, string, string> EventCases() => new()
    {
        { ProbeKind.Liveness, new ProbeOutcome(ProbeResult.Failure, "HTTP probe failed with statuscode: 500"), "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500" },
        { ProbeKind.Readiness, new ProbeOutcome(ProbeResult.Unknown, "port \"http\" not found"), "Unhealthy", "Readiness probe errored: port \"http\" not found" },
        { ProbeKind.Startup, new ProbeOutcome(ProbeResult.Failure, ""), "Unhealthy", "Startup probe failed: " },
        { ProbeKind.Readiness, new ProbeOutcome(ProbeResult.Warning, "Probe terminated redirects, Response body: "), "ProbeWarning", "Readiness probe warning: Probe terminated redirects, Response body: " },
    };

    [Theory]
    [MemberData(nameof(EventCases))]
    public void EventMessage_AsUpstreamRecordContainerEvent(ProbeKind kind, ProbeOutcome outcome, string reason, string message)
    {
        Assert.Equal((reason, message), (ProbeWorker.EventReason(outcome), ProbeWorker.EventMessage(kind, outcome)));
    }
}
