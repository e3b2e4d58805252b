using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.EndToEnd;

/// <summary>
/// The upstream resolver of the cluster DNS in the end-to-end tests: a small authoritative server on 127.0.0.1 (UDP
/// and TCP on one port) that answers A records the test sets and NXDOMAIN with an SOA for every other name, and
/// counts each question it gets, so a test can tell a cached answer from a forwarded one. Tests never send a query
/// to the machine's own resolver; this is what the cluster DNS forwards to instead.
/// </summary>
/// <remarks>
/// Over UDP an answer larger than the client allows (512 bytes, or the EDNS0 payload size it advertises) is sent
/// as header and question with TC set, as RFC 1035 4.2.1 and RFC 6891 6.2.5 ask, so a forwarder has to retry over
/// TCP to get it whole. A packet it cannot parse gets no reply.
/// </remarks>
public sealed class TestUpstreamDns : IAsyncDisposable
{
    /// <summary>TTL of the records it serves: long enough that a cache keeps them for the whole test class.</summary>
    public const uint Ttl = 300;

    // The negative-caching TTL of its NXDOMAIN answers (the SOA minimum, RFC 2308 5).
    private const uint NegativeTtl = 60;

    private const int HeaderLength = 12;
    private const ushort ClassIn = 1;
    private const ushort TypeA = 1;
    private const ushort TypeSoa = 6;
    private const ushort TypeOpt = 41;
    private const ushort EdnsPayload = 1232;

    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, IPAddress[]> _records = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _queries = new(StringComparer.Ordinal);
    private readonly List<Task> _loops = [];

    private TestUpstreamDns(Socket udp, Socket tcp)
    {
        _udp = udp;
        _tcp = tcp;
        EndPoint = (IPEndPoint)udp.LocalEndPoint!;
    }

