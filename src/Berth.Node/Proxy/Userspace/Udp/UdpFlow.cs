using System.Buffers;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Userspace.Udp;

/// <summary>
/// One client of a frontend and the endpoint it was given: a socket connected to the endpoint (so only its replies
/// arrive, and its ICMP errors surface) and the loop relaying those replies back through the frontend's socket.
/// A flow whose endpoint refused stays in the frontend's table, socket closed, so the client's next datagram avoids
/// that endpoint (ClientIP affinity would otherwise send it straight back).
/// </summary>
internal sealed class UdpFlow
{
    private const int Live = 0;
    private const int Refused = 1;
    private const int Closed = 2;

    private readonly UdpFrontend _frontend;
    private readonly Socket _socket;
    // Refusals since the client's last answered flow (one array reference: reads never tear).
    private ImmutableArray<IPEndPoint> _refusedBefore;
    private long _lastActivity;
    private int _state;
    private int _released;

    private UdpFlow(UdpFrontend frontend, Socket socket, RouteProgram program, EndpointInfo endpoint, SocketAddress client,
        IPAddress clientIp, ImmutableArray<IPEndPoint> refusedBefore)
    {
        _frontend = frontend;
        _socket = socket;
        Program = program;
        Endpoint = endpoint;
        Client = client;
        ClientIp = clientIp;
        _refusedBefore = refusedBefore;
        _lastActivity = frontend.Options.Time.GetTimestamp();
    }

    public RouteProgram Program { get; }

    public EndpointInfo Endpoint { get; }

    /// <summary>The client's address:port, the key in the frontend's table and where replies go. Never changed.</summary>
    public SocketAddress Client { get; }

