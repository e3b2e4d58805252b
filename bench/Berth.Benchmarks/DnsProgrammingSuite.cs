using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Api.Models;
using Berth.Benchmarks.EndToEnd;
using Berth.Client;

namespace Berth.Benchmarks;

/// <summary>
/// DNS programming latency (docs/benchmarks.md, "Cluster DNS (issue 8)"): Services created one at a time through the
/// API of a running server, each timed from just before its POST until the cluster DNS answers its name with an A
/// record (checked afterwards to be the ClusterIP the POST returned); then deleted one at a time, timed until the name
/// is NXDOMAIN. The DNS is polled from the moment the request is sent, so the figure does not wait for the API's
/// response. The baseline, measured on the same Services: when a watch on their namespace delivers the ADDED
/// (DELETED) event, the earliest moment any watch-driven DNS server can know about the change.
/// </summary>
/// <remarks>
/// The DNS is polled over UDP with a query every millisecond (Thread.Sleep(1) between an answer that is not yet the
/// right one and the next query), so a figure is late by at most about a millisecond. The queries are built and
/// read here, not with Berth's own wire code, so the server's encoding is checked by an independent reader.
/// Run by bench/dns/run.sh against the server it started; on its own:
/// <c>Berth.Benchmarks dns-programming --kubeconfig DATA/kubeconfig --dns 127.96.0.10:53 [--count 100]</c>.
/// </remarks>
internal static class DnsProgrammingSuite
{
    private const string Usage = """
        usage: Berth.Benchmarks dns-programming --kubeconfig FILE --dns IP:PORT [options]
          --kubeconfig FILE  the server's kubeconfig (berth server writes DATA-DIR/kubeconfig)
          --dns IP:PORT      the cluster DNS (loopback only), e.g. 127.96.0.10:53
          --zone DOMAIN      the cluster domain (default cluster.local)
          --namespace NS     where the Services are created (default default; it must exist)
          --count N          Services created, then deleted, one at a time (default 100)
          --timeout SECONDS  how long one name may take before the run fails (default 30)
        Prints a markdown table on stdout, progress on stderr.
        """;

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(1);

