using System.Collections.Concurrent;
using System.Net;

namespace Berth.Node.Proxy.SessionAffinity;

/// <summary>
/// The ClientIP session-affinity table of one service port: client address → the endpoint its last connection went
/// to. An entry holds while less than <see cref="Timeout"/> has passed since that client's last connection, as
/// upstream's iptables <c>recent --rcheck --seconds --reap</c> match refreshed by <c>--set</c> on every connection.
/// Thread-safe; lookups do not allocate. A refresh racing with the removal of the entry it refreshes is lost, which
/// costs only that client's next connection a fresh pick.
/// </summary>
internal sealed class ClientIPAffinity
{
    // Expired entries are dropped when looked up, and by a sweep every this many recorded connections, so a stream of
    // one-off clients cannot grow the table without bound between syncs (which sweep too).
    private const int SweepEvery = 1024;

    private readonly ConcurrentDictionary<IPAddress, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly long _timeoutTicks;
    private int _recordsSinceSweep;

    public ClientIPAffinity(TimeProvider time, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _time = time;
        Timeout = timeout;
        _timeoutTicks = checked((long)(timeout.TotalSeconds * time.TimestampFrequency));
    }

    public TimeSpan Timeout { get; }

    /// <summary>Entries held, expired ones not yet swept included.</summary>
    public int Count => _entries.Count;

    /// <summary>The endpoint of <paramref name="client"/>'s unexpired entry; an expired one is removed.</summary>
    public bool TryGet(IPAddress client, out IPEndPoint endpoint)
    {
        if (_entries.TryGetValue(client, out var entry))
        {
            if (!Expired(entry, _time.GetTimestamp()))
            {
                endpoint = entry.Endpoint;
                return true;
            }
            _entries.TryRemove(new KeyValuePair<IPAddress, Entry>(client, entry));
        }
        endpoint = null!;
        return false;
    }

    /// <summary><paramref name="client"/> connected to <paramref name="endpoint"/>: its entry now points there and its timeout restarts.</summary>
    public void Record(IPAddress client, IPEndPoint endpoint)
    {
        var now = _time.GetTimestamp();
        if (_entries.TryGetValue(client, out var entry) && entry.Endpoint.Equals(endpoint))
        {
            Volatile.Write(ref entry.LastUsed, now);
        }
        else
        {
            _entries[client] = new Entry(endpoint, now);
        }
        if (Interlocked.Increment(ref _recordsSinceSweep) >= SweepEvery)
        {
            Sweep();
        }
    }

    /// <summary>Removes every expired entry.</summary>
    public void Sweep()
    {
        Volatile.Write(ref _recordsSinceSweep, 0);
        var now = _time.GetTimestamp();
        foreach (var pair in _entries)
        {
            if (Expired(pair.Value, now))
            {
                _entries.TryRemove(pair);
            }
        }
    }

    private bool Expired(Entry entry, long now) => now - Volatile.Read(ref entry.LastUsed) >= _timeoutTicks;

    private sealed class Entry(IPEndPoint endpoint, long lastUsed)
    {
        public readonly IPEndPoint Endpoint = endpoint;
        public long LastUsed = lastUsed;
    }
}
