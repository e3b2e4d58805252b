using System.Diagnostics;
using System.Net;
using Berth.Api.Models;
using Berth.Node.Dns.Cluster;
using Berth.Node.Dns.Wire;
using Xunit.Abstractions;
using static Berth.Node.Tests.Dns.Cluster.ZoneObjects;

namespace Berth.Node.Tests.Dns.Cluster;

public sealed class ClusterZoneTests(ITestOutputHelper output)
{
    private static readonly ServicePort s_http = Port("http", "TCP", 80);
    private static readonly EndpointSlicePort s_sliceHttp = SlicePort("http", "TCP", 80);

    [Fact]
    public void ApplyService_SameDnsFields_ReturnsFalse()
    {
        var zone = Zone();
        var service = ClusterIP("ns", "web", ["10.0.0.1"], s_http);
        Assert.True(zone.ApplyService(service));

        var annotated = ClusterIP("ns", "web", ["10.0.0.1"], s_http);
        annotated.Metadata!.Annotations = new() { ["a"] = "b" };
        annotated.Metadata.ResourceVersion = "7";
        annotated.Spec!.SessionAffinity = "ClientIP";
        annotated.Status = new ServiceStatus { LoadBalancer = new LoadBalancerStatus { Ingress = [new() { Ip = "127.100.0.1" }] } };

        Assert.False(zone.ApplyService(annotated));
        Assert.False(zone.ApplyService(service));
    }

