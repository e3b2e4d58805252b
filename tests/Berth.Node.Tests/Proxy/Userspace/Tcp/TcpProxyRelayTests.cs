using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Routing;
using Berth.Node.Proxy.Userspace.Tcp;
using static Berth.Node.Tests.Proxy.Userspace.Tcp.TcpNet;

namespace Berth.Node.Tests.Proxy.Userspace.Tcp;

public sealed class TcpProxyRelayTests
{
    [Fact]
    public async Task Apply_Echo_RelaysBothWaysAndCounts()
    {
        await using TestBackend backend = new(Address(1, 10), TestBackend.Echo);
        Frontend frontend = Frontend(Address(1, 1));
        RouteProgram program = Program("echo", [frontend], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options());
        Assert.Empty(proxy.Apply([program]));

        using (Socket client = await ConnectAsync(frontend))
        {
            Assert.Equal("hello\n", await EchoOnceAsync(client, "hello\n"));
            Assert.Equal("again\n", await EchoOnceAsync(client, "again\n"));
            Assert.Equal(1, Interlocked.Read(ref program.Stats.Active));
        }

        await EventuallyAsync(() => Interlocked.Read(ref program.Stats.Active) == 0, "the connection to close");
        Assert.Equal(1, program.Stats.Connections);
        Assert.Equal(12, program.Stats.BytesIn);
        Assert.Equal(12, program.Stats.BytesOut);
        Assert.Equal(0, program.Stats.Refused);
    }

    [Fact]
    public async Task Apply_IPv6_RelaysAndKeepsTheClientAddress()
    {
        await using TestBackend backend = new(IPAddress.IPv6Loopback, TestBackend.Reply("v6"));
        Frontend frontend = Frontend(IPAddress.IPv6Loopback);
        await using TcpProxy proxy = new(Options());
        Assert.Empty(proxy.Apply([Program("v6", [frontend], [backend.Endpoint])]));

        Assert.Equal("v6:ping\n", await AskAsync(frontend, from: IPAddress.IPv6Loopback));

        Assert.True(backend.Peers.TryDequeue(out IPEndPoint? peer));
        Assert.Equal(IPAddress.IPv6Loopback, peer.Address);
    }

    [Fact]
    public async Task Apply_TwoEndpoints_RoundRobin()
    {
        await using TestBackend a = new(Address(2, 10), TestBackend.Reply("a"));
        await using TestBackend b = new(Address(2, 11), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(2, 1));
        await using TcpProxy proxy = new(Options());
        proxy.Apply([Program("rr", [frontend], [a.Endpoint, b.Endpoint])]);

        List<string> answers = [];
        for (int i = 0; i < 4; i++)
        {
            answers.Add(await AskAsync(frontend));
        }

        Assert.Equal(2, answers.Count(answer => answer == "a:ping\n"));
        Assert.Equal(2, answers.Count(answer => answer == "b:ping\n"));
        Assert.NotEqual(answers[0], answers[1]);
    }

    [Fact]
    public async Task Connect_ClientIPAffinity_OneEndpointAndHitsCounted()
    {
        await using TestBackend a = new(Address(13, 10), TestBackend.Reply("a"));
        await using TestBackend b = new(Address(13, 11), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(13, 1));
        RouteProgram program = Program("sticky", [frontend], [a.Endpoint, b.Endpoint], affinity: TimeSpan.FromMinutes(10));
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);

        List<string> answers = [];
        for (int i = 0; i < 4; i++)
        {
            answers.Add(await AskAsync(frontend, from: Address(13, 9)));
        }

