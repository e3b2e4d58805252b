using Berth.Node.Dns.Cluster;
using Berth.Node.Dns.Wire;
using static Berth.Node.Tests.Dns.Cluster.ZoneObjects;

namespace Berth.Node.Tests.Dns.Cluster;

// coredns plugin/kubernetes/handler_test.go (dnsTestCases against svcIndex/epsIndex), kubernetes_apex_test.go and
// reverse_test.go, answered by a snapshot built from the same objects. Records compare sorted, as upstream's
// test.SortAndCheck does; the CNAME-before-target order is checked where it matters.
public sealed class ZoneSnapshotUpstreamTests
{
    private const string Soa = "cluster.local 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1499347823 7200 1800 86400 5";

    public sealed record Case(string Upstream, string Qname, DnsType Qtype, DnsRcode Rcode, string[] Answer, string[] Ns, string[] Extra)
    {
        public override string ToString() => $"{Upstream}: {Qname} {Qtype}";
    }

    private static Case Ok(string upstream, string qname, DnsType qtype, string[] answer, string[]? extra = null) =>
        new(upstream, qname, qtype, DnsRcode.NoError, answer, [], extra ?? []);

    private static Case NoData(string upstream, string qname, DnsType qtype) => new(upstream, qname, qtype, DnsRcode.NoError, [], [Soa], []);

    private static Case NxDomain(string upstream, string qname, DnsType qtype) => new(upstream, qname, qtype, DnsRcode.NXDomain, [], [Soa], []);

