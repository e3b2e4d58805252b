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
using Berth.Node.Proxy.Userspace.Tcp;

namespace Berth.Node.Tests.Proxy.Userspace.Tcp;

/// <summary>
/// Real sockets on loopback: each test class has its own 127.77.&lt;subnet&gt;.0/24 (frontends .1–.9, endpoints .10+),
/// so classes running in parallel, and other suites, never share an address.
/// </summary>
internal static class TcpNet
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public static IPAddress Address(int subnet, int host) => new([127, 77, (byte)subnet, (byte)host]);

    /// <summary>A port nobody on 127.0.0.1 uses right now; on a 127.77 address of our own it is free too.</summary>
    public static int FreePort(IPAddress? on = null)
    {
        on ??= IPAddress.Loopback;
        using Socket socket = new(on.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(on, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static Frontend Frontend(IPAddress address, FrontendKind kind = FrontendKind.ClusterIP) =>
        new(address, FreePort(address.AddressFamily == AddressFamily.InterNetworkV6 ? address : null), TransportProtocol.Tcp, kind);

    public static RouteProgram Program(string name, Frontend[] frontends, EndpointInfo[] endpoints, ImmutableArray<IPNetwork> sourceRanges = default, TimeSpan? affinity = null) =>
        Program(name, frontends, endpoints, endpoints, sourceRanges, affinity);

    public static RouteProgram Program(
        string name, Frontend[] frontends, EndpointInfo[] usable, EndpointInfo[] all, ImmutableArray<IPNetwork> sourceRanges = default, TimeSpan? affinity = null)
    {
        ServicePortInfo service = new()
        {
            Name = new ServicePortName("default", name, "http", TransportProtocol.Tcp),
            Port = frontends.Length > 0 ? frontends[0].Port : 80,
            LoadBalancerSourceRanges = sourceRanges.IsDefault ? [] : sourceRanges,
            AffinityTimeout = affinity,
        };
        ServiceRoute route = new()
        {
            Service = service,
            Frontends = [.. frontends],
            ClusterEndpoints = [.. usable],
            ExternalEndpoints = [.. usable],
            AllEndpoints = [.. all],
        };
        ServiceBalancer balancer = new(TimeProvider.System);
        balancer.Configure(service);
        return new RouteProgram(route, balancer, new ServicePortStats());
    }

    /// <summary>The same service port (balancer and counters) with other endpoints.</summary>
    public static RouteProgram WithEndpoints(RouteProgram program, EndpointInfo[] usable, EndpointInfo[] all) =>
        program with
        {
            Route = new ServiceRoute
            {
                Service = program.Route.Service,
                Frontends = program.Route.Frontends,
                ClusterEndpoints = [.. usable],
                ExternalEndpoints = [.. usable],
                AllEndpoints = [.. all],
            },
        };

    public static ProxyOptions Options(int spliceThreshold = 64 * 1024, TimeSpan? drain = null) => new()
    {
        Workers = 2,
        SpliceThreshold = spliceThreshold,
        ConnectTimeout = TimeSpan.FromSeconds(1),
        DrainTimeout = drain ?? TimeSpan.FromHours(1),
        Log = _ => { },
    };

    public static async Task<Socket> ConnectAsync(Frontend frontend, IPAddress? from = null)
    {
        Socket socket = new(frontend.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null)
        {
            socket.Bind(new IPEndPoint(from, 0));
        }
        using CancellationTokenSource timeout = new(Patience);
        await socket.ConnectAsync(frontend.EndPoint, timeout.Token);
        return socket;
    }

    /// <summary>Everything the peer sends until it closes (a reset counts as the end too).</summary>
    public static async Task<string> ReadToEndAsync(Socket socket)
    {
        using CancellationTokenSource timeout = new(Patience);
        MemoryStream received = new();
        byte[] buffer = new byte[4096];
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                break;
            }
            if (n == 0)
            {
                break;
            }
            received.Write(buffer, 0, n);
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>Sends a line through a fresh connection and returns the whole answer.</summary>
    public static async Task<string> AskAsync(Frontend frontend, string line = "ping\n", IPAddress? from = null)
    {
        Socket socket;
        try
        {
            socket = await ConnectAsync(frontend, from);
            await socket.SendAsync(Encoding.ASCII.GetBytes(line));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            // Reset by the proxy right after the handshake, before the request went out: the answer is empty.
            return "";
        }
        using (socket)
        {
            return await ReadToEndAsync(socket);
        }
    }

    public static async Task<string> EchoOnceAsync(Socket socket, string text)
    {
        using CancellationTokenSource timeout = new(Patience);
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
        byte[] buffer = new byte[bytes.Length];
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return Encoding.ASCII.GetString(buffer, 0, total);
    }

    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(20);
        }
    }
}

/// <summary>A pod-like server on one address: each accepted connection runs the handler; it records who connected.</summary>
internal sealed class TestBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<Socket, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public TestBackend(IPAddress address, Func<Socket, Task> handler, int port = 0)
    {
        _handler = handler;
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(address, port));
        _listener.Listen(128);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        Endpoint = new EndpointInfo(EndPoint.Address, EndPoint.Port) { Ready = true, Serving = true };
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    public EndpointInfo Endpoint { get; }

    /// <summary>Remote addresses of the connections accepted, in order.</summary>
    public ConcurrentQueue<IPEndPoint> Peers { get; } = new();

    public static Task Echo(Socket socket) => EchoAsync(socket);

    /// <summary>Reads one line, answers <paramref name="name"/>:line, closes.</summary>
    public static Func<Socket, Task> Reply(string name) => async socket =>
    {
        string line = await ReadLineAsync(socket);
        await socket.SendAsync(Encoding.ASCII.GetBytes(name + ":" + line));
        socket.Shutdown(SocketShutdown.Send);
        await DrainAsync(socket);
    };

    /// <summary>Reads one line, then resets (RST) or closes (FIN) without a byte back: a pod dying mid-request.</summary>
    public static Func<Socket, Task> Vanish(bool reset) => async socket =>
    {
        await ReadLineAsync(socket);
        if (reset)
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        socket.Close();
    };

    public static async Task<string> ReadLineAsync(Socket socket)
    {
        StringBuilder line = new();
        byte[] one = new byte[1];
        while (await socket.ReceiveAsync(one) == 1)
        {
            line.Append((char)one[0]);
            if (one[0] == '\n')
            {
                break;
            }
        }
        return line.ToString();
    }

    private static async Task EchoAsync(Socket socket)
    {
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer);
            if (n == 0)
            {
                socket.Shutdown(SocketShutdown.Send);
                return;
            }
            await socket.SendAsync(buffer.AsMemory(0, n));
        }
    }

    private static async Task DrainAsync(Socket socket)
    {
        byte[] buffer = new byte[4096];
        while (await socket.ReceiveAsync(buffer) > 0)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Peers.Enqueue((IPEndPoint)socket.RemoteEndPoint!);
            _ = Task.Run(async () =>
            {
                using (socket)
                {
                    try
                    {
                        await _handler(socket);
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException)
                    {
                        // The proxy reset the connection: that is what some tests do.
                    }
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        _stop.Dispose();
    }
}