    public static async Task<int> RunAsync(string[] args)
    {
        string? kubeconfig = null;
        IPEndPoint? dns = null;
        var zone = "cluster.local";
        var ns = "default";
        var count = 100;
        var timeout = TimeSpan.FromSeconds(30);
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i - 1])
                {
                    case "--kubeconfig":
                        kubeconfig = value;
                        break;
                    case "--dns":
                        dns = IPEndPoint.TryParse(value, out var ep) && IPAddress.IsLoopback(ep.Address) && ep.Port > 0
                            ? ep : throw new ArgumentException($"--dns needs a loopback IP:PORT, not \"{value}\"");
                        break;
                    case "--zone":
                        zone = value.TrimEnd('.').ToLowerInvariant();
                        break;
                    case "--namespace":
                        ns = value;
                        break;
                    case "--count":
                        count = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 10000
                            ? n : throw new ArgumentException("--count needs a number from 1 to 10000");
                        break;
                    case "--timeout":
                        timeout = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= 600
                            ? TimeSpan.FromSeconds(s) : throw new ArgumentException("--timeout needs whole seconds from 1 to 600");
                        break;
                    default:
                        throw new ArgumentException($"unknown option \"{args[i - 1]}\"");
                }
            }
            if (kubeconfig is null || dns is null)
            {
                throw new ArgumentException("--kubeconfig and --dns are required");
            }
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"dns-programming: {e.Message}\n\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        // Bounded as a whole too: every Service twice (create, delete) at the per-name cap, plus a minute.
        using var cts = new CancellationTokenSource((2 * count * timeout) + TimeSpan.FromMinutes(1));
        using var client = KubeClient.FromKubeconfig(kubeconfig);
        var prefix = $"prog-{Random.Shared.Next(0x10000):x4}-";
        var created = new List<string>();
        try
        {
            var markdown = await MeasureAsync(client, dns, zone, ns, prefix, count, timeout, created, cts.Token).ConfigureAwait(false);
            Console.Write(markdown);
            return 0;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or KubeApiException or HttpRequestException or SocketException)
        {
            await Console.Error.WriteLineAsync($"dns-programming: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            // What a failed run left behind.
            foreach (var name in created)
            {
                try
                {
                    await client.DeleteAsync<Service>(ns, name, ct: CancellationToken.None).ConfigureAwait(false);
                }
                catch (KubeApiException)
                {
                    // Already gone.
                }
            }
        }
    }

    private static async Task<string> MeasureAsync(KubeClient client, IPEndPoint dns, string zone, string ns, string prefix, int count, TimeSpan timeout,
        List<string> created, CancellationToken ct)
    {
        var loadAtStart = ProcFacts.LoadAverage();
        var list = await client.ListAsync<Service>(ns, ct: ct).ConfigureAwait(false);
        var events = new ConcurrentDictionary<(WatchEventType, string), long>();
        using var stopWatch = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watch = WatchAsync(client, ns, list.ResourceVersion, prefix, events, stopWatch.Token);

        using var probe = new DnsProbe(dns);
        var create = new List<Timing>();
        var delete = new List<Timing>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var name = $"{prefix}{i}";
                var fqdn = $"{name}.{ns}.svc.{zone}";
                var start = Stopwatch.GetTimestamp();
                var polling = Task.Run(() => probe.WaitFor(fqdn, nxDomain: false, timeout, ct), ct);
                var service = await client.CreateAsync(new Service
                {
                    Metadata = new ObjectMeta { Name = name, Namespace = ns },
                    Spec = new ServiceSpec
                    {
                        Selector = new Dictionary<string, string> { ["app"] = name },
                        Ports = [new ServicePort { Name = "http", Port = 80, Protocol = "TCP" }],
                    },
                }, ct).ConfigureAwait(false);
                var api = Stopwatch.GetTimestamp();
                created.Add(name);
                var clusterIp = IPAddress.Parse(service.Spec?.ClusterIP ?? throw new InvalidOperationException($"{name} got no ClusterIP"));
                var (answered, address, roundTrip) = await polling.ConfigureAwait(false);
                if (!clusterIp.Equals(address))
                {
                    throw new InvalidOperationException($"{fqdn} answered {address}, not its ClusterIP {clusterIp}");
                }
                var watched = await WaitForEventAsync(events, WatchEventType.Added, name, timeout, ct).ConfigureAwait(false);
                create.Add(new Timing(start, api, watched, answered, roundTrip));
                Log($"{name}: API {Ms(start, api)}, watch {Ms(start, watched)}, DNS {Ms(start, answered)} ({clusterIp})");
                // A random pause, so creations do not fall into step with any periodic work on the server.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(20, 70)), ct).ConfigureAwait(false);
            }
            for (var i = 0; i < count; i++)
            {
                var name = $"{prefix}{i}";
                var fqdn = $"{name}.{ns}.svc.{zone}";
                var start = Stopwatch.GetTimestamp();
                var polling = Task.Run(() => probe.WaitFor(fqdn, nxDomain: true, timeout, ct), ct);
                await client.DeleteAsync<Service>(ns, name, ct: ct).ConfigureAwait(false);
                var api = Stopwatch.GetTimestamp();
                created.Remove(name);
                var (answered, _, roundTrip) = await polling.ConfigureAwait(false);
                var watched = await WaitForEventAsync(events, WatchEventType.Deleted, name, timeout, ct).ConfigureAwait(false);
                delete.Add(new Timing(start, api, watched, answered, roundTrip));
                Log($"{name} deleted: API {Ms(start, api)}, watch {Ms(start, watched)}, NXDOMAIN {Ms(start, answered)}");
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(20, 70)), ct).ConfigureAwait(false);
            }
        }
        finally
        {
            await stopWatch.CancelAsync().ConfigureAwait(false);
            try
            {
                await watch.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The watch ends with the run.
            }
        }
        return Render(create, delete, count, ns, dns, probe.Queries, loadAtStart);
    }

    private static async Task WatchAsync(KubeClient client, string ns, string resourceVersion, string prefix, ConcurrentDictionary<(WatchEventType, string), long> events, CancellationToken ct)
    {
        var rv = resourceVersion;
        while (!ct.IsCancellationRequested)
        {
            await foreach (var e in client.WatchAsync<Service>(ns, new ListOptions(ResourceVersion: rv, TimeoutSeconds: 600), ct).ConfigureAwait(false))
            {
                var now = Stopwatch.GetTimestamp();
                if (e.Object?.Metadata is { Name: { } name } meta && name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    events.TryAdd((e.Type, name), now);
                    rv = meta.ResourceVersion ?? rv;
                }
            }
        }
    }

    private static async Task<long> WaitForEventAsync(ConcurrentDictionary<(WatchEventType, string), long> events, WatchEventType type, string name, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (events.TryGetValue((type, name), out var at))
            {
                return at;
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"no {type} watch event for {name} within {timeout.TotalSeconds:F0} s");
            }
            await Task.Delay(s_poll, ct).ConfigureAwait(false);
        }
    }

    private static string Render(List<Timing> create, List<Timing> delete, int count, string ns, IPEndPoint dns, long queries, string loadAtStart)
    {
        static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
        var sb = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"DNS programming latency: {count} Services created in `{ns}` one at a time (20–70 ms apart), then deleted one at a time; ")
            .Append(CultureInfo.InvariantCulture, $"times from just before the API request; the DNS ({dns}) polled over UDP every 1 ms from then on, alongside the request ({queries:N0} queries in all). ")
            .Append(CultureInfo.InvariantCulture, $"Load average {loadAtStart} at its start, {ProcFacts.LoadAverage()} at its end.\n\n")
            .Append("| # | Measurement | p50 | p90 | p99 | max | Notes |\n")
            .Append("|---|---|---|---|---|---|---|\n");

        void Row(string id, string what, IEnumerable<double> values, string notes)
        {
            var s = new Samples(values);
            sb.Append(CultureInfo.InvariantCulture, $"| {id} | {what} | {ResultTable.Ms(s.Percentile(50))} | {ResultTable.Ms(s.Percentile(90))} | {ResultTable.Ms(s.Percentile(99))} | {ResultTable.Ms(s.Max)} | {notes} |\n");
        }

        Row("3a", "Create: API round trip (POST → 201)", create.Select(t => Ms(t.Start, t.Api)), "");
        Row("3b", "Create → ADDED on a watch (baseline)", create.Select(t => Ms(t.Start, t.Watched)), "the earliest a watch-driven DNS can know");
        Row("3c", "**Create → name answers with its ClusterIP** (Berth)", create.Select(t => Ms(t.Start, t.Answered)),
            string.Create(CultureInfo.InvariantCulture, $"p99 ÷ baseline p99: {Ratio(create, t => Ms(t.Start, t.Answered), t => Ms(t.Start, t.Watched))}"));
        Row("3d", "Create: answer after the watch event (3c − 3b per Service)", create.Select(t => Ms(t.Watched, t.Answered)), "what the DNS adds on top of the watch (negative: the DNS's own watch was first)");
        Row("3e", "Create: round trip of the query that got the answer", create.Select(t => t.RoundTrip.TotalMilliseconds), "one cluster-name answer");
        Row("4a", "Delete: API round trip", delete.Select(t => Ms(t.Start, t.Api)), "");
        Row("4b", "Delete → DELETED on a watch (baseline)", delete.Select(t => Ms(t.Start, t.Watched)), "");
        Row("4c", "**Delete → name is NXDOMAIN** (Berth)", delete.Select(t => Ms(t.Start, t.Answered)),
            string.Create(CultureInfo.InvariantCulture, $"p99 ÷ baseline p99: {Ratio(delete, t => Ms(t.Start, t.Answered), t => Ms(t.Start, t.Watched))}"));
        Row("4d", "Delete: NXDOMAIN after the watch event (4c − 4b per Service)", delete.Select(t => Ms(t.Watched, t.Answered)), "");
        Row("4e", "Delete: round trip of the query that got NXDOMAIN", delete.Select(t => t.RoundTrip.TotalMilliseconds),
            "a miss under <ns>.svc.<zone>: Berth walks the search path (autopath) before it answers NXDOMAIN, here against an upstream that refuses");
        return sb.ToString();
    }

    private static string Ratio(List<Timing> timings, Func<Timing, double> berth, Func<Timing, double> baseline)
    {
        var b = new Samples(timings.Select(baseline)).Percentile(99);
        return ResultTable.Ratio(new Samples(timings.Select(berth)).Percentile(99), b);
    }

    private static string Ms(long from, long to) => ResultTable.Ms(Stopwatch.GetElapsedTime(from, to).TotalMilliseconds);

    private static void Log(string line) => Console.Error.WriteLine($"dns-programming: {line}");

    private readonly record struct Timing(long Start, long Api, long Watched, long Answered, TimeSpan RoundTrip);

    /// <summary>A UDP socket connected to the DNS under test, with a query writer and answer reader of its own.</summary>
    private sealed class DnsProbe : IDisposable
    {
        private const int TypeA = 1;
        private const int ClassIn = 1;
        private const int RcodeNxDomain = 3;

        private readonly Socket _socket;
        private readonly byte[] _query = new byte[512];
        private readonly byte[] _answer = new byte[4096];
        private ushort _id = (ushort)Random.Shared.Next(0x10000);

        public DnsProbe(IPEndPoint server)
        {
            _socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            _socket.Connect(server);
        }

        public long Queries { get; private set; }

        /// <summary>
        /// Queries <paramref name="name"/> A every millisecond until the answer is NOERROR with an A record (or, with
        /// <paramref name="nxDomain"/>, NXDOMAIN); returns the Stopwatch timestamp of that answer, the address and
        /// how long that query took to be answered.
        /// </summary>
        public (long At, IPAddress? Address, TimeSpan RoundTrip) WaitFor(string name, bool nxDomain, TimeSpan timeout, CancellationToken ct)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            var length = WriteQuery(name);
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                BinaryPrimitives.WriteUInt16BigEndian(_query, ++_id);
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    _socket.Send(_query.AsSpan(0, length));
                }
                catch (SocketException)
                {
                    // ECONNREFUSED from an earlier ICMP (the listener restarting): ask again.
                }
                Queries++;
                // Wait for this query's answer (a late answer to an earlier one is skipped) for at most 100 ms.
                while (Stopwatch.GetElapsedTime(sent) < TimeSpan.FromMilliseconds(100) && _socket.Poll(s_poll, SelectMode.SelectRead))
                {
                    int received;
                    try
                    {
                        received = _socket.Receive(_answer);
                    }
                    catch (SocketException)
                    {
                        break;
                    }
                    var now = Stopwatch.GetTimestamp();
                    if (received < 12 || BinaryPrimitives.ReadUInt16BigEndian(_answer) != _id)
                    {
                        continue;
                    }
                    if (Matches(_answer.AsSpan(0, received), nxDomain, out var address))
                    {
                        return (now, address, Stopwatch.GetElapsedTime(sent, now));
                    }
                    break;
                }
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"{name} did not {(nxDomain ? "become NXDOMAIN" : "answer")} within {timeout.TotalSeconds:F0} s");
                }
                Thread.Sleep(s_poll);
            }
        }

        private int WriteQuery(string name)
        {
            var q = _query.AsSpan();
            q[..12].Clear();
            q[2] = 0x01; // RD
            q[5] = 1; // QDCOUNT
            var at = 12;
            foreach (var label in name.Split('.'))
            {
                q[at++] = (byte)label.Length;
                at += Encoding.ASCII.GetBytes(label, q[at..]);
            }
            q[at++] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(q[at..], TypeA);
            BinaryPrimitives.WriteUInt16BigEndian(q[(at + 2)..], ClassIn);
            return at + 4;
        }

        /// <summary>NXDOMAIN when <paramref name="nxDomain"/>; otherwise NOERROR with an A record (its address out).</summary>
        private static bool Matches(ReadOnlySpan<byte> m, bool nxDomain, out IPAddress? address)
        {
            address = null;
            var rcode = m[3] & 0x0F;
            if (nxDomain)
            {
                return rcode == RcodeNxDomain;
            }
            if (rcode != 0)
            {
                return false;
            }
            var answers = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
            var at = SkipName(m, 12) + 4;
            for (var i = 0; i < answers && at > 0; i++)
            {
                at = SkipName(m, at);
                if (at < 0 || at + 10 > m.Length)
                {
                    return false;
                }
                var type = BinaryPrimitives.ReadUInt16BigEndian(m[at..]);
                var rdLength = BinaryPrimitives.ReadUInt16BigEndian(m[(at + 8)..]);
                at += 10;
                if (at + rdLength > m.Length)
                {
                    return false;
                }
                if (type == TypeA && rdLength == 4)
                {
                    address = new IPAddress(m.Slice(at, 4));
                    return true;
                }
                at += rdLength;
            }
            return false;
        }

        /// <summary>The offset after the name at <paramref name="at"/> (labels, then a 0 or a pointer); -1 when malformed.</summary>
        private static int SkipName(ReadOnlySpan<byte> m, int at)
        {
            while (at < m.Length)
            {
                var length = m[at];
                if (length == 0)
                {
                    return at + 1;
                }
                if ((length & 0xC0) == 0xC0)
                {
                    return at + 2 <= m.Length ? at + 2 : -1;
                }
                at += length + 1;
            }
            return -1;
        }

        public void Dispose() => _socket.Dispose();
    }
}
