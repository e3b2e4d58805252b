using System.Threading.Channels;
using Berth.Api.Models;

namespace Berth.Node.Kubelet.Probes;

/// <summary>
/// Probes one container's startup, readiness or liveness periodically (upstream
/// <c>pkg/kubelet/prober/worker.go</c>) and keeps the thresholded result (upstream's results manager).
/// </summary>
/// <remarks>
/// Callbacks run on the worker's loop, one at a time, outside its lock: <c>onAttemptEvent</c> for every
/// attempt upstream records an event for (failed, errored, warning; see <see cref="EventMessage"/> and
/// <see cref="EventReason"/>), then <c>onResultChanged</c> when the thresholded result changes.
/// Do not await <see cref="DisposeAsync"/> from inside a callback: it waits for the loop.
/// </remarks>
public sealed class ProbeWorker : IAsyncDisposable
{
    private readonly Probe _probe;
    private readonly ProbeKind _kind;
    private readonly Prober _prober;
    private readonly ProbeTarget _target;
    private readonly TimeProvider _time;
    private readonly Action<ProbeResult> _onResultChanged;
    private readonly Action<ProbeOutcome> _onAttemptEvent;
    private readonly TimeSpan _initialDelay;
    private readonly TimeSpan _period;
    private readonly int _successThreshold;
    private readonly int _failureThreshold;
    private readonly ProbeResult _initialValue;
    private readonly Lock _lock = new();
    private Instance? _instance;
    private ProbeResult _result;
    private bool _started;
    private bool _disposed;

