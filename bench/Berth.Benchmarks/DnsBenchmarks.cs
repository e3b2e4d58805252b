using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Berth.Api.Models;
using Berth.Node.Dns.Cluster;
using Berth.Node.Dns.Wire;

namespace Berth.Benchmarks;

/// <summary>
/// What the cluster DNS spends on one query for a cluster name, on the receive thread: parse the packet
/// (<see cref="DnsRequest.TryParse"/>), look the name up (<see cref="ZoneSnapshot.TryAnswer"/>) and write the response
/// (<see cref="DnsResponseWriter.Write"/>), with 10,000 Services in the zone, cycling through 4,096 different
/// queries so the lookups are not all one hot entry. Baseline: the least a server can do per query: decode the name
/// into a fresh lower-case string, find a response prepared in advance in a Dictionary and copy it with the ID
/// patched (no question echo, no EDNS, no truncation).
/// </summary>
[MemoryDiagnoser]
public class DnsQueryBenchmarks
{
    private const int Queries = 4096;

    private readonly byte[] _response = new byte[512];
    private readonly char[] _name = new char[DnsRequest.MaxNameChars];
    private byte[][] _a = [];
    private byte[][] _srv = [];
    private byte[][] _aaaa = [];
    private byte[][] _missing = [];
    private Dictionary<string, byte[]> _prepared = [];
    private ZoneSnapshot _zone = null!;
    private int _next;

    [Params(10_000)]
    public int Services { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _zone = DnsZoneFixture.Build(Services).Snapshot();
        var random = new Random(8);
        var picks = Enumerable.Range(0, Queries).Select(_ => random.Next(Services)).ToArray();
        _a = [.. picks.Select((s, i) => Query((ushort)i, DnsZoneFixture.Name(s), DnsType.A))];
        _srv = [.. picks.Select((s, i) => Query((ushort)i, "_http._tcp." + DnsZoneFixture.Name(s), DnsType.SRV))];
        _aaaa = [.. picks.Select((s, i) => Query((ushort)i, DnsZoneFixture.Name(s), DnsType.AAAA))];
        _missing = [.. picks.Select((s, i) => Query((ushort)i, "_nope._tcp." + DnsZoneFixture.Name(s), DnsType.SRV))];
        // The baseline's prepared responses: what Berth writes for the same names, so both copy as many bytes.
        _prepared = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var s = 0; s < Services; s++)
        {
            var packet = Query(0, DnsZoneFixture.Name(s), DnsType.A);
            _prepared[DnsZoneFixture.Name(s)] = _response.AsSpan(0, Answer(packet)).ToArray();
        }
        foreach (var packet in _a)
        {
            if (Answer(packet) <= 12 || Baseline(packet) <= 12)
            {
                throw new InvalidOperationException("a benchmark query was not answered");
            }
        }
    }

    [Benchmark(Baseline = true)]
    public int PreparedResponseLookup() => Baseline(_a[_next++ & (Queries - 1)]);

    [Benchmark]
    public int ClusterA() => Answer(_a[_next++ & (Queries - 1)]);

    [Benchmark]
    public int ClusterSrv() => Answer(_srv[_next++ & (Queries - 1)]);

    [Benchmark]
    public int ClusterAaaaNoData() => Answer(_aaaa[_next++ & (Queries - 1)]);

    [Benchmark]
    public int ClusterNxDomain() => Answer(_missing[_next++ & (Queries - 1)]);

    private int Answer(byte[] packet)
    {
        if (DnsRequest.TryParse(packet, _name, out var request) != DnsParseResult.Ok || !_zone.TryAnswer(request.Name, request.Type, out var answer))
        {
            return 0;
        }
        return DnsResponseWriter.Write(in request, answer, _response, maxSize: 512);
    }

    private int Baseline(byte[] packet)
    {
        var name = new StringBuilder(64);
        var at = 12;
        while (packet[at] != 0)
        {
            if (name.Length > 0)
            {
                name.Append('.');
            }
            name.Append(Encoding.ASCII.GetString(packet, at + 1, packet[at]));
            at += packet[at] + 1;
        }
        if (!_prepared.TryGetValue(name.ToString().ToLowerInvariant(), out var prepared))
        {
            return 0;
        }
        prepared.CopyTo(_response, 0);
        _response[0] = packet[0];
        _response[1] = packet[1];
        return prepared.Length;
    }

    private static byte[] Query(ushort id, string name, DnsType type)
    {
        var packet = new byte[12 + name.Length + 2 + 4];
        BinaryPrimitives.WriteUInt16BigEndian(packet, id);
        packet[2] = 0x01;
        packet[5] = 1;
        var at = 12;
        foreach (var label in name.Split('.'))
        {
            packet[at++] = (byte)label.Length;
            at += Encoding.ASCII.GetBytes(label, packet.AsSpan(at));
        }
        packet[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at + 2), 1);
        return packet;
    }
}

