using System.Globalization;
using System.Threading.Channels;
using Berth.Api.Models;

namespace Berth.Client;

/// <summary>
/// Writes core/v1 Events the way client-go's record.EventRecorder does: fire and forget from the caller, a bounded queue,
/// one background writer, and repeats of an identical event (same object, fieldPath, type, reason and message) within
/// ten minutes folded into the first one's count and lastTimestamp instead of a new Event.
/// </summary>
public sealed class EventRecorder : IAsyncDisposable
{
    private const int QueueLength = 1000;

    // client-go's EventCorrelator aggregates within maxIntervalInSeconds = 600.
    private static readonly TimeSpan s_aggregationWindow = TimeSpan.FromMinutes(10);

    private readonly KubeClient _client;
    private readonly string _component;
    private readonly string? _host;
    private readonly TimeProvider _time;
    private readonly Channel<Entry> _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(QueueLength) { SingleReader = true });
    private readonly Dictionary<EventKey, Sent> _sent = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;
    private long _dropped;
    // The last name suffix used (only the single writer touches it).
    private long _lastNanos;

    public EventRecorder(KubeClient client, string component, string? host)
        : this(client, component, host, TimeProvider.System)
    {
    }

    internal EventRecorder(KubeClient client, string component, string? host, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(component);
        _client = client;
        _component = component;
        _host = host;
        _time = time;
        _writer = Task.Run(WriteAllAsync);
    }

    /// <summary>Events dropped because the queue was full or the API server refused them.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues an Event about <paramref name="involved"/>; never blocks or throws.</summary>
    public void Record(IKubernetesObject involved, string type, string reason, string message, string? fieldPath = null)
    {
        if (involved?.Metadata?.Name is null || !_queue.Writer.TryWrite(new Entry(Reference(involved, fieldPath), type, reason, message, _time.GetUtcNow(), null)))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Completes once every event recorded before the call has been written (or given up on).</summary>
    public async Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _queue.Writer.WriteAsync(new Entry(null, "", "", "", default, done), _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ChannelClosedException or OperationCanceledException)
        {
            return;
        }
        await done.Task.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_queue.Writer.TryComplete())
        {
            return;
        }
        // Give queued events a moment to reach the server; a recorder must never hold up shutdown for long.
        if (await Task.WhenAny(_writer, Task.Delay(TimeSpan.FromSeconds(5), _time)).ConfigureAwait(false) != _writer)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }
        await _writer.ConfigureAwait(false);
        _stop.Dispose();
    }

    private static ObjectReference Reference(IKubernetesObject obj, string? fieldPath)
    {
        var kind = obj.Kind;
        var apiVersion = obj.ApiVersion;
        // Objects decoded from a list have no kind; the type says what they are (client-go's ref.GetReference does the same).
        if ((kind is null || apiVersion is null) && KubeKinds.TryGet(obj.GetType(), out var info))
        {
            kind ??= info.Kind;
            apiVersion ??= info.ApiVersion;
        }
        return new ObjectReference
        {
            Kind = kind,
            Namespace = obj.Metadata!.Namespace,
            Name = obj.Metadata.Name,
            Uid = obj.Metadata.Uid,
            ApiVersion = apiVersion,
            ResourceVersion = obj.Metadata.ResourceVersion,
            FieldPath = fieldPath,
        };
    }

    private async Task WriteAllAsync()
    {
        await foreach (var entry in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (entry.Flushed is { } flushed)
            {
                flushed.TrySetResult();
                continue;
            }
            try
            {
                await WriteAsync(entry, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException or OperationCanceledException)
            {
                // Events are best effort (client-go gives up after its retries too); the count says how many were lost.
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    private async Task WriteAsync(Entry entry, CancellationToken ct)
    {
        var involved = entry.Involved!;
        var ns = string.IsNullOrEmpty(involved.Namespace) ? "default" : involved.Namespace;
        var key = new EventKey(involved.Kind, ns, involved.Name, involved.Uid, involved.FieldPath, entry.Type, entry.Reason, entry.Message);
        ForgetExpired(entry.Time);

        if (_sent.TryGetValue(key, out var sent))
        {
            var count = sent.Count + 1;
            var patch = $$"""{"count":{{count}},"lastTimestamp":"{{Timestamp(entry.Time)}}"}""";
            try
            {
                await _client.PatchAsync<Event>(ns, sent.Name, PatchType.StrategicMerge, patch, ct: ct).ConfigureAwait(false);
                _sent[key] = sent with { Count = count, Last = entry.Time };
                return;
            }
            catch (KubeApiException e) when (e.StatusCode == 404)
            {
                // The event expired or was deleted: start a new one, as client-go does when its patch answers NotFound.
                _sent.Remove(key);
            }
        }

        // client-go names events <object>.<unix nanos>; .NET clocks tick in 100 ns, so two events about one object
        // recorded in the same tick (two pods deleted at once) would share a name. The writer is single, so keeping
        // the names it uses strictly increasing makes them unique here; another recorder's clash answers 409 and
        // the next name is tried.
        var nanos = Math.Max(UnixNanos(entry.Time), _lastNanos + 1);
        for (var attempt = 0; ; attempt++, nanos++)
        {
            _lastNanos = nanos;
            var name = $"{involved.Name}.{nanos:x}";
            try
            {
                await CreateAsync(entry, involved, ns, name, ct).ConfigureAwait(false);
                _sent[key] = new Sent(name, 1, entry.Time);
                return;
            }
            catch (KubeApiException e) when (e.StatusCode == 409 && attempt < 2)
            {
            }
        }
    }

    private Task<Event> CreateAsync(Entry entry, ObjectReference involved, string ns, string name, CancellationToken ct) =>
        _client.CreateAsync(new Event
        {
            ApiVersion = "v1",
            Kind = "Event",
            Metadata = new ObjectMeta { Name = name, Namespace = ns },
            InvolvedObject = involved,
            Reason = entry.Reason,
            Message = entry.Message,
            Type = entry.Type,
            Source = new EventSource { Component = _component, Host = _host },
            ReportingComponent = _component,
            ReportingInstance = _host ?? "",
            FirstTimestamp = entry.Time,
            LastTimestamp = entry.Time,
            Count = 1,
        }, ct);

    private void ForgetExpired(DateTimeOffset now)
    {
        foreach (var (key, sent) in _sent.Where(e => now - e.Value.Last > s_aggregationWindow).ToList())
        {
            _sent.Remove(key);
        }
    }

    private static long UnixNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private sealed record Entry(ObjectReference? Involved, string Type, string Reason, string Message, DateTimeOffset Time, TaskCompletionSource? Flushed);

    private readonly record struct EventKey(string? Kind, string Ns, string? Name, string? Uid, string? FieldPath, string Type, string Reason, string Message);

    private sealed record Sent(string Name, int Count, DateTimeOffset Last);
}
