using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Berth.Node.Dns.Server;

public sealed partial class DnsServer
{
    /// <summary>Smallest framed length that can be a DNS message (a header).</summary>
    private const int MinMessage = 12;

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!Stopping)
            {
                Socket accepted;
                try
                {
                    accepted = await _listener.AcceptAsync(_stop.Token);
                }
                catch (SocketException e) when (!Stopping)
                {
                    // Out of descriptors or an aborted handshake: transient, back off a little and go on.
                    LogOnce($"dns: TCP accept on {EndPoint} failed, continuing: {e.Message}");
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _stop.Token);
                    continue;
                }
                if (Interlocked.Increment(ref _connections) > _limits.MaxTcpConnections)
                {
                    Interlocked.Decrement(ref _connections);
                    accepted.Dispose();
                    continue;
                }
                Enter();
                _ = ServeConnectionAsync(accepted);
            }
        }
        catch (Exception) when (Stopping)
        {
            // Disposed under the pending accept: the normal end.
        }
        catch (Exception e)
        {
            _log($"dns: TCP listener on {EndPoint} stopped: {e}");
        }
        finally
        {
            Exit();
        }
    }

    private async Task ServeConnectionAsync(Socket socket)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var length = new byte[2];
        try
        {
            socket.NoDelay = true;
            IPAddress? client = (socket.RemoteEndPoint as IPEndPoint)?.Address;
            while (true)
            {
                idle.CancelAfter(_limits.TcpIdleTimeout);
                if (!await DnsTcp.ReadExactlyAsync(socket, length, idle.Token))
                {
                    return;
                }
                int size = BinaryPrimitives.ReadUInt16BigEndian(length);
                if (size < MinMessage)
                {
                    // Not a message: the framing is lost, and with it the connection.
                    return;
                }
                byte[] packet = ArrayPool<byte>.Shared.Rent(size);
                byte[] response = ArrayPool<byte>.Shared.Rent(2 + DnsQueryHandler.MaxTcpMessage);
                try
                {
                    if (!await DnsTcp.ReadExactlyAsync(socket, packet.AsMemory(0, size), idle.Token))
                    {
                        return;
                    }
                    // A slow upstream is not idleness: the forwarder has its own timeouts.
                    idle.CancelAfter(Timeout.InfiniteTimeSpan);
                    DnsHandling handling = _handler.Handle(packet.AsSpan(0, size), tcp: true, response.AsSpan(2, DnsQueryHandler.MaxTcpMessage), out int written);
                    if (handling == DnsHandling.Pending)
                    {
                        written = await _handler.HandleAsync(packet.AsMemory(0, size), client, tcp: true, response.AsMemory(2, DnsQueryHandler.MaxTcpMessage), _stop.Token);
                    }
                    else if (handling == DnsHandling.Dropped)
                    {
                        written = 0;
                    }
                    if (written > 0)
                    {
                        BinaryPrimitives.WriteUInt16BigEndian(response, (ushort)written);
                        await socket.SendAsync(response.AsMemory(0, 2 + written), SocketFlags.None, _stop.Token);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(packet);
                    ArrayPool<byte>.Shared.Return(response);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Idle timeout or shutdown.
        }
        catch (SocketException)
        {
            // The client reset or went away.
        }
        catch (ObjectDisposedException) when (Stopping)
        {
        }
        catch (Exception e)
        {
            LogOnce($"dns: TCP connection failed: {e}");
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _connections);
            Exit();
        }
    }
}
