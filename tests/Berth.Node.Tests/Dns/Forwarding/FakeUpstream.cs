using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Berth.Node.Dns;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Tests.Dns.Forwarding;

/// <summary>
/// A tiny upstream resolver on 127.0.0.1 (UDP and TCP on one port) answering from a table, so no test ever reaches
/// the host's resolver. It counts what it is asked; names not in the table get NXDOMAIN with an SOA.
/// </summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    public const uint SoaTtl = 60;
    public const uint SoaMinimum = 20;

    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly ConcurrentDictionary<string, Entry> _table = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _asked = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private int _udpQueries;
    private int _tcpQueries;

    public FakeUpstream(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        _tcp = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _tcp.Bind(new IPEndPoint(address, 0));
        _tcp.Listen(64);
        EndPoint = (IPEndPoint)_tcp.LocalEndPoint!;
        _udp = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _udp.Bind(EndPoint);
        _udpLoop = Task.Run(UdpLoopAsync);
        _tcpLoop = Task.Run(TcpLoopAsync);
    }

    public IPEndPoint EndPoint { get; }

    public int UdpQueries => Volatile.Read(ref _udpQueries);

    public int TcpQueries => Volatile.Read(ref _tcpQueries);

    public int Queries => UdpQueries + TcpQueries;

    /// <summary>Questions seen for <paramref name="name"/> (any type, UDP and TCP).</summary>
    public int Asked(string name) => _asked.GetValueOrDefault(name);

    public sealed record Entry(DnsAnswer Answer)
    {
        /// <summary>Over UDP: the answer's header with TC and no records, whatever its size.</summary>
        public bool TruncateUdp { get; init; }

        /// <summary>Over UDP: first a response with another ID (a spoof attempt), then the real one.</summary>
        public bool SpoofFirst { get; init; }

        /// <summary>Wait before answering (lets identical queries pile up).</summary>
        public TimeSpan Delay { get; init; }
    }

    public void Add(string name, Entry entry) => _table[name] = entry;

    public void AddA(string name, uint ttl, params string[] addresses) =>
        Add(name, new Entry(new DnsAnswer(DnsRcode.NoError, [.. addresses.Select(a => DnsRecord.A(name, IPAddress.Parse(a), ttl))], [], [], authoritative: false)));

    private static DnsRecord Soa(string zone) => DnsRecord.Soa(zone, "ns." + zone, "hostmaster." + zone, 1, 7200, 1800, 86400, SoaMinimum, SoaTtl);

    private async Task UdpLoopAsync()
    {
        var buffer = new byte[65536];
        var response = new byte[65536];
        EndPoint from = new IPEndPoint(EndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            Interlocked.Increment(ref _udpQueries);
            byte[] query = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            EndPoint client = received.RemoteEndPoint;
            _ = Task.Run(async () =>
            {
                Entry? entry = Lookup(query);
                if (entry?.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(entry.Delay);
                }
                if (entry?.SpoofFirst == true)
                {
                    byte[] spoofed = Answer(query, udp: true, entry);
                    BinaryPrimitives.WriteUInt16BigEndian(spoofed, (ushort)(BinaryPrimitives.ReadUInt16BigEndian(spoofed) ^ 0x5A5A));
                    // The spoof claims another address for the name.
                    await SendAsync(spoofed, client);
                }
                await SendAsync(Answer(query, udp: true, entry), client);
            });
        }
    }

    private async Task SendAsync(byte[] datagram, EndPoint client)
    {
        try
        {
            await _udp.SendToAsync(datagram, SocketFlags.None, client);
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task TcpLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _tcp.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using (connection)
                {
                    var length = new byte[2];
                    try
                    {
                        while (await ReadAsync(connection, length))
                        {
                            var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
                            if (!await ReadAsync(connection, query))
                            {
                                return;
                            }
                            Interlocked.Increment(ref _tcpQueries);
                            byte[] answer = Answer(query, udp: false, Lookup(query));
                            var framed = new byte[answer.Length + 2];
                            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                            answer.CopyTo(framed, 2);
                            await connection.SendAsync(framed, SocketFlags.None);
                        }
                    }
                    catch (SocketException)
                    {
                    }
                }
            });
        }
    }

    private static async Task<bool> ReadAsync(Socket socket, Memory<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (read == 0)
            {
                return false;
            }
            buffer = buffer[read..];
        }
        return true;
    }

    private Entry? Lookup(byte[] query)
    {
        Span<char> name = stackalloc char[DnsRequest.MaxNameChars];
        if (DnsRequest.TryParse(query, name, out DnsRequest request) != DnsParseResult.Ok)
        {
            return null;
        }
        string asked = request.Name.ToString();
        _asked.AddOrUpdate(asked, 1, (_, n) => n + 1);
        return _table.GetValueOrDefault(asked);
    }

    private static byte[] Answer(byte[] query, bool udp, Entry? entry)
    {
        Span<char> name = stackalloc char[DnsRequest.MaxNameChars];
        var response = new byte[65535];
        if (DnsRequest.TryParse(query, name, out DnsRequest request) != DnsParseResult.Ok)
        {
            return response[..DnsResponseWriter.WriteError(query, request, DnsRcode.FormErr, response)];
        }
        DnsAnswer answer = entry?.Answer ?? new DnsAnswer(DnsRcode.NXDomain, [], [Soa("example")], [], authoritative: false);
        DnsType type = request.Type;
        if (answer.Answers.Count > 0 && !answer.Answers.Any(r => r.Type == type || r.Type == DnsType.CNAME))
        {
            // The name exists, the type does not: NODATA.
            answer = new DnsAnswer(DnsRcode.NoError, [], [Soa("example")], [], authoritative: false);
        }
        int written = DnsResponseWriter.Write(request, answer, response, udp ? request.UdpPayloadSize : 65535);
        if (udp && entry?.TruncateUdp == true)
        {
            written = DnsResponseWriter.Write(request, new DnsAnswer(answer.Rcode, [], [], [], false), response, 512);
            response[2] |= 0x02;
        }
        return response[..written];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Dispose();
        await Task.WhenAll(_udpLoop, _tcpLoop);
        _stop.Dispose();
    }
}

