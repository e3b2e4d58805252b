using System.Net.Sockets;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;
using Berth.Node.Proxy.Userspace.Tcp;
using static Berth.Node.Tests.Proxy.Userspace.Tcp.TcpNet;

namespace Berth.Node.Tests.Proxy.Userspace.Tcp;

public sealed class TcpProxyLifecycleTests
{
    [Fact]
    public async Task Apply_NoEndpoints_RefusedUntilEndpointsCome()
    {
        await using TestBackend backend = new(Address(31, 10), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(31, 1));
        RouteProgram empty = Program("empty", [frontend], []);
        await using TcpProxy proxy = new(Options());

        Assert.Empty(proxy.Apply([empty]));
        await AssertRefusedAsync(frontend);

        Assert.Empty(proxy.Apply([WithEndpoints(empty, [backend.Endpoint], [backend.Endpoint])]));
        Assert.Equal("b:ping\n", await AskAsync(frontend));

        // And back: the listener stops listening again but keeps the port.
        Assert.Empty(proxy.Apply([empty]));
        await AssertRefusedAsync(frontend);
        Assert.Empty(proxy.Apply([WithEndpoints(empty, [backend.Endpoint], [backend.Endpoint])]));
        Assert.Equal("b:ping\n", await AskAsync(frontend));
    }

    [Fact]
    public async Task Apply_AddressTaken_BindFailureWhileOthersServeThenRetried()
    {
        await using TestBackend backend = new(Address(32, 10), TestBackend.Reply("b"));
        Frontend taken = Frontend(Address(32, 1));
        Frontend free = Frontend(Address(32, 2));
        Socket squatter = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(taken.EndPoint);
        squatter.Listen();
        RouteProgram one = Program("one", [taken], [backend.Endpoint]);
        RouteProgram two = Program("two", [free], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options());

        BindFailure failure = Assert.Single(proxy.Apply([one, two]));

        Assert.Equal(new BindFailure(taken, one.Route.Name, "Address already in use"), failure);
        Assert.Equal("b:ping\n", await AskAsync(free));

        squatter.Dispose();
        Assert.Empty(proxy.Apply([one, two]));
        Assert.Equal("b:ping\n", await AskAsync(taken));
    }

    [Fact]
    public async Task Apply_TwoServicePortsOnOneAddress_TheSecondFails()
    {
        await using TestBackend backend = new(Address(33, 10), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(33, 1));
        RouteProgram first = Program("first", [frontend], [backend.Endpoint]);
        RouteProgram second = Program("second", [frontend with { Kind = FrontendKind.ExternalIP }], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options());

        BindFailure failure = Assert.Single(proxy.Apply([first, second]));

        Assert.Equal(second.Route.Name, failure.Service);
        Assert.Equal("Address already in use", failure.Reason);
        Assert.Equal("b:ping\n", await AskAsync(frontend));
        Assert.Equal(1, first.Stats.Connections);
    }

    [Fact]
    public async Task Apply_FrontendGone_PortReleasedAndNonTcpIgnored()
    {
        await using TestBackend backend = new(Address(34, 10), TestBackend.Reply("b"));
        Frontend frontend = Frontend(Address(34, 1));
        Frontend udp = new(Address(34, 2), FreePort(), TransportProtocol.Udp, FrontendKind.ClusterIP);
        await using TcpProxy proxy = new(Options());
        proxy.Apply([Program("gone", [frontend, udp], [backend.Endpoint])]);
        Assert.Equal("b:ping\n", await AskAsync(frontend));

        Assert.Empty(proxy.Apply([]));

        // Closed, not merely refusing: anyone may bind the address now.
        using Socket other = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        other.Bind(frontend.EndPoint);
        using Socket udpOther = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udpOther.Bind(udp.EndPoint);
    }

    [Fact]
    public async Task Apply_EndpointRemoved_ConnectionDrainedThenClosed()
    {
        await using TestBackend old = new(Address(35, 10), TestBackend.Echo);
        await using TestBackend replacement = new(Address(35, 11), TestBackend.Reply("new"));
        Frontend frontend = Frontend(Address(35, 1));
        RouteProgram before = Program("drain", [frontend], [old.Endpoint]);
        await using TcpProxy proxy = new(Options(drain: TimeSpan.FromMilliseconds(500)));
        proxy.Apply([before]);
        using Socket client = await ConnectAsync(frontend);
        Assert.Equal("one\n", await EchoOnceAsync(client, "one\n"));

        proxy.Apply([WithEndpoints(before, [replacement.Endpoint], [replacement.Endpoint])]);

        Assert.Equal("two\n", await EchoOnceAsync(client, "two\n"));
        Assert.Equal("new:ping\n", await AskAsync(frontend));
        Assert.Equal("", await ReadToEndAsync(client));
        await EventuallyAsync(() => Interlocked.Read(ref before.Stats.Active) == 0, "the drained connection to close");
    }

    [Fact]
    public async Task Apply_EndpointNotReadyButStillListed_ConnectionKept()
    {
        await using TestBackend backend = new(Address(36, 10), TestBackend.Echo);
        Frontend frontend = Frontend(Address(36, 1));
        RouteProgram before = Program("keep", [frontend], [backend.Endpoint]);
        await using TcpProxy proxy = new(Options(drain: TimeSpan.FromMilliseconds(100)));
        proxy.Apply([before]);
        using Socket client = await ConnectAsync(frontend);
        Assert.Equal("one\n", await EchoOnceAsync(client, "one\n"));

        // No longer usable for new connections (refused), yet still one of the Service's endpoints: not drained.
        proxy.Apply([WithEndpoints(before, [], [backend.Endpoint])]);
        await Task.Delay(500);

        Assert.Equal("two\n", await EchoOnceAsync(client, "two\n"));
        await AssertRefusedAsync(frontend);
    }

    [Fact]
    public async Task DisposeAsync_Twice_ClosesListenersAndConnections()
    {
        await using TestBackend backend = new(Address(37, 10), TestBackend.Echo);
        Frontend frontend = Frontend(Address(37, 1));
        TcpProxy proxy = new(Options());
        proxy.Apply([Program("dispose", [frontend], [backend.Endpoint])]);
        using Socket client = await ConnectAsync(frontend);
        Assert.Equal("one\n", await EchoOnceAsync(client, "one\n"));

        await proxy.DisposeAsync();
        await proxy.DisposeAsync();

        Assert.Equal("", await ReadToEndAsync(client));
        await AssertRefusedAsync(frontend);
        Assert.Throws<ObjectDisposedException>(() => proxy.Apply([]));
    }

    private static async Task AssertRefusedAsync(Frontend frontend)
    {
        SocketException refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(frontend));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }
}