    public static TheoryData<Case> HandlerCases() =>
    [
        Ok("A Service", "svc1.testns.svc.cluster.local", DnsType.A, ["svc1.testns.svc.cluster.local 5 A 10.0.0.1"]),
        Ok("A Service (no endpoints)", "svcempty.testns.svc.cluster.local", DnsType.A, ["svcempty.testns.svc.cluster.local 5 A 10.0.0.1"]),
        Ok("SRV on a Service name", "svc1.testns.svc.cluster.local", DnsType.SRV,
            ["svc1.testns.svc.cluster.local 5 SRV 0 100 80 svc1.testns.svc.cluster.local"], ["svc1.testns.svc.cluster.local 5 A 10.0.0.1"]),
        Ok("SRV on a Service name (no endpoints)", "svcempty.testns.svc.cluster.local", DnsType.SRV,
            ["svcempty.testns.svc.cluster.local 5 SRV 0 100 80 svcempty.testns.svc.cluster.local"], ["svcempty.testns.svc.cluster.local 5 A 10.0.0.1"]),
        Ok("SRV on an IPv6 Service name", "svc6.testns.svc.cluster.local", DnsType.SRV,
            ["svc6.testns.svc.cluster.local 5 SRV 0 100 80 svc6.testns.svc.cluster.local"], ["svc6.testns.svc.cluster.local 5 AAAA 1234:abcd::1"]),
        Ok("SRV Service", "_http._tcp.svc1.testns.svc.cluster.local", DnsType.SRV,
            ["_http._tcp.svc1.testns.svc.cluster.local 5 SRV 0 100 80 svc1.testns.svc.cluster.local"], ["svc1.testns.svc.cluster.local 5 A 10.0.0.1"]),
        Ok("SRV Service (no endpoints)", "_http._tcp.svcempty.testns.svc.cluster.local", DnsType.SRV,
            ["_http._tcp.svcempty.testns.svc.cluster.local 5 SRV 0 100 80 svcempty.testns.svc.cluster.local"], ["svcempty.testns.svc.cluster.local 5 A 10.0.0.1"]),
        Ok("A Service (Headless)", "hdls1.testns.svc.cluster.local", DnsType.A,
        [
            "hdls1.testns.svc.cluster.local 5 A 172.0.0.2", "hdls1.testns.svc.cluster.local 5 A 172.0.0.3",
            "hdls1.testns.svc.cluster.local 5 A 172.0.0.4", "hdls1.testns.svc.cluster.local 5 A 172.0.0.5",
        ]),
        Ok("A Service (Headless and Portless)", "hdlsprtls.testns.svc.cluster.local", DnsType.A, ["hdlsprtls.testns.svc.cluster.local 5 A 172.0.0.20"]),
        Ok("An Endpoint with no port", "172-0-0-20.hdlsprtls.testns.svc.cluster.local", DnsType.A,
            ["172-0-0-20.hdlsprtls.testns.svc.cluster.local 5 A 172.0.0.20"]),
        Ok("An Endpoint ip", "172-0-0-2.hdls1.testns.svc.cluster.local", DnsType.A, ["172-0-0-2.hdls1.testns.svc.cluster.local 5 A 172.0.0.2"]),
        Ok("A Endpoint ip", "172-0-0-3.hdls1.testns.svc.cluster.local", DnsType.A, ["172-0-0-3.hdls1.testns.svc.cluster.local 5 A 172.0.0.3"]),
        Ok("An Endpoint by name", "dup-name.hdls1.testns.svc.cluster.local", DnsType.A,
            ["dup-name.hdls1.testns.svc.cluster.local 5 A 172.0.0.4", "dup-name.hdls1.testns.svc.cluster.local 5 A 172.0.0.5"]),
        Ok("SRV Service (Headless)", "_http._tcp.hdls1.testns.svc.cluster.local", DnsType.SRV,
            [
                "_http._tcp.hdls1.testns.svc.cluster.local 5 SRV 0 16 80 172-0-0-2.hdls1.testns.svc.cluster.local",
                "_http._tcp.hdls1.testns.svc.cluster.local 5 SRV 0 16 80 172-0-0-3.hdls1.testns.svc.cluster.local",
                "_http._tcp.hdls1.testns.svc.cluster.local 5 SRV 0 16 80 5678-abcd--1.hdls1.testns.svc.cluster.local",
                "_http._tcp.hdls1.testns.svc.cluster.local 5 SRV 0 16 80 5678-abcd--2.hdls1.testns.svc.cluster.local",
                "_http._tcp.hdls1.testns.svc.cluster.local 5 SRV 0 16 80 dup-name.hdls1.testns.svc.cluster.local",
            ],
            [
                "172-0-0-2.hdls1.testns.svc.cluster.local 5 A 172.0.0.2", "172-0-0-3.hdls1.testns.svc.cluster.local 5 A 172.0.0.3",
                "5678-abcd--1.hdls1.testns.svc.cluster.local 5 AAAA 5678:abcd::1", "5678-abcd--2.hdls1.testns.svc.cluster.local 5 AAAA 5678:abcd::2",
                "dup-name.hdls1.testns.svc.cluster.local 5 A 172.0.0.4", "dup-name.hdls1.testns.svc.cluster.local 5 A 172.0.0.5",
            ]),
        Ok("AAAA (endpoint)", "5678-abcd--2.hdls1.testns.svc.cluster.local", DnsType.AAAA,
            ["5678-abcd--2.hdls1.testns.svc.cluster.local 5 AAAA 5678:abcd::2"]),
        Ok("CNAME External", "external.testns.svc.cluster.local", DnsType.CNAME,
            ["external.testns.svc.cluster.local 5 CNAME ext.interwebs.test"]),
        // "CNAME External Truncated Lookup": upstream appends what its Upstreamer returns for ext.interwebs.test; the
        // zone answers the CNAME and leaves resolving an out-of-zone target to the query handler.
        Ok("CNAME External (A)", "external.testns.svc.cluster.local", DnsType.A,
            ["external.testns.svc.cluster.local 5 CNAME ext.interwebs.test"]),
        Ok("CNAME External To Internal Service", "external-to-service.testns.svc.cluster.local", DnsType.A,
            ["external-to-service.testns.svc.cluster.local 5 CNAME svc1.testns.svc.cluster.local", "svc1.testns.svc.cluster.local 5 A 10.0.0.1"]),
        NoData("AAAA Service (with an existing A record, but no AAAA record)", "svc1.testns.svc.cluster.local", DnsType.AAAA),
        NxDomain("AAAA Service (non-existing service)", "svc0.testns.svc.cluster.local", DnsType.AAAA),
        NxDomain("A Service (non-existing service)", "svc0.testns.svc.cluster.local", DnsType.A),
        NxDomain("A Service (non-existing namespace)", "svc0.svc-nons.svc.cluster.local", DnsType.A),
        Ok("TXT Schema", "dns-version.cluster.local", DnsType.TXT, ["dns-version.cluster.local 28800 TXT 1.1.0"]),
        NxDomain("A Service (Headless) does not exist", "bogusendpoint.hdls1.testns.svc.cluster.local", DnsType.A),
        NxDomain("A Service does not exist", "bogusendpoint.svc0.testns.svc.cluster.local", DnsType.A),
        Ok("AAAA Service", "svc6.testns.svc.cluster.local", DnsType.AAAA, ["svc6.testns.svc.cluster.local 5 AAAA 1234:abcd::1"]),
        Ok("SRV (IPv6)", "_http._tcp.svc6.testns.svc.cluster.local", DnsType.SRV,
            ["_http._tcp.svc6.testns.svc.cluster.local 5 SRV 0 100 80 svc6.testns.svc.cluster.local"], ["svc6.testns.svc.cluster.local 5 AAAA 1234:abcd::1"]),
        Ok("AAAA Service (Headless)", "hdls1.testns.svc.cluster.local", DnsType.AAAA,
            ["hdls1.testns.svc.cluster.local 5 AAAA 5678:abcd::1", "hdls1.testns.svc.cluster.local 5 AAAA 5678:abcd::2"]),
        Ok("AAAA Endpoint", "5678-abcd--1.hdls1.testns.svc.cluster.local", DnsType.AAAA,
            ["5678-abcd--1.hdls1.testns.svc.cluster.local 5 AAAA 5678:abcd::1"]),
        NoData("svc.cluster.local A", "svc.cluster.local", DnsType.A),
        NoData("pod.cluster.local A", "pod.cluster.local", DnsType.A),
        NoData("testns.svc.cluster.local A", "testns.svc.cluster.local", DnsType.A),
        NoData("NS query for qname != zone (existing domain)", "svc.cluster.local", DnsType.NS),
        NoData("NS query for qname != zone (existing domain, namespace)", "testns.svc.cluster.local", DnsType.NS),
        NxDomain("NS query for qname != zone (non existing domain)", "foo.cluster.local", DnsType.NS),
        NxDomain("NS query for qname != zone (non existing domain, namespace)", "foo.svc.cluster.local", DnsType.NS),
        Ok("Dual Stack ClusterIP Services (A)", "svc-dual-stack.testns.svc.cluster.local", DnsType.A, ["svc-dual-stack.testns.svc.cluster.local 5 A 10.0.0.3"]),
        Ok("Dual Stack ClusterIP Services (AAAA)", "svc-dual-stack.testns.svc.cluster.local", DnsType.AAAA, ["svc-dual-stack.testns.svc.cluster.local 5 AAAA 10::3"]),
        Ok("Dual Stack ClusterIP Services (SRV)", "svc-dual-stack.testns.svc.cluster.local", DnsType.SRV,
            ["svc-dual-stack.testns.svc.cluster.local 5 SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local"],
            ["svc-dual-stack.testns.svc.cluster.local 5 A 10.0.0.3", "svc-dual-stack.testns.svc.cluster.local 5 AAAA 10::3"]),
        NoData("SOA on a Service name", "svc1.testns.svc.cluster.local", DnsType.SOA),
        NxDomain("A query for a subdomain of an external service should not resolve to the external service",
            "endpoint.external.testns.svc.cluster.local", DnsType.CNAME),
        // nsTestCases: a namespace nothing lives in does not exist.
        NxDomain("A service for a namespace that doesn't exist", "svc1.nsnoexist.svc.cluster.local", DnsType.A),
        // kubernetes_apex_test.go (TTLs are this zone's).
        Ok("apex SOA", "cluster.local", DnsType.SOA, [Soa]),
        NoData("apex HINFO", "cluster.local", (DnsType)13),
        Ok("apex NS", "cluster.local", DnsType.NS, ["cluster.local 5 NS ns.dns.cluster.local"], ["ns.dns.cluster.local 5 A 127.0.0.1"]),
        // reverse_test.go "example.org.cluster.local. PTR": that old table shows NODATA; parse.go now rejects the
        // name (no svc/pod label) and answers NXDOMAIN.
        NxDomain("PTR for a forward name that does not exist", "example.org.cluster.local", DnsType.PTR),
        NoData("PTR on a Service name", "svc1.testns.svc.cluster.local", DnsType.PTR),
        NxDomain("wildcards are not supported (removed in CoreDNS 1.9)", "*.testns.svc.cluster.local", DnsType.A),
        NxDomain("wildcards are not supported ('any')", "any.testns.svc.cluster.local", DnsType.A),
        NoData("SRV on an ExternalName Service (SRV for external services is not implemented upstream)", "external.testns.svc.cluster.local", DnsType.SRV),
        NxDomain("ExternalName Service has no port names", "_http._tcp.external.testns.svc.cluster.local", DnsType.SRV),
        NoData("SRV on a portless headless Service (port -1 records give no SRV)", "hdlsprtls.testns.svc.cluster.local", DnsType.SRV),
        NxDomain("unknown port name", "_https._tcp.svc1.testns.svc.cluster.local", DnsType.SRV),
        NxDomain("known port name, wrong protocol", "_http._udp.svc1.testns.svc.cluster.local", DnsType.SRV),
        Ok("endpoint name of a ClusterIP Service (findServices answers endpoint queries for every Service)",
            "ep1a.svc1.testns.svc.cluster.local", DnsType.A, ["ep1a.svc1.testns.svc.cluster.local 5 A 172.0.0.1"]),
        Ok("SRV on a UDP port", "_dns._udp.kubedns.kube-system.svc.cluster.local", DnsType.SRV,
            ["_dns._udp.kubedns.kube-system.svc.cluster.local 5 SRV 0 100 53 kubedns.kube-system.svc.cluster.local"],
            ["kubedns.kube-system.svc.cluster.local 5 A 10.0.0.10"]),
        Ok("ns.dns.<zone> answers the name server's address (kubernetes.go isDefaultNS)", "ns.dns.cluster.local", DnsType.A,
            ["ns.dns.cluster.local 5 A 127.0.0.1"]),
    ];

