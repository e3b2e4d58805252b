using System.Net;
using System.Net.Sockets;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;
using Berth.Node.Proxy.Userspace.Udp;
using Microsoft.Extensions.Time.Testing;
using static Berth.Node.Tests.Proxy.Userspace.Udp.UdpFixtures;

namespace Berth.Node.Tests.Proxy.Userspace.Udp;

public sealed class UdpProxyTests
{
    private static readonly TimeSpan s_idle = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Apply_DatagramToFrontend_EndpointAnswersThroughFrontend()
    {
        await using var b1 = new EchoEndpoint("b1");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        Assert.Empty(proxy.Apply([port.With([frontend], b1.Info)]));

        using var client = new UdpTestClient();
        Assert.Equal("b1|hello", await client.AskAsync(frontend, "hello"));
        Assert.Equal("b1|again", await client.AskAsync(frontend, "again"));

        await WaitUntilAsync(() => Interlocked.Read(ref port.Stats.BytesIn) == 10);
        Assert.Equal(1, port.Stats.Connections);
        Assert.Equal(1, port.Stats.Active);
        Assert.Equal(16, port.Stats.BytesOut);
        Assert.Equal(0, port.Stats.Refused);
    }

    [Fact]
    public async Task Apply_TwoClients_RoundRobinSpreadsThemAndEachStaysOnItsEndpoint()
    {
        await using var b1 = new EchoEndpoint("b1");
        await using var b2 = new EchoEndpoint("b2");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info, b2.Info)]);

        using var first = new UdpTestClient();
        using var second = new UdpTestClient();
        string firstEndpoint = Answerer(await first.AskAsync(frontend, "x"));
        string secondEndpoint = Answerer(await second.AskAsync(frontend, "x"));
        Assert.NotEqual(firstEndpoint, secondEndpoint);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(firstEndpoint, Answerer(await first.AskAsync(frontend, "x")));
            Assert.Equal(secondEndpoint, Answerer(await second.AskAsync(frontend, "x")));
        }
        Assert.Equal(2, port.Stats.Connections);
        Assert.Equal(2, port.Stats.Active);
    }

    [Fact]
    public async Task IdleFlow_ClosedAfterUdpIdleTimeoutWithoutTraffic_NextDatagramPicksAgain()
    {
        await using var b1 = new EchoEndpoint("b1");
        await using var b2 = new EchoEndpoint("b2");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info, b2.Info)]);
        using var client = new UdpTestClient();
        string picked = Answerer(await client.AskAsync(frontend, "x"));

        // Traffic at half the timeout keeps the flow: idle is counted from the last datagram, not the first.
        _time.Advance(s_idle / 2);
        Assert.Equal(picked, Answerer(await client.AskAsync(frontend, "x")));
        _time.Advance(s_idle / 2);
        Assert.Equal(1, port.Stats.Active);

        _time.Advance(s_idle / 2);
        Assert.Equal(0, port.Stats.Active);
        Assert.NotEqual(picked, Answerer(await client.AskAsync(frontend, "x")));
        Assert.Equal(2, port.Stats.Connections);
    }

    [Fact]
    public async Task Apply_FlowsEndpointRemoved_FlowClosedAtOnceAndNextDatagramGoesToRemainingEndpoint()
    {
        await using var b1 = new EchoEndpoint("b1");
        await using var b2 = new EchoEndpoint("b2");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info, b2.Info)]);
        using var client = new UdpTestClient();
        string picked = Answerer(await client.AskAsync(frontend, "x"));
        EchoEndpoint remaining = picked == "b1" ? b2 : b1;

        // Both endpoints still answer: only the flush can move the client.
        proxy.Apply([port.With([frontend], remaining.Info)]);
        Assert.Equal(0, port.Stats.Active);
        Assert.Equal(remaining.Name, Answerer(await client.AskAsync(frontend, "x")));
        Assert.Equal(2, port.Stats.Connections);
    }

    [Fact]
    public async Task Apply_EndpointStaysWithOtherConditions_FlowKept()
    {
        await using var b1 = new EchoEndpoint("b1");
        await using var b2 = new EchoEndpoint("b2");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info, b2.Info)]);
        using var client = new UdpTestClient();
        string picked = Answerer(await client.AskAsync(frontend, "x"));

        // Terminating but still serving and still a candidate (all endpoints terminating): the flow goes on.
        proxy.Apply([port.With([frontend], b1.Info with { Ready = false, Terminating = true }, b2.Info with { Ready = false, Terminating = true })]);
        Assert.Equal(1, port.Stats.Active);
        Assert.Equal(picked, Answerer(await client.AskAsync(frontend, "x")));
        Assert.Equal(1, port.Stats.Connections);
    }

    [Fact]
    public async Task Datagram_NoEndpoints_DroppedAndCountedRefused()
    {
        await using var b1 = new EchoEndpoint("b1");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        Assert.Empty(proxy.Apply([port.With([frontend])]));
        using var client = new UdpTestClient();

        await client.SendAsync(frontend, "dropped");
        await WaitUntilAsync(() => Interlocked.Read(ref port.Stats.Refused) == 1);
        Assert.Equal(0, port.Stats.Connections);

        proxy.Apply([port.With([frontend], b1.Info)]);
        Assert.Equal("b1|served", await client.AskAsync(frontend, "served"));
        Assert.Equal(1, port.Stats.Refused);
    }

    [Fact]
    public async Task Datagram_LoadBalancerSourceRanges_OthersDroppedOnTheLoadBalancerAddressOnly()
    {
        await using var b1 = new EchoEndpoint("b1");
        using var allowed = new UdpTestClient();
        using var other = new UdpTestClient();
        var port = new ServicePort(_time, Service("echo", sourceRanges: [new IPNetwork(allowed.EndPoint.Address, 32)]));
        Frontend loadBalancer = NewFrontend(FrontendKind.LoadBalancer);
        Frontend clusterIP = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([loadBalancer, clusterIP], b1.Info)]);

        await other.SendAsync(loadBalancer, "dropped");
        await WaitUntilAsync(() => Interlocked.Read(ref port.Stats.Refused) == 1);
        Assert.Equal("b1|lb", await allowed.AskAsync(loadBalancer, "lb"));
        Assert.Equal("b1|cluster", await other.AskAsync(clusterIP, "cluster"));
        Assert.Equal(2, port.Stats.Connections);
    }

    [Fact]
    public async Task Apply_FrontendAddressTaken_ReportedWhileOthersServeAndRetriedOnNextApply()
    {
        await using var b1 = new EchoEndpoint("b1");
        var port = new ServicePort(_time, Service("echo"));
        Frontend taken = NewFrontend();
        Frontend free = NewFrontend();
        var occupier = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        occupier.Bind(taken.EndPoint);
        await using var proxy = new UdpProxy(Options(_time));
        RouteProgram program = port.With([taken, free], b1.Info);

        Assert.Equal([new BindFailure(taken, port.Service.Name, "Address already in use")], proxy.Apply([program]));
        using var client = new UdpTestClient();
        Assert.Equal("b1|free", await client.AskAsync(free, "free"));

        occupier.Dispose();
        Assert.Empty(proxy.Apply([program]));
        Assert.Equal("b1|taken", await client.AskAsync(taken, "taken"));
        Assert.Equal("b1|free", await client.AskAsync(free, "free"));
    }

    [Fact]
    public async Task Apply_SameFrontendInTwoServicePorts_SecondReported()
    {
        await using var b1 = new EchoEndpoint("b1");
        var first = new ServicePort(_time, Service("first"));
        var second = new ServicePort(_time, Service("second"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));

        Assert.Equal([new BindFailure(frontend, second.Service.Name, "Address already in use")],
            proxy.Apply([first.With([frontend], b1.Info), second.With([frontend], b1.Info)]));
        using var client = new UdpTestClient();
        Assert.Equal("b1|x", await client.AskAsync(frontend, "x"));
        Assert.Equal(1, first.Stats.Connections);
    }

    [Fact]
    public async Task Flow_LoopbackClient_EndpointSeesClientAddress()
    {
        await using var b1 = new EchoEndpoint("b1");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info)]);
        using var client = new UdpTestClient();

        await client.AskAsync(frontend, "who");
        Assert.Equal(client.EndPoint.Address, Assert.Single(b1.Senders).Address);
    }

    [Fact]
    public async Task Flow_EndpointPortClosed_IcmpUnreachableClosesFlowAndNextDatagramGoesToLiveEndpoint()
    {
        await using var b1 = new EchoEndpoint("b1");
        await using var b2 = new EchoEndpoint("b2");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info, b2.Info)]);
        using var client = new UdpTestClient();
        string picked = Answerer(await client.AskAsync(frontend, "x"));
        EchoEndpoint dying = picked == "b1" ? b1 : b2;
        EchoEndpoint live = picked == "b1" ? b2 : b1;

        // The pod exits, its slice not updated yet: the kernel answers with port unreachable.
        await dying.DisposeAsync();
        await client.SendAsync(frontend, "lost");
        await WaitUntilAsync(() => Interlocked.Read(ref port.Stats.Active) == 0);

        Assert.Equal(live.Name, Answerer(await client.AskAsync(frontend, "x")));
        Assert.Equal(2, port.Stats.Connections);
        Assert.Equal(1, port.Stats.Retried);
    }

    [Fact]
    public async Task Flow_RefusedWithClientIPAffinity_NextPickSkipsTheRefusedEndpoint()
    {
        await using var live = new EchoEndpoint("live");
        IPAddress deadAddress = NextAddress();
        EndpointInfo dead = Endpoint(new IPEndPoint(deadAddress, FreePort(deadAddress)));
        var port = new ServicePort(_time, Service("echo", affinity: TimeSpan.FromHours(3)));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], dead)]);
        using var client = new UdpTestClient();
        await client.SendAsync(frontend, "lost");
        await WaitUntilAsync(() => Interlocked.Read(ref port.Stats.Connections) == 1 && Interlocked.Read(ref port.Stats.Active) == 0);

        // Affinity still names the dead endpoint, a candidate still: only the refusal steers the client away.
        proxy.Apply([port.With([frontend], dead, live.Info)]);
        Assert.Equal("live|x", await client.AskAsync(frontend, "x"));
        Assert.Equal(1, port.Stats.Retried);
        Assert.Equal("live|x", await client.AskAsync(frontend, "x"));
        Assert.Equal(2, port.Stats.Connections);
    }

    [Fact]
    public async Task Apply_FrontendGone_SocketClosedAndFlowsClosed()
    {
        await using var b1 = new EchoEndpoint("b1");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        await using var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info)]);
        using var client = new UdpTestClient();
        await client.AskAsync(frontend, "x");

        Assert.Empty(proxy.Apply([]));
        Assert.Equal(0, port.Stats.Active);
        using var rebind = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rebind.Bind(frontend.EndPoint);
    }

    [Fact]
    public async Task Apply_NonUdpFrontendsAndRoutes_Ignored()
    {
        await using var b1 = new EchoEndpoint("b1");
        Frontend tcp = NewFrontend() with { Protocol = TransportProtocol.Tcp };
        var port = new ServicePort(_time, Service("echo"));
        await using var proxy = new UdpProxy(Options(_time));

        Assert.Empty(proxy.Apply([port.With([tcp], b1.Info)]));
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        bound.Bind(tcp.EndPoint);
    }

    [Fact]
    public async Task DisposeAsync_Twice_ClosesEverythingOnce()
    {
        await using var b1 = new EchoEndpoint("b1");
        var port = new ServicePort(_time, Service("echo"));
        Frontend frontend = NewFrontend();
        var proxy = new UdpProxy(Options(_time));
        proxy.Apply([port.With([frontend], b1.Info)]);
        using var client = new UdpTestClient();
        await client.AskAsync(frontend, "x");

        await proxy.DisposeAsync();
        await proxy.DisposeAsync();
        Assert.Equal(0, port.Stats.Active);
        Assert.Throws<ObjectDisposedException>(() => proxy.Apply([]));
        using var rebind = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rebind.Bind(frontend.EndPoint);
    }

    private static string Answerer(string reply) => reply[..reply.IndexOf('|')];
}