/// <summary>
/// What a change costs the cluster DNS before it answers: the projections of N Services applied to a new
/// <see cref="ClusterZone"/> (the baseline: the informers' initial list) and then the whole snapshot built, as at
/// start-up; and one Service changed in a full zone followed by a new snapshot, as for every later change (the
/// snapshot is rebuilt on each change, so this bounds the programming latency under churn).
/// </summary>
[MemoryDiagnoser]
public class DnsZoneBuildBenchmarks
{
    private Service[] _services = [];
    private ClusterZone _full = null!;
    private Service _changing = null!;
    private int _flip;

    [Params(1_000, 10_000)]
    public int Services { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = [.. Enumerable.Range(0, Services).Select(DnsZoneFixture.Service)];
        _full = DnsZoneFixture.Build(Services);
        _full.Snapshot();
        _changing = DnsZoneFixture.Service(Services / 2);
    }

    [Benchmark(Baseline = true)]
    public ClusterZone ApplyAll()
    {
        var zone = new ClusterZone(new ZoneOptions());
        foreach (var service in _services)
        {
            zone.ApplyService(service);
        }
        return zone;
    }

    [Benchmark]
    public ZoneSnapshot ApplyAllAndSnapshot() => ApplyAll().Snapshot();

    [Benchmark]
    public ZoneSnapshot OneChangeAndSnapshot()
    {
        // The Service's port alternates between two numbers, so every call is a real change.
        _changing.Spec!.Ports![0].Port = 80 + (_flip++ & 1);
        _full.ApplyService(_changing);
        return _full.Snapshot();
    }
}

/// <summary>The zone both DNS benchmarks answer from: N ClusterIP Services with one named port, in 10 namespaces.</summary>
internal static class DnsZoneFixture
{
    private const int Namespaces = 10;

    public static string Name(int i) => string.Create(CultureInfo.InvariantCulture, $"svc-{i}.ns-{i % Namespaces}.svc.cluster.local");

    public static Service Service(int i) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = string.Create(CultureInfo.InvariantCulture, $"svc-{i}"),
            Namespace = string.Create(CultureInfo.InvariantCulture, $"ns-{i % Namespaces}"),
            Uid = Guid.NewGuid().ToString(),
            ResourceVersion = "1",
        },
        Spec = new ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = string.Create(CultureInfo.InvariantCulture, $"10.96.{i / 250}.{(i % 250) + 2}"),
            ClusterIPs = [string.Create(CultureInfo.InvariantCulture, $"10.96.{i / 250}.{(i % 250) + 2}")],
            IpFamilies = ["IPv4"],
            Selector = new Dictionary<string, string> { ["app"] = string.Create(CultureInfo.InvariantCulture, $"svc-{i}") },
            Ports = [new ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = new IntOrString(8080) }],
        },
    };

    public static ClusterZone Build(int services)
    {
        var zone = new ClusterZone(new ZoneOptions());
        for (var i = 0; i < services; i++)
        {
            zone.ApplyService(Service(i));
        }
        return zone;
    }
}
