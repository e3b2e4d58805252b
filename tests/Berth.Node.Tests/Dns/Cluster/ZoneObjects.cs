using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using Berth.Api.Models;
using Berth.Node.Dns.Cluster;
using Berth.Node.Dns.Wire;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Dns.Cluster;

/// <summary>Builders for the objects the zone is fed, and a text form of records to compare answers with.</summary>
internal static class ZoneObjects
{
    /// <summary>The serial the upstream tables show (handler_test.go); the fake clock starts there.</summary>
    public const long UpstreamSerial = 1499347823;

    public static FakeTimeProvider Clock() => new(DateTimeOffset.FromUnixTimeSeconds(UpstreamSerial));

    public static ClusterZone Zone(FakeTimeProvider? clock = null, params IPAddress[] nameServers) =>
        new(new ZoneOptions { Time = clock ?? Clock(), NameServers = nameServers });

    public static Service ClusterIP(string ns, string name, string[] ips, params ServicePort[] ports) => new()
    {
        Metadata = new ObjectMeta { Namespace = ns, Name = name },
        Spec = new ServiceSpec { Type = "ClusterIP", ClusterIP = ips[0], ClusterIPs = [.. ips], Ports = [.. ports] },
    };

    public static Service Headless(string ns, string name, params ServicePort[] ports) => new()
    {
        Metadata = new ObjectMeta { Namespace = ns, Name = name },
        Spec = new ServiceSpec { Type = "ClusterIP", ClusterIP = "None", ClusterIPs = ["None"], Ports = [.. ports] },
    };

    public static Service External(string ns, string name, string externalName) => new()
    {
        Metadata = new ObjectMeta { Namespace = ns, Name = name },
        Spec = new ServiceSpec { Type = "ExternalName", ExternalName = externalName, Ports = [Port("http", "TCP", 80)] },
    };

    public static ServicePort Port(string? name, string protocol, int port) => new() { Name = name, Protocol = protocol, Port = port };

    public static EndpointSlicePort SlicePort(string? name, string protocol, int? port) => new() { Name = name, Protocol = protocol, Port = port };

    public static Endpoint Ep(string address, string? hostname = null, bool? ready = true, bool? serving = null) => new()
    {
        Addresses = [address],
        Hostname = hostname,
        Conditions = new EndpointConditions { Ready = ready, Serving = serving ?? ready },
    };

    public static EndpointSlice Slice(string ns, string service, string name, string addressType, EndpointSlicePort[] ports, params Endpoint[] endpoints) => new()
    {
        Metadata = new ObjectMeta { Namespace = ns, Name = name, Labels = new() { ["kubernetes.io/service-name"] = service } },
        AddressType = addressType,
        Ports = ports.Length == 0 ? null : [.. ports],
        Endpoints = [.. endpoints],
    };

    public static Pod Pod(string ns, string name, params string[] ips) => new()
    {
        Metadata = new ObjectMeta { Namespace = ns, Name = name },
        Spec = new PodSpec(),
        Status = new PodStatus { Phase = "Running", PodIP = ips.FirstOrDefault(), PodIPs = [.. ips.Select(ip => new PodIP { Ip = ip })] },
    };