    public IPAddress ClientIp { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last datagram either way.</summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>The endpoints that refused this client so far (this flow's own once it was refused).</summary>
    public ImmutableArray<IPEndPoint> RefusedEndpoints =>
        Volatile.Read(ref _state) == Refused ? _refusedBefore.Add(Endpoint.EndPoint) : _refusedBefore;

    /// <summary>A connected socket to <paramref name="endpoint"/>, counted as a new flow; null when the socket could not be made.</summary>
    public static UdpFlow? Open(UdpFrontend frontend, RouteProgram program, EndpointInfo endpoint, SocketAddress client,
        IPAddress clientIp, ImmutableArray<IPEndPoint> refusedBefore, bool affinityHit)
    {
        Socket? socket = Connect(endpoint, clientIp);
        if (socket is null)
        {
            return null;
        }
        var flow = new UdpFlow(frontend, socket, program, endpoint, client, clientIp, refusedBefore);
        Interlocked.Increment(ref program.Stats.Connections);
        Interlocked.Increment(ref program.Stats.Active);
        if (affinityHit)
        {
            Interlocked.Increment(ref program.Stats.AffinityHits);
        }
        program.Balancer.Connected(endpoint, clientIp);
        return flow;
    }

    private static Socket? Connect(EndpointInfo endpoint, IPAddress clientIp)
    {
        // Binding to the client's own loopback address makes the pod see the real client, not the proxy. Only when the
        // endpoint is on loopback too: a loopback source cannot reach anything else, and the connect would fail.
        if (IPAddress.IsLoopback(clientIp) && IPAddress.IsLoopback(endpoint.Address) && clientIp.AddressFamily == endpoint.Address.AddressFamily &&
            TryConnect(endpoint, new IPEndPoint(clientIp, 0)) is { } bound)
        {
            return bound;
        }
        return TryConnect(endpoint, source: null);
    }

    /// <summary>Null when the socket cannot be made (out of descriptors, out of ports on the source address).</summary>
    private static Socket? TryConnect(EndpointInfo endpoint, IPEndPoint? source)
    {
        Socket? socket = null;
        try
        {
            socket = new Socket(endpoint.Address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            if (source is not null)
            {
                socket.Bind(source);
            }
            socket.Connect(endpoint.EndPoint);
            return socket;
        }
        catch (SocketException)
        {
            socket?.Dispose();
            return null;
        }
    }

    /// <summary>Starts relaying the endpoint's replies; counted in the frontend's loops until it ends.</summary>
    public void Start()
    {
        _frontend.Loops.Enter();
        _ = RelayRepliesAsync();
    }

    /// <summary>
    /// Sends a client's datagram to the endpoint. False when the flow cannot take it (closed, or the endpoint refused: a
    /// pending ICMP error surfaces on whichever call comes first), so the datagram goes to a new flow instead.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> datagram)
    {
        if (Volatile.Read(ref _state) != Live)
        {
            return false;
        }
        // Stamped before it leaves, like the reply side: whoever sees the endpoint's answer sees the activity.
        Touch();
        try
        {
            await _socket.SendAsync(datagram, SocketFlags.None);
        }
        catch (SocketException e) when (IsEndpointUnreachable(e.SocketErrorCode))
        {
            Refuse();
            return false;
        }
        catch (SocketException) when (Volatile.Read(ref _state) == Live)
        {
            // Dropped, as the network may drop any datagram (local buffers full); the flow stays.
            return true;
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // Closed under the send by an Apply or the idle sweep.
            return false;
        }
        Interlocked.Add(ref Program.Stats.BytesIn, datagram.Length);
        return true;
    }

    /// <summary>Closes the flow and takes it out of the frontend's table (a refused flow too). Idempotent.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _state, Closed) == Closed)
        {
            return;
        }
        _frontend.Remove(this);
        Release();
    }

    /// <summary>The endpoint refused: socket closed, but the flow stays in the table to steer the client's next pick.</summary>
    private void Refuse()
    {
        if (Interlocked.CompareExchange(ref _state, Refused, Live) == Live)
        {
            Touch();
            Release();
        }
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }
        _socket.Dispose();
        Interlocked.Decrement(ref Program.Stats.Active);
        Program.Balancer.Disconnected(Endpoint);
    }

    private void Touch() => Volatile.Write(ref _lastActivity, _frontend.Options.Time.GetTimestamp());

    private async Task RelayRepliesAsync()
    {
        try
        {
            while (Volatile.Read(ref _state) == Live)
            {
                byte[]? buffer = null;
                try
                {
                    // Zero-byte wait first: thousands of idle flows hold no buffer.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                    buffer = ArrayPool<byte>.Shared.Rent(UdpFrontend.MaxDatagram);
                    do
                    {
                        int received = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                        // Stamped before the reply leaves: whoever sees the reply sees the activity.
                        Touch();
                        // An answer: endpoints that refused before may be back by the time this one fails.
                        _refusedBefore = [];
                        Interlocked.Add(ref Program.Stats.BytesOut, received);
                        await _frontend.ReplyAsync(buffer.AsMemory(0, received), Client);
                    }
                    while (_socket.Available > 0);
                }
                catch (SocketException e) when (IsEndpointUnreachable(e.SocketErrorCode))
                {
                    Refuse();
                }
                catch (SocketException) when (Volatile.Read(ref _state) == Live)
                {
                    // Per datagram (truncated, say): the flow carries on.
                }
                finally
                {
                    if (buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
        }
        catch (Exception) when (Volatile.Read(ref _state) != Live || _frontend.IsClosed)
        {
            // Closed under the pending receive, or the frontend's socket closed under a reply: the normal end.
        }
        catch (Exception e)
        {
            _frontend.Options.Log($"proxy: UDP flow {_frontend.Frontend} -> {Endpoint} stopped: {e}");
        }
        finally
        {
            if (Volatile.Read(ref _state) == Live)
            {
                Close();
            }
            _frontend.Loops.Exit();
        }
    }

    /// <summary>The ICMP errors of a connected UDP socket: nothing listens on the endpoint's port, or it cannot be reached.</summary>
    private static bool IsEndpointUnreachable(SocketError error) =>
        error is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable;
}
