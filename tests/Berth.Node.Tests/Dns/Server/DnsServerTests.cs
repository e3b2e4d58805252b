using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Berth.Node.Dns;
using Berth.Node.Dns.Cluster;
using Berth.Node.Dns.Forwarding;
using Berth.Node.Dns.Server;
using Berth.Node.Dns.Wire;
using Berth.Node.Tests.Dns.Forwarding;

namespace Berth.Node.Tests.Dns.Server;

public sealed class DnsServerTests : IAsyncLifetime
{
    private readonly FakeUpstream _upstream = new();
    private readonly List<string> _log = [];
    private DnsForwarder? _forwarder;
    private DnsServer? _server;
    private ZoneSnapshot? _zone = DnsQueryHandlerTests.TestZone();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _forwarder?.Dispose();
        await _upstream.DisposeAsync();
    }

    private DnsQueryHandler Handler()
    {
        _forwarder ??= new DnsForwarder([_upstream.EndPoint]);
        return new DnsQueryHandler(() => Volatile.Read(ref _zone), _forwarder, "cluster.local", []);
    }

    private DnsServer Start(IPAddress? address = null, DnsServerLimits? limits = null)
    {
        _server = DnsServer.Start(new IPEndPoint(address ?? IPAddress.Loopback, 0), Handler(), m => { lock (_log) { _log.Add(m); } }, limits ?? new DnsServerLimits());
        return _server;
    }

    [Fact]
    public async Task Udp_ClusterName_Answered()
    {
        DnsServer server = Start();

        DnsMessage response = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal(["127.96.0.20"], TestClient.Addresses(response));
        Assert.Equal(0, _upstream.Queries);
    }

    [Fact]
    public async Task Tcp_SeveralQueriesOnOneConnection_AnsweredInOrder()
    {
        _upstream.AddA("example.com", 60, "192.0.2.1");
        DnsServer server = Start();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TestClient.Deadline);
        await socket.ConnectAsync(server.EndPoint, cts.Token);

        // Pipelined: all three sent before any answer is read; the forwarded one sits in the middle.
        await TestClient.SendFramedAsync(socket, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A), cts.Token);
        await TestClient.SendFramedAsync(socket, DnsMessage.Query(2, "example.com", DnsType.A), cts.Token);
        await TestClient.SendFramedAsync(socket, DnsMessage.Query(3, "api.other.svc.cluster.local", DnsType.A), cts.Token);
        var responses = new List<DnsMessage>();
        for (int i = 0; i < 3; i++)
        {
            responses.Add(TestClient.Parse(await TestClient.ReceiveFramedAsync(socket, cts.Token)));
        }

        Assert.Equal([1, 2, 3], responses.Select(r => (int)r.Id));
        Assert.Equal(["127.96.0.20"], TestClient.Addresses(responses[0]));
        Assert.Equal(["192.0.2.1"], TestClient.Addresses(responses[1]));
        Assert.Equal(["127.96.0.21"], TestClient.Addresses(responses[2]));
    }

    [Fact]
    public async Task Udp_Malformed_FormErrAndResponseDropped()
    {
        DnsServer server = Start();
        byte[] truncated = [0xAB, 0xCD, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x05, (byte)'q'];
        byte[] response = DnsMessage.Query(9, "quote.ns1.svc.cluster.local", DnsType.A);
        response[2] |= 0x80;

        DnsMessage formErr = TestClient.Parse((await TestClient.UdpRawAsync(server.EndPoint, truncated, TestClient.Deadline))!);
        // Nothing comes back for a response; a query after it on the same server still answers.
        byte[]? nothing = await TestClient.UdpRawAsync(server.EndPoint, response, TimeSpan.FromMilliseconds(300));
        DnsMessage after = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(10, "quote.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal((DnsRcode.FormErr, (ushort)0xABCD), (formErr.Rcode, formErr.Id));
        Assert.Null(nothing);
        Assert.Equal(DnsRcode.NoError, after.Rcode);
    }

    [Fact]
    public async Task Udp_BeforeSync_ServFailThenAnswers()
    {
        ZoneSnapshot synced = _zone!;
        _zone = null;
        DnsServer server = Start();

        DnsMessage before = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A));
        Volatile.Write(ref _zone, synced);
        DnsMessage after = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(2, "quote.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal(DnsRcode.ServFail, before.Rcode);
        Assert.Equal(["127.96.0.20"], TestClient.Addresses(after));
    }

    [Fact]
    public async Task Udp_LargeForwardedAnswer_TruncatedThenWholeOverTcp()
    {
        string[] addresses = [.. Enumerable.Range(1, 60).Select(i => $"198.51.100.{i}")];
        _upstream.AddA("big.example", 300, addresses);
        DnsServer server = Start();

        DnsMessage udp = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(1, "big.example", DnsType.A));
        DnsMessage tcp = await TestClient.TcpAsync(server.EndPoint, DnsMessage.Query(2, "big.example", DnsType.A));
        DnsMessage edns = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(3, "big.example", DnsType.A, 4096));

        Assert.True(udp.Truncated);
        Assert.Empty(udp.Answers);
        Assert.Equal(addresses, TestClient.Addresses(tcp));
        Assert.False(edns.Truncated);
        Assert.Equal(addresses, TestClient.Addresses(edns));
    }

    [Fact]
    public async Task Udp_Autopath_CnameAndUpstreamAnswerWithOneUpstreamQuery()
    {
        _upstream.AddA("google.com", 120, "192.0.2.7");
        DnsServer server = Start();

        DnsMessage response = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(1, "google.com.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal([DnsType.CNAME, DnsType.A], response.Answers.Select(r => r.Type));
        Assert.Equal(["192.0.2.7"], TestClient.Addresses(response));
        Assert.Equal(1, _upstream.Queries);
    }

    [Fact]
    public async Task Udp_IPv6_Answered()
    {
        DnsServer server = Start(IPAddress.IPv6Loopback);

        DnsMessage udp = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A));
        DnsMessage tcp = await TestClient.TcpAsync(server.EndPoint, DnsMessage.Query(2, "quote.ns1.svc.cluster.local", DnsType.A));

        Assert.Equal(["127.96.0.20"], TestClient.Addresses(udp));
        Assert.Equal(["127.96.0.20"], TestClient.Addresses(tcp));
    }

    [Fact]
    public async Task Udp_TenThousandQueriesFromFewSockets_AllAnswered()
    {
        _upstream.AddA("example.com", 300, "192.0.2.1");
        DnsServer server = Start();
        const int Clients = 4;
        const int PerClient = 2500;
        const int Window = 64;

        // Each client keeps up to 64 queries outstanding and resends what is unanswered after a quiet spell (UDP may
        // drop under load; what counts is that every ID gets its answer). Every 10th name is forwarded (cached).
        int[] answered = await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(server.EndPoint);
            var seen = new bool[PerClient];
            int received = 0, next = 0, rounds = 0;
            var buffer = new byte[4096];
            while (received < PerClient && rounds < 50)
            {
                while (next < PerClient && next - received < Window)
                {
                    string name = next % 10 == 0 ? "example.com" : "quote.ns1.svc.cluster.local";
                    await socket.SendAsync(DnsMessage.Query((ushort)next, name, DnsType.A), SocketFlags.None);
                    next++;
                }
                using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    int length = await socket.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
                    int id = BinaryPrimitives.ReadUInt16BigEndian(buffer);
                    Assert.Equal(0, buffer[3] & 0x0F);
                    if (!seen[id])
                    {
                        seen[id] = true;
                        received++;
                    }
                }
                catch (OperationCanceledException)
                {
                    rounds++;
                    for (int id = 0; id < next; id++)
                    {
                        if (!seen[id])
                        {
                            await socket.SendAsync(DnsMessage.Query((ushort)id, id % 10 == 0 ? "example.com" : "quote.ns1.svc.cluster.local", DnsType.A), SocketFlags.None);
                        }
                    }
                }
            }
            return received;
        })));

        Assert.All(answered, n => Assert.Equal(PerClient, n));
        Assert.Equal(1, _upstream.Queries);
    }

    [Fact]
    public async Task Tcp_BadFraming_ConnectionClosed()
    {
        DnsServer server = Start();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TestClient.Deadline);
        await socket.ConnectAsync(server.EndPoint, cts.Token);

        // A length of 3 cannot hold a header.
        await socket.SendAsync(new byte[] { 0, 3, 1, 2, 3 }, SocketFlags.None, cts.Token);
        // Closed with the rest of the bytes unread: the kernel resets rather than ends the connection.
        Assert.True(await IsClosedAsync(socket, cts.Token));
    }

    private static async Task<bool> IsClosedAsync(Socket socket, CancellationToken ct)
    {
        try
        {
            return await socket.ReceiveAsync(new byte[16], SocketFlags.None, ct) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    [Fact]
    public async Task Tcp_Idle_ConnectionClosed()
    {
        DnsServer server = Start(limits: new DnsServerLimits { TcpIdleTimeout = TimeSpan.FromMilliseconds(200) });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TestClient.Deadline);
        await socket.ConnectAsync(server.EndPoint, cts.Token);
        await TestClient.SendFramedAsync(socket, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A), cts.Token);
        await TestClient.ReceiveFramedAsync(socket, cts.Token);

        int read = await socket.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token);

        Assert.Equal(0, read);
    }

    [Fact]
    public async Task Tcp_OverConnectionLimit_Closed()
    {
        DnsServer server = Start(limits: new DnsServerLimits { MaxTcpConnections = 1 });
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TestClient.Deadline);
        await first.ConnectAsync(server.EndPoint, cts.Token);
        await TestClient.SendFramedAsync(first, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A), cts.Token);
        await TestClient.ReceiveFramedAsync(first, cts.Token);

        await second.ConnectAsync(server.EndPoint, cts.Token);
        int read = await second.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token);

        Assert.Equal(0, read);
        Assert.Equal(1, server.TcpConnections);
    }

    [Fact]
    public async Task Start_AddressInUse_ThrowsAndReleasesBoth()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var taken = (IPEndPoint)holder.LocalEndPoint!;

        var e = Assert.Throws<SocketException>(() => DnsServer.Start(taken, Handler(), _ => { }));

        Assert.Equal(SocketError.AddressAlreadyInUse, e.SocketErrorCode);
        // The TCP side was bound first and must be free again.
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.Bind(taken);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Start_SameEndpointTwice_SecondThrows()
    {
        DnsServer server = Start();

        var e = Assert.Throws<SocketException>(() => DnsServer.Start(server.EndPoint, Handler(), _ => { }));

        Assert.Equal(SocketError.AddressAlreadyInUse, e.SocketErrorCode);
        DnsMessage response = await TestClient.UdpAsync(server.EndPoint, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A));
        Assert.Equal(DnsRcode.NoError, response.Rcode);
    }

    [Fact]
    public async Task DisposeAsync_ThreadsEndAndPortRebindsExclusively()
    {
        DnsServer server = Start();
        IPEndPoint at = server.EndPoint;
        await TestClient.UdpAsync(at, DnsMessage.Query(1, "quote.ns1.svc.cluster.local", DnsType.A));
        Assert.Contains(ReceiveThreads(at.Port), name => name == $"dns{at.Port}-0");
        using (var open = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await open.ConnectAsync(at);
            await server.DisposeAsync();
            _server = null;
        }

        // Bound without SO_REUSEPORT: this fails while any socket of the server is left.
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(at);
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.Bind(at);
        Assert.Empty(ReceiveThreads(at.Port));
        Assert.Equal(0, server.TcpConnections);
    }

    /// <summary>The receive threads of the server on <paramref name="port"/>, by the name the kernel knows them by (.NET passes thread names on to it).</summary>
    private static List<string> ReceiveThreads(int port)
    {
        var names = new List<string>();
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                string name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                if (name.StartsWith($"dns{port}-", StringComparison.Ordinal))
                {
                    names.Add(name);
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }
        return names;
    }
}