    /// <summary>Where it answers: 127.0.0.1 and a free port, the same for UDP and TCP.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Binds a free port on 127.0.0.1 for both protocols and starts answering.</summary>
    public static TestUpstreamDns Start()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                // The port is free for UDP; it may be taken for TCP, then another one is tried.
                tcp.Bind(udp.LocalEndPoint!);
                tcp.Listen();
            }
            catch (SocketException)
            {
                udp.Dispose();
                tcp.Dispose();
                continue;
            }
            var server = new TestUpstreamDns(udp, tcp);
            server._loops.Add(Task.Run(server.ReceiveUdpAsync));
            server._loops.Add(Task.Run(server.AcceptTcpAsync));
            return server;
        }
        throw new InvalidOperationException("no port on 127.0.0.1 was free for both UDP and TCP in 50 attempts");
    }

    /// <summary>Serves these A records for the name (no trailing dot, any case) from now on.</summary>
    public void SetA(string name, params IPAddress[] addresses) => _records[Key(name)] = addresses;

    /// <summary>How many questions for the name and type (e.g. "A") it has received, over UDP and TCP together.</summary>
    public int Queries(string name, string type) => _queries.TryGetValue($"{Key(name)}/{type}", out var count) ? count : 0;

    /// <summary>Every question it has received, as "name/TYPE = count", for failure messages.</summary>
    public string Received() => string.Join(", ", _queries.OrderBy(q => q.Key, StringComparer.Ordinal).Select(q => $"{q.Key} = {q.Value}"));

    private static string Key(string name) => name.TrimEnd('.').ToLowerInvariant();

    private async Task ReceiveUdpAsync()
    {
        var buffer = new byte[65535];
        var reply = new byte[65535];
        var from = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP error for an earlier reply (the client went away): keep serving.
                continue;
            }
            var length = Answer(buffer.AsSpan(0, received.ReceivedBytes), reply, udp: true);
            if (length > 0)
            {
                try
                {
                    await _udp.SendToAsync(reply.AsMemory(0, length), SocketFlags.None, received.RemoteEndPoint, _stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException)
                {
                    // The client is gone.
                }
            }
        }
    }

    private async Task AcceptTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _tcp.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeTcpAsync(connection));
        }
    }

    /// <summary>Length-prefixed messages (RFC 1035 4.2.2), several per connection, until the client closes.</summary>
    private async Task ServeTcpAsync(Socket connection)
    {
        using var _ = connection;
        var prefix = new byte[2];
        var reply = new byte[2 + 65535];
        try
        {
            while (true)
            {
                if (!await ReadExactlyAsync(connection, prefix))
                {
                    return;
                }
                var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                if (!await ReadExactlyAsync(connection, message))
                {
                    return;
                }
                var length = Answer(message, reply.AsSpan(2), udp: false);
                if (length == 0)
                {
                    return;
                }
                BinaryPrimitives.WriteUInt16BigEndian(reply, (ushort)length);
                await connection.SendAsync(reply.AsMemory(0, 2 + length), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopping, or the client is gone.
        }
    }

    private async Task<bool> ReadExactlyAsync(Socket connection, Memory<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var n = await connection.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            if (n == 0)
            {
                return false;
            }
            buffer = buffer[n..];
        }
        return true;
    }

    /// <summary>Writes the reply to <paramref name="query"/> into <paramref name="reply"/>; 0 for no reply.</summary>
    private int Answer(ReadOnlySpan<byte> query, Span<byte> reply, bool udp)
    {
        if (query.Length < HeaderLength || (query[2] & 0x80) != 0 || BinaryPrimitives.ReadUInt16BigEndian(query[4..]) != 1)
        {
            return 0;
        }
        var name = new StringBuilder();
        var offset = HeaderLength;
        while (true)
        {
            if (offset >= query.Length)
            {
                return 0;
            }
            int label = query[offset++];
            if (label == 0)
            {
                break;
            }
            if (label > 63 || offset + label > query.Length)
            {
                return 0;
            }
            name.Append(name.Length > 0 ? "." : "").Append(Encoding.ASCII.GetString(query.Slice(offset, label)));
            offset += label;
        }
        if (offset + 4 > query.Length)
        {
            return 0;
        }
        var type = BinaryPrimitives.ReadUInt16BigEndian(query[offset..]);
        var questionEnd = offset + 4;
        var key = Key(name.ToString());
        _queries.AddOrUpdate($"{key}/{TypeName(type)}", 1, (_, n) => n + 1);

        // An OPT record among the additional records (EDNS0) raises the UDP limit to the size it advertises.
        var additional = BinaryPrimitives.ReadUInt16BigEndian(query[10..]);
        var edns = additional > 0 && questionEnd + 11 <= query.Length && query[questionEnd] == 0
            && BinaryPrimitives.ReadUInt16BigEndian(query[(questionEnd + 1)..]) == TypeOpt;
        var limit = !udp ? reply.Length : edns ? Math.Max(512, (int)BinaryPrimitives.ReadUInt16BigEndian(query[(questionEnd + 3)..])) : 512;

        var known = _records.TryGetValue(key, out var addresses);
        var answers = known && type == TypeA ? addresses! : [];
        var length = Write(query, questionEnd, reply, known ? 0 : 3, answers, soa: answers.Length == 0, edns);
        if (length > limit)
        {
            // Too large for this client over UDP: the header and question alone, with TC.
            length = Write(query, questionEnd, reply, 0, [], soa: false, edns: false);
            reply[2] |= 0x02;
        }
        return length;
    }

    private static int Write(ReadOnlySpan<byte> query, int questionEnd, Span<byte> reply, int rcode, IPAddress[] answers, bool soa, bool edns)
    {
        query[..questionEnd].CopyTo(reply);
        // QR and AA, RD copied; RA; the rcode.
        reply[2] = (byte)(0x84 | (query[2] & 0x01));
        reply[3] = (byte)(0x80 | rcode);
        BinaryPrimitives.WriteUInt16BigEndian(reply[6..], (ushort)answers.Length);
        BinaryPrimitives.WriteUInt16BigEndian(reply[8..], (ushort)(soa ? 1 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(reply[10..], (ushort)(edns ? 1 : 0));
        var offset = questionEnd;
        foreach (var address in answers)
        {
            // The owner is the question's name, by a pointer to offset 12.
            offset += WriteRecord(reply[offset..], [0xC0, 0x0C], TypeA, Ttl, address.GetAddressBytes());
        }
        if (soa)
        {
            // Owner: the root; "ns.test. hostmaster.test. 1 7200 1800 86400 60".
            byte[] names = [2, (byte)'n', (byte)'s', 4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0,
                10, .. "hostmaster"u8, 0xC0, 0];
            var rdata = new byte[names.Length + 20];
            names.CopyTo(rdata, 0);
            // The pointer to "test." inside the mname is made absolute once the record's offset is known.
            var rdataStart = offset + 1 + 10;
            rdata[names.Length - 1] = (byte)(rdataStart + 3);
            rdata[names.Length - 2] = (byte)(0xC0 | ((rdataStart + 3) >> 8));
            var numbers = rdata.AsSpan(names.Length);
            BinaryPrimitives.WriteUInt32BigEndian(numbers, 1);
            BinaryPrimitives.WriteUInt32BigEndian(numbers[4..], 7200);
            BinaryPrimitives.WriteUInt32BigEndian(numbers[8..], 1800);
            BinaryPrimitives.WriteUInt32BigEndian(numbers[12..], 86400);
            BinaryPrimitives.WriteUInt32BigEndian(numbers[16..], NegativeTtl);
            offset += WriteRecord(reply[offset..], [0], TypeSoa, NegativeTtl, rdata);
        }
        if (edns)
        {
            // OPT: root owner, the payload size in the class, no extended rcode or flags, no options.
            reply[offset] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(reply[(offset + 1)..], TypeOpt);
            BinaryPrimitives.WriteUInt16BigEndian(reply[(offset + 3)..], EdnsPayload);
            BinaryPrimitives.WriteUInt32BigEndian(reply[(offset + 5)..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(reply[(offset + 9)..], 0);
            offset += 11;
        }
        return offset;
    }

    private static int WriteRecord(Span<byte> destination, ReadOnlySpan<byte> owner, ushort type, uint ttl, ReadOnlySpan<byte> rdata)
    {
        owner.CopyTo(destination);
        var offset = owner.Length;
        BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], ClassIn);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(offset + 4)..], ttl);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 8)..], (ushort)rdata.Length);
        rdata.CopyTo(destination[(offset + 10)..]);
        return offset + 10 + rdata.Length;
    }

    private static string TypeName(ushort type) => type switch
    {
        1 => "A",
        28 => "AAAA",
        5 => "CNAME",
        12 => "PTR",
        33 => "SRV",
        16 => "TXT",
        _ => type.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Dispose();
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }
}
