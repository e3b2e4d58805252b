using System.Buffers.Binary;
using System.Net;
using Berth.Node.Dns;
using Berth.Node.Dns.Cluster;
using Berth.Node.Dns.Forwarding;
using Berth.Node.Dns.Wire;
using Berth.Node.Tests.Dns.Forwarding;
using static Berth.Node.Tests.Dns.Cluster.ZoneObjects;

namespace Berth.Node.Tests.Dns;

public sealed class DnsQueryHandlerTests : IAsyncLifetime
{
    private readonly FakeUpstream _upstream = new();
    private DnsForwarder? _forwarder;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _forwarder?.Dispose();
        await _upstream.DisposeAsync();
    }

    /// <summary>A zone with quote.ns1 (127.96.0.20), api.other (127.96.0.21) and a pod 127.244.0.5 in ns1.</summary>
    internal static ZoneSnapshot TestZone()
    {
        ClusterZone zone = Zone();
        zone.ApplyService(ClusterIP("ns1", "quote", ["127.96.0.20"], Port("http", "TCP", 80)));
        zone.ApplyService(ClusterIP("other", "api", ["127.96.0.21"], Port("http", "TCP", 80)));
        zone.ApplyPod(Pod("ns1", "client", "127.244.0.5"));
        zone.ApplyPod(Pod("other", "stranger", "127.244.0.6"));
        return zone.Snapshot();
    }

    private DnsQueryHandler Handler(ZoneSnapshot? zone, params string[] hostSearches)
    {
        _forwarder = new DnsForwarder([_upstream.EndPoint]);
        return new DnsQueryHandler(() => zone, _forwarder, "cluster.local", hostSearches);
    }

    /// <summary>Handle, then HandleAsync when it must wait; null when nothing is sent.</summary>
    internal static async Task<DnsMessage?> AskAsync(DnsQueryHandler handler, byte[] query, IPAddress? client = null, bool tcp = false)
    {
        var response = new byte[65536];
        DnsHandling handling = handler.Handle(query, tcp, response, out int written);
        if (handling == DnsHandling.Pending)
        {
            written = await handler.HandleAsync(query, client ?? IPAddress.Loopback, tcp, response, CancellationToken.None);
        }
        else if (handling == DnsHandling.Dropped)
        {
            return null;
        }
        return written == 0 ? null : TestClient.Parse(response.AsSpan(0, written));
    }

    [Fact]
    public async Task Handle_BeforeSync_ServFail()
    {
        DnsQueryHandler handler = Handler(zone: null);

        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(7, "quote.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal(DnsRcode.ServFail, response!.Rcode);
        Assert.Equal(7, response.Id);
        Assert.Equal(0, _upstream.Queries);
        Assert.Equal(1, handler.Answers(DnsRcode.ServFail));
    }

    [Fact]
    public void Handle_ClusterName_AnsweredOnTheSpot()
    {
        DnsQueryHandler handler = Handler(TestZone());
        var response = new byte[512];

        DnsHandling handling = handler.Handle(DnsMessage.Query(9, "Quote.NS1.svc.cluster.local", DnsType.A), tcp: false, response, out int written);

        Assert.Equal(DnsHandling.Answered, handling);
        DnsMessage message = TestClient.Parse(response.AsSpan(0, written));
        Assert.Equal(["127.96.0.20"], TestClient.Addresses(message));
        Assert.True(message.Authoritative);
        Assert.Equal("Quote.NS1.svc.cluster.local", message.Questions[0].Name);
        Assert.Equal(1, handler.Answers(DnsRcode.NoError));
        Assert.Equal(0, _upstream.Queries);
    }

    public static TheoryData<string, byte[], DnsRcode?> Malformed => new()
    {
        // QDCOUNT 1 but the question stops inside its name.
        { "truncated question", [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x05, (byte)'q', (byte)'u'], DnsRcode.FormErr },
        { "no question", [0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], DnsRcode.FormErr },
        { "response (QR set)", [0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1], null },
        { "shorter than a header", [0x12, 0x34, 0x01], null },
        { "empty", [], null },
        // Opcode 2 (STATUS).
        { "opcode STATUS", [0x12, 0x34, 0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1], DnsRcode.NotImp },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Handle_BadPacket_ErrorOrNothing(string what, byte[] packet, DnsRcode? expected)
    {
        DnsQueryHandler handler = Handler(TestZone());

        DnsMessage? response = await AskAsync(handler, packet);

        Assert.True(expected == response?.Rcode, $"{what}: {response?.Rcode}");
        if (response is not null)
        {
            Assert.Equal(0x1234, response.Id);
        }
        else
        {
            Assert.Equal(1, handler.Dropped);
        }
        Assert.Equal(0, _upstream.Queries);
    }

    [Fact]
    public async Task Handle_EdnsVersion1_BadVers()
    {
        DnsQueryHandler handler = Handler(TestZone());
        byte[] query = DnsMessage.Query(3, "quote.ns1.svc.cluster.local", DnsType.A, 1232);
        query[^5] = 1; // OPT TTL: extended rcode, version, flags

        DnsMessage? response = await AskAsync(handler, query);

        Assert.Equal(DnsRcode.BadVers, response!.Rcode);
    }

    [Theory]
    [InlineData(DnsType.AXFR, 1)]
    [InlineData(DnsType.IXFR, 1)]
    [InlineData(DnsType.TXT, 3)]
    [InlineData(DnsType.A, 255)]
    public async Task Handle_TransferOrNotClassIn_Refused(DnsType type, ushort @class)
    {
        DnsQueryHandler handler = Handler(TestZone());
        byte[] query = DnsMessage.Query(3, "version.bind", type);
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(query.Length - 2), @class);

        DnsMessage? response = await AskAsync(handler, query);

        Assert.Equal(DnsRcode.Refused, response!.Rcode);
        Assert.Equal(0, _upstream.Queries);
    }

    [Fact]
    public async Task Handle_NxdomainOutsideSearchPath_NoAutopath()
    {
        DnsQueryHandler handler = Handler(TestZone());
        var response = new byte[512];

        // "nope.svc.cluster.local" is no pod's first search domain: answered as it is.
        DnsHandling handling = handler.Handle(DnsMessage.Query(1, "nope.svc.cluster.local", DnsType.A), tcp: false, response, out int written);

        Assert.Equal(DnsHandling.Answered, handling);
        Assert.Equal(DnsRcode.NXDomain, TestClient.Parse(response.AsSpan(0, written)).Rcode);
        await Task.Yield();
        Assert.Equal(0, _upstream.Queries);
    }

    [Fact]
    public async Task ExternalNameOutsideTheZone_CnameThenTheUpstreamsAddress()
    {
        _upstream.AddA("www.example.org", 60, "192.0.2.11");
        ClusterZone zone = Zone();
        zone.ApplyService(External("ns1", "search", "www.example.org"));
        DnsQueryHandler handler = Handler(zone.Snapshot());

        DnsMessage? a = await AskAsync(handler, DnsMessage.Query(3, "search.ns1.svc.cluster.local", DnsType.A));
        DnsMessage? cname = await AskAsync(handler, DnsMessage.Query(4, "search.ns1.svc.cluster.local", DnsType.CNAME));

        // CoreDNS's kubernetes plugin resolves the target upstream: a stub resolver never chases a CNAME itself.
        Assert.Equal(DnsRcode.NoError, a!.Rcode);
        Assert.Equal((DnsType.CNAME, "search.ns1.svc.cluster.local"), (a.Answers[0].Type, a.Answers[0].Name));
        Assert.Equal("www.example.org", TargetOf(a.Answers[0]));
        Assert.Equal(["192.0.2.11"], TestClient.Addresses(a));
        // Asked for the CNAME itself: the zone's record alone, nothing sent upstream for it.
        Assert.Equal([DnsType.CNAME], cname!.Answers.Select(r => r.Type));
        Assert.Equal(1, _upstream.Asked("www.example.org"));
    }

    [Fact]
    public async Task Autopath_ExternalName_CnameToUpstreamAnswer()
    {
        _upstream.AddA("google.com", 120, "192.0.2.7");
        DnsQueryHandler handler = Handler(TestZone());

        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(5, "google.com.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal(DnsRcode.NoError, response!.Rcode);
        Assert.Equal("google.com.ns1.svc.cluster.local", response.Questions[0].Name);
        DnsRecord cname = response.Answers[0];
        Assert.Equal((DnsType.CNAME, "google.com.ns1.svc.cluster.local"), (cname.Type, cname.Name));
        Assert.Equal(120u, cname.Ttl);
        Assert.Equal(["192.0.2.7"], TestClient.Addresses(response));
        Assert.Equal("google.com", response.Answers[1].Name);
        // svc.cluster.local and cluster.local were the zone's to answer: one question left the node.
        Assert.Equal(1, _upstream.Queries);
        Assert.Equal(1, handler.AutopathHits);
    }

    [Fact]
    public async Task Autopath_HostSearchDomain_WalkedBeforeTheBareName()
    {
        _upstream.AddA("db.corp.example", 60, "192.0.2.9");
        DnsQueryHandler handler = Handler(TestZone(), "lab.example", "corp.example.");

        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(5, "db.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal(["192.0.2.9"], TestClient.Addresses(response!));
        Assert.Equal("db.corp.example", response!.Answers[0] is { Type: DnsType.CNAME } c ? TargetOf(c) : null);
        Assert.Equal(1, _upstream.Asked("db.lab.example"));
        Assert.Equal(1, _upstream.Asked("db.corp.example"));
        Assert.Equal(0, _upstream.Asked("db"));
    }

    [Fact]
    public async Task Autopath_ServiceInAnotherNamespace_CnameFromTheZone()
    {
        DnsQueryHandler handler = Handler(TestZone());

        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(5, "api.other.ns1.svc.cluster.local", DnsType.A), IPAddress.Parse("127.244.0.5"));

        Assert.Equal(DnsRcode.NoError, response!.Rcode);
        Assert.Equal("api.other.svc.cluster.local", TargetOf(response.Answers[0]));
        Assert.Equal(["127.96.0.21"], TestClient.Addresses(response));
        Assert.Equal(0, _upstream.Queries);
    }

    [Fact]
    public async Task Autopath_PodOfAnotherNamespace_PlainNxdomain()
    {
        _upstream.AddA("google.com", 120, "192.0.2.7");
        DnsQueryHandler handler = Handler(TestZone());

        // 127.244.0.6 is a pod in "other": ns1.svc.cluster.local is not its search domain.
        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(5, "google.com.ns1.svc.cluster.local", DnsType.A), IPAddress.Parse("127.244.0.6"));

        Assert.Equal(DnsRcode.NXDomain, response!.Rcode);
        Assert.Empty(response.Answers);
        Assert.Equal(0, _upstream.Queries);
    }

    [Fact]
    public async Task Autopath_NothingFound_OriginalNxdomainWithSoa()
    {
        DnsQueryHandler handler = Handler(TestZone());

        DnsMessage? response = await AskAsync(handler, DnsMessage.Query(5, "nowhere.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal(DnsRcode.NXDomain, response!.Rcode);
        Assert.Equal("nowhere.ns1.svc.cluster.local", response.Questions[0].Name);
        Assert.Equal(DnsType.SOA, Assert.Single(response.Authority).Type);
        Assert.Equal(1, _upstream.Asked("nowhere"));
        Assert.Equal(0, handler.AutopathHits);
    }

    [Fact]
    public async Task Forward_OutsideZone_UpstreamAnswerThenCacheHitOnTheSpot()
    {
        _upstream.AddA("example.com", 300, "192.0.2.1");
        DnsQueryHandler handler = Handler(TestZone());

        DnsMessage? first = await AskAsync(handler, DnsMessage.Query(11, "example.com", DnsType.A));
        var response = new byte[512];
        DnsHandling second = handler.Handle(DnsMessage.Query(12, "EXAMPLE.com", DnsType.A), tcp: false, response, out int written);

        Assert.Equal(["192.0.2.1"], TestClient.Addresses(first!));
        Assert.Equal(DnsHandling.Answered, second);
        DnsMessage cached = TestClient.Parse(response.AsSpan(0, written));
        Assert.Equal(12, cached.Id);
        Assert.Equal("EXAMPLE.com", cached.Questions[0].Name);
        Assert.False(cached.Authoritative);
        Assert.Equal(["192.0.2.1"], TestClient.Addresses(cached));
        Assert.Equal(1, _upstream.Queries);
        Assert.Equal((1L, 1L), (handler.Forwarded, handler.CacheHits));
    }

    private static string TargetOf(DnsRecord cname) => DnsRdataText(cname.Data);

    /// <summary>An uncompressed name in RDATA as text.</summary>
    private static string DnsRdataText(byte[] data)
    {
        var labels = new List<string>();
        for (int i = 0; data[i] != 0; i += data[i] + 1)
        {
            labels.Add(System.Text.Encoding.ASCII.GetString(data, i + 1, data[i]));
        }
        return string.Join('.', labels);
    }
}
