using System.Net;
using Berth.Node.Dns.Wire;
using static Berth.Node.Tests.Dns.Wire.WirePackets;

namespace Berth.Node.Tests.Dns.Wire;

public sealed class DnsRecordTests
{
    [Fact]
    public void A_EncodesFourBytes()
    {
        var record = DnsRecord.A("Svc.NS.svc.cluster.local.", IPAddress.Parse("10.96.0.1"), 5);

        Assert.Equal("svc.ns.svc.cluster.local", record.Name);
        Assert.Equal(DnsType.A, record.Type);
        Assert.Equal(5u, record.Ttl);
        Assert.Equal(new byte[] { 10, 96, 0, 1 }, record.Data);
    }

    [Fact]
    public void A_Ipv6_Throws()
    {
        Assert.Throws<ArgumentException>(() => DnsRecord.A("a.b", IPAddress.IPv6Loopback, 5));
        Assert.Throws<ArgumentException>(() => DnsRecord.Aaaa("a.b", IPAddress.Loopback, 5));
    }

    [Theory]
    [InlineData("10.0.0.1", DnsType.A, 4)]
    [InlineData("fd00::1", DnsType.AAAA, 16)]
    public void Address_ByFamily(string address, DnsType type, int length)
    {
        var record = DnsRecord.Address("a.b", IPAddress.Parse(address), 5);

        Assert.Equal(type, record.Type);
        Assert.Equal(length, record.Data.Length);
        Assert.Equal(IPAddress.Parse(address), DnsRdata.Address(record));
    }

    [Fact]
    public void Cname_TargetUncompressedCaseKept()
    {
        var record = DnsRecord.Cname("ext.ns.svc.cluster.local", "My.Example.com", 5);

        Assert.Equal(Name("My.Example.com"), record.Data);
        Assert.Equal("My.Example.com", DnsRdata.Name(record));
    }

    [Fact]
    public void Ptr_Encodes()
    {
        var record = DnsRecord.Ptr("1.0.96.10.in-addr.arpa", "svc.ns.svc.cluster.local", 5);

        Assert.Equal(DnsType.PTR, record.Type);
        Assert.Equal("svc.ns.svc.cluster.local", DnsRdata.Name(record));
    }

    [Fact]
    public void Srv_KnownBytes()
    {
        var record = DnsRecord.Srv("_http._tcp.svc.ns.svc.cluster.local", 0, 100, 8080, "svc.ns.svc.cluster.local", 5);

        Assert.Equal(Concat(U16(0), U16(100), U16(8080), Name("svc.ns.svc.cluster.local")), record.Data);
        Assert.Equal(new DnsSrv(0, 100, 8080, "svc.ns.svc.cluster.local"), DnsRdata.Srv(record));
    }

    [Fact]
    public void Txt_StringsLengthPrefixed()
    {
        var record = DnsRecord.Txt("dns-version.cluster.local", ["1.1.0", ""], 5);

        Assert.Equal(Concat([5], "1.1.0"u8.ToArray(), [0]), record.Data);
        Assert.Equal(["1.1.0", ""], DnsRdata.Txt(record));
    }

    [Fact]
    public void Txt_Over255OrEmpty_Throws()
    {
        Assert.Throws<ArgumentException>(() => DnsRecord.Txt("a.b", [new string('x', 256)], 5));
        Assert.Throws<ArgumentException>(() => DnsRecord.Txt("a.b", [], 5));
        Assert.Equal(256, DnsRecord.Txt("a.b", [new string('x', 255)], 5).Data.Length);
    }

    [Fact]
    public void Soa_KnownBytes()
    {
        var record = DnsRecord.Soa("cluster.local", "ns.dns.cluster.local", "hostmaster.cluster.local", 12345, 7200, 1800, 86400, 5, 5);

        Assert.Equal(Concat(Name("ns.dns.cluster.local"), Name("hostmaster.cluster.local"), U32(12345), U32(7200), U32(1800), U32(86400), U32(5)), record.Data);
        Assert.Equal(new DnsSoa("ns.dns.cluster.local", "hostmaster.cluster.local", 12345, 7200, 1800, 86400, 5), DnsRdata.Soa(record));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    public void Constructor_Root_EmptyName(string name)
    {
        var record = new DnsRecord(name, DnsType.NS, 5, Name("a.root-servers.net"));

        Assert.Equal("", record.Name);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("a.b..")]
    [InlineData("-\\300.b")]
    public void Constructor_InvalidName_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => DnsRecord.A(name, IPAddress.Loopback, 5));
    }

    [Fact]
    public void Constructor_NameOver255Octets_Throws()
    {
        var label = new string('a', 63);
        Assert.Throws<ArgumentException>(() => DnsRecord.A($"{label}.{label}.{label}.{label}", IPAddress.Loopback, 5));
        Assert.Throws<ArgumentException>(() => DnsRecord.Cname("a.b", $"{label}.{label}.{label}.{label}", 5));
    }

    [Fact]
    public void WithTtl_SharesDataChangesTtl()
    {
        var record = DnsRecord.A("a.b", IPAddress.Loopback, 30);

        var aged = record.WithTtl(12);

        Assert.Equal(12u, aged.Ttl);
        Assert.Same(record.Data, aged.Data);
        Assert.Equal(record.Name, aged.Name);
        Assert.Same(record, record.WithTtl(30));
    }

    [Fact]
    public void DnsRdata_WrongType_Throws()
    {
        var a = DnsRecord.A("a.b", IPAddress.Loopback, 5);

        Assert.Throws<ArgumentException>(() => DnsRdata.Name(a));
        Assert.Throws<ArgumentException>(() => DnsRdata.Srv(a));
        Assert.Throws<ArgumentException>(() => DnsRdata.Soa(a));
        Assert.Throws<ArgumentException>(() => DnsRdata.Txt(a));
        Assert.Throws<ArgumentException>(() => DnsRdata.Address(DnsRecord.Cname("a.b", "c.d", 5)));
        Assert.Throws<ArgumentException>(() => DnsRdata.Name(new DnsRecord("a.b", DnsType.CNAME, 5, Hex("c00c"))));
    }
}
