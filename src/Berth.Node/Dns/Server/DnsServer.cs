using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace Berth.Node.Dns.Server;

/// <summary>Bounds on what one server holds at a time.</summary>
internal sealed class DnsServerLimits
{
    /// <summary>UDP receive threads (one SO_REUSEPORT socket each).</summary>
    public int UdpThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>TCP connections at once; more are closed on accept (CoreDNS: no limit; BIND tcp-clients 150).</summary>
    public int MaxTcpConnections { get; init; } = 1000;

    /// <summary>A TCP connection with no query for this long is closed (RFC 7766 6.2.3; CoreDNS 10 s).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>UDP queries waiting for an upstream at once; past it new ones are dropped and the client retries.</summary>
    public int MaxPendingUdp { get; init; } = 4096;
}

/// <summary>
/// Serves a <see cref="DnsQueryHandler"/> on one address over UDP and TCP. UDP: one SO_REUSEPORT socket per
/// receive thread (the kernel spreads clients over them), each thread receiving into its own buffers and answering
/// cluster names and cache hits on the spot; queries that wait for an upstream go to the thread pool and are sent
/// from there. TCP (RFC 7766): 2-byte length framing, several queries per connection answered in order, idle
/// timeout, bounded connections; a length shorter than a header closes the connection.
/// </summary>
public sealed partial class DnsServer : IAsyncDisposable
{
    private const int MaxDatagram = 65536;

    // SOL_SOCKET options by number: .NET's ReuseAddress would set SO_REUSEADDR and SO_REUSEPORT together.
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int SoReusePort = 15;

    private readonly DnsQueryHandler _handler;
    private readonly Action<string> _log;
    private readonly DnsServerLimits _limits;
    private readonly Socket[] _udp;
    private readonly Thread[] _threads;
    private readonly Socket _listener;
    private readonly IPEndPoint _addressTemplate;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Work that must end before DisposeAsync returns (accept loop, connections, pending UDP queries), plus one for the server itself.
    private int _running = 1;
    private int _pendingUdp;
    private int _connections;
    private int _stopping;
    private int _errorLogged;

    private DnsServer(IPEndPoint endPoint, DnsQueryHandler handler, Action<string> log, DnsServerLimits limits, Socket listener, Socket[] udp)
    {
        EndPoint = endPoint;
        _handler = handler;
        _log = log;
        _limits = limits;
        _listener = listener;
        _udp = udp;
        _addressTemplate = new IPEndPoint(endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        _threads = new Thread[udp.Length];
    }

    /// <summary>Where it answers (the actual port when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>TCP connections open now.</summary>
    public int TcpConnections => Volatile.Read(ref _connections);

    /// <summary>
    /// Binds UDP and TCP on <paramref name="endPoint"/> (port 0: one free port for both) and starts serving. A failed
    /// bind throws <see cref="SocketException"/> (AddressAlreadyInUse, AccessDenied...) with nothing left open; the
    /// caller retries.
    /// </summary>
    public static DnsServer Start(IPEndPoint endPoint, DnsQueryHandler handler, Action<string> log) =>
        Start(endPoint, handler, log, new DnsServerLimits());

    internal static DnsServer Start(IPEndPoint endPoint, DnsQueryHandler handler, Action<string> log, DnsServerLimits limits)
    {
        for (int attempt = 0; ; attempt++)
        {
            Socket listener = BindTcp(endPoint);
            var udp = new List<Socket>();
            try
            {
                var bound = new IPEndPoint(endPoint.Address, ((IPEndPoint)listener.LocalEndPoint!).Port);
                // SO_REUSEPORT would let our sockets join a group someone else (same user) already holds, silently
                // sharing its datagrams; one exclusive bind first makes "in use" fail loudly, as TCP's does.
                using (var probe = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp))
                {
                    probe.Bind(bound);
                }
                for (int i = 0; i < Math.Max(1, limits.UdpThreads); i++)
                {
                    var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                    udp.Add(socket);
                    socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
                    socket.Bind(bound);
                }
                var server = new DnsServer(bound, handler, log, limits, listener, [.. udp]);
                server.Run();
                return server;
            }
            catch (SocketException e) when (endPoint.Port == 0 && e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 10)
            {
                // The free TCP port is taken for UDP: try another.
                Close(listener, udp);
            }
            catch
            {
                Close(listener, udp);
                throw;
            }
        }
    }