    [Theory]
    [InlineData("port", true)]
    [InlineData("port name", true)]
    [InlineData("protocol", true)]
    [InlineData("cluster IP", true)]
    [InlineData("headless", true)]
    [InlineData("external name", true)]
    [InlineData("selector", false)]
    public void ApplyService_Change_ReportsWhetherDnsChanged(string change, bool expected)
    {
        var zone = Zone();
        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], s_http));
        var changed = change switch
        {
            "port" => ClusterIP("ns", "web", ["10.0.0.1"], Port("http", "TCP", 81)),
            "port name" => ClusterIP("ns", "web", ["10.0.0.1"], Port("web", "TCP", 80)),
            "protocol" => ClusterIP("ns", "web", ["10.0.0.1"], Port("http", "UDP", 80)),
            "cluster IP" => ClusterIP("ns", "web", ["10.0.0.2"], s_http),
            "headless" => Headless("ns", "web", s_http),
            "external name" => External("ns", "web", "example.com"),
            _ => ClusterIP("ns", "web", ["10.0.0.1"], s_http),
        };
        if (change == "selector")
        {
            changed.Spec!.Selector = new() { ["app"] = "web" };
        }

        Assert.Equal(expected, zone.ApplyService(changed));
    }

    [Fact]
    public void DeleteService_Known_ReturnsTrueOnceAndNameGoes()
    {
        var zone = Zone();
        var service = ClusterIP("ns", "web", ["10.0.0.1"], s_http);
        zone.ApplyService(service);
        Assert.Equal(DnsRcode.NoError, Answer(zone.Snapshot(), "web.ns.svc.cluster.local", DnsType.A).Rcode);

        Assert.True(zone.DeleteService(service));
        Assert.False(zone.DeleteService(service));

        var snapshot = zone.Snapshot();
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "web.ns.svc.cluster.local", DnsType.A).Rcode);
        // The namespace held nothing else: it is gone too.
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "ns.svc.cluster.local", DnsType.A).Rcode);
        Assert.False(snapshot.TryAnswer("1.0.0.10.in-addr.arpa", DnsType.PTR, out _));
        Assert.Equal(0, snapshot.ServiceCount);
    }

    [Fact]
    public void ApplySlice_OnlyNotReadyEndpointsChange_ReturnsFalse()
    {
        var zone = Zone();
        zone.ApplyService(Headless("ns", "db"));
        Assert.True(zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1"), Ep("10.1.0.2", ready: false))));

        // A not-ready endpoint turning serving/terminating, or another not-ready one coming, changes no answer.
        Assert.False(zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1"), Ep("10.1.0.2", ready: false, serving: true))));
        Assert.False(zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1"), Ep("10.1.0.2", ready: false), Ep("10.1.0.3", ready: false))));
        Assert.True(zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1"), Ep("10.1.0.2"))));
        Assert.True(zone.DeleteSlice(Slice("ns", "db", "db-1", "IPv4", [])));
        Assert.False(zone.DeleteSlice(Slice("ns", "db", "db-1", "IPv4", [])));
    }

    [Fact]
    public void ApplySlice_HeadlessScaledFromThreeToOne_AnswersFollow()
    {
        var zone = Zone();
        zone.ApplyService(Headless("ns", "db", s_http));
        zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1", "db-0"), Ep("10.1.0.2", "db-1"), Ep("10.1.0.3", "db-2")));
        var before = zone.Snapshot();
        Assert.Equal(3, Answer(before, "db.ns.svc.cluster.local", DnsType.A).Answers.Count);
        Assert.Equal(3, Answer(before, "_http._tcp.db.ns.svc.cluster.local", DnsType.SRV).Answers.Count);

        Assert.True(zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1", "db-0"))));
        var after = zone.Snapshot();

        Assert.Equal(["db.ns.svc.cluster.local 5 A 10.1.0.1"], Text(Answer(after, "db.ns.svc.cluster.local", DnsType.A).Answers));
        Assert.Equal(["_http._tcp.db.ns.svc.cluster.local 5 SRV 0 100 80 db-0.db.ns.svc.cluster.local"],
            Text(Answer(after, "_http._tcp.db.ns.svc.cluster.local", DnsType.SRV).Answers));
        Assert.Equal(DnsRcode.NXDomain, Answer(after, "db-2.db.ns.svc.cluster.local", DnsType.A).Rcode);
        Assert.Equal(["1.0.1.10.in-addr.arpa 5 PTR db-0.db.ns.svc.cluster.local"], Text(Answer(after, "1.0.1.10.in-addr.arpa", DnsType.PTR).Answers));
        Assert.False(after.TryAnswer("3.0.1.10.in-addr.arpa", DnsType.PTR, out _));
        // The old snapshot is untouched: readers holding it keep a consistent view.
        Assert.Equal(3, Answer(before, "db.ns.svc.cluster.local", DnsType.A).Answers.Count);
    }

    [Fact]
    public void ApplySlice_HeadlessWithoutReadyEndpoints_NxDomain()
    {
        // handler_test.go: a headless Service with no endpoints is NXDOMAIN; serving-but-not-ready ones do not count.
        var zone = Zone();
        zone.ApplyService(Headless("ns", "db"));
        zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1", ready: false, serving: true)));

        Assert.Equal(DnsRcode.NXDomain, Answer(zone.Snapshot(), "db.ns.svc.cluster.local", DnsType.A).Rcode);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(null, true)]
    [InlineData(false, false)]
    public void ApplySlice_ReadyCondition_DecidesPublication(bool? ready, bool published)
    {
        // publishNotReadyAddresses: the EndpointSlice controller then marks not-ready pods ready, and DNS follows the
        // slice; ready unset counts as ready (object/endpoint.go endpointsliceReady).
        var zone = Zone();
        zone.ApplyService(Headless("ns", "db"));
        zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1", "db-0", ready: ready, serving: false)));

        var answer = Answer(zone.Snapshot(), "db-0.db.ns.svc.cluster.local", DnsType.A);

        Assert.Equal(published ? DnsRcode.NoError : DnsRcode.NXDomain, answer.Rcode);
    }

    [Fact]
    public void ApplySlice_PodHostnameAndSubdomain_AnswersHostnameName()
    {
        // A pod with hostname web-0 and subdomain nginx: the EndpointSlice controller gives its endpoint hostname
        // web-0 when a headless Service nginx selects it, and that is where web-0.nginx.<ns>.svc.<zone> comes from.
        var zone = Zone();
        zone.ApplyService(Headless("ns", "nginx", s_http));
        zone.ApplySlice(Slice("ns", "nginx", "nginx-abc", "IPv4", [s_sliceHttp], Ep("127.244.0.5", "web-0")));

        var snapshot = zone.Snapshot();

        Assert.Equal(["web-0.nginx.ns.svc.cluster.local 5 A 127.244.0.5"], Text(Answer(snapshot, "web-0.nginx.ns.svc.cluster.local", DnsType.A).Answers));
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "127-244-0-5.nginx.ns.svc.cluster.local", DnsType.A).Rcode);
    }

    [Fact]
    public void ApplySlice_BeforeItsService_AnswersOnceTheServiceComes()
    {
        var zone = Zone();
        zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("10.1.0.1")));
        Assert.Equal(DnsRcode.NXDomain, Answer(zone.Snapshot(), "db.ns.svc.cluster.local", DnsType.A).Rcode);

        zone.ApplyService(Headless("ns", "db"));

        Assert.Equal(["db.ns.svc.cluster.local 5 A 10.1.0.1"], Text(Answer(zone.Snapshot(), "db.ns.svc.cluster.local", DnsType.A).Answers));
    }

    [Fact]
    public void ApplyPod_VerifiedMode_AnswersOnlyItsNamespace()
    {
        // handler_pod_verified_test.go: a-b-c-d.<ns>.pod answers when a pod in <ns> has that IP, else NXDOMAIN.
        var zone = Zone();
        var pod = Pod("podns", "foo", "10.240.0.1", "fd00::1");
        Assert.True(zone.ApplyPod(pod));
        var snapshot = zone.Snapshot();

        Assert.Equal(["10-240-0-1.podns.pod.cluster.local 5 A 10.240.0.1"], Text(Answer(snapshot, "10-240-0-1.podns.pod.cluster.local", DnsType.A).Answers));
        Assert.Equal(["fd00--1.podns.pod.cluster.local 5 AAAA fd00::1"], Text(Answer(snapshot, "fd00--1.podns.pod.cluster.local", DnsType.AAAA).Answers));
        Assert.Equal(DnsRcode.NoError, Answer(snapshot, "10-240-0-1.podns.pod.cluster.local", DnsType.AAAA).Rcode);
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "10-240-0-1.otherns.pod.cluster.local", DnsType.A).Rcode);
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "10-240-0-2.podns.pod.cluster.local", DnsType.A).Rcode);
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "foo.podns.pod.cluster.local", DnsType.A).Rcode);
        Assert.Equal(DnsRcode.NoError, Answer(snapshot, "podns.pod.cluster.local", DnsType.A).Rcode);
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "pod-nons.pod.cluster.local", DnsType.A).Rcode);
        Assert.Equal("podns", snapshot.PodNamespace(IPAddress.Parse("10.240.0.1")));
        Assert.Equal("podns", snapshot.PodNamespace(IPAddress.Parse("fd00::1")));
        Assert.Null(snapshot.PodNamespace(IPAddress.Parse("10.240.0.2")));

        Assert.True(zone.DeletePod(pod));
        var after = zone.Snapshot();
        Assert.Equal(DnsRcode.NXDomain, Answer(after, "10-240-0-1.podns.pod.cluster.local", DnsType.A).Rcode);
        Assert.Null(after.PodNamespace(IPAddress.Parse("10.240.0.1")));
    }

    [Fact]
    public void ApplyPod_HostNetworkOrFinished_NotPublished()
    {
        var zone = Zone();
        var host = Pod("ns", "agent", "127.0.0.1");
        host.Spec!.HostNetwork = true;
        var done = Pod("ns", "job", "10.240.0.9");
        done.Status!.Phase = "Succeeded";

        Assert.False(zone.ApplyPod(host));
        Assert.False(zone.ApplyPod(done));

        var snapshot = zone.Snapshot();
        Assert.Null(snapshot.PodNamespace(IPAddress.Loopback));
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "127-0-0-1.ns.pod.cluster.local", DnsType.A).Rcode);
    }

    [Fact]
    public void ApplyPod_StatusChangeWithSameAddress_ReturnsFalse()
    {
        var zone = Zone();
        Assert.True(zone.ApplyPod(Pod("ns", "a", "10.240.0.1")));
        var ready = Pod("ns", "a", "10.240.0.1");
        ready.Status!.Conditions = [new PodCondition { Type = "Ready", Status = "True" }];

        Assert.False(zone.ApplyPod(ready));
        Assert.True(zone.ApplyPod(Pod("ns", "a", "10.240.0.2")));
        Assert.True(zone.DeletePod(ready));
        Assert.False(zone.DeletePod(ready));
    }

    [Fact]
    public void ApplyPod_TwoPodsSameAddress_NameStaysUntilBothGone()
    {
        var zone = Zone();
        zone.ApplyPod(Pod("ns", "old", "10.240.0.1"));
        zone.ApplyPod(Pod("ns", "new", "10.240.0.1"));
        zone.DeletePod(Pod("ns", "old"));

        Assert.Equal(DnsRcode.NoError, Answer(zone.Snapshot(), "10-240-0-1.ns.pod.cluster.local", DnsType.A).Rcode);
        zone.DeletePod(Pod("ns", "new"));
        Assert.Equal(DnsRcode.NXDomain, Answer(zone.Snapshot(), "10-240-0-1.ns.pod.cluster.local", DnsType.A).Rcode);
    }

    [Fact]
    public void ExternalName_InZoneTargetChanges_AliasFollows()
    {
        var zone = Zone();
        zone.ApplyService(External("ns", "alias", "web.ns.svc.cluster.local"));
        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], s_http));
        Assert.Contains("web.ns.svc.cluster.local 5 A 10.0.0.1", Text(Answer(zone.Snapshot(), "alias.ns.svc.cluster.local", DnsType.A).Answers));

        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.2"], s_http));
        Assert.Contains("web.ns.svc.cluster.local 5 A 10.0.0.2", Text(Answer(zone.Snapshot(), "alias.ns.svc.cluster.local", DnsType.A).Answers));

        // Target gone: nothing to chain to, the alias exists with no address (backend_lookup.go adds the CNAME only
        // together with records of its target).
        zone.DeleteService(ClusterIP("ns", "web", ["10.0.0.2"], s_http));
        var gone = Answer(zone.Snapshot(), "alias.ns.svc.cluster.local", DnsType.A);
        Assert.Equal(DnsRcode.NoError, gone.Rcode);
        Assert.Empty(gone.Answers);
        Assert.Equal(["alias.ns.svc.cluster.local 5 CNAME web.ns.svc.cluster.local"], Text(Answer(zone.Snapshot(), "alias.ns.svc.cluster.local", DnsType.CNAME).Answers));
    }

    [Fact]
    public void ExternalName_ChainsAndLoops_EndAsCoreDns()
    {
        var zone = Zone();
        zone.ApplyService(External("ns", "a", "b.ns.svc.cluster.local"));
        zone.ApplyService(External("ns", "b", "web.ns.svc.cluster.local"));
        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], s_http));
        zone.ApplyService(External("ns", "self", "self.ns.svc.cluster.local"));
        zone.ApplyService(External("ns", "x", "y.ns.svc.cluster.local"));
        zone.ApplyService(External("ns", "y", "x.ns.svc.cluster.local"));
        var snapshot = zone.Snapshot();

        Assert.Equal(
            ["a.ns.svc.cluster.local 5 CNAME b.ns.svc.cluster.local", "b.ns.svc.cluster.local 5 CNAME web.ns.svc.cluster.local", "web.ns.svc.cluster.local 5 A 10.0.0.1"],
            Text(Answer(snapshot, "a.ns.svc.cluster.local", DnsType.A).Answers));
        Assert.Empty(Answer(snapshot, "self.ns.svc.cluster.local", DnsType.A).Answers);
        Assert.Empty(Answer(snapshot, "x.ns.svc.cluster.local", DnsType.A).Answers);
    }

    [Theory]
    [InlineData("1.2.3.4")]
    [InlineData("not a name")]
    public void ExternalName_NotAName_NxDomain(string externalName)
    {
        // kubernetes.go findServices: an ExternalName that is an IP gives no CNAME, and no record at all.
        var zone = Zone();
        zone.ApplyService(External("ns", "ext", externalName));

        Assert.Equal(DnsRcode.NXDomain, Answer(zone.Snapshot(), "ext.ns.svc.cluster.local", DnsType.A).Rcode);
    }

    [Fact]
    public void ApplyService_UpperCasePortNameAndProtocol_LowerCaseNames()
    {
        var zone = Zone();
        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], Port("HTTP", "SCTP", 80)));

        Assert.Equal(DnsRcode.NoError, Answer(zone.Snapshot(), "_http._sctp.web.ns.svc.cluster.local", DnsType.SRV).Rcode);
    }

    [Fact]
    public void ApplyService_UnnamedPort_SrvOnServiceNameOnly()
    {
        // specification.md 2.4.1: only named ports have _port._proto names; the Service name's SRV lists every port.
        var zone = Zone();
        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], Port(null, "TCP", 80)));
        var snapshot = zone.Snapshot();

        Assert.Equal(["web.ns.svc.cluster.local 5 SRV 0 100 80 web.ns.svc.cluster.local"], Text(Answer(snapshot, "web.ns.svc.cluster.local", DnsType.SRV).Answers));
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "_._tcp.web.ns.svc.cluster.local", DnsType.SRV).Rcode);
    }

    [Fact]
    public void ApplyService_Malformed_Ignored()
    {
        var zone = Zone();

        Assert.False(zone.ApplyService(new Service()));
        Assert.False(zone.ApplyService(new Service { Metadata = new ObjectMeta { Name = "x" } }));
        Assert.False(zone.ApplySlice(new EndpointSlice { Metadata = new ObjectMeta { Name = "s", Namespace = "ns" } }));
        Assert.False(zone.ApplyPod(new Pod()));
        zone.ApplyService(Headless("ns", "db"));
        zone.ApplySlice(Slice("ns", "db", "db-1", "IPv4", [s_sliceHttp], Ep("not-an-ip"), Ep("fd00::1"), Ep("10.1.0.1", "Bad_Host.Name")));

        // The IPv6 address in an IPv4 slice and the bad address are skipped; the invalid hostname falls back to the IP.
        var snapshot = zone.Snapshot();
        Assert.Equal(["db.ns.svc.cluster.local 5 A 10.1.0.1"], Text(Answer(snapshot, "db.ns.svc.cluster.local", DnsType.A).Answers));
        Assert.Equal(DnsRcode.NoError, Answer(snapshot, "10-1-0-1.db.ns.svc.cluster.local", DnsType.A).Rcode);
    }

    [Fact]
    public void Snapshot_NothingChanged_SameSnapshot()
    {
        var clock = Clock();
        var zone = Zone(clock);
        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], s_http));
        var first = zone.Snapshot();
        Assert.False(zone.Changed);

        Assert.Same(first, zone.Snapshot());
        Assert.False(zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], s_http)));
        Assert.Same(first, zone.Snapshot());

        zone.ApplyService(ClusterIP("ns", "api", ["10.0.0.2"], s_http));
        Assert.True(zone.Changed);
        var second = zone.Snapshot();
        Assert.NotSame(first, second);
        // Same second: the serial still moves on.
        Assert.Equal(first.Serial + 1, second.Serial);
    }

    [Fact]
    public void Snapshot_UnrelatedServiceChanged_EarlierAnswerReused()
    {
        var zone = Zone();
        zone.ApplyService(ClusterIP("ns", "web", ["10.0.0.1"], s_http));
        var answer = Answer(zone.Snapshot(), "web.ns.svc.cluster.local", DnsType.A);

        zone.ApplyService(ClusterIP("ns", "api", ["10.0.0.2"], s_http));

        Assert.Same(answer, Answer(zone.Snapshot(), "web.ns.svc.cluster.local", DnsType.A));
    }

    [Fact]
    public void Empty_OnlyFixedNames()
    {
        var snapshot = ZoneSnapshot.Empty(new ZoneOptions { Domain = "Example.Test." });

        Assert.Equal("example.test", snapshot.Domain);
        Assert.Equal(DnsType.SOA, Assert.Single(Answer(snapshot, "example.test", DnsType.SOA).Answers).Type);
        Assert.Equal(DnsRcode.NoError, Answer(snapshot, "svc.example.test", DnsType.A).Rcode);
        Assert.Equal(DnsRcode.NXDomain, Answer(snapshot, "web.ns.svc.example.test", DnsType.A).Rcode);
        Assert.Equal(0, snapshot.ServiceCount);
    }

    [Fact]
    public void TryAnswer_WarmSnapshot_AllocatesNothing()
    {
        var zone = Zone(null, IPAddress.Loopback);
        ApplyUpstreamFixture(zone);
        zone.ApplyPod(Pod("testns", "p", "10.240.0.1"));
        var snapshot = zone.Snapshot();
        (string Name, DnsType Type)[] queries =
        [
            ("svc1.testns.svc.cluster.local", DnsType.A),
            ("svc1.testns.svc.cluster.local", DnsType.AAAA),
            ("_http._tcp.hdls1.testns.svc.cluster.local", DnsType.SRV),
            ("external-to-service.testns.svc.cluster.local", DnsType.A),
            ("external.testns.svc.cluster.local", DnsType.CNAME),
            ("svc0.testns.svc.cluster.local", DnsType.A),
            ("cluster.local", DnsType.SOA),
            ("dns-version.cluster.local", DnsType.TXT),
            ("10-240-0-1.testns.pod.cluster.local", DnsType.A),
            ("1.0.0.10.in-addr.arpa", DnsType.PTR),
            ("2.0.0.172.in-addr.arpa", DnsType.PTR),
            ("9.9.9.9.in-addr.arpa", DnsType.PTR),
            ("example.org", DnsType.A),
        ];
        Span<char> buffer = stackalloc char[256];
        var spans = queries.Select(q => q.Name.ToCharArray()).ToArray();
        foreach (var (name, type) in queries)
        {
            snapshot.TryAnswer(name, type, out _);
        }

        var answered = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 0; round < 10_000; round++)
        {
            for (var i = 0; i < spans.Length; i++)
            {
                // As the server does: the name decoded into a buffer of its own, not a string.
                spans[i].CopyTo(buffer);
                if (snapshot.TryAnswer(buffer[..spans[i].Length], queries[i].Type, out var answer) && answer.Rcode == DnsRcode.NoError)
                {
                    answered++;
                }
            }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(10_000 * 10, answered);
    }

    [Fact]
    public void Snapshot_TenThousandServices_BuildTimePrinted()
    {
        // A measurement, not an assertion: the full build and a one-Service rebuild at 10k Services.
        var zone = Zone();
        for (var i = 0; i < 10_000; i++)
        {
            var name = $"svc-{i}";
            zone.ApplyService(ClusterIP($"ns-{i % 100}", name, [$"10.{i / 256 % 256}.{i % 256}.1"], s_http, Port("metrics", "TCP", 9090)));
            zone.ApplySlice(Slice($"ns-{i % 100}", name, name + "-abc", "IPv4", [s_sliceHttp],
                Ep($"10.128.{i / 256 % 256}.{i % 256}"), Ep($"10.129.{i / 256 % 256}.{i % 256}"), Ep($"10.130.{i / 256 % 256}.{i % 256}")));
        }

        var full = Stopwatch.StartNew();
        var snapshot = zone.Snapshot();
        full.Stop();
        zone.ApplyService(ClusterIP("ns-1", "svc-1", ["10.0.1.2"], s_http));
        var one = Stopwatch.StartNew();
        var next = zone.Snapshot();
        one.Stop();
        var encode = Stopwatch.StartNew();
        for (var i = 0; i < 10_000; i++)
        {
            next.TryAnswer($"svc-{i}.ns-{i % 100}.svc.cluster.local", DnsType.A, out _);
        }
        encode.Stop();

        output.WriteLine($"10k Services, {snapshot.NameCount} names: full build {full.Elapsed.TotalMilliseconds:F1} ms, " +
            $"one Service changed {one.Elapsed.TotalMilliseconds:F1} ms, first A answer of each {encode.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal(["svc-1.ns-1.svc.cluster.local 5 A 10.0.1.2"], Text(Answer(next, "svc-1.ns-1.svc.cluster.local", DnsType.A).Answers));
        Assert.Equal(10_000, next.ServiceCount);
    }
}
