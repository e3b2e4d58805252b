using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using DnsClient;
using DnsClient.Protocol;
using Xunit.Abstractions;
using static Berth.EndToEnd.DnsFixture;
using static Berth.EndToEnd.DnsManifests;
using static Berth.EndToEnd.EndpointReads;
using static Berth.EndToEnd.NodeAgentCluster;
using static Berth.EndToEnd.ServiceReads;
using static Berth.EndToEnd.Workloads;

namespace Berth.EndToEnd;

/// <summary>
/// The node agent's cluster DNS through the real binary, the real kubectl, the real dig and DnsClient: the Kubernetes
/// DNS schema for ClusterIP, headless and ExternalName Services and pods (CoreDNS kubernetes plugin semantics),
/// changes visible within a second, names outside the zone forwarded to a loopback upstream and cached, UDP
/// truncation with TCP fallback, and pods that resolve cluster names through their own resolv.conf.
/// </summary>
/// <remarks>
/// The cluster DNS listens on the tenth address of the server's service CIDR, port 53 (root here). Each test has its
/// own namespace and removes its workloads when done.
/// </remarks>
public sealed class DnsTests : IClassFixture<DnsFixture>, IAsyncLifetime
{
    private const string ServiceProxyNameLabel = "service.kubernetes.io/service-proxy-name";

    private static readonly TimeSpan s_programming = TimeSpan.FromSeconds(1);

    // Records compare their lists by reference; resolv.conf contents compare element by element, in order.
    private static readonly IEqualityComparer<ResolvConfFile> s_resolvConf = EqualityComparer<ResolvConfFile>.Create(
        (a, b) => a!.Nameservers.SequenceEqual(b!.Nameservers) && a.Searches.SequenceEqual(b.Searches) && a.Options.SequenceEqual(b.Options),
        f => f.Nameservers.Count);

    private readonly DnsFixture _fixture;
    private readonly NodeAgentCluster _cluster;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly List<string> _namespaces = [];
    private readonly Kubectl _kubectl;
    private readonly IPAddress _dns;

    public DnsTests(DnsFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _cluster = fixture.Cluster;
        _output = output;
        _kubectl = _cluster.Server.Kubectl();
        _dns = fixture.ClusterDns;
    }

    [Fact]
    public async Task KubernetesService_DigOverUdpAndTcpAndDnsClient_AnswerItsClusterIP()
    {
        var ip = ClusterIP(await ServiceAsync("default", "kubernetes"));
        Assert.Equal(_fixture.KubernetesIP.ToString(), ip);
        var name = $"kubernetes.default.svc.{Zone}";

        var udp = await Dig.RunAsync(_dns, name, "A");
        Assert.True(udp.Status == "NOERROR" && udp.Flags.Contains("aa"), $"{name} A over UDP: {udp}");
        Assert.Equal([new DigRecord(name + ".", 5, "A", ip)], udp.Answer);
        Assert.Equal([ip], await Dig.ShortAsync(_dns, name, "A", "+tcp"));

        foreach (var tcp in new[] { false, true })
        {
            var response = await DnsLookup.Client(_dns, tcp).QueryAsync(name, QueryType.A);
            Assert.True(!response.HasError && response.Header.HasAuthorityAnswer, $"DnsClient {(tcp ? "TCP" : "UDP")}: {DnsLookup.Describe(response)}");
            Assert.Equal([ip], response.Answers.ARecords().Select(a => a.Address.ToString()));
        }
    }

