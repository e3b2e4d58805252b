using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Node.Proxy;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.LoadBalancing;
using Berth.Node.Proxy.Metrics;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Proxy.Userspace.Udp;

/// <summary>Addresses, routes, echo endpoints and clients for the UDP proxy tests, all on 127.78.0.0/16.</summary>
internal static class UdpFixtures
{
    /// <summary>Generous bound for a reply that must come, so a broken proxy fails the test instead of hanging it.</summary>
    public static readonly TimeSpan ReplyDeadline = TimeSpan.FromSeconds(10);

    private static int s_nextAddress;

    /// <summary>A loopback address no other test uses.</summary>
    public static IPAddress NextAddress()
    {
        int n = Interlocked.Increment(ref s_nextAddress);
        return new IPAddress([127, 78, (byte)(n / 250), (byte)(n % 250 + 1)]);
    }

    /// <summary>A UDP port free on <paramref name="address"/> (the address is this test's own, so it stays free).</summary>
    public static int FreePort(IPAddress address)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public static Frontend NewFrontend(FrontendKind kind = FrontendKind.ClusterIP)
    {
        IPAddress address = NextAddress();
        return new Frontend(address, FreePort(address), TransportProtocol.Udp, kind);
    }

    public static EndpointInfo Endpoint(IPEndPoint at) => new(at.Address, at.Port) { Ready = true, Serving = true };

    public static ProxyOptions Options(FakeTimeProvider time) => new() { Time = time, UdpIdleTimeout = TimeSpan.FromSeconds(30), Log = _ => { } };

    public static ServicePortInfo Service(string name, TimeSpan? affinity = null, ImmutableArray<IPNetwork> sourceRanges = default) => new()
    {
        Name = new ServicePortName("default", name, "dns", TransportProtocol.Udp),
        Port = 53,
        AffinityTimeout = affinity,
        LoadBalancerSourceRanges = sourceRanges.IsDefault ? [] : sourceRanges,
    };

    /// <summary>A service port with its balancer and stats, re-routed by <see cref="With"/> as a sync would.</summary>
    public sealed class ServicePort(TimeProvider time, ServicePortInfo service)
    {
        public ServiceBalancer Balancer { get; } = Configured(time, service);

        public ServicePortStats Stats { get; } = new();

        public ServicePortInfo Service => service;

        /// <summary>The route as one sync would program it: these frontends, these endpoints for every kind.</summary>
        public RouteProgram With(IEnumerable<Frontend> frontends, params IEnumerable<EndpointInfo> endpoints)
        {
            ImmutableArray<EndpointInfo> all = [.. endpoints];
            var route = new ServiceRoute { Service = service, Frontends = [.. frontends], ClusterEndpoints = all, ExternalEndpoints = all, AllEndpoints = all };
            return new RouteProgram(route, Balancer, Stats);
        }

        private static ServiceBalancer Configured(TimeProvider time, ServicePortInfo service)
        {
            var balancer = new ServiceBalancer(time);
            balancer.Configure(service);
            return balancer;
        }
    }

    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(ReplyDeadline);
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}

/// <summary>A UDP endpoint (pod) answering every datagram with "name|payload" and remembering who sent it.</summary>
internal sealed class EchoEndpoint : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Task _loop;

    public EchoEndpoint(string name)
    {
        Name = name;
        _socket.Bind(new IPEndPoint(UdpFixtures.NextAddress(), 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        Info = UdpFixtures.Endpoint(EndPoint);
        _loop = Task.Run(EchoAsync);
    }

    public string Name { get; }

    public IPEndPoint EndPoint { get; }

    public EndpointInfo Info { get; }

    /// <summary>The source address of every datagram received, in order.</summary>
    public ConcurrentQueue<IPEndPoint> Senders { get; } = new();

    private async Task EchoAsync()
    {
        var buffer = new byte[65536];
        byte[] prefix = Encoding.ASCII.GetBytes(Name + "|");
        try
        {
            while (true)
            {
                SocketReceiveFromResult received = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0));
                Senders.Enqueue((IPEndPoint)received.RemoteEndPoint);
                byte[] reply = [.. prefix, .. buffer.AsSpan(0, received.ReceivedBytes)];
                await _socket.SendToAsync(reply, received.RemoteEndPoint);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException { SocketErrorCode: SocketError.OperationAborted })
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _loop;
    }
}

/// <summary>A client with its own address:port, so each instance is one flow.</summary>
internal sealed class UdpTestClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public UdpTestClient(IPAddress? address = null)
    {
        _socket.Bind(new IPEndPoint(address ?? UdpFixtures.NextAddress(), 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public async Task SendAsync(Frontend frontend, string payload) =>
        await _socket.SendToAsync(Encoding.ASCII.GetBytes(payload), frontend.EndPoint);

    /// <summary>The next reply, which must come from the frontend's own address.</summary>
    public async Task<string> ReceiveAsync(Frontend frontend)
    {
        using var deadline = new CancellationTokenSource(UdpFixtures.ReplyDeadline);
        var buffer = new byte[65536];
        SocketReceiveFromResult received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), deadline.Token);
        Assert.Equal(frontend.EndPoint, received.RemoteEndPoint);
        return Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes);
    }

    /// <summary>Sends and returns the reply.</summary>
    public async Task<string> AskAsync(Frontend frontend, string payload)
    {
        await SendAsync(frontend, payload);
        return await ReceiveAsync(frontend);
    }

    public void Dispose() => _socket.Dispose();
}
