using System.Collections.Concurrent;
using System.Net;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns.Forwarding;

/// <summary>How the forwarder talks to upstreams and caches.</summary>
public sealed class DnsForwarderOptions
{
    /// <summary>How long one upstream gets per query before the next is asked (as CoreDNS forward's 2 s read timeout).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most entries in the cache; the oldest go first (CoreDNS cache: 9984 per kind).</summary>
    public int CacheCapacity { get; init; } = 10_000;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public Action<string> Log { get; init; } = _ => { };
}

/// <summary>
/// Resolves names outside the cluster zone through upstream resolvers, with a cache (positive and negative, RFC
/// 2308) in front. Upstreams are tried in order starting at the last one that answered: a dead first nameserver
/// costs one timeout, not one per query. Over UDP with <see cref="DnsForwarderOptions.Timeout"/> each, a truncated
/// answer asked again over TCP of the same upstream; when all fail the client gets SERVFAIL (nothing cached).
/// Identical questions in flight share one upstream exchange.
/// </summary>
public sealed class DnsForwarder : IDisposable
{
    private readonly Upstream[] _upstreams;
    private readonly DnsForwarderOptions _options;
    private readonly ConcurrentDictionary<string, UpstreamResponse> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UpstreamResponse>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    private readonly ConcurrentQueue<KeyValuePair<string, UpstreamResponse>> _insertionOrder = new();
    private readonly ConcurrentDictionary<string, Task<UpstreamResponse?>> _inFlight = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposed = new();
    private int _preferred;
    private long _upstreamQueries;
    private long _upstreamFailures;

    public DnsForwarder(IReadOnlyList<IPEndPoint> upstreams, DnsForwarderOptions? options = null)
    {
        _options = options ?? new DnsForwarderOptions();
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _upstreams = new Upstream[upstreams.Count];
        try
        {
            for (int i = 0; i < upstreams.Count; i++)
            {
                _upstreams[i] = new Upstream(upstreams[i], _options.Time, _options.Log);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IReadOnlyList<IPEndPoint> Upstreams => [.. _upstreams.Select(u => u.EndPoint)];

    /// <summary>Queries sent to upstreams (UDP and TCP, retries included).</summary>
    public long UpstreamQueries => Interlocked.Read(ref _upstreamQueries);

    /// <summary>Questions no upstream answered (the client got SERVFAIL).</summary>
    public long UpstreamFailures => Interlocked.Read(ref _upstreamFailures);

    public int CacheCount => _cache.Count;

    /// <summary>
    /// Answers <paramref name="request"/> from the cache when a live entry is there; allocates nothing. Writes the
    /// reply into <paramref name="destination"/> and returns its length, or 0 on a miss.
    /// </summary>
    internal int TryWriteCached(in DnsRequest request, Span<byte> destination, int maxSize)
    {
        Span<char> key = stackalloc char[request.Name.Length + ForwardQuestion.KeySuffixLength];
        ForwardQuestion.WriteKey(request.Name, request.Type, request.Class, request.DnssecOk, key);
        if (!TryGetLive(key, out UpstreamResponse? cached, out TimeSpan age))
        {
            return 0;
        }
        return cached.WriteReply(ForwardClient.From(request), request.QuestionBytes, age, destination, maxSize);
    }

    /// <summary>
    /// The upstream response for <paramref name="question"/>, from the cache or an upstream; null when every upstream
    /// failed. <paramref name="age"/> is how long it has been cached (zero when fresh).
    /// </summary>
    internal async ValueTask<(UpstreamResponse? Response, TimeSpan Age)> ResolveAsync(ForwardQuestion question, CancellationToken ct)
    {
        if (TryGetLive(question.Key, out UpstreamResponse? cached, out TimeSpan age))
        {
            return (cached, age);
        }
        Task<UpstreamResponse?> exchange;
        var mine = new TaskCompletionSource<UpstreamResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_inFlight.TryAdd(question.Key, mine.Task))
        {
            exchange = mine.Task;
            try
            {
                UpstreamResponse? response = await ExchangeAsync(question);
                if (response is not null && response.Lifetime > TimeSpan.Zero)
                {
                    Store(question.Key, response);
                }
                mine.TrySetResult(response);
            }
            catch (Exception e)
            {
                mine.TrySetException(e);
            }
            finally
            {
                _inFlight.TryRemove(KeyValuePair.Create(question.Key, mine.Task));
            }
        }
        else if (!_inFlight.TryGetValue(question.Key, out exchange!))
        {
            // It finished between the two lookups: its result is in the cache now (or it failed; ask again).
            return await ResolveAsync(question, ct);
        }
        UpstreamResponse? result = await exchange.WaitAsync(ct);
        return (result, TimeSpan.Zero);
    }

    private bool TryGetLive(ReadOnlySpan<char> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UpstreamResponse? response, out TimeSpan age)
    {
        age = TimeSpan.Zero;
        if (!_cacheBySpan.TryGetValue(key, out response))
        {
            return false;
        }
        age = _options.Time.GetElapsedTime(response.StoredAt);
        if (response.Remaining(age) > 0)
        {
            return true;
        }
        _cacheBySpan.TryRemove(key, out _);
        response = null;
        return false;
    }

    private void Store(string key, UpstreamResponse response)
    {
        _cache[key] = response;
        _insertionOrder.Enqueue(KeyValuePair.Create(key, response));
        // The queue holds every insertion not yet evicted, so it is never shorter than the cache: bounding it bounds
        // the cache (a replaced entry's old slot just evicts nothing when its turn comes).
        while (_insertionOrder.Count > _options.CacheCapacity && _insertionOrder.TryDequeue(out KeyValuePair<string, UpstreamResponse> oldest))
        {
            _cache.TryRemove(oldest);
        }
    }

    private async Task<UpstreamResponse?> ExchangeAsync(ForwardQuestion question)
    {
        CancellationToken ct = _disposed.Token;
        int first = Volatile.Read(ref _preferred);
        for (int i = 0; i < _upstreams.Length && !ct.IsCancellationRequested; i++)
        {
            int index = (first + i) % _upstreams.Length;
            Upstream upstream = _upstreams[index];
            Interlocked.Increment(ref _upstreamQueries);
            byte[]? packet = await upstream.QueryUdpAsync(question, _options.Timeout, ct);
            if (packet is not null && (packet[2] & 0x02) != 0)
            {
                // TC: the answer did not fit our 1232 bytes; the same upstream has it over TCP (RFC 7766 5).
                Interlocked.Increment(ref _upstreamQueries);
                packet = await upstream.QueryTcpAsync(question, _options.Timeout, ct);
            }
            if (packet is not null && UpstreamResponse.TryRead(packet, _options.Time.GetTimestamp(), out UpstreamResponse? response))
            {
                if (index != first)
                {
                    Interlocked.CompareExchange(ref _preferred, index, first);
                }
                return response;
            }
        }
        Interlocked.Increment(ref _upstreamFailures);
        return null;
    }

    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }
        // The token source is cancelled, never disposed: exchanges still finishing read its token.
        _disposed.Cancel();
        foreach (Upstream? upstream in _upstreams)
        {
            upstream?.Dispose();
        }
    }
}