    public static TheoryData<Case> ReverseCases() =>
    [
        Ok("PTR for an endpoint (reverse_test.go 100.0.0.10)", "100.0.0.10.in-addr.arpa", DnsType.PTR,
            ["100.0.0.10.in-addr.arpa 5 PTR ep1a.svc1.testns.svc.cluster.local"]),
        Ok("PTR for a ClusterIP (reverse_test.go 100.1.168.192)", "100.1.168.192.in-addr.arpa", DnsType.PTR,
            ["100.1.168.192.in-addr.arpa 5 PTR svc1.testns.svc.cluster.local"]),
        Ok("A PTR record query for an existing ipv6 endpoint should return a record (1234:abcd::1)",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa", DnsType.PTR,
            ["1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa 5 PTR ep1b.svc1.testns.svc.cluster.local"]),
        Ok("A PTR record query for an existing ipv6 endpoint should return a record (fd00:77:30::a)",
            "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa", DnsType.PTR,
            ["a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa 5 PTR ip6svc1ex.svc1.testns.svc.cluster.local"]),
        Ok("A PTR record query for an existing ipv6 endpoint should return a record (fd00:77:30::2:9ba6)",
            "6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa", DnsType.PTR,
            ["6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa 5 PTR ip6svc1in.svc1.testns.svc.cluster.local"]),
    ];

