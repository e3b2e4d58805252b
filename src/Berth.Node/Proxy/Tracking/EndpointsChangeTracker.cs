using System.Globalization;
using Berth.Api.Models;

namespace Berth.Node.Proxy.Tracking;

/// <summary>
/// Accumulates EndpointSlice changes between syncs (upstream pkg/proxy/endpointschangetracker.go and
/// endpointslicecache.go): slices are cached stripped, merged per service port at checkout. Thread-safe.
/// </summary>
internal sealed class EndpointsChangeTracker
{
    public const string LastChangeTriggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time";

    private readonly Lock _lock = new();
    private readonly EndpointSliceCache _cache;

    // Slices written before the proxy started carry trigger times that say nothing about this proxy's latency.
    private readonly DateTimeOffset _startTime;
    private Dictionary<ServiceKey, List<DateTimeOffset>> _triggerTimes = [];

    public EndpointsChangeTracker(string nodeName)
        : this(nodeName, TimeProvider.System)
    {
    }

    public EndpointsChangeTracker(string nodeName, TimeProvider time)
    {
        NodeName = nodeName;
        _cache = new EndpointSliceCache(nodeName);
        _startTime = time.GetUtcNow();
    }

    public string NodeName { get; }

    /// <summary>Records a slice add/update, or its removal. True when a sync is needed.</summary>
    public bool EndpointSliceUpdate(EndpointSlice slice, bool removed)
    {
        // FQDN slices name hosts, not addresses: nothing to connect to.
        if (slice.AddressType is not ("IPv4" or "IPv6") || !EndpointSliceCache.TryGetKeys(slice, out var service, out var sliceName))
        {
            return false;
        }
        lock (_lock)
        {
            if (!_cache.UpdatePending(service, sliceName, slice, removed))
            {
                return false;
            }
            // A deleted slice's annotation dates its last update, not the deletion, so a removal drops the service's
            // pending trigger times rather than measure a latency that never happened (upstream does the same).
            if (removed)
            {
                _triggerTimes.Remove(service);
            }
            else if (LastChangeTriggerTime(slice) is { } time && time > _startTime)
            {
                if (!_triggerTimes.TryGetValue(service, out var times))
                {
                    times = [];
                    _triggerTimes[service] = times;
                }
                times.Add(time);
            }
            return true;
        }
    }

    /// <summary>Applies the pending slices; per Service touched, its endpoints at the last checkout and now.</summary>
    public IReadOnlyDictionary<ServiceKey, EndpointsMapChange> CheckoutChanges()
    {
        lock (_lock)
        {
            return _cache.CheckoutChanges();
        }
    }

    /// <summary>The trigger times recorded per Service since the last checkout; clears them.</summary>
    public IReadOnlyDictionary<ServiceKey, List<DateTimeOffset>> CheckoutTriggerTimes()
    {
        lock (_lock)
        {
            var times = _triggerTimes;
            _triggerTimes = [];
            return times;
        }
    }

    /// <summary>The annotation as Go's time.RFC3339Nano; null when missing or unparsable (upstream ignores those).</summary>
    internal static DateTimeOffset? LastChangeTriggerTime(EndpointSlice slice)
    {
        if (slice.Metadata?.Annotations?.GetValueOrDefault(LastChangeTriggerTimeAnnotation) is not { } text)
        {
            return null;
        }
        // RFC3339Nano has up to nine fraction digits; .NET parses seven (100 ns ticks), so the rest are dropped.
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }
            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;
    }
}
