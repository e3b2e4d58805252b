using System.Net;
using System.Net.Sockets;
using Berth.Node.Dns;
using Berth.Node.Dns.Forwarding;
using Berth.Node.Dns.Wire;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Dns.Forwarding;

public sealed class DnsForwarderTests : IAsyncLifetime
{
    private readonly FakeUpstream _upstream = new();
    private readonly List<IDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (IDisposable disposable in _disposables)
        {
            disposable.Dispose();
        }
        await _upstream.DisposeAsync();
    }

    private (DnsQueryHandler Handler, DnsForwarder Forwarder) Build(DnsForwarderOptions? options = null, params IPEndPoint[] upstreams)
    {
        var forwarder = new DnsForwarder(upstreams.Length == 0 ? [_upstream.EndPoint] : upstreams, options);
        _disposables.Add(forwarder);
        var zone = DnsQueryHandlerTests.TestZone();
        return (new DnsQueryHandler(() => zone, forwarder, "cluster.local", []), forwarder);
    }

    private static Task<DnsMessage?> AskAsync(DnsQueryHandler handler, byte[] query, bool tcp = false) =>
        DnsQueryHandlerTests.AskAsync(handler, query, tcp: tcp);

    [Fact]
    public async Task Forward_SameQuestion_UpstreamAskedOnceTtlAgedByTheClock()
    {
        _upstream.AddA("example.com", 300, "192.0.2.1");
        var time = new FakeTimeProvider();
        (DnsQueryHandler handler, _) = Build(new DnsForwarderOptions { Time = time });

        DnsMessage? first = await AskAsync(handler, DnsMessage.Query(1, "example.com", DnsType.A));
        time.Advance(TimeSpan.FromSeconds(100));
        DnsMessage? aged = await AskAsync(handler, DnsMessage.Query(2, "example.com", DnsType.A));

        Assert.Equal(300u, first!.Answers[0].Ttl);
        Assert.Equal(200u, aged!.Answers[0].Ttl);
        Assert.Equal(2, aged.Id);
        Assert.Equal(1, _upstream.Queries);
    }

    [Fact]
    public async Task Forward_Expired_AskedAgain()
    {
        _upstream.AddA("example.com", 30, "192.0.2.1");
        var time = new FakeTimeProvider();
        (DnsQueryHandler handler, _) = Build(new DnsForwarderOptions { Time = time });

        await AskAsync(handler, DnsMessage.Query(1, "example.com", DnsType.A));
        time.Advance(TimeSpan.FromSeconds(30));
        DnsMessage? again = await AskAsync(handler, DnsMessage.Query(2, "example.com", DnsType.A));

        Assert.Equal(30u, again!.Answers[0].Ttl);
        Assert.Equal(2, _upstream.Queries);
    }

    [Fact]
    public async Task Forward_Nxdomain_CachedForTheSoaMinimum()
    {
        var time = new FakeTimeProvider();
        (DnsQueryHandler handler, _) = Build(new DnsForwarderOptions { Time = time });

        DnsMessage? first = await AskAsync(handler, DnsMessage.Query(1, "missing.example", DnsType.A));
        time.Advance(TimeSpan.FromSeconds(FakeUpstream.SoaMinimum - 1));
        DnsMessage? cached = await AskAsync(handler, DnsMessage.Query(2, "missing.example", DnsType.A));
        time.Advance(TimeSpan.FromSeconds(1));
        await AskAsync(handler, DnsMessage.Query(3, "missing.example", DnsType.A));

        Assert.Equal((DnsRcode.NXDomain, DnsRcode.NXDomain), (first!.Rcode, cached!.Rcode));
        // The SOA's own TTL (60) never outlives the cache entry (min(60, 20, 30) = 20 s): 1 s left.
        Assert.Equal(1u, Assert.Single(cached.Authority).Ttl);
        Assert.Equal(2, _upstream.Asked("missing.example"));
    }

    [Fact]
    public async Task Forward_NoData_CachedNegative()
    {
        _upstream.AddA("v4only.example", 300, "192.0.2.1");
        (DnsQueryHandler handler, _) = Build();

        await AskAsync(handler, DnsMessage.Query(1, "v4only.example", DnsType.AAAA));
        DnsMessage? again = await AskAsync(handler, DnsMessage.Query(2, "v4only.example", DnsType.AAAA));

        Assert.Equal(DnsRcode.NoError, again!.Rcode);
        Assert.Empty(again.Answers);
        Assert.Equal(1, _upstream.Queries);
    }

    [Fact]
    public async Task Forward_DifferentType_DifferentCacheEntry()
    {
        _upstream.AddA("example.com", 300, "192.0.2.1");
        (DnsQueryHandler handler, _) = Build();

        await AskAsync(handler, DnsMessage.Query(1, "example.com", DnsType.A));
        await AskAsync(handler, DnsMessage.Query(2, "example.com", DnsType.TXT));

        Assert.Equal(2, _upstream.Queries);
    }

    [Fact]
    public async Task Forward_FirstUpstreamSilent_NextAnswersAndIsPreferredAfter()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _upstream.AddA("a.example", 300, "192.0.2.1");
        _upstream.AddA("b.example", 300, "192.0.2.2");
        (DnsQueryHandler handler, DnsForwarder forwarder) = Build(new DnsForwarderOptions { Timeout = TimeSpan.FromMilliseconds(300) }, (IPEndPoint)silent.LocalEndPoint!, _upstream.EndPoint);

        DnsMessage? a = await AskAsync(handler, DnsMessage.Query(1, "a.example", DnsType.A));
        DnsMessage? b = await AskAsync(handler, DnsMessage.Query(2, "b.example", DnsType.A));

        Assert.Equal(["192.0.2.1"], TestClient.Addresses(a!));
        Assert.Equal(["192.0.2.2"], TestClient.Addresses(b!));
        // The silent one got the first question only: the second went straight to the one that answered.
        Assert.Equal(1, silent.Available > 0 ? CountDatagrams(silent) : 0);
        Assert.Equal(3, forwarder.UpstreamQueries);
    }

    private static int CountDatagrams(Socket socket)
    {
        int count = 0;
        var buffer = new byte[65536];
        while (socket.Available > 0)
        {
            socket.Receive(buffer);
            count++;
        }
        return count;
    }

    [Fact]
    public async Task Forward_FirstUpstreamRefuses_NextAnswers()
    {
        int closedPort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closedPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        _upstream.AddA("a.example", 300, "192.0.2.1");
        // A timeout far beyond the test's deadline: only the ICMP port unreachable can move it on in time.
        (DnsQueryHandler handler, _) = Build(new DnsForwarderOptions { Timeout = TimeSpan.FromMinutes(5) }, new IPEndPoint(IPAddress.Loopback, closedPort), _upstream.EndPoint);

        Task<DnsMessage?> ask = AskAsync(handler, DnsMessage.Query(1, "a.example", DnsType.A));
        Assert.Same(ask, await Task.WhenAny(ask, Task.Delay(TestClient.Deadline)));

        Assert.Equal(["192.0.2.1"], TestClient.Addresses((await ask)!));
    }

    [Fact]
    public async Task Forward_AllUpstreamsFail_ServFailNotCached()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        (DnsQueryHandler handler, DnsForwarder forwarder) = Build(new DnsForwarderOptions { Timeout = TimeSpan.FromMilliseconds(200) }, (IPEndPoint)silent.LocalEndPoint!);

        DnsMessage? first = await AskAsync(handler, DnsMessage.Query(1, "example.com", DnsType.A));
        DnsMessage? second = await AskAsync(handler, DnsMessage.Query(2, "example.com", DnsType.A));

        Assert.Equal((DnsRcode.ServFail, DnsRcode.ServFail), (first!.Rcode, second!.Rcode));
        Assert.Equal((2L, 2L), (forwarder.UpstreamQueries, forwarder.UpstreamFailures));
    }

    [Fact]
    public async Task Forward_UpstreamTruncates_RetriedOverTcp()
    {
        _upstream.Add("tc.example", new FakeUpstream.Entry(new DnsAnswer(DnsRcode.NoError, [DnsRecord.A("tc.example", IPAddress.Parse("192.0.2.3"), 60)], [], [], false)) { TruncateUdp = true });
        (DnsQueryHandler handler, _) = Build();

        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(1, "tc.example", DnsType.A));

        Assert.False(response!.Truncated);
        Assert.Equal(["192.0.2.3"], TestClient.Addresses(response));
        Assert.Equal((1, 1), (_upstream.UdpQueries, _upstream.TcpQueries));
    }

    [Fact]
    public async Task Forward_LargeAnswer_TruncatedFor512ByteClientWholeOverTcpAndLargeEdns()
    {
        string[] addresses = [.. Enumerable.Range(1, 100).Select(i => $"198.51.100.{i}")];
        _upstream.AddA("big.example", 300, addresses);
        (DnsQueryHandler handler, _) = Build();

        DnsMessage? udp = await AskAsync(handler, DnsMessage.Query(1, "big.example", DnsType.A));
        DnsMessage? tcp = await AskAsync(handler, DnsMessage.Query(2, "big.example", DnsType.A), tcp: true);
        DnsMessage? edns = await AskAsync(handler, DnsMessage.Query(3, "big.example", DnsType.A, 4096));

        Assert.True(udp!.Truncated);
        Assert.Empty(udp.Answers);
        Assert.Null(udp.EdnsPayloadSize);
        Assert.False(tcp!.Truncated);
        Assert.Equal(addresses, TestClient.Addresses(tcp));
        Assert.False(edns!.Truncated);
        Assert.Equal(100, edns.Answers.Count);
        Assert.NotNull(edns.EdnsPayloadSize);
        // Our 1232-byte EDNS size made the upstream truncate over UDP; TCP then fetched it once for all three.
        Assert.Equal((1, 1), (_upstream.UdpQueries, _upstream.TcpQueries));
    }

    [Fact]
    public async Task Forward_EdnsOnlyWhenTheClientSentIt()
    {
        _upstream.AddA("example.com", 300, "192.0.2.1");
        (DnsQueryHandler handler, _) = Build();

        DnsMessage? plain = await AskAsync(handler, DnsMessage.Query(1, "example.com", DnsType.A));
        DnsMessage? edns = await AskAsync(handler, DnsMessage.Query(2, "example.com", DnsType.A, 1232));

        Assert.Null(plain!.EdnsPayloadSize);
        Assert.Equal((ushort)1232, edns!.EdnsPayloadSize);
        Assert.Equal(1, _upstream.Queries);
    }

    [Fact]
    public async Task Forward_SpoofedResponseWithOtherId_Ignored()
    {
        _upstream.Add("spoofed.example", new FakeUpstream.Entry(new DnsAnswer(DnsRcode.NoError, [DnsRecord.A("spoofed.example", IPAddress.Parse("192.0.2.4"), 60)], [], [], false)) { SpoofFirst = true });
        (DnsQueryHandler handler, _) = Build();

        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(77, "spoofed.example", DnsType.A));

        Assert.Equal(77, response!.Id);
        Assert.Equal(["192.0.2.4"], TestClient.Addresses(response));
    }

    [Fact]
    public async Task Forward_IdenticalQuestionsInFlight_OneUpstreamQuery()
    {
        _upstream.Add("slow.example", new FakeUpstream.Entry(new DnsAnswer(DnsRcode.NoError, [DnsRecord.A("slow.example", IPAddress.Parse("192.0.2.5"), 60)], [], [], false)) { Delay = TimeSpan.FromMilliseconds(300) });
        (DnsQueryHandler handler, _) = Build();

        DnsMessage?[] responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => AskAsync(handler, DnsMessage.Query((ushort)i, "slow.example", DnsType.A))));

        Assert.All(responses, r => Assert.Equal(["192.0.2.5"], TestClient.Addresses(r!)));
        Assert.Equal(Enumerable.Range(0, 20), responses.Select(r => (int)r!.Id));
        Assert.Equal(1, _upstream.Queries);
    }

    [Fact]
    public async Task Cache_Full_OldestEvicted()
    {
        for (int i = 0; i < 5; i++)
        {
            _upstream.AddA($"n{i}.example", 300, "192.0.2.1");
        }
        (DnsQueryHandler handler, DnsForwarder forwarder) = Build(new DnsForwarderOptions { CacheCapacity = 3 });

        for (int i = 0; i < 5; i++)
        {
            await AskAsync(handler, DnsMessage.Query(1, $"n{i}.example", DnsType.A));
        }
        await AskAsync(handler, DnsMessage.Query(1, "n4.example", DnsType.A));
        await AskAsync(handler, DnsMessage.Query(1, "n0.example", DnsType.A));

        Assert.True(forwarder.CacheCount <= 3);
        Assert.Equal(1, _upstream.Asked("n4.example"));
        Assert.Equal(2, _upstream.Asked("n0.example"));
    }

    public static TheoryData<string, DnsRcode, int, uint, uint?, double> Lifetimes => new()
    {
        // what, rcode, A records (TTL), record TTL, SOA minimum (SOA TTL 60), expected lifetime in seconds
        { "positive: min TTL", DnsRcode.NoError, 2, 120, null, 120 },
        { "positive: capped at an hour", DnsRcode.NoError, 1, 86400, null, 3600 },
        { "positive TTL 0: not cached", DnsRcode.NoError, 1, 0, null, 0 },
        { "NXDOMAIN: SOA minimum", DnsRcode.NXDomain, 0, 0, 10, 10 },
        { "NXDOMAIN: capped at 30 s", DnsRcode.NXDomain, 0, 0, 900, 30 },
        { "NXDOMAIN without SOA: 5 s", DnsRcode.NXDomain, 0, 0, null, 5 },
        { "NODATA: SOA minimum", DnsRcode.NoError, 0, 0, 7, 7 },
        { "SERVFAIL: never", DnsRcode.ServFail, 0, 0, null, 0 },
        { "REFUSED: never", DnsRcode.Refused, 0, 0, null, 0 },
    };

    [Theory]
    [MemberData(nameof(Lifetimes))]
    public void UpstreamResponse_TryRead_Lifetime(string what, DnsRcode rcode, int records, uint ttl, uint? soaMinimum, double seconds)
    {
        byte[] query = DnsMessage.Query(1, "x.example", DnsType.A);
        DnsAnswer answer = new(rcode,
            [.. Enumerable.Range(1, records).Select(i => DnsRecord.A("x.example", IPAddress.Parse($"192.0.2.{i}"), ttl + (uint)i - 1))],
            soaMinimum is uint minimum ? [DnsRecord.Soa("example", "ns.example", "h.example", 1, 1, 1, 1, minimum, 60)] : [],
            [], false);
        byte[] packet = Respond(query, answer);

        Assert.True(UpstreamResponse.TryRead(packet, 0, out UpstreamResponse? response), what);
        Assert.Equal(TimeSpan.FromSeconds(seconds), response!.Lifetime);
    }

    [Fact]
    public void UpstreamResponse_TryRead_EveryTruncationRejectedWithoutThrowing()
    {
        byte[] query = DnsMessage.Query(1, "x.example", DnsType.A, 1232);
        byte[] packet = Respond(query, new DnsAnswer(DnsRcode.NoError, [DnsRecord.A("x.example", IPAddress.Parse("192.0.2.1"), 60)],
            [DnsRecord.Soa("example", "ns.example", "h.example", 1, 1, 1, 1, 5, 60)], [], false));

        Assert.True(UpstreamResponse.TryRead(packet, 0, out _));
        for (int length = 0; length < packet.Length; length++)
        {
            Assert.False(UpstreamResponse.TryRead(packet.AsSpan(0, length), 0, out _), $"length {length}");
        }
        var random = new Random(8);
        var garbage = new byte[300];
        for (int i = 0; i < 2000; i++)
        {
            random.NextBytes(garbage);
            UpstreamResponse.TryRead(garbage.AsSpan(0, random.Next(garbage.Length)), 0, out _);
        }
    }

    private static byte[] Respond(byte[] query, DnsAnswer answer)
    {
        Span<char> name = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(query, name, out DnsRequest request));
        var response = new byte[65535];
        return response[..DnsResponseWriter.Write(request, answer, response, 65535)];
    }
}