    public ProbeWorker(
        Probe probe,
        ProbeKind kind,
        Prober prober,
        ProbeTarget target,
        TimeProvider time,
        Action<ProbeResult> onResultChanged,
        Action<ProbeOutcome> onAttemptEvent)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(prober);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(onResultChanged);
        ArgumentNullException.ThrowIfNull(onAttemptEvent);
        _probe = probe;
        _kind = kind;
        _prober = prober;
        _target = target;
        _time = time;
        _onResultChanged = onResultChanged;
        _onAttemptEvent = onAttemptEvent;
        // The API server's defaulting (SetDefaults_Probe) for fields a caller left unset.
        _initialDelay = TimeSpan.FromSeconds(probe.InitialDelaySeconds is > 0 ? probe.InitialDelaySeconds.Value : 0);
        _period = TimeSpan.FromSeconds(probe.PeriodSeconds is > 0 ? probe.PeriodSeconds.Value : 10);
        _successThreshold = probe.SuccessThreshold is > 0 ? probe.SuccessThreshold.Value : 1;
        _failureThreshold = probe.FailureThreshold is > 0 ? probe.FailureThreshold.Value : 3;
        // Upstream newWorker: readiness starts failed, liveness passing, startup unknown.
        _initialValue = kind switch
        {
            ProbeKind.Readiness => ProbeResult.Failure,
            ProbeKind.Liveness => ProbeResult.Success,
            _ => ProbeResult.Unknown,
        };
        _result = _initialValue;
    }

    /// <summary>The thresholded result: Success, Failure, or Unknown (a startup probe not yet decided).</summary>
    public ProbeResult Result
    {
        get
        {
            lock (_lock)
            {
                return _result;
            }
        }
    }

    /// <summary>Test hook: runs after each tick of the loop with whether the tick probed.</summary>
    internal Action<bool>? TickCompleted { get; set; }

    /// <summary>The kubelet's event text for an attempt (upstream prober.probe's recordContainerEvent).</summary>
    public static string EventMessage(ProbeKind kind, ProbeOutcome outcome) => outcome.Result switch
    {
        ProbeResult.Unknown => $"{kind} probe errored: {outcome.Output}",
        ProbeResult.Warning => $"{kind} probe warning: {outcome.Output}",
        _ => $"{kind} probe failed: {outcome.Output}",
    };

    /// <summary>The event reason for an attempt: <c>ProbeWarning</c> for a warning, else <c>Unhealthy</c>.</summary>
    public static string EventReason(ProbeOutcome outcome) => outcome.Result == ProbeResult.Warning ? "ProbeWarning" : "Unhealthy";

    /// <summary>
    /// Starts probing a new instance of the container: the result goes back to its initial value, the
    /// counters reset, the first probe runs initialDelaySeconds after <paramref name="startedAt"/> and then
    /// every periodSeconds. Ends any probing of the previous instance.
    /// </summary>
    public void ContainerStarted(DateTimeOffset startedAt)
    {
        Instance? previous;
        Instance current;
        bool changed;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            previous = _instance;
            var due = startedAt + _initialDelay - _time.GetUtcNow();
            // Created here, not on the loop, so a tick that is due is never missed.
            current = new Instance(_time, due < TimeSpan.Zero ? TimeSpan.Zero : due, _period);
            _instance = current;
            changed = SetResult(_initialValue);
        }

        previous?.Stop();
        if (changed)
        {
            _onResultChanged(_initialValue);
        }

        current.Loop = Task.Run(() => LoopAsync(current));
    }

    /// <summary>The container is no longer running: probing stops and the result is Failure (upstream's non-running container).</summary>
    public void ContainerStopped()
    {
        Instance? previous;
        var changed = false;
        lock (_lock)
        {
            previous = _instance;
            _instance = null;
            if (previous is not null)
            {
                changed = SetResult(ProbeResult.Failure);
            }
        }

        previous?.Stop();
        if (changed)
        {
            _onResultChanged(ProbeResult.Failure);
        }
    }

    /// <summary>
    /// Whether the container has started (its startup probe succeeded, or it has none). Readiness and
    /// liveness probe only once started; a startup probe only until then.
    /// </summary>
    public void SetStarted(bool started)
    {
        lock (_lock)
        {
            _started = started;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Instance? previous;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            previous = _instance;
            _instance = null;
        }

        if (previous is not null)
        {
            previous.Stop();
            if (previous.Loop is { } loop)
            {
                await loop.ConfigureAwait(false);
            }
        }
    }

    private bool SetResult(ProbeResult result)
    {
        if (_result == result)
        {
            return false;
        }

        _result = result;
        return true;
    }

    private async Task LoopAsync(Instance instance)
    {
        var reader = instance.Ticks.Reader;
        try
        {
            while (await reader.WaitToReadAsync(instance.Token).ConfigureAwait(false))
            {
                reader.TryRead(out _);
                bool probed;
                try
                {
                    probed = await TickAsync(instance).ConfigureAwait(false);
                }
                catch (Exception) when (!instance.Token.IsCancellationRequested)
                {
                    // Upstream doProbe eats panics and keeps the worker going: one bad attempt (or a
                    // throwing callback) must not end a container's probing.
                    probed = true;
                }

                TickCompleted?.Invoke(probed);
            }
        }
        catch (OperationCanceledException) when (instance.Token.IsCancellationRequested)
        {
            // Stopped: a new instance, a stopped container, or disposal.
        }
    }

    // Upstream worker.doProbe for a running container whose initial delay has passed.
    private async Task<bool> TickAsync(Instance instance)
    {
        lock (_lock)
        {
            var gatedOut = _kind == ProbeKind.Startup ? _started : !_started;
            if (_instance != instance || instance.OnHold || gatedOut)
            {
                return false;
            }
        }

        var outcome = await _prober.RunAsync(_probe, _target, instance.Token).ConfigureAwait(false);
        var changed = false;
        ProbeResult result;
        lock (_lock)
        {
            if (_instance != instance)
            {
                return true;
            }

            // An errored attempt (Unknown) is thrown away; a warning counts as a success.
            result = outcome.Result == ProbeResult.Warning ? ProbeResult.Success : outcome.Result;
            if (result != ProbeResult.Unknown)
            {
                if (instance.ResultRun > 0 && instance.LastResult == result)
                {
                    instance.ResultRun++;
                }
                else
                {
                    instance.LastResult = result;
                    instance.ResultRun = 1;
                }

                var threshold = result == ProbeResult.Failure ? _failureThreshold : _successThreshold;
                if (instance.ResultRun >= threshold)
                {
                    changed = SetResult(result);
                    // A failed liveness probe means a restart, and a decided startup probe is done: both hold
                    // until the next instance (upstream #21751, #117153).
                    if ((_kind == ProbeKind.Liveness && result == ProbeResult.Failure) || _kind == ProbeKind.Startup)
                    {
                        instance.OnHold = true;
                        instance.ResultRun = 0;
                    }
                }
            }
        }

        if (outcome.Result != ProbeResult.Success)
        {
            _onAttemptEvent(outcome);
        }

        if (changed)
        {
            _onResultChanged(result);
        }

        return true;
    }

    /// <summary>One container instance's probing: its ticker, its loop and its counters.</summary>
    private sealed class Instance
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly ITimer _timer;

        public Instance(TimeProvider time, TimeSpan due, TimeSpan period)
        {
            // Like Go's ticker: a tick that comes while a probe runs is dropped, not queued.
            Ticks = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
            Token = _cts.Token;
            _timer = time.CreateTimer(static state => ((Channel<bool>)state!).Writer.TryWrite(true), Ticks, due, period);
        }

        public Channel<bool> Ticks { get; }

        public CancellationToken Token { get; }

        public Task? Loop { get; set; }

        public ProbeResult LastResult { get; set; }

        public int ResultRun { get; set; }

        public bool OnHold { get; set; }

        public void Stop()
        {
            _timer.Dispose();
            _cts.Cancel();
        }
    }
}