    [Theory]
    [MemberData(nameof(HandlerCases))]
    public void TryAnswer_HandlerTestCase_AnswersAsCoreDns(Case c)
    {
        var zone = Zone(null, System.Net.IPAddress.Loopback);
        ApplyUpstreamFixture(zone);

        Check(zone.Snapshot(), c);
    }

    [Theory]
    [MemberData(nameof(ReverseCases))]
    public void TryAnswer_ReverseTestCase_AnswersAsCoreDns(Case c)
    {
        var zone = Zone();
        var http = Port("http", "TCP", 80);
        zone.ApplyService(ClusterIP("testns", "svc1", ["192.168.1.100"], http));
        zone.ApplySlice(Slice("testns", "svc1", "svc1-v4", "IPv4", [SlicePort("http", "TCP", 80)], Ep("10.0.0.100", "ep1a")));
        zone.ApplySlice(Slice("testns", "svc1", "svc1-v6", "IPv6", [SlicePort("http", "TCP", 80)],
            Ep("1234:abcd::1", "ep1b"), Ep("fd00:77:30::a", "ip6svc1ex"), Ep("fd00:77:30::2:9ba6", "ip6svc1in")));

        Check(zone.Snapshot(), c);
    }

    [Theory]
    // reverse_test.go "101.0.0.10.in-addr.arpa": NODATA there, where the reverse zone is configured without
    // fallthrough; the default Corefile falls through, and so does this zone: unknown addresses are forwarded.
    [InlineData("101.0.0.10.in-addr.arpa", DnsType.PTR)]
    // Only PTR is answered on reverse names; upstream falls through for other types too.
    [InlineData("100.0.0.10.in-addr.arpa", DnsType.A)]
    [InlineData("example.org", DnsType.A)]
    [InlineData("local", DnsType.A)]
    [InlineData("xcluster.local", DnsType.A)]
    [InlineData("", DnsType.A)]
    public void TryAnswer_NameNotOurs_ReturnsFalse(string name, DnsType type)
    {
        var zone = Zone();
        zone.ApplyService(ClusterIP("testns", "svc1", ["192.168.1.100"], Port("http", "TCP", 80)));
        zone.ApplySlice(Slice("testns", "svc1", "svc1-v4", "IPv4", [SlicePort("http", "TCP", 80)], Ep("10.0.0.100", "ep1a")));

        Assert.False(zone.Snapshot().TryAnswer(name, type, out _));
    }

    [Fact]
    public void TryAnswer_CnameToInternal_CnameComesBeforeItsTarget()
    {
        // upstream test.CNAMEOrder: a CNAME never follows the records of its target.
        var zone = Zone();
        ApplyUpstreamFixture(zone);

        var answer = Answer(zone.Snapshot(), "external-to-service.testns.svc.cluster.local", DnsType.A);

        Assert.Equal([DnsType.CNAME, DnsType.A], answer.Answers.Select(r => r.Type));
    }

    private static void Check(ZoneSnapshot snapshot, Case c)
    {
        var answer = Answer(snapshot, c.Qname, c.Qtype);

        Assert.True(answer.Authoritative);
        Assert.Equal(c.Rcode, answer.Rcode);
        Assert.Equal(Sorted(c.Answer), Sorted(Text(answer.Answers)));
        Assert.Equal(Sorted(c.Ns), Sorted(Text(answer.Authority)));
        Assert.Equal(Sorted(c.Extra), Sorted(Text(answer.Additional)));
    }
}