    private static Socket BindTcp(IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR only (a restart binds despite TIME_WAIT); Linux still refuses a second listener.
            listener.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            listener.Bind(endPoint);
            listener.Listen(512);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private static void Close(Socket listener, List<Socket> udp)
    {
        listener.Dispose();
        foreach (Socket socket in udp)
        {
            socket.Dispose();
        }
    }

    private void Run()
    {
        for (int i = 0; i < _udp.Length; i++)
        {
            // "dns<port>-<n>": the kernel keeps 15 chars of a thread's name, enough to tell servers apart in top -H.
            _threads[i] = new Thread(ReceiveLoop) { IsBackground = true, Name = $"dns{EndPoint.Port}-{i}" };
            _threads[i].Start(_udp[i]);
        }
        Enter();
        _ = AcceptLoopAsync();
    }

    private bool Stopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>One UDP socket's thread: blocking receives, answers sent from here when they need no upstream.</summary>
    private void ReceiveLoop(object? state)
    {
        var socket = (Socket)state!;
        var packet = new byte[MaxDatagram];
        var response = new byte[MaxDatagram];
        var client = new SocketAddress(socket.AddressFamily);
        while (!Stopping)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(packet, SocketFlags.None, client);
            }
            catch (Exception) when (Stopping)
            {
                break;
            }
            catch (SocketException e)
            {
                // Per datagram (an ICMP error for an earlier reply, an oversized datagram): never the end of the loop.
                if (e.SocketErrorCode is not (SocketError.ConnectionReset or SocketError.MessageSize))
                {
                    LogOnce($"dns: UDP receive on {EndPoint} failed, continuing: {e.Message}");
                }
                continue;
            }
            if (Stopping)
            {
                break;
            }
            try
            {
                switch (_handler.Handle(packet.AsSpan(0, received), tcp: false, response, out int written))
                {
                    case DnsHandling.Answered:
                        SendTo(socket, response.AsSpan(0, written), client);
                        break;
                    case DnsHandling.Pending:
                        StartPending(socket, packet.AsSpan(0, received), client);
                        break;
                }
            }
            catch (Exception e)
            {
                LogOnce($"dns: query failed: {e}");
            }
        }
    }

    private void SendTo(Socket socket, ReadOnlySpan<byte> response, SocketAddress client)
    {
        try
        {
            socket.SendTo(response, SocketFlags.None, client);
        }
        catch (SocketException)
        {
            // The client's problem (gone, buffers full): UDP loses the reply, the client retries.
        }
        catch (ObjectDisposedException) when (Stopping)
        {
        }
    }

    private void StartPending(Socket socket, ReadOnlySpan<byte> packet, SocketAddress client)
    {
        if (Interlocked.Increment(ref _pendingUdp) > _limits.MaxPendingUdp)
        {
            Interlocked.Decrement(ref _pendingUdp);
            _handler.CountDropped();
            return;
        }
        byte[] copy = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(copy);
        var from = new SocketAddress(client.Family, client.Size);
        client.Buffer.CopyTo(from.Buffer);
        IPAddress address = ((IPEndPoint)_addressTemplate.Create(from)).Address;
        Enter();
        _ = PendingAsync(socket, copy, packet.Length, from, address);
    }

    private async Task PendingAsync(Socket socket, byte[] packet, int length, SocketAddress client, IPAddress address)
    {
        byte[] response = ArrayPool<byte>.Shared.Rent(MaxDatagram);
        try
        {
            // Off the receive thread at once: the receive loop must not run the forwarder's synchronous part.
            await Task.Yield();
            int written = await _handler.HandleAsync(packet.AsMemory(0, length), address, tcp: false, response, _stop.Token);
            if (written > 0)
            {
                SendTo(socket, response.AsSpan(0, written), client);
            }
        }
        catch (Exception) when (Stopping)
        {
        }
        catch (Exception e)
        {
            LogOnce($"dns: forwarded query failed: {e}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(packet);
            ArrayPool<byte>.Shared.Return(response);
            Interlocked.Decrement(ref _pendingUdp);
            Exit();
        }
    }

    private void LogOnce(string message)
    {
        if (Interlocked.Exchange(ref _errorLogged, 1) == 0)
        {
            _log(message);
        }
    }

    private void Enter() => Interlocked.Increment(ref _running);

    private void Exit()
    {
        if (Interlocked.Decrement(ref _running) == 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Closes both sockets, joins the receive threads and waits for connections and pending queries to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            await _drained.Task;
            return;
        }
        await _stop.CancelAsync();
        // Disposing a socket shuts it down first, which wakes a thread blocked in recvfrom.
        foreach (Socket socket in _udp)
        {
            socket.Dispose();
        }
        _listener.Dispose();
        foreach (Thread thread in _threads)
        {
            await Task.Run(() => thread.Join());
        }
        Exit();
        await _drained.Task;
        _stop.Dispose();
    }
}
