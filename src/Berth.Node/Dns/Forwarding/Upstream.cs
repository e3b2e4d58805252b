using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Berth.Node.Dns.Forwarding;

/// <summary>
/// One upstream resolver: a long-lived UDP socket connected to it (the kernel then drops datagrams from anyone
/// else) with one receive loop matching responses to queries in flight by ID and question, and a TCP exchange per
/// query for truncated answers. IDs come from a CSPRNG and a response that does not match is ignored (not an
/// error): guessing both the port and the ID is what spoofing would take.
/// </summary>
internal sealed class Upstream : IDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentDictionary<ushort, Pending> _pending = new();
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private int _closed;

    public Upstream(IPEndPoint endPoint, TimeProvider time, Action<string> log)
    {
        EndPoint = endPoint;
        _time = time;
        _log = log;
        _socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.Connect(endPoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        _ = Task.Run(ReceiveAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The response over UDP, null on timeout or an ICMP error (upstream down).</summary>
    public async Task<byte[]?> QueryUdpAsync(ForwardQuestion question, TimeSpan timeout, CancellationToken ct)
    {
        var pending = new Pending(question);
        ushort id = 0;
        for (int attempt = 0; ; attempt++)
        {
            id = NewId();
            if (_pending.TryAdd(id, pending))
            {
                break;
            }
            if (attempt == 16)
            {
                // 65536 IDs in flight to one upstream: treat like a timeout rather than wait.
                return null;
            }
        }
        pending.Id = id;
        try
        {
            await _socket.SendAsync(question.Query(id), SocketFlags.None, ct);
            return await pending.Result.Task.WaitAsync(timeout, _time, ct);
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (SocketException)
        {
            return null;
        }
        finally
        {
            _pending.TryRemove(KeyValuePair.Create(id, pending));
        }
    }

    /// <summary>The response over TCP (RFC 7766), null on any failure.</summary>
    public async Task<byte[]?> QueryTcpAsync(ForwardQuestion question, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var timer = _time.CreateTimer(static state => ((CancellationTokenSource)state!).Cancel(), cts, timeout, Timeout.InfiniteTimeSpan);
        using var socket = new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ushort id = NewId();
        byte[] query = question.Query(id);
        var framed = new byte[2 + query.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        try
        {
            await socket.ConnectAsync(EndPoint, cts.Token);
            await socket.SendAsync(framed, SocketFlags.None, cts.Token);
            var length = new byte[2];
            while (true)
            {
                if (!await DnsTcp.ReadExactlyAsync(socket, length, cts.Token))
                {
                    return null;
                }
                var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
                if (!await DnsTcp.ReadExactlyAsync(socket, response, cts.Token))
                {
                    return null;
                }
                if (question.IsAnsweredBy(response, id))
                {
                    return response;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static ushort NewId()
    {
        Span<byte> id = stackalloc byte[2];
        RandomNumberGenerator.Fill(id);
        return BinaryPrimitives.ReadUInt16BigEndian(id);
    }

    private async Task ReceiveAsync()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            while (Volatile.Read(ref _closed) == 0)
            {
                int received;
                try
                {
                    received = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
                {
                    // An ICMP error for one of our datagrams: nobody answers there. Fail what is waiting now so it
                    // moves on to the next upstream instead of sitting out the timeout.
                    foreach (Pending pending in _pending.Values)
                    {
                        pending.Result.TrySetResult(null);
                    }
                    continue;
                }
                ReadOnlySpan<byte> response = buffer.AsSpan(0, received);
                if (received >= 12 && _pending.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(response), out Pending? match)
                    && match.Question.IsAnsweredBy(response, match.Id))
                {
                    match.Result.TrySetResult(response.ToArray());
                }
            }
        }
        catch (Exception) when (Volatile.Read(ref _closed) != 0)
        {
            // Disposed under the pending receive: the normal end.
        }
        catch (Exception e)
        {
            _log($"dns: forwarder: receive from {EndPoint} stopped: {e.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _socket.Dispose();
            foreach (Pending pending in _pending.Values)
            {
                pending.Result.TrySetResult(null);
            }
        }
    }

    private sealed class Pending(ForwardQuestion question)
    {
        public ForwardQuestion Question { get; } = question;

        public ushort Id { get; set; }

        public TaskCompletionSource<byte[]?> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
