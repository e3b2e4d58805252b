using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.SessionAffinity;

namespace Berth.Node.Proxy.LoadBalancing;

/// <summary>
/// Picks the endpoint for each new connection (or UDP flow) of one service port: ClientIP session affinity first,
/// then the port's algorithm. Lives as long as the service port, across snapshots, so round-robin position,
/// connection counts and the affinity table survive endpoint changes. Thread-safe: every relay thread calls it.
/// </summary>
internal sealed class ServiceBalancer
{
    private readonly TimeProvider _time;

    // Active connections per endpoint address, kept across snapshots (an endpoint that stays keeps its count). A
    // count that drops to zero is retired (set to Retired) and removed, so the map holds only endpoints in use.
    private readonly ConcurrentDictionary<IPEndPoint, ActiveCount> _active = new();

    // Algorithm and affinity table, replaced together by Configure and read once per Pick.
    private volatile Settings _settings = new(BalancingAlgorithm.RoundRobin, null);
    private int _cursor = -1;

    public ServiceBalancer(TimeProvider time) => _time = time;

    /// <summary>Takes the port's algorithm and affinity timeout (turning affinity off, or changing its timeout, clears the table).</summary>
    public void Configure(ServicePortInfo service)
    {
        var current = _settings;
        var affinity = current.Affinity;
        // Upstream flushes the recent table when the timeout changes (the rule, and so its table, is new).
        if (affinity?.Timeout != service.AffinityTimeout)
        {
            affinity = service.AffinityTimeout is { } timeout ? new ClientIPAffinity(_time, timeout) : null;
        }
        else
        {
            // Expired entries go at every reconfiguration too, besides lookups and the table's own periodic sweep.
            affinity?.Sweep();
        }
        if (affinity != current.Affinity || service.Algorithm != current.Algorithm)
        {
            _settings = new Settings(service.Algorithm, affinity);
        }
    }

    /// <summary>
    /// The index in <paramref name="candidates"/> of the endpoint to try next, skipping those whose bit is set in
    /// <paramref name="tried"/> (bit i = candidates[i]; candidates beyond 64 are never tried twice anyway); -1 when none is left.
    /// <paramref name="affinityHit"/> says the choice came from the client's affinity entry.
    /// </summary>
    public int Pick(ImmutableArray<EndpointInfo> candidates, IPAddress client, ulong tried, out bool affinityHit)
    {
        affinityHit = false;
        var settings = _settings;
        if (settings.Affinity is { } affinity && affinity.TryGet(client, out var sticky))
        {
            for (var i = 0; i < candidates.Length; i++)
            {
                if (candidates[i].EndPoint.Equals(sticky))
                {
                    if (!Tried(tried, i))
                    {
                        affinityHit = true;
                        return i;
                    }
                    break;
                }
            }
        }
        return settings.Algorithm switch
        {
            BalancingAlgorithm.LeastConnections => PickLeastConnections(candidates, tried),
            BalancingAlgorithm.Random => PickRandom(candidates, tried),
            _ => PickRoundRobin(candidates, tried),
        };
    }

    /// <summary>A connection (or flow) to <paramref name="endpoint"/> was established: affinity recorded, active count up.</summary>
    public void Connected(EndpointInfo endpoint, IPAddress client)
    {
        _settings.Affinity?.Record(client, endpoint.EndPoint);
        while (true)
        {
            var count = _active.GetOrAdd(endpoint.EndPoint, static _ => new ActiveCount());
            var value = Volatile.Read(ref count.Value);
            if (value == ActiveCount.Retired)
            {
                // Its last connection just ended and it is on its way out of the map: help, then start a fresh count.
                _active.TryRemove(new KeyValuePair<IPEndPoint, ActiveCount>(endpoint.EndPoint, count));
                continue;
            }
            if (Interlocked.CompareExchange(ref count.Value, value + 1, value) == value)
            {
                return;
            }
        }
    }

    /// <summary>That connection (or flow) ended: active count down.</summary>
    public void Disconnected(EndpointInfo endpoint)
    {
        if (_active.TryGetValue(endpoint.EndPoint, out var count) &&
            Interlocked.Decrement(ref count.Value) == 0 &&
            Interlocked.CompareExchange(ref count.Value, ActiveCount.Retired, 0) == 0)
        {
            _active.TryRemove(new KeyValuePair<IPEndPoint, ActiveCount>(endpoint.EndPoint, count));
        }
    }

    private static bool Tried(ulong tried, int index) => index < 64 && (tried & (1UL << index)) != 0;

    // The shared cursor advances once per pick, so consecutive picks (from any thread) walk the candidates in order.
    private int Start(int length) => (int)((uint)Interlocked.Increment(ref _cursor) % (uint)length);

    private int PickRoundRobin(ImmutableArray<EndpointInfo> candidates, ulong tried)
    {
        if (candidates.IsEmpty)
        {
            return -1;
        }
        var start = Start(candidates.Length);
        for (var n = 0; n < candidates.Length; n++)
        {
            var i = (start + n) % candidates.Length;
            if (!Tried(tried, i))
            {
                return i;
            }
        }
        return -1;
    }

    private int PickLeastConnections(ImmutableArray<EndpointInfo> candidates, ulong tried)
    {
        if (candidates.IsEmpty)
        {
            return -1;
        }
        // Scanning from the round-robin cursor and keeping the first minimum breaks ties in turn.
        var start = Start(candidates.Length);
        var best = -1;
        var bestCount = long.MaxValue;
        for (var n = 0; n < candidates.Length; n++)
        {
            var i = (start + n) % candidates.Length;
            if (Tried(tried, i))
            {
                continue;
            }
            var count = _active.TryGetValue(candidates[i].EndPoint, out var active) ? Math.Max(0, Volatile.Read(ref active.Value)) : 0;
            if (count < bestCount)
            {
                best = i;
                bestCount = count;
            }
        }
        return best;
    }

    private static int PickRandom(ImmutableArray<EndpointInfo> candidates, ulong tried)
    {
        var left = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (!Tried(tried, i))
            {
                left++;
            }
        }
        if (left == 0)
        {
            return -1;
        }
        // Uniform among the endpoints not tried yet.
        var k = Random.Shared.Next(left);
        for (var i = 0; i < candidates.Length; i++)
        {
            if (!Tried(tried, i) && k-- == 0)
            {
                return i;
            }
        }
        return -1;
    }

    private sealed record Settings(BalancingAlgorithm Algorithm, ClientIPAffinity? Affinity);

    private sealed class ActiveCount
    {
        public const long Retired = long.MinValue;
        public long Value;
    }
}