/// <summary>A client for the tests: one query over UDP or TCP, with a generous deadline so a broken server fails instead of hanging.</summary>
internal static class TestClient
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static async Task<DnsMessage> UdpAsync(IPEndPoint server, byte[] query)
    {
        byte[]? raw = await UdpRawAsync(server, query, Deadline);
        Assert.NotNull(raw);
        return Parse(raw);
    }

    /// <summary>The raw response, or null when none came within <paramref name="wait"/>.</summary>
    public static async Task<byte[]?> UdpRawAsync(IPEndPoint server, byte[] query, TimeSpan wait)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        await socket.SendAsync(query, SocketFlags.None);
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(wait);
        try
        {
            int received = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return buffer[..received];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public static async Task<DnsMessage> TcpAsync(IPEndPoint server, byte[] query)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(Deadline);
        await socket.ConnectAsync(server, cts.Token);
        await SendFramedAsync(socket, query, cts.Token);
        return Parse(await ReceiveFramedAsync(socket, cts.Token));
    }

    public static async Task SendFramedAsync(Socket socket, byte[] query, CancellationToken ct)
    {
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await socket.SendAsync(framed, SocketFlags.None, ct);
    }

    public static async Task<byte[]> ReceiveFramedAsync(Socket socket, CancellationToken ct)
    {
        var length = new byte[2];
        Assert.True(await DnsTcp.ReadExactlyAsync(socket, length, ct), "connection closed before the length");
        var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
        Assert.True(await DnsTcp.ReadExactlyAsync(socket, response, ct), "connection closed before the message");
        return response;
    }

    public static DnsMessage Parse(ReadOnlySpan<byte> raw)
    {
        Assert.True(DnsMessage.TryParse(raw, out DnsMessage? message), "the response does not parse");
        return message!;
    }

    public static string[] Addresses(DnsMessage message) =>
        [.. message.Answers.Where(r => r.Type is DnsType.A or DnsType.AAAA).Select(r => new IPAddress(r.Data).ToString())];
}
