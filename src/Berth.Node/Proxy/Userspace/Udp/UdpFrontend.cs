using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy.Userspace.Udp;

/// <summary>
/// One UDP frontend: its socket, the loop receiving clients' datagrams and the client flows. The route is replaced by
/// the sync thread and read by the receive loop (an immutable <see cref="UdpRoute"/> swapped whole).
/// </summary>
internal sealed class UdpFrontend
{
    /// <summary>The largest UDP datagram (IPv6 jumbograms aside).</summary>
    internal const int MaxDatagram = 65536;

    private const int SolIp = 0;
    private const int IpFreebind = 15;

    private readonly Socket _socket;
    private readonly IPEndPoint _addressTemplate;
    private readonly ConcurrentDictionary<SocketAddress, UdpFlow> _flows = new();
    private readonly ProxyOptions _options;
    private readonly RunningLoops _loops;
    private UdpRoute _route;
    private int _closed;
    private int _errorLogged;

    private UdpFrontend(Frontend frontend, Socket socket, UdpRoute route, ProxyOptions options, RunningLoops loops)
    {
        Frontend = frontend;
        _socket = socket;
        _addressTemplate = frontend.EndPoint;
        _route = route;
        _options = options;
        _loops = loops;
    }

    public Frontend Frontend { get; }

    public static bool TryOpen(Frontend frontend, RouteProgram program, ProxyOptions options, RunningLoops loops,
        [NotNullWhen(true)] out UdpFrontend? opened, [NotNullWhen(false)] out string? error)
    {
        var socket = new Socket(frontend.Address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Two proxies (or anything else) on one address must collide loudly, never share datagrams.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, false);
            if (OperatingSystem.IsLinux())
            {
                // externalIPs need not be addresses of this host; IP_FREEBIND lets the bind succeed anyway (Linux
                // honours the SOL_IP option on IPv6 sockets too).
                socket.SetRawSocketOption(SolIp, IpFreebind, [1, 0, 0, 0]);
            }
            socket.Bind(frontend.EndPoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            opened = null;
            error = e.Message;
            return false;
        }
        opened = new UdpFrontend(frontend, socket, UdpRoute.For(frontend, program), options, loops);
        error = null;
        loops.Enter();
        _ = Task.Run(opened.ReceiveAsync);
        return true;
    }

    /// <summary>Sync thread: takes the route's current endpoints; flows whose endpoint is no longer a candidate are closed now.</summary>
    public void Update(RouteProgram program)
    {
        UdpRoute current = Volatile.Read(ref _route);
        if (current.Program == program)
        {
            return;
        }
        var route = UdpRoute.For(Frontend, program);
        // A full fence between publishing the route and scanning the flows: a flow the receive loop adds meanwhile is
        // either seen by the scan or checks itself against this route (StartFlowAsync).
        Interlocked.Exchange(ref _route, route);
        foreach (UdpFlow flow in _flows.Values)
        {
            if (!route.Serves(flow))
            {
                flow.Close();
            }
        }
    }

    public void ExpireIdleFlows(long now)
    {
        foreach (UdpFlow flow in _flows.Values)
        {
            if (_options.Time.GetElapsedTime(flow.LastActivity, now) >= _options.UdpIdleTimeout)
            {
                flow.Close();
            }
        }
    }

