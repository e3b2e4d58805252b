using System.Text.Json.Nodes;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Removes Events older than the event TTL (upstream's --event-ttl, default 1 h). Upstream attaches an etcd lease
/// to every event write; here an event's age is taken from the last time it was seen (lastTimestamp, or
/// series.lastObservedTime, eventTime, creationTimestamp), which is when the recorder last wrote it. Swept once a
/// minute, so an event lives at most a minute past its TTL. Without this, the kubelet's per-probe events would pile
/// up forever.
/// </summary>
public sealed partial class EventExpiry : BackgroundService
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMinutes(1);

    private readonly ObjectStore _objects;
    private readonly ResourceDefinition _events;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly ILogger<EventExpiry> _logger;

    public EventExpiry(ObjectStore objects, ResourceCatalog catalog, ApiServerOptions options, TimeProvider time, ILogger<EventExpiry> logger)
    {
        _objects = objects;
        _events = catalog.Get("", "events");
        _ttl = options.EventTtl;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var removed = await SweepAsync(stoppingToken).ConfigureAwait(false);
                if (removed > 0)
                {
                    LogExpired(removed, _ttl);
                }
                await Task.Delay(s_interval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Deletes every event whose last sighting is older than the TTL; returns how many went.</summary>
    public async Task<int> SweepAsync(CancellationToken ct)
    {
        var cutoff = _time.GetUtcNow() - _ttl;
        var (items, _) = await _objects.ListAsync(_events, null, ct).ConfigureAwait(false);
        var removed = 0;
        foreach (var item in items)
        {
            if (LastSeen(item.Object) is not { } seen || seen >= cutoff)
            {
                continue;
            }
            try
            {
                // Guarded by the revision read: an event the recorder just bumped (count + 1) stays.
                await _objects.DeleteAsync(_events, Meta.Namespace(item.Object), Meta.Name(item.Object)!, item.ModRevision, ct).ConfigureAwait(false);
                removed++;
            }
            catch (StoreException e) when (e is ConflictException or StoreKeyNotFoundException)
            {
                // Written or deleted in between: its next sweep decides.
            }
        }
        return removed;
    }

    private static DateTimeOffset? LastSeen(JsonObject evt)
    {
        foreach (var value in new[]
        {
            evt["lastTimestamp"], evt["series"]?["lastObservedTime"], evt["eventTime"], evt["metadata"]?["creationTimestamp"],
        })
        {
            if (value is JsonValue v && v.TryGetValue<string>(out var text)
                && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time))
            {
                return time;
            }
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "removed {Count} events older than the event TTL ({Ttl})")]
    private partial void LogExpired(int count, TimeSpan ttl);
}
