using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Berth.Api.Models;
using Berth.Client;
using Berth.Node.Dns;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Tests.Dns;

/// <summary>
/// The component against the real API server in-process: informers → zone → answers over real UDP on a loopback
/// address of the test's own, the kube-dns address followed, its EndpointSlice, and bind failures reported and retried.
/// Every test forwards to its own loopback upstream, never to the host's resolver.
/// </summary>
public sealed class ClusterDnsTests : IAsyncLifetime
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<string> _log = new();
    private readonly string _resolvConf = Path.Combine(Path.GetTempPath(), "berth-dns-test-" + Guid.NewGuid().ToString("N"), "resolv.conf");
    private InProcessServer _server = null!;
    private KubeClient _client = null!;
    private TestUpstream _upstream = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessServer.StartAsync();
        _client = _server.NewClient();
        _upstream = new TestUpstream();
        // kube-dns is created by the API server once it listens; the component's address and events hang off it.
        await UntilAsync(() => _client.TryGetAsync<Service>("kube-system", "kube-dns"), s => s is not null, "kube-system/kube-dns to exist");
    }

    public async Task DisposeAsync()
    {
        _upstream.Dispose();
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Theory]
    // The flag's list as given, less this server itself (same address and port).
    [InlineData("127.0.0.9:5300,127.96.0.10:53,127.96.0.10:5353", "nameserver 127.0.0.8", "127.96.0.10:53", "127.0.0.9:5300,127.96.0.10:5353")]
    // No flag: the host's nameservers on port 53, less the cluster DNS address; junk lines skipped.
    [InlineData(null, "nameserver 127.0.0.53\nnameserver 127.96.0.10\nnameserver ::1\nnameserver bogus", "127.96.0.10:5353", "127.0.0.53:53,[::1]:53")]
    [InlineData(null, "search example.test", "127.96.0.10:53", "")]
    public void Upstreams_FlagOrHostResolvConf_NeverItself(string? given, string resolvConf, string self, string expected)
    {
        var upstreams = ClusterDns.Upstreams(
            given?.Split(',').Select(IPEndPoint.Parse).ToList(),
            ResolvConf.Parse(resolvConf),
            IPEndPoint.Parse(self));
        Assert.Equal(expected, string.Join(',', upstreams));
    }

    [Fact]
    public async Task Start_Synced_AnswersClusterNamesAndForwardsTheRest()
    {
        var address = UniqueLoopback();
        await using var dns = await StartAsync(address);
        var endPoint = await ListeningAsync(dns);
        Assert.Equal(address, endPoint.Address);

        var kubernetes = await UntilAsync(() => QueryAsync(endPoint, "kubernetes.default.svc.cluster.local", DnsType.A),
            m => m?.Rcode == DnsRcode.NoError, "kubernetes.default to answer");
        var clusterIP = (await _client.GetAsync<Service>("default", "kubernetes")).Spec!.ClusterIP!;
        Assert.Equal([IPAddress.Parse(clusterIP)], AddressesOf(kubernetes!));
        Assert.True(kubernetes!.Authoritative);

        // Once synced, never SERVFAIL again.
        for (var i = 0; i < 20; i++)
        {
            var again = await QueryAsync(endPoint, "kubernetes.default.svc.cluster.local", DnsType.A);
            Assert.Equal(DnsRcode.NoError, again?.Rcode);
        }
        Assert.Equal(DnsRcode.NXDomain, (await QueryAsync(endPoint, "missing.default.svc.cluster.local", DnsType.A))?.Rcode);

        var forwarded = await QueryAsync(endPoint, "www.example.test", DnsType.A);
        Assert.Equal(DnsRcode.NoError, forwarded?.Rcode);
        Assert.Equal([TestUpstream.Answer], AddressesOf(forwarded!));
        Assert.Contains("www.example.test", _upstream.Questions);
    }

    [Fact]
    public async Task ServiceCreatedThenDeleted_AnswersThenNXDomain()
    {
        var address = UniqueLoopback();
        await using var dns = await StartAsync(address);
        var endPoint = await ListeningAsync(dns);
        await _client.CreateAsync(new Namespace { Metadata = new ObjectMeta { Name = "shop" } });

        var service = await _client.CreateAsync(new Service
        {
            Metadata = new ObjectMeta { Name = "quote", Namespace = "shop" },
            Spec = new ServiceSpec { Selector = new() { ["app"] = "quote" }, Ports = [new ServicePort { Port = 80 }] },
        });
        var answer = await UntilAsync(() => QueryAsync(endPoint, "Quote.Shop.svc.cluster.local", DnsType.A),
            m => m?.Rcode == DnsRcode.NoError && m.Answers.Count > 0, "the new Service to answer");
        Assert.Equal([IPAddress.Parse(service.Spec!.ClusterIP!)], AddressesOf(answer!));

        await _client.DeleteAsync<Service>("shop", "quote");
        await UntilAsync(() => QueryAsync(endPoint, "quote.shop.svc.cluster.local", DnsType.A),
            m => m?.Rcode == DnsRcode.NXDomain, "the deleted Service to be NXDOMAIN");
    }

    [Fact]
    public async Task KubeDnsRecreatedWithAnotherClusterIP_RebindsThere()
    {
        // No --cluster-dns: the address is kube-dns's ClusterIP. A random port keeps this clear of anything else on it.
        var port = Random.Shared.Next(20000, 60000);
        await using var dns = await ClusterDns.StartAsync(_client, "node-a", Options(null, port), CancellationToken.None);
        var first = IPAddress.Parse((await _client.GetAsync<Service>("kube-system", "kube-dns")).Spec!.ClusterIP!);
        await UntilAsync(() => Task.FromResult(dns.Listening), l => Equals(l, new IPEndPoint(first, port)), "listening on kube-dns's ClusterIP");

        var moved = IPAddress.Parse($"127.96.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}");
        var recreated = await RecreateKubeDnsAsync(moved);

        await UntilAsync(() => Task.FromResult(dns.Listening), l => Equals(l, new IPEndPoint(moved, port)), "listening on the new ClusterIP");
        var answer = await UntilAsync(() => QueryAsync(new IPEndPoint(moved, port), "kube-dns.kube-system.svc.cluster.local", DnsType.A),
            m => m?.Rcode == DnsRcode.NoError && m.Answers.Count > 0, "an answer on the new address");
        Assert.Equal([moved], AddressesOf(answer!));
        // The old address is let go.
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(first, port));
        }
        // The slice follows: the new address, owned by the new kube-dns.
        var slice = await UntilAsync(() => _client.TryGetAsync<EndpointSlice>("kube-system", "kube-dns-node-a"),
            s => s?.Endpoints?[0].Addresses?[0] == moved.ToString() && s.Metadata?.OwnerReferences?.Any(o => o.Uid == recreated.Metadata!.Uid) == true,
            "the EndpointSlice to carry the new address and owner");
        Assert.True(slice!.Endpoints![0].Conditions!.Ready);
    }

    [Fact]
    public async Task EndpointSlice_PublishedPutBackAndDeletedOnDispose()
    {
        var address = UniqueLoopback();
        var port = Random.Shared.Next(20000, 60000);
        var kubeDns = await _client.GetAsync<Service>("kube-system", "kube-dns");
        var dns = await ClusterDns.StartAsync(_client, "node-b", Options(address, port), CancellationToken.None);
        try
        {
            var slice = await UntilAsync(() => _client.TryGetAsync<EndpointSlice>("kube-system", "kube-dns-node-b"),
                s => s?.Endpoints?[0].Conditions?.Ready == true, "a ready EndpointSlice");
            Assert.Equal("kube-dns", slice!.Metadata!.Labels!["kubernetes.io/service-name"]);
            Assert.Equal("berth-node-dns", slice.Metadata.Labels["endpointslice.kubernetes.io/managed-by"]);
            var owner = Assert.Single(slice.Metadata.OwnerReferences!);
            Assert.Equal(("v1", "Service", "kube-dns", kubeDns.Metadata!.Uid), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid));
            Assert.Equal("IPv4", slice.AddressType);
            var endpoint = Assert.Single(slice.Endpoints!);
            Assert.Equal([address.ToString()], endpoint.Addresses);
            Assert.Equal("node-b", endpoint.NodeName);
            Assert.Equal(
                [("dns", "UDP", port), ("dns-tcp", "TCP", port)],
                slice.Ports!.Select(p => (p.Name, p.Protocol, p.Port ?? 0)).ToArray());

            // Deleted by someone else: written again.
            await _client.DeleteAsync<EndpointSlice>("kube-system", "kube-dns-node-b");
            await UntilAsync(() => _client.TryGetAsync<EndpointSlice>("kube-system", "kube-dns-node-b"),
                s => s?.Metadata?.Uid is { } uid && uid != slice.Metadata.Uid, "the EndpointSlice to be put back");

            // Marked not ready by someone else: made ready again.
            var edited = (await _client.GetAsync<EndpointSlice>("kube-system", "kube-dns-node-b"));
            edited.Endpoints![0].Conditions!.Ready = false;
            await _client.UpdateAsync(edited);
            await UntilAsync(() => _client.TryGetAsync<EndpointSlice>("kube-system", "kube-dns-node-b"),
                s => s?.Endpoints?[0].Conditions?.Ready == true, "the EndpointSlice to be ready again");
        }
        finally
        {
            await dns.DisposeAsync();
        }
        Assert.Null(await _client.TryGetAsync<EndpointSlice>("kube-system", "kube-dns-node-b"));
        Assert.Null(dns.Listening);
    }

    [Fact]
    public async Task BindFailure_WarningEventNotReadyThenListeningOnceFree()
    {
        var address = UniqueLoopback();
        var port = Random.Shared.Next(20000, 60000);
        var holder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        holder.Bind(new IPEndPoint(address, port));
        await using var dns = await ClusterDns.StartAsync(_client, "node-c", Options(address, port), CancellationToken.None);
        try
        {
            var failed = await UntilAsync(() => DnsEventsAsync("BindFailed"), e => e.Count > 0, "a BindFailed event");
            var warning = Assert.Single(failed);
            Assert.Equal("Warning", warning.Type);
            Assert.Equal(ClusterDns.Component, warning.Source?.Component);
            Assert.Contains($"{address}:{port}", warning.Message, StringComparison.Ordinal);
            Assert.Contains("node-c", warning.Message, StringComparison.Ordinal);
            Assert.Null(dns.Listening);
            Assert.Single(_log, l => l.Contains("cannot listen", StringComparison.Ordinal));
            await UntilAsync(() => _client.TryGetAsync<EndpointSlice>("kube-system", "kube-dns-node-c"),
                s => s?.Endpoints?[0].Conditions?.Ready == false, "a not-ready EndpointSlice");
        }
        finally
        {
            holder.Dispose();
        }

        await UntilAsync(() => Task.FromResult(dns.Listening), l => Equals(l, new IPEndPoint(address, port)), "the retry to bind");
        var listening = await UntilAsync(() => DnsEventsAsync("Listening"), e => e.Count > 0, "a Listening event");
        Assert.Equal("Normal", Assert.Single(listening).Type);
        await UntilAsync(() => _client.TryGetAsync<EndpointSlice>("kube-system", "kube-dns-node-c"),
            s => s?.Endpoints?[0].Conditions?.Ready == true, "the EndpointSlice to turn ready");
        await UntilAsync(() => QueryAsync(new IPEndPoint(address, port), "kubernetes.default.svc.cluster.local", DnsType.A),
            m => m?.Rcode == DnsRcode.NoError, "an answer after the retry");
        // One failure, said once, however many retries it took.
        Assert.Single(_log, l => l.Contains("cannot listen", StringComparison.Ordinal));
    }

    /// <summary>Deletes kube-dns and creates it on <paramref name="clusterIP"/> (again should the API server's reconciler put the old one back in between).</summary>
    private async Task<Service> RecreateKubeDnsAsync(IPAddress clusterIP)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _client.DeleteAsync<Service>("kube-system", "kube-dns");
                return await _client.CreateAsync(new Service
                {
                    Metadata = new ObjectMeta { Name = "kube-dns", Namespace = "kube-system" },
                    Spec = new ServiceSpec
                    {
                        ClusterIP = clusterIP.ToString(),
                        Ports = [new ServicePort { Name = "dns", Port = 53, Protocol = "UDP" }, new ServicePort { Name = "dns-tcp", Port = 53, Protocol = "TCP" }],
                    },
                });
            }
            catch (KubeApiException e) when (e.StatusCode is 404 or 409 && attempt < 3)
            {
            }
        }
    }

    private async Task<ClusterDns> StartAsync(IPAddress address) =>
        await ClusterDns.StartAsync(_client, "node-a", Options(address, Random.Shared.Next(20000, 60000)), CancellationToken.None);

    private DnsOptions Options(IPAddress? address, int port) => new()
    {
        ClusterDnsIP = address,
        Port = port,
        Upstreams = [_upstream.EndPoint],
        HostResolvConf = _resolvConf,
        Log = _log.Enqueue,
    };

    private static async Task<IPEndPoint> ListeningAsync(ClusterDns dns) =>
        (await UntilAsync(() => Task.FromResult(dns.Listening), l => l is not null, "the listener"))!;

    private async Task<IReadOnlyList<Event>> DnsEventsAsync(string reason)
    {
        var events = await _client.ListAsync<Event>("kube-system");
        return [.. events.Items.Where(e => e.InvolvedObject?.Name == "kube-dns" && e.Reason == reason && e.Source?.Component == ClusterDns.Component)];
    }

    /// <summary>An address in 127/8 no other test uses (127.0.0.0/16 and the API server's 127.96/16 left alone).</summary>
    private static IPAddress UniqueLoopback() =>
        IPAddress.Parse($"127.{Random.Shared.Next(160, 250)}.{Random.Shared.Next(0, 256)}.{Random.Shared.Next(2, 255)}");

    private static IPAddress[] AddressesOf(DnsMessage message) =>
        [.. message.Answers.Where(r => r.Type == DnsType.A).Select(r => new IPAddress(r.Data))];

    /// <summary>One query over UDP; null when nothing (parseable) came back within a second.</summary>
    private static async Task<DnsMessage?> QueryAsync(IPEndPoint server, string name, DnsType type)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var id = (ushort)Random.Shared.Next(ushort.MaxValue);
        await socket.SendToAsync(DnsMessage.Query(id, name, type), server);
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            return DnsMessage.TryParse(buffer.AsSpan(0, received), out var message) && message!.Id == id ? message : null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException)
        {
            // Port unreachable: not listening (yet).
            return null;
        }
    }

    private static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// A loopback resolver that answers A questions under example.test with <see cref="Answer"/> (TEST-NET-1) and
    /// NXDOMAIN for other names (autopath walks a missing cluster name out to the root), and records the names asked.
    /// </summary>
    private sealed class TestUpstream : IDisposable
    {
        public static readonly IPAddress Answer = IPAddress.Parse("192.0.2.1");

        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public TestUpstream()
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
            _loop = Task.Run(ServeAsync);
        }

        public IPEndPoint EndPoint { get; }

        public ConcurrentQueue<string> Questions { get; } = new();

        private async Task ServeAsync()
        {
            var buffer = new byte[4096];
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveFromResult received;
                try
                {
                    received = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    if (_stop.IsCancellationRequested)
                    {
                        return;
                    }
                    continue;
                }
                if (Respond(buffer.AsSpan(0, received.ReceivedBytes)) is { } response)
                {
                    await _socket.SendToAsync(response, received.RemoteEndPoint);
                }
            }
        }

        /// <summary>The question copied back with QR/RA set and, for A, one answer pointing at the question's name.</summary>
        private byte[]? Respond(ReadOnlySpan<byte> query)
        {
            var end = 12;
            var labels = new List<string>();
            while (end < query.Length && query[end] != 0)
            {
                labels.Add(System.Text.Encoding.ASCII.GetString(query.Slice(end + 1, Math.Min(query[end], query.Length - end - 1))));
                end += query[end] + 1;
            }
            end += 5;
            if (query.Length < end)
            {
                return null;
            }
            var name = string.Join('.', labels).ToLowerInvariant();
            Questions.Enqueue(name);
            var known = name == "example.test" || name.EndsWith(".example.test", StringComparison.Ordinal);
            var isA = known && BinaryPrimitives.ReadUInt16BigEndian(query[(end - 4)..]) == (ushort)DnsType.A;
            var response = new byte[end + (isA ? 16 : 0)];
            query[..end].CopyTo(response);
            BinaryPrimitives.WriteUInt16BigEndian(response.AsSpan(2), (ushort)(known ? 0x8180 : 0x8183));
            BinaryPrimitives.WriteUInt16BigEndian(response.AsSpan(6), (ushort)(isA ? 1 : 0));
            BinaryPrimitives.WriteUInt16BigEndian(response.AsSpan(8), 0);
            BinaryPrimitives.WriteUInt16BigEndian(response.AsSpan(10), 0);
            if (isA)
            {
                var answer = response.AsSpan(end);
                BinaryPrimitives.WriteUInt16BigEndian(answer, 0xC00C);
                BinaryPrimitives.WriteUInt16BigEndian(answer[2..], 1);
                BinaryPrimitives.WriteUInt16BigEndian(answer[4..], 1);
                BinaryPrimitives.WriteUInt32BigEndian(answer[6..], 60);
                BinaryPrimitives.WriteUInt16BigEndian(answer[10..], 4);
                Answer.GetAddressBytes().CopyTo(answer[12..]);
            }
            return response;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            try
            {
                _loop.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopping.
            }
            _stop.Dispose();
        }
    }
}