    /// <summary>Closes the socket and every flow; the receive loop ends by itself.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        _socket.Dispose();
        foreach (UdpFlow flow in _flows.Values)
        {
            flow.Close();
        }
    }

    internal ProxyOptions Options => _options;

    internal RunningLoops Loops => _loops;

    internal bool Remove(UdpFlow flow) => _flows.TryRemove(KeyValuePair.Create(flow.Client, flow));

    internal bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>A flow's reply to its client, from the frontend's address. Throws only when the frontend is closed.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask ReplyAsync(ReadOnlyMemory<byte> datagram, SocketAddress client)
    {
        try
        {
            await _socket.SendToAsync(datagram, SocketFlags.None, client);
        }
        catch (SocketException) when (!IsClosed)
        {
            // The client's problem (gone, unreachable, buffers full): UDP drops the reply, the flow carries on.
        }
    }

    private async Task ReceiveAsync()
    {
        // Reused for every datagram: the frontend's receive and the flow table lookups allocate nothing.
        var client = new SocketAddress(_socket.AddressFamily);
        try
        {
            while (!IsClosed)
            {
                byte[]? buffer = null;
                try
                {
                    // Wait with a zero-byte receive (.NET peeks, the datagram stays queued) so an idle frontend holds no buffer.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                    buffer = ArrayPool<byte>.Shared.Rent(MaxDatagram);
                    do
                    {
                        int received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, client);
                        await ForwardAsync(buffer.AsMemory(0, received), client);
                    }
                    while (_socket.Available > 0);
                }
                catch (SocketException e) when (!IsClosed)
                {
                    // Per datagram (an ICMP error for an earlier reply, a truncated datagram): never the end of the frontend.
                    if (Interlocked.Exchange(ref _errorLogged, 1) == 0 && e.SocketErrorCode is not (SocketError.ConnectionReset or SocketError.MessageSize))
                    {
                        _options.Log($"proxy: UDP frontend {Frontend}: receive failed, continuing: {e.Message}");
                    }
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
        catch (Exception) when (IsClosed)
        {
            // Closed under the pending receive: the normal end.
        }
        catch (Exception e)
        {
            _options.Log($"proxy: UDP frontend {Frontend} stopped: {e}");
        }
        finally
        {
            _loops.Exit();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ForwardAsync(ReadOnlyMemory<byte> datagram, SocketAddress client)
    {
        UdpFlow? previous = null;
        if (_flows.TryGetValue(client, out UdpFlow? flow))
        {
            if (await flow.SendAsync(datagram))
            {
                return;
            }
            previous = flow;
        }
        await StartFlowAsync(datagram, client, previous);
    }

    /// <summary>
    /// A datagram from a client without a live flow: pick an endpoint, open a flow to it, send. <paramref name="previous"/>
    /// is the client's dead flow, if any; the endpoints that refused it are not picked again.
    /// </summary>
    private async ValueTask StartFlowAsync(ReadOnlyMemory<byte> datagram, SocketAddress client, UdpFlow? previous)
    {
        UdpRoute route = Volatile.Read(ref _route);
        ImmutableArray<EndpointInfo> candidates = route.Candidates;
        if (candidates.IsEmpty)
        {
            Refuse(route, previous);
            return;
        }
        IPAddress clientIp = previous?.ClientIp ?? ((IPEndPoint)_addressTemplate.Create(client)).Address;
        if (!route.Admits(clientIp))
        {
            Refuse(route, previous);
            return;
        }
        SocketAddress key = previous?.Client ?? CopyOf(client);
        ImmutableArray<IPEndPoint> refused = previous?.RefusedEndpoints ?? [];
        ulong tried = route.TriedMask(refused);
        // Each round refuses one more endpoint; 64 bounds the rounds where the tried mask stops growing.
        for (int round = 0; round < Math.Min(candidates.Length, 64); round++)
        {
            int index = route.Program.Balancer.Pick(candidates, clientIp, tried, out bool affinityHit);
            if (index < 0)
            {
                break;
            }
            if (tried != 0)
            {
                Interlocked.Increment(ref route.Program.Stats.Retried);
            }
            EndpointInfo endpoint = candidates[index];
            UdpFlow? flow = UdpFlow.Open(this, route.Program, endpoint, key, clientIp, refused, affinityHit);
            if (flow is null)
            {
                refused = refused.Add(endpoint.EndPoint);
                tried |= UdpRoute.Bit(index);
                continue;
            }
            // Only this loop adds flows; whatever held the key (a dead flow) has already let go of its socket.
            _flows[key] = flow;
            flow.Start();
            UdpRoute now = Volatile.Read(ref _route);
            if (IsClosed || (!ReferenceEquals(now, route) && !now.Serves(flow)))
            {
                // Closed, or the sync thread swapped the route after we read it and its scan may have missed this flow.
                flow.Close();
                return;
            }
            if (await flow.SendAsync(datagram))
            {
                return;
            }
            refused = flow.RefusedEndpoints;
            tried = route.TriedMask(refused);
        }
        // Every candidate refused this client: drop, and forget what was refused so the next datagram starts afresh.
        Interlocked.Increment(ref route.Program.Stats.Refused);
        if (_flows.TryGetValue(key, out UdpFlow? dead))
        {
            dead.Close();
        }
    }

    private void Refuse(UdpRoute route, UdpFlow? previous)
    {
        Interlocked.Increment(ref route.Program.Stats.Refused);
        previous?.Close();
    }

    private static SocketAddress CopyOf(SocketAddress address)
    {
        var copy = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(copy.Buffer.Span);
        return copy;
    }
}