    /// <summary>
    /// handler_test.go's svcIndex and epsIndex as Kubernetes objects. Upstream's Endpoints hold both families in one
    /// subset; EndpointSlices hold one family each, so hdls1 gets two slices.
    /// </summary>
    public static void ApplyUpstreamFixture(ClusterZone zone)
    {
        var http = Port("http", "TCP", 80);
        var sliceHttp = SlicePort("http", "TCP", 80);
        Service[] services =
        [
            ClusterIP("kube-system", "kubedns", ["10.0.0.10"], Port("dns", "UDP", 53)),
            ClusterIP("testns", "svc1", ["10.0.0.1"], http),
            ClusterIP("testns", "svcempty", ["10.0.0.1"], http),
            ClusterIP("testns", "svc6", ["1234:abcd::1"], http),
            Headless("testns", "hdls1"),
            External("testns", "external", "ext.interwebs.test"),
            External("testns", "external-to-service", "svc1.testns.svc.cluster.local."),
            Headless("testns", "hdlsprtls"),
            ClusterIP("unexposedns", "svc1", ["10.0.0.2"], http),
            ClusterIP("testns", "svc-dual-stack", ["10.0.0.3", "10::3"], http),
        ];
        EndpointSlice[] slices =
        [
            Slice("kube-system", "kubedns", "kubedns-slice1", "IPv4", [SlicePort("dns", "UDP", 53)], Ep("172.0.0.100")),
            Slice("testns", "svc1", "svc1-slice1", "IPv4", [sliceHttp], Ep("172.0.0.1", "ep1a")),
            Slice("testns", "svcempty", "svcempty-slice1", "IPv4", [sliceHttp]),
            Slice("testns", "hdls1", "hdls1-slice1", "IPv4", [sliceHttp],
                Ep("172.0.0.2"), Ep("172.0.0.3"), Ep("172.0.0.4", "dup-name"), Ep("172.0.0.5", "dup-name")),
            Slice("testns", "hdls1", "hdls1-slice2", "IPv6", [sliceHttp], Ep("5678:abcd::1"), Ep("5678:abcd::2")),
            Slice("testns", "hdlsprtls", "hdlsprtls-slice1", "IPv4", [], Ep("172.0.0.20")),
        ];
        foreach (var service in services)
        {
            Assert.True(zone.ApplyService(service));
        }
        foreach (var slice in slices)
        {
            Assert.True(zone.ApplySlice(slice));
        }
    }

    public static DnsAnswer Answer(ZoneSnapshot snapshot, string name, DnsType type)
    {
        Assert.True(snapshot.TryAnswer(name, type, out var answer), $"{name} {type} should be the zone's");
        return answer;
    }

    /// <summary>Records as "owner ttl TYPE rdata", the way the upstream tables write them (without the trailing dots).</summary>
    public static string[] Text(IEnumerable<DnsRecord> records) => [.. records.Select(Text)];

    public static string Text(DnsRecord record) =>
        $"{record.Name} {record.Ttl} {record.Type} {Rdata(record.Type, record.Data)}";

    public static string[] Sorted(IEnumerable<string> records) => [.. records.Order(StringComparer.Ordinal)];

    private static string Rdata(DnsType type, byte[] data)
    {
        switch (type)
        {
            case DnsType.A:
            case DnsType.AAAA:
                return new IPAddress(data).ToString();
            case DnsType.CNAME:
            case DnsType.PTR:
            case DnsType.NS:
                return ReadName(data, 0, out _);
            case DnsType.SRV:
                var target = ReadName(data, 6, out _);
                return string.Create(CultureInfo.InvariantCulture,
                    $"{BinaryPrimitives.ReadUInt16BigEndian(data)} {BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2))} {BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(4))} {target}");
            case DnsType.TXT:
                var texts = new List<string>();
                for (var at = 0; at < data.Length; at += 1 + data[at])
                {
                    texts.Add(Encoding.UTF8.GetString(data, at + 1, data[at]));
                }
                return string.Join(' ', texts);
            case DnsType.SOA:
                var mname = ReadName(data, 0, out var end);
                var rname = ReadName(data, end, out end);
                var numbers = Enumerable.Range(0, 5).Select(i => BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(end + 4 * i)).ToString(CultureInfo.InvariantCulture));
                return $"{mname} {rname} {string.Join(' ', numbers)}";
            default:
                return Convert.ToHexString(data);
        }
    }

    /// <summary>An uncompressed wire name (the zone writes RDATA names uncompressed) in text form.</summary>
    private static string ReadName(byte[] data, int at, out int end)
    {
        var labels = new List<string>();
        while (data[at] != 0)
        {
            labels.Add(Encoding.ASCII.GetString(data, at + 1, data[at]));
            at += 1 + data[at];
        }
        end = at + 1;
        return string.Join('.', labels);
    }
}