        Assert.Single(answers.Distinct());
        Assert.Equal(3, program.Stats.AffinityHits);
    }

    [Fact]
    public async Task Relay_ClientShutsDownWrite_GetsTheWholeReply()
    {
        // The endpoint answers only after the client's FIN: the proxy must pass the FIN on and keep relaying back.
        await using TestBackend backend = new(Address(3, 10), async socket =>
        {
            byte[] buffer = new byte[1024];
            int total = 0;
            int n;
            while ((n = await socket.ReceiveAsync(buffer)) > 0)
            {
                total += n;
            }
            await socket.SendAsync(Encoding.ASCII.GetBytes($"received {total} bytes"));
        });
        Frontend frontend = Frontend(Address(3, 1));
        RouteProgram program = Program("halfclose", [frontend], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);

        using Socket client = await ConnectAsync(frontend);
        await client.SendAsync(Encoding.ASCII.GetBytes("hello"));
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("received 5 bytes", await ReadToEndAsync(client));
        await EventuallyAsync(() => Interlocked.Read(ref program.Stats.Active) == 0, "the connection to close");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64 * 1024)]
    public async Task Relay_LargeTransferToSlowReader_ArrivesWhole(int spliceThreshold)
    {
        const int Size = 20 * 1024 * 1024;
        int subnet = spliceThreshold == 0 ? 4 : 5;
        await using TestBackend backend = new(Address(subnet, 10), TestBackend.Echo);
        Frontend frontend = Frontend(Address(subnet, 1));
        RouteProgram program = Program("bulk", [frontend], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options(spliceThreshold));
        proxy.Apply([program]);

        byte[] data = new byte[Size];
        new Random(7).NextBytes(data);
        using Socket client = await ConnectAsync(frontend);
        using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(60));
        Task sending = Task.Run(async () =>
        {
            for (int offset = 0; offset < Size; offset += 100_000)
            {
                await client.SendAsync(data.AsMemory(offset, Math.Min(100_000, Size - offset)), SocketFlags.None, timeout.Token);
            }
            client.Shutdown(SocketShutdown.Send);
        });

        // Not reading at first fills every buffer on the way back, so the proxy must hold reads on both sides;
        // then reading in small slow bites keeps its writes partial.
        await Task.Delay(500);
        using IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[16 * 1024];
        long received = 0;
        int reads = 0;
        while (true)
        {
            int n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                break;
            }
            hash.AppendData(buffer, 0, n);
            received += n;
            if (++reads % 64 == 0 && received < Size / 4)
            {
                await Task.Delay(5);
            }
        }
        await sending;

        Assert.Equal(Size, received);
        Assert.Equal(SHA256.HashData(data), hash.GetHashAndReset());
        await EventuallyAsync(() => Interlocked.Read(ref program.Stats.Active) == 0, "the connection to close");
        Assert.Equal(Size, program.Stats.BytesIn);
        Assert.Equal(Size, program.Stats.BytesOut);
    }

    [Fact]
    public async Task Relay_ManyConcurrentConnections_EveryByteEchoed()
    {
        // Both loops, many connections interleaving, chunks of every size: copying, splicing, partial writes and
        // connections that use up their read budget all at once.
        const int Connections = 32;
        const int Size = 1024 * 1024;
        await using TestBackend backend = new(Address(15, 10), TestBackend.Echo);
        Frontend frontend = Frontend(Address(15, 1));
        RouteProgram program = Program("many", [frontend], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);
        using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(60));

        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async seed =>
        {
            byte[] data = new byte[Size];
            Random random = new(seed);
            random.NextBytes(data);
            using Socket client = await ConnectAsync(frontend);
            Task sending = Task.Run(async () =>
            {
                for (int offset = 0; offset < Size;)
                {
                    int chunk = Math.Min(random.Next(1, 200_000), Size - offset);
                    await client.SendAsync(data.AsMemory(offset, chunk), SocketFlags.None, timeout.Token);
                    offset += chunk;
                }
                client.Shutdown(SocketShutdown.Send);
            });
            byte[] received = new byte[Size + 1];
            int total = 0;
            int n;
            while ((n = await client.ReceiveAsync(received.AsMemory(total), SocketFlags.None, timeout.Token)) > 0)
            {
                total += n;
            }
            await sending;
            Assert.Equal(Size, total);
            Assert.True(data.AsSpan().SequenceEqual(received.AsSpan(0, total)), $"connection {seed} echoed other bytes");
        }));

        await EventuallyAsync(() => Interlocked.Read(ref program.Stats.Active) == 0, "every connection to close");
        Assert.Equal(Connections, program.Stats.Connections);
        Assert.Equal((long)Connections * Size, program.Stats.BytesIn);
        Assert.Equal((long)Connections * Size, program.Stats.BytesOut);
    }

    [Fact]
    public async Task Accept_BurstOfConnections_SpreadOverTheLoops()
    {
        // The listener wakes the first idle loop every time; without hand-off all of these could land on one.
        await using TestBackend backend = new(Address(16, 10), TestBackend.Echo);
        Frontend frontend = Frontend(Address(16, 1));
        RouteProgram program = Program("spread", [frontend], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);

        List<Socket> clients = [];
        try
        {
            for (int i = 0; i < 12; i++)
            {
                Socket client = await ConnectAsync(frontend);
                clients.Add(client);
                Assert.Equal("x", await EchoOnceAsync(client, "x"));
            }

            int[] loads = [.. proxy.Loops.ToArray().Select(loop => loop.Load)];
            Assert.Equal(12, loads.Sum());
            Assert.InRange(loads.Max() - loads.Min(), 0, 3);
        }
        finally
        {
            clients.ForEach(client => client.Dispose());
        }
    }

    [Fact]
    public async Task Connect_FirstEndpointRefuses_ServedByTheOtherAndRetriedCounted()
    {
        IPEndPoint dead = new(Address(6, 10), FreePort());
        await using TestBackend live = new(Address(6, 11), TestBackend.Reply("live"));
        Frontend frontend = Frontend(Address(6, 1));
        RouteProgram program = Program("retry", [frontend], [new(dead.Address, dead.Port) { Ready = true }, live.Endpoint]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);

        for (int i = 0; i < 4; i++)
        {
            Assert.Equal("live:ping\n", await AskAsync(frontend));
        }

        // However the balancer orders them, the dead endpoint came first at least once (it is first in the list).
        Assert.InRange(program.Stats.Retried, 1, 4);
        Assert.Equal(4, program.Stats.Connections);
        Assert.Equal(0, program.Stats.Refused);
    }

    [Fact]
    public async Task Connect_EveryEndpointRefuses_ClientResetAndRefusedCounted()
    {
        IPEndPoint dead = new(Address(7, 10), FreePort());
        Frontend frontend = Frontend(Address(7, 1));
        RouteProgram program = Program("alldead", [frontend], [new(dead.Address, dead.Port) { Ready = true }]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);

        Assert.Equal("", await AskAsync(frontend));

        await EventuallyAsync(() => Interlocked.Read(ref program.Stats.Refused) == 1, "the refusal to be counted");
        Assert.Equal(0, program.Stats.Connections);
        Assert.Equal(0, program.Stats.Active);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Replay_EndpointEndsBeforeReplying_RequestServedByAnother(bool reset)
    {
        int subnet = reset ? 8 : 9;
        await using TestBackend dying = new(Address(subnet, 10), TestBackend.Vanish(reset));
        await using TestBackend live = new(Address(subnet, 11), TestBackend.Reply("live"));
        Frontend frontend = Frontend(Address(subnet, 1));
        RouteProgram program = Program("replay", [frontend], [dying.Endpoint, live.Endpoint]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);

        for (int i = 0; i < 4; i++)
        {
            Assert.Equal($"live:request {i}\n", await AskAsync(frontend, $"request {i}\n"));
        }

        // Every request the dying endpoint took was replayed, once.
        Assert.NotEmpty(dying.Peers);
        Assert.Equal(dying.Peers.Count, program.Stats.Retried);
        Assert.Equal(4, program.Stats.Connections);
    }

    [Fact]
    public async Task Replay_EndpointClosesAfterTheClientFinished_NotReplayed()
    {
        // Connect, send nothing, shut down: the endpoint's silent close answers that; it is no failure to replay.
        await using TestBackend silent = new(Address(14, 10), TestBackend.Vanish(reset: false));
        await using TestBackend other = new(Address(14, 11), TestBackend.Reply("other"));
        Frontend frontend = Frontend(Address(14, 1));
        RouteProgram program = Program("silent", [frontend], [silent.Endpoint, other.Endpoint]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([program]);

        using Socket client = await ConnectAsync(frontend);
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("", await ReadToEndAsync(client));
        await EventuallyAsync(() => Interlocked.Read(ref program.Stats.Active) == 0, "the connection to close");
        Assert.Equal(0, program.Stats.Retried);
        Assert.Equal(0, program.Stats.Refused);
        Assert.Single(silent.Peers);
        Assert.Empty(other.Peers);
    }

    [Fact]
    public async Task Connect_LoopbackClient_EndpointSeesTheClientAddress()
    {
        await using TestBackend backend = new(Address(10, 10), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(10, 1));
        await using TcpProxy proxy = new(Options());
        proxy.Apply([Program("clientip", [frontend], [backend.Endpoint])]);

        Assert.Equal("b:ping\n", await AskAsync(frontend, from: Address(10, 9)));

        Assert.True(backend.Peers.TryDequeue(out IPEndPoint? peer));
        Assert.Equal(Address(10, 9), peer.Address);
    }

    [Fact]
    public async Task Accept_LoadBalancerSourceRanges_RefuseOthersAndServeTheListed()
    {
        await using TestBackend backend = new(Address(11, 10), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(11, 1), FrontendKind.LoadBalancer);
        RouteProgram outside = Program("lb", [frontend], [backend.Endpoint], [IPNetwork.Parse("10.0.0.0/8")]);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([outside]);

        Assert.Equal("", await AskAsync(frontend, from: Address(11, 9)));
        Assert.Equal(1, outside.Stats.Refused);
        Assert.Empty(backend.Peers);

        RouteProgram inside = Program("lb", [frontend], [backend.Endpoint], [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("127.77.11.0/24")]);
        proxy.Apply([inside]);
        Assert.Equal("b:ping\n", await AskAsync(frontend, from: Address(11, 9)));
        Assert.Equal(0, inside.Stats.Refused);
    }

    [Fact]
    public async Task Accept_SourceRangesOnAClusterIP_NotApplied()
    {
        // loadBalancerSourceRanges restrict load-balancer traffic only; the Service's ClusterIP stays open.
        await using TestBackend backend = new(Address(12, 10), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(12, 1));
        await using TcpProxy proxy = new(Options());
        proxy.Apply([Program("lbcluster", [frontend], [backend.Endpoint], ImmutableArray.Create(IPNetwork.Parse("10.0.0.0/8")))]);

        Assert.Equal("b:ping\n", await AskAsync(frontend, from: Address(12, 9)));
    }
}