    [Fact]
    public async Task ClusterIPService_AAaaaSrvPtrNxdomain_CaseInsensitive()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Manifest("web", 3, _cluster.NewMarker()) + "\n---\n"
            + Service("web", "web", ["{name: http, port: 8000, targetPort: 8080}", "{name: echo, port: 5353, protocol: UDP, targetPort: 9090}"]));
        await ReadyPodsAsync(ns, "web", 3);
        var ip = ClusterIP(await ServiceAsync(ns, "web"));
        var fqdn = $"web.{ns}.svc.{Zone}";
        await WaitForDigAsync(ns, [fqdn, "A"], r => r.Data("A").SequenceEqual([ip]), $"{fqdn} A = {ip}");

        var a = await Dig.RunAsync(_dns, fqdn, "A");
        Assert.True(a.Status == "NOERROR" && a.Flags.Contains("aa"), $"{fqdn} A: {a}");
        Assert.Equal([new DigRecord(fqdn + ".", 5, "A", ip)], a.Answer);

        // IPv4 only: the name exists, it has no AAAA (NODATA: NOERROR, no answer, the zone's SOA).
        var aaaa = await Dig.RunAsync(_dns, fqdn, "AAAA");
        Assert.True(aaaa.Status == "NOERROR" && aaaa.Answer.Count == 0, $"{fqdn} AAAA: {aaaa}");
        AssertZoneSoa(aaaa);

        var srv = await Dig.RunAsync(_dns, $"_http._tcp.{fqdn}", "SRV");
        Assert.True(srv.Status == "NOERROR", $"SRV: {srv}");
        var record = Srv(Assert.Single(srv.Answer));
        Assert.Equal((8000, fqdn + "."), (record.Port, record.Target));
        Assert.Contains(new DigRecord(fqdn + ".", 5, "A", ip), srv.Additional);
        var udpPort = Srv(Assert.Single((await Dig.RunAsync(_dns, $"_echo._udp.{fqdn}", "SRV")).Answer));
        Assert.Equal((5353, fqdn + "."), (udpPort.Port, udpPort.Target));

        var ptr = await Dig.RunAsync(_dns, "-x", ip);
        Assert.True(ptr.Status == "NOERROR", $"PTR of {ip}: {ptr}");
        Assert.Equal([fqdn + "."], ptr.Data("PTR"));

        var nope = await Dig.RunAsync(_dns, $"nope.{ns}.svc.{Zone}", "A");
        Assert.True(nope.Status == "NXDOMAIN" && nope.Answer.Count == 0, $"nope: {nope}");
        AssertZoneSoa(nope);

        // Names compare case-insensitively (RFC 4343).
        Assert.Equal([ip], await Dig.ShortAsync(_dns, $"WeB.{ns.ToUpperInvariant()}.SVC.Cluster.Local", "A"));
        Assert.Equal([_fixture.KubernetesIP.ToString()], await Dig.ShortAsync(_dns, "KuBeRnEtEs.DEFAULT.svc.Cluster.Local", "A"));
    }

    [Fact]
    public async Task HeadlessService_OneARecordPerReadyPod_SrvPerEndpoint_FollowsAScaleDown()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Manifest("db", 3, _cluster.NewMarker()) + "\n---\n"
            + Service("db", "db", ["{name: http, port: 8080, targetPort: 8080}"], "clusterIP: None"));
        var ips = (await ReadyPodsAsync(ns, "db", 3)).Select(p => Str(p["status"]!["podIP"])).Order(StringComparer.Ordinal).ToList();
        var fqdn = $"db.{ns}.svc.{Zone}";
        await WaitForDigAsync(ns, [fqdn, "A"], r => r.Data("A").Order(StringComparer.Ordinal).SequenceEqual(ips), $"{fqdn} A = {string.Join(",", ips)}");

        // Endpoints without a hostname are named by their dashed address.
        var srv = await Dig.RunAsync(_dns, $"_http._tcp.{fqdn}", "SRV");
        Assert.True(srv.Status == "NOERROR", $"SRV: {srv}");
        var targets = srv.Answer.Select(Srv).ToList();
        Assert.Equal(ips.Select(ip => (8080, $"{Dashed(ip)}.{fqdn}.")).Order(), targets.Select(t => (t.Port, t.Target)).Order());
        foreach (var ip in ips)
        {
            Assert.Contains(new DigRecord($"{Dashed(ip)}.{fqdn}.", 5, "A", ip), srv.Additional);
            Assert.Equal([ip], await Dig.ShortAsync(_dns, $"{Dashed(ip)}.{fqdn}", "A"));
        }
        Assert.Equal([$"{Dashed(ips[0])}.{fqdn}."], (await Dig.RunAsync(_dns, "-x", ips[0])).Data("PTR"));

        await _kubectl.OkAsync($"scale deployment/db --replicas=1 -n {ns}");
        List<string> left = [];
        await WaitForDigAsync(ns, [fqdn, "A"], r => (left = r.Data("A")).Count == 1, $"{fqdn} to answer one A record after the scale-down", 20);
        Assert.Contains(left[0], ips);
    }

    [Fact]
    public async Task HostnameAndSubdomain_PodNamedUnderItsHeadlessService_PodRecordFromItsDashedAddress()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        await ApplyAsync(ns, Service("sub", "sub", ["{name: http, port: 8080, targetPort: 8080}"], "clusterIP: None") + "\n---\n"
            + HostnamePod("first", "sub", "alpha", "sub", marker) + "\n---\n" + HostnamePod("second", "sub", "beta", "sub", marker));
        var alpha = Str((await _cluster.WaitForReadyPodAsync(ns, "first"))["status"]!["podIP"]);
        var beta = Str((await _cluster.WaitForReadyPodAsync(ns, "second"))["status"]!["podIP"]);
        var fqdn = $"sub.{ns}.svc.{Zone}";
        await WaitForDigAsync(ns, [$"alpha.{fqdn}", "A"], r => r.Data("A").SequenceEqual([alpha]), $"alpha.{fqdn} A = {alpha}");
        Assert.Equal([beta], await Dig.ShortAsync(_dns, $"beta.{fqdn}", "A"));
        var srv = await Dig.RunAsync(_dns, $"_http._tcp.{fqdn}", "SRV");
        Assert.Equal(new[] { $"alpha.{fqdn}.", $"beta.{fqdn}." }, srv.Answer.Select(r => Srv(r).Target).Order(StringComparer.Ordinal));
        Assert.Equal([$"alpha.{fqdn}."], (await Dig.RunAsync(_dns, "-x", alpha)).Data("PTR"));
        // As under containerd, the process sees its host name in HOSTNAME (spec.hostname here, else the pod's name).
        Assert.Equal("alpha", (await ExecAsync(ns, "first", "printenv HOSTNAME")).Trim());

        // Pod records: a-b-c-d.<ns>.pod.<zone>, answered only for a pod of that namespace with that address.
        Assert.Equal([alpha], await Dig.ShortAsync(_dns, $"{Dashed(alpha)}.{ns}.pod.{Zone}", "A"));
        var elsewhere = await Dig.RunAsync(_dns, $"{Dashed(alpha)}.default.pod.{Zone}", "A");
        Assert.True(elsewhere.Status == "NXDOMAIN", $"the pod's address under another namespace: {elsewhere}");
    }

    [Fact]
    public async Task HeadlessPublishNotReadyAddresses_UnreadyPodAnswered_OnlyWhereTheServiceAsksForIt()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, Service("published", "unready", ["{name: http, port: 8080, targetPort: 8080}"], "clusterIP: None\n  publishNotReadyAddresses: true") + "\n---\n"
            + Service("hidden", "unready", ["{name: http, port: 8080, targetPort: 8080}"], "clusterIP: None") + "\n---\n"
            + SleepPod("never-ready", _cluster.NewMarker(), app: "unready", container: """
                    readinessProbe:
                      exec: {command: ["false"]}
                      periodSeconds: 1
                """));
        var podIP = Str((await _cluster.WaitForPodAsync(ns, "never-ready", p => Phase(p) == "Running" && Str(p["status"]?["podIP"]) != "", "Running with an IP"))["status"]!["podIP"]);
        // The endpointslice controller lists the pod under both: ready only where the Service publishes it anyway.
        await WaitForAsync(async () => (await SlicesAsync(_kubectl, ns, "hidden")).SelectMany(Endpoints).Any(e => e.Ip == podIP && e.Ready == false),
            () => $"the unready pod {podIP} in hidden's EndpointSlice\n{Context(ns)}", 30);
        var published = $"published.{ns}.svc.{Zone}";
        await WaitForDigAsync(ns, [published, "A"], r => r.Data("A").SequenceEqual([podIP]), $"{published} A = {podIP}");
        Assert.Equal([podIP], await Dig.ShortAsync(_dns, $"{Dashed(podIP)}.{published}", "A"));
        var hidden = await Dig.RunAsync(_dns, $"hidden.{ns}.svc.{Zone}", "A");
        Assert.True(hidden.Data("A").Count == 0 && hidden.Status is "NOERROR" or "NXDOMAIN", $"a headless Service whose only pod is not ready: {hidden}");
    }

    [Fact]
    public async Task ExternalName_TargetInTheClusterZone_CnameAndTheTargetsAddress()
    {
        var ns = await NamespaceAsync();
        var target = $"target.{ns}.svc.{Zone}";
        await ApplyAsync(ns, Service("target", "nobody", ["{name: http, port: 80, targetPort: 8080}"]) + "\n---\n" + ExternalName("alias", target));
        var ip = ClusterIP(await ServiceAsync(ns, "target"));
        var alias = $"alias.{ns}.svc.{Zone}";
        var result = await WaitForDigAsync(ns, [alias, "A"], r => r.Data("CNAME").Count > 0, $"{alias} CNAME");
        Assert.True(result.Status == "NOERROR", $"{alias}: {result}");
        Assert.Equal([new DigRecord(alias + ".", 5, "CNAME", target + "."), new DigRecord(target + ".", 5, "A", ip)], result.Answer);
    }

    [Fact]
    public async Task ExternalName_CnameFollowsAPatchWithinASecond_TypeChangesBothWays()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, ExternalName("ext", "one.example.test"));
        var fqdn = $"ext.{ns}.svc.{Zone}";
        await WaitForDigAsync(ns, [fqdn, "A"], r => r.Data("CNAME").SequenceEqual(["one.example.test."]), $"{fqdn} CNAME one.example.test.");
        var cname = await Dig.RunAsync(_dns, fqdn, "CNAME");
        Assert.Equal([new DigRecord(fqdn + ".", 5, "CNAME", "one.example.test.")], cname.Answer);

        var client = DnsLookup.Client(_dns, timeoutMs: 500);
        await _kubectl.OkAsync($$$"""patch svc ext -n {{{ns}}} --type=merge -p '{"spec":{"externalName":"two.example.test"}}'""");
        await AssertWithinAsync(ns, client, fqdn, QueryType.A, r => Cname(r) == "two.example.test.", "the CNAME to become two.example.test.");

        var patched = JsonNode.Parse(await _kubectl.OkAsync(
            $$$"""patch svc ext -n {{{ns}}} --type=merge -o json -p '{"spec":{"type":"ClusterIP","externalName":null}}'"""))!;
        var ip = ClusterIP(patched);
        Assert.True(IPAddress.TryParse(ip, out _), $"a ClusterIP for ext once it is a ClusterIP Service: {patched}");
        await AssertWithinAsync(ns, client, fqdn, QueryType.A,
            r => Cname(r) is null && r.Answers.ARecords().Select(a => a.Address.ToString()).SequenceEqual([ip]), $"A {ip} (no CNAME) once ext is a ClusterIP Service");

        await _kubectl.OkAsync($$$"""patch svc ext -n {{{ns}}} --type=merge -p '{"spec":{"type":"ExternalName","externalName":"three.example.test","clusterIP":null,"clusterIPs":null}}'""");
        await AssertWithinAsync(ns, client, fqdn, QueryType.A,
            r => Cname(r) == "three.example.test." && !r.Answers.ARecords().Any(a => a.Address.ToString() == ip), "the CNAME three.example.test. and the A record gone");
    }

    [Fact]
    public async Task OutsideTheZone_ForwardedToTheUpstream_RepeatsServedFromTheCache()
    {
        const string name = "www.example.test";
        _fixture.Upstream.SetA(name, IPAddress.Parse("192.0.2.10"));
        var first = await Dig.RunAsync(_dns, name, "A");
        Assert.True(first.Status == "NOERROR", $"{name}: {first}");
        Assert.Equal(["192.0.2.10"], first.Data("A"));
        Assert.True(_fixture.Upstream.Queries(name, "A") == 1, $"upstream got: {_fixture.Upstream.Received()}");
        Assert.True(first.Answer[0].Ttl <= TestUpstreamDns.Ttl, $"TTL {first.Answer[0].Ttl} above the upstream's");

        var again = await Dig.RunAsync(_dns, name, "A");
        Assert.Equal(["192.0.2.10"], again.Data("A"));
        var client = await DnsLookup.Client(_dns).QueryAsync(name, QueryType.A);
        Assert.Equal(["192.0.2.10"], client.Answers.ARecords().Select(a => a.Address.ToString()));
        Assert.True(_fixture.Upstream.Queries(name, "A") == 1, $"repeats were sent upstream (expected from the cache): {_fixture.Upstream.Received()}");

        // The negative answer is cached too (RFC 2308).
        const string missing = "missing.example.test";
        for (var i = 0; i < 2; i++)
        {
            var nx = await Dig.RunAsync(_dns, missing, "A");
            Assert.True(nx.Status == "NXDOMAIN", $"{missing} (try {i + 1}): {nx}");
        }
        Assert.True(_fixture.Upstream.Queries(missing, "A") == 1, $"upstream got: {_fixture.Upstream.Received()}");
    }

    [Fact]
    public async Task LargeForwardedAnswer_TruncatedOverUdpWithoutEdns_WholeOverTcp()
    {
        const string name = "many.example.test";
        // 60 A records: about 1000 bytes, more than the 512 a client without EDNS0 takes over UDP.
        var addresses = Enumerable.Range(1, 60).Select(i => $"198.51.100.{i}").ToList();
        _fixture.Upstream.SetA(name, [.. addresses.Select(IPAddress.Parse)]);

        var tcp = await Dig.RunAsync(_dns, name, "A", "+tcp");
        Assert.True(tcp.Status == "NOERROR" && !tcp.Flags.Contains("tc"), $"over TCP: {tcp}");
        Assert.Equal(addresses.Order(StringComparer.Ordinal), tcp.Data("A").Order(StringComparer.Ordinal));

        var udp = await Dig.RunAsync(_dns, name, "A", "+ignore", "+noedns");
        Assert.True(udp.Flags.Contains("tc"), $"over UDP without EDNS0 the answer is truncated (TC): {udp}");
        Assert.True(udp.Answer.Count < addresses.Count && udp.Size is > 0 and <= 512, $"a truncated answer holds fewer records, in at most 512 bytes: {udp}");

        var edns = await Dig.RunAsync(_dns, name, "A");
        Assert.True(!edns.Flags.Contains("tc") && edns.Answer.Count == addresses.Count, $"over UDP with dig's EDNS0 size (1232): {edns}");
    }

    [Fact]
    public async Task DnsVersion_Txt()
    {
        var txt = await Dig.RunAsync(_dns, $"dns-version.{Zone}", "TXT");
        Assert.True(txt.Status == "NOERROR", $"{txt}");
        Assert.Equal(["\"1.1.0\""], txt.Data("TXT"));
    }

    [Fact]
    public async Task Autopath_ExternalNameSearchedUnderTheNamespace_OneAnswerWithCname()
    {
        var ns = await NamespaceAsync();
        const string name = "path.example.test";
        _fixture.Upstream.SetA(name, IPAddress.Parse("192.0.2.30"));
        // What a pod's resolver asks first with ndots:5: the name under its namespace's search domain.
        var searched = $"{name}.{ns}.svc.{Zone}";
        var result = await Dig.RunAsync(_dns, searched, "A");
        Assert.True(result.Status == "NOERROR", $"{searched}: {result}");
        // The CNAME's TTL is the found answer's (CoreDNS plugin/autopath), so it is left out.
        Assert.Equal([(searched + ".", name + ".")], result.Answer.Where(r => r.Type == "CNAME").Select(r => (r.Name, r.Data)));
        Assert.Equal(["192.0.2.30"], result.Data("A"));
    }

    [RootFact]
    public async Task Pod_ResolvConfAndHostsFile_ShortServiceNameAndExternalNameResolve()
    {
        var ns = await NamespaceAsync();
        _fixture.Upstream.SetA("pods.example.test", IPAddress.Parse("192.0.2.20"));
        await ApplyAsync(ns, Service("quote", "nobody", ["{name: http, port: 80, targetPort: 8080}"]) + "\n---\n" + SleepPod("client", _cluster.NewMarker()));
        var pod = await _cluster.WaitForReadyPodAsync(ns, "client");
        var podIP = Str(pod["status"]!["podIP"]);
        var quote = ClusterIP(await ServiceAsync(ns, "quote"));

        // Checked first: only with the cluster DNS as its nameserver may the pod resolve anything below.
        var resolv = ResolvConfFile.Parse(await ExecAsync(ns, "client", "cat /etc/resolv.conf"));
        Assert.Equal(new ResolvConfFile([_dns.ToString()], [$"{ns}.svc.{Zone}", $"svc.{Zone}", Zone, HostSearch], ["ndots:5"]), resolv, s_resolvConf);

        var hosts = await ExecAsync(ns, "client", "cat /etc/hosts");
        Assert.Contains(hosts.Split('\n'), l => l.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries) is [var ip, "client", ..] && ip == podIP);

        var shortName = await ExecAsync(ns, "client", "getent hosts quote");
        Assert.True(shortName.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() == quote, $"getent hosts quote in the pod: {shortName}; expected {quote}");
        var external = await ExecAsync(ns, "client", "getent hosts pods.example.test");
        Assert.True(external.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() == "192.0.2.20", $"getent hosts pods.example.test in the pod: {external}");
    }

    [RootFact]
    public async Task Pod_DnsPolicyNoneDefaultAndDnsConfig_GetExactlyTheirSettings_NoneWithoutDnsConfigRefused()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        await ApplyAsync(ns, SleepPod("custom", marker, """
              dnsPolicy: None
              dnsConfig:
                nameservers: [192.0.2.1, 192.0.2.2]
                searches: [one.example.test, two.example.test]
                options: [{name: ndots, value: "2"}, {name: edns0}]
            """) + "\n---\n" + SleepPod("host", marker, "  dnsPolicy: Default") + "\n---\n" + SleepPod("merged", marker, """
              dnsConfig:
                searches: [extra.example.test]
                options: [{name: ndots, value: "3"}, {name: rotate}]
            """));
        foreach (var name in new[] { "custom", "host", "merged" })
        {
            await _cluster.WaitForReadyPodAsync(ns, name);
        }
        Assert.Equal(new ResolvConfFile(["192.0.2.1", "192.0.2.2"], ["one.example.test", "two.example.test"], ["ndots:2", "edns0"]),
            ResolvConfFile.Parse(await ExecAsync(ns, "custom", "cat /etc/resolv.conf")), s_resolvConf);
        Assert.Equal(new ResolvConfFile([HostNameserver], [HostSearch], [HostOption]),
            ResolvConfFile.Parse(await ExecAsync(ns, "host", "cat /etc/resolv.conf")), s_resolvConf);
        // dnsConfig adds to ClusterFirst's settings; an option of the same name replaces it.
        Assert.Equal(new ResolvConfFile([_dns.ToString()], [$"{ns}.svc.{Zone}", $"svc.{Zone}", Zone, HostSearch, "extra.example.test"], ["ndots:3", "rotate"]),
            ResolvConfFile.Parse(await ExecAsync(ns, "merged", "cat /etc/resolv.conf")), s_resolvConf);

        const string message = "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None";
        var refused = await _kubectl.RunAsync($"apply -n {ns} -f -", SleepPod("bare", marker, "  dnsPolicy: None"));
        Assert.True(refused.ExitCode != 0 && refused.Stderr.Contains(message, StringComparison.Ordinal), $"dnsPolicy None without dnsConfig: {refused}");
        using var http = _cluster.Server.CreateHttpClient();
        using var content = new StringContent("""
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"},
             "spec": {"dnsPolicy": "None", "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "1"]}]}}
            """, System.Text.Encoding.UTF8, "application/json");
        var posted = await http.PostAsync($"/api/v1/namespaces/{ns}/pods", content);
        var body = await posted.Content.ReadAsStringAsync();
        Assert.True(posted.StatusCode == HttpStatusCode.UnprocessableEntity && body.Contains("must provide `dnsConfig` when `dnsPolicy` is None", StringComparison.Ordinal),
            $"POST of a pod with dnsPolicy None and no dnsConfig: {(int)posted.StatusCode} {body}");
    }

    [Fact]
    public async Task KubeDns_ThisNodesEndpointSliceHoldsTheClusterDnsAddress_TheProxyLeavesItAlone()
    {
        var service = await ServiceAsync("kube-system", "kube-dns");
        Assert.Equal(_dns.ToString(), ClusterIP(service));
        Assert.Equal("berth-node-dns", Str(service["metadata"]!["labels"]?[ServiceProxyNameLabel]));

        var selector = "-n kube-system -l kubernetes.io/service-name=kube-dns";
        var slices = await ItemsAsync(_kubectl, $"endpointslices {selector}");
        var slice = slices.SingleOrDefault(s => Name(s) == $"kube-dns-{_cluster.NodeName}");
        Assert.True(slice is not null, $"an EndpointSlice kube-dns-{_cluster.NodeName} among: {Render(slices)}");
        Assert.Equal("IPv4", Str(slice["addressType"]));
        Assert.Equal("berth-node-dns", Str(slice["metadata"]!["labels"]?["endpointslice.kubernetes.io/managed-by"]));
        var endpoint = Assert.Single(Endpoints(slice));
        Assert.Equal((_dns.ToString(), 1, true, _cluster.NodeName),
            (endpoint.Ip, Elements(endpoint.Node["addresses"]).Count, endpoint.Ready, Str(endpoint.Node["nodeName"])));
        Assert.Equal([("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")], Ports(slice).OrderBy(p => p.Name, StringComparer.Ordinal));
        Assert.Contains(_dns.ToString(), await _kubectl.OkAsync($"get endpointslices {selector}"), StringComparison.Ordinal);

        // The node's DNS owns the address: the proxy neither listens there nor reports on kube-dns.
        var events = await ServiceEventsAsync(_kubectl, "kube-system", "kube-dns");
        Assert.Contains(events, e => e.Reason == "Listening" && e.Source.StartsWith("berth-node-dns", StringComparison.Ordinal) && e.Message.Contains(_dns.ToString(), StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.Reason == "BindFailed");
        Assert.Null(await ConditionAsync(_kubectl, "kube-system", "kube-dns", "ProxyListening"));
        Assert.Equal([_fixture.KubernetesIP.ToString()], await Dig.ShortAsync(_dns, $"kubernetes.default.svc.{Zone}", "A", "+tcp"));
    }

    private static (int Priority, int Weight, int Port, string Target) Srv(DigRecord record)
    {
        Assert.True(record.Type == "SRV", $"not an SRV record: {record}");
        var fields = record.Data.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), fields[3]);
    }

    private static string? Cname(IDnsQueryResponse response) =>
        response.Answers.OfType<CNameRecord>().Select(c => c.CanonicalName.Value).FirstOrDefault();

    /// <summary>NXDOMAIN and NODATA carry the cluster zone's SOA (CoreDNS: ns.dns.&lt;zone&gt;. hostmaster.&lt;zone&gt;. ...).</summary>
    private static void AssertZoneSoa(DigResult result)
    {
        var soa = Assert.Single(result.Authority);
        Assert.True(soa.Name == Zone + "." && soa.Type == "SOA" && soa.Data.StartsWith($"ns.dns.{Zone}. hostmaster.{Zone}. ", StringComparison.Ordinal),
            $"expected the SOA of {Zone}: {result}");
    }

    /// <summary>Polls dig (bounded) until the result satisfies the condition: the zone has caught up with an API change.</summary>
    private async Task<DigResult> WaitForDigAsync(string ns, string[] args, Func<DigResult, bool> condition, string what, int timeoutSeconds = 30)
    {
        DigResult? last = null;
        await WaitForAsync(async () => condition(last = await Dig.RunAsync(_dns, args)), () => $"{what}; last {last}\n{Context(ns)}", timeoutSeconds);
        return last!;
    }

    /// <summary>
    /// Asserts the change is answered within <see cref="s_programming"/> of kubectl returning (the caller has just
    /// run it), polling every 20 ms.
    /// </summary>
    private async Task AssertWithinAsync(string ns, LookupClient client, string name, QueryType type, Func<IDnsQueryResponse, bool> condition, string what)
    {
        var since = Stopwatch.StartNew();
        var (after, last) = await DnsLookup.WithinAsync(client, name, type, condition, since, s_programming);
        Assert.True(after is not null, $"{name} {type}: not {what} within {s_programming.TotalSeconds:0} s of kubectl returning; last {last}\n{Context(ns)}");
        _output.WriteLine($"{what}: answered {after!.Value.TotalMilliseconds:F0} ms after kubectl returned");
    }

    private async Task<string> ExecAsync(string ns, string pod, string command)
    {
        var result = await _kubectl.RunAsync($"exec {pod} -n {ns} -- {command}");
        Assert.True(result.ExitCode == 0, $"kubectl exec {pod} -- {command}: {result}\n{Context(ns)}");
        return result.Stdout;
    }

    private async Task<string> NamespaceAsync()
    {
        var ns = "dns-" + Guid.NewGuid().ToString("N")[..10];
        await _kubectl.OkAsync($"create namespace {ns}");
        _namespaces.Add(ns);
        return ns;
    }

    private Task<string> ApplyAsync(string ns, string yaml) => _kubectl.OkAsync($"apply -n {ns} -f -", yaml);

    private Task<JsonNode> ServiceAsync(string ns, string name) => GetAsync(_kubectl, $"svc {name} -n {ns}");

    private Task<List<JsonNode>> ReadyPodsAsync(string ns, string app, int count) =>
        WaitForActivePodsAsync(_cluster, ns, app, p => p.Count == count && p.All(x => IsRunningAndReady(x) && Str(x["status"]?["podIP"]) != ""),
            $"{count} Running and Ready pods of {app}");

    /// <summary>For failure messages: the namespace's Services, slices and pods, and the server log's tail.</summary>
    private string Context(string ns)
    {
        var state = _kubectl.RunAsync($"get svc,endpointslices,pods -n {ns} -o wide").GetAwaiter().GetResult();
        return $"{state.Stdout}{state.Stderr}\nserver log tail:\n{Tail(_cluster.Server.Output, 40)}";
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Stops the test's pods so they do not load the shared node for the tests after it.</summary>
    public async Task DisposeAsync()
    {
        foreach (var ns in _namespaces)
        {
            await _kubectl.RunAsync($"delete deployment,pod,service --all -n {ns} --wait=false");
        }
        _kubectl.Dispose();
        _output.WriteLine($"wall time {_watch.Elapsed.TotalSeconds:F1} s");
    }
}
