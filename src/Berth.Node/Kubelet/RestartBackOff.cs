namespace Berth.Node.Kubelet;

/// <summary>
/// The kubelet's crash-loop back-off (client-go flowcontrol.Backoff as pkg/kubelet uses it): 10 s after the
/// second exit, doubling to a 5 min cap, forgotten once a container has run for twice the cap. The first restart
/// is immediate. Keys are per container of a pod. Not thread-safe: one pod worker owns it.
/// </summary>
public sealed class RestartBackOff(TimeProvider time, TimeSpan? initial = null, TimeSpan? max = null)
{
    private readonly TimeSpan _initial = initial ?? TimeSpan.FromSeconds(10);
    private readonly TimeSpan _max = max ?? TimeSpan.FromMinutes(5);
    private readonly Dictionary<string, (TimeSpan BackOff, DateTimeOffset LastUpdate)> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// When the container that exited at <paramref name="finishedAt"/> may start again: null when it may start
    /// now (upstream IsInBackOffSince is false), else the instant its back-off ends.
    /// </summary>
    public DateTimeOffset? BlockedUntil(string key, DateTimeOffset finishedAt)
    {
        if (!_entries.TryGetValue(key, out var entry) || HasExpired(finishedAt, entry.LastUpdate))
        {
            return null;
        }
        var until = finishedAt + entry.BackOff;
        return time.GetUtcNow() < until ? until : null;
    }

    /// <summary>The current back-off of a key (for the CrashLoopBackOff message).</summary>
    public TimeSpan Current(string key) => _entries.TryGetValue(key, out var entry) ? entry.BackOff : TimeSpan.Zero;

    /// <summary>Records a (re)start of the container that exited at <paramref name="finishedAt"/> (upstream Next).</summary>
    public void Started(string key, DateTimeOffset finishedAt)
    {
        var backOff = !_entries.TryGetValue(key, out var entry) || HasExpired(finishedAt, entry.LastUpdate)
            ? _initial
            : TimeSpan.FromTicks(Math.Min(entry.BackOff.Ticks * 2, _max.Ticks));
        _entries[key] = (backOff, time.GetUtcNow());
    }

    // Upstream hasExpired: a container that ran fine for twice the cap starts over at the initial back-off.
    private bool HasExpired(DateTimeOffset eventTime, DateTimeOffset lastUpdate) => eventTime - lastUpdate > _max * 2;

    /// <summary>Upstream's CrashLoopBackOff message: <c>back-off 20s restarting failed container=app pod=web_default(uid)</c>.</summary>
    public static string Message(TimeSpan backOff, string container, string pod, string ns, string uid) =>
        $"back-off {GoDuration(backOff)} restarting failed container={container} pod={pod}_{ns}({uid})";

    /// <summary>Go's time.Duration.String for whole seconds: 10s, 1m20s, 5m0s.</summary>
    public static string GoDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < 60)
        {
            return $"{seconds}s";
        }
        var minutes = seconds / 60;
        return minutes < 60 ? $"{minutes}m{seconds % 60}s" : $"{minutes / 60}h{minutes % 60}m{seconds % 60}s";
    }
}
