using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.EndToEnd;

/// <summary>
/// Service semantics through the real binary and the real kubectl: defaulting, refusals with upstream's messages,
/// ClusterIP / NodePort / load-balancer allocation, type transitions, the system Services and persistence.
/// </summary>
/// <remarks>
/// The tests of this class share one server, so the values they pick by hand are unique per test: cluster IPs from
/// the static band 127.96.0.100-199 and nodePorts from 30010-30059, which dynamic allocation leaves alone while the
/// upper bands have room (KEP-3070, KEP-3668).
/// </remarks>
public sealed class ServiceTests : IClassFixture<DefaultAddressingServerFixture>
{
    private const string ServiceCidr = "127.96.0.0/16";
    private const string LoadBalancerPool = "127.100.0.0/16";

    private readonly BerthServer _server;

    public ServiceTests(DefaultAddressingServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task KubectlCreateService_EachType_ShowsAllocatedColumns()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        // kubectl create sends protobuf bodies.
        Assert.Contains("service/cip created", await kubectl.OkAsync($"create service clusterip cip --tcp=80:8080 -n {ns}"));
        Assert.Contains("service/np created", await kubectl.OkAsync($"create service nodeport np --tcp=80:8080 -n {ns}"));
        Assert.Contains("service/lb created", await kubectl.OkAsync($"create service loadbalancer lb --tcp=80:8080 -n {ns}"));
        Assert.Contains("service/ext created", await kubectl.OkAsync($"create service externalname ext --external-name bar.example.com -n {ns}"));

        await WaitForServiceAsync(kubectl, ns, "lb", s => IngressIp(s) is not null);
        var table = await kubectl.OkAsync($"get svc -n {ns}");
        Assert.Matches(@"NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE", table);
        var cip = Row(table, "cip");
        Assert.Equal("ClusterIP", cip[1]);
        AssertDynamicClusterIP(cip[2]);
        Assert.Equal(["<none>", "80/TCP"], cip[3..5]);
        var np = Row(table, "np");
        Assert.Equal("NodePort", np[1]);
        AssertDynamicClusterIP(np[2]);
        Assert.Equal("<none>", np[3]);
        AssertNodePortColumn(np[4], "TCP");
        var lb = Row(table, "lb");
        Assert.Equal("LoadBalancer", lb[1]);
        AssertDynamicClusterIP(lb[2]);
        Assert.True(InCidr(lb[3], LoadBalancerPool), $"EXTERNAL-IP {lb[3]} is not in {LoadBalancerPool}:\n{table}");
        AssertNodePortColumn(lb[4], "TCP");
        var ext = Row(table, "ext");
        Assert.Equal(["ExternalName", "<none>", "bar.example.com", "<none>"], ext[1..5]);
        Assert.Equal(3, new[] { cip[2], np[2], lb[2] }.Distinct().Count());
    }

    [Fact]
    public async Task KubectlExpose_Deployment_NodePortServiceSelectsItsPods()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"create deployment web --image=nginx --port=80 -n {ns}");
        Assert.Contains("service/web exposed", await kubectl.OkAsync($"expose deployment web --port=80 --target-port=8080 --type=NodePort -n {ns}"));
        var svc = await GetServiceAsync(kubectl, ns, "web");
        var spec = svc["spec"]!;
        Assert.Equal("NodePort", spec["type"]!.GetValue<string>());
        Assert.Equal("""{"app":"web"}""", spec["selector"]!.ToJsonString());
        var port = spec["ports"]![0]!;
        Assert.Equal(80, port["port"]!.GetValue<int>());
        Assert.Equal(8080, port["targetPort"]!.GetValue<int>());
        AssertNodePort(port["nodePort"]!.GetValue<int>());
        AssertDynamicClusterIP(spec["clusterIP"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_MinimalSpecs_DefaultedAsUpstream()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"apply -n {ns} -f -", """
            apiVersion: v1
            kind: Service
            metadata:
              name: plain
            spec:
              ports:
              - port: 80
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: np
            spec:
              type: NodePort
              ports:
              - port: 80
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: lb
            spec:
              type: LoadBalancer
              ports:
              - port: 80
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: sticky
            spec:
              sessionAffinity: ClientIP
              ports:
              - port: 80
            """);

        var plain = (await GetServiceAsync(kubectl, ns, "plain"))["spec"]!;
        Assert.Equal("ClusterIP", plain["type"]!.GetValue<string>());
        Assert.Equal("TCP", plain["ports"]![0]!["protocol"]!.GetValue<string>());
        Assert.Equal(80, plain["ports"]![0]!["targetPort"]!.GetValue<int>());
        Assert.Equal("None", plain["sessionAffinity"]!.GetValue<string>());
        Assert.Equal("""["IPv4"]""", plain["ipFamilies"]!.ToJsonString());
        Assert.Equal("SingleStack", plain["ipFamilyPolicy"]!.GetValue<string>());
        Assert.Equal("Cluster", plain["internalTrafficPolicy"]!.GetValue<string>());
        Assert.Equal(plain["clusterIP"]!.GetValue<string>(), plain["clusterIPs"]![0]!.GetValue<string>());
        // Only NodePort and LoadBalancer Services take external traffic, so only they get a policy.
        Assert.Null(plain["externalTrafficPolicy"]);
        Assert.Null(plain["allocateLoadBalancerNodePorts"]);
        Assert.Null(plain["sessionAffinityConfig"]);

        var np = (await GetServiceAsync(kubectl, ns, "np"))["spec"]!;
        Assert.Equal("Cluster", np["externalTrafficPolicy"]!.GetValue<string>());
        Assert.Null(np["allocateLoadBalancerNodePorts"]);
        AssertNodePort(np["ports"]![0]!["nodePort"]!.GetValue<int>());

        var lb = (await GetServiceAsync(kubectl, ns, "lb"))["spec"]!;
        Assert.True(lb["allocateLoadBalancerNodePorts"]!.GetValue<bool>());
        Assert.Equal("Cluster", lb["externalTrafficPolicy"]!.GetValue<string>());
        AssertNodePort(lb["ports"]![0]!["nodePort"]!.GetValue<int>());

        var sticky = (await GetServiceAsync(kubectl, ns, "sticky"))["spec"]!;
        Assert.Equal("ClientIP", sticky["sessionAffinity"]!.GetValue<string>());
        Assert.Equal(10800, sticky["sessionAffinityConfig"]!["clientIP"]!["timeoutSeconds"]!.GetValue<int>());
    }

    public static TheoryData<string, string, string[], string> Refusals => new()
    {
        {
            // The nodePort is checked when allocating, after the cluster IP is taken: that IP must be given back.
            "np-range", """
                clusterIP: 127.96.0.104
                ports:
                - port: 80
                  nodePort: 80
                """,
            ["spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"],
            """
                clusterIP: 127.96.0.104
                ports:
                - port: 80
                  nodePort: 30014
                """
        },
        {
            "np-dup", """
                clusterIP: 127.96.0.102
                ports:
                - port: 80
                  nodePort: 30011
                """,
            ["spec.ports[0].nodePort: Invalid value: 30011: provided port is already allocated"],
            """
                clusterIP: 127.96.0.102
                ports:
                - port: 80
                  nodePort: 30012
                """
        },
        {
            "names", """
                clusterIP: 127.96.0.105
                ports:
                - port: 80
                  nodePort: 30015
                - port: 81
                  nodePort: 30016
                """,
            ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
            """
                clusterIP: 127.96.0.105
                ports:
                - name: a
                  port: 80
                  nodePort: 30015
                - name: b
                  port: 81
                  nodePort: 30016
                """
        },
        {
            "ip-range", """
                clusterIP: 10.0.0.5
                ports:
                - port: 80
                  nodePort: 30017
                """,
            ["""spec.clusterIPs: Invalid value: []string{"10.0.0.5"}: failed to allocate IP 10.0.0.5: the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is 127.96.0.0/16"""],
            """
                clusterIP: 127.96.0.106
                ports:
                - port: 80
                  nodePort: 30017
                """
        },
        {
            "ip-held", """
                clusterIP: 127.96.0.101
                ports:
                - port: 80
                  nodePort: 30013
                """,
            ["""spec.clusterIPs: Invalid value: []string{"127.96.0.101"}: failed to allocate IP 127.96.0.101: provided IP is already allocated"""],
            """
                clusterIP: 127.96.0.103
                ports:
                - port: 80
                  nodePort: 30013
                """
        },
        {
            "dual", """
                ipFamilyPolicy: RequireDualStack
                clusterIP: 127.96.0.107
                ports:
                - port: 80
                  nodePort: 30018
                """,
            ["""spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services"""],
            """
                clusterIP: 127.96.0.107
                ports:
                - port: 80
                  nodePort: 30018
                """
        },
    };

    /// <summary>
    /// Each refused NodePort create names a cluster IP and nodePorts; the corrected manifest then gets exactly
    /// those, so the refusal left no Service and no allocation behind.
    /// </summary>
    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Create_Invalid_RefusedWithUpstreamMessageAndNothingHeld(string name, string badSpec, string[] messages, string fixedSpec)
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        // Holds what the "already allocated" cases ask for (each case runs once, in its own namespace).
        if (name is "np-dup" or "ip-held")
        {
            await kubectl.OkAsync($"apply -n {ns} -f -", NodePortManifest("holder", $"""
                clusterIP: 127.96.0.{(name == "ip-held" ? 101 : 100)}
                ports:
                - port: 80
                  nodePort: {(name == "np-dup" ? 30011 : 30010)}
                """));
        }

        var refused = await kubectl.RunAsync($"apply -n {ns} -f -", NodePortManifest(name, badSpec));
        Assert.True(refused.ExitCode == 1, refused.ToString());
        var prefix = messages.Length == 1 ? $"The Service \"{name}\" is invalid: " : $"The Service \"{name}\" is invalid: \n* ";
        Assert.Contains(prefix + messages[0], refused.Stderr, StringComparison.Ordinal);
        foreach (var message in messages.Skip(1))
        {
            Assert.Contains("\n* " + message, refused.Stderr, StringComparison.Ordinal);
        }
        Assert.Contains($"services \"{name}\" not found", (await kubectl.RunAsync($"get svc {name} -n {ns}")).Stderr);

        await kubectl.OkAsync($"apply -n {ns} -f -", NodePortManifest(name, fixedSpec));
        var spec = (await GetServiceAsync(kubectl, ns, name))["spec"]!;
        Assert.Equal(ValueOf(fixedSpec, "clusterIP:"), spec["clusterIP"]!.GetValue<string>());
        Assert.Equal(
            fixedSpec.Split('\n').Where(l => l.Contains("nodePort:", StringComparison.Ordinal)).Select(l => int.Parse(l.Split(':')[1], CultureInfo.InvariantCulture)),
            spec["ports"]!.AsArray().Select(p => p!["nodePort"]!.GetValue<int>()));
    }

    [Fact]
    public async Task NodePort_SameNumberOtherProtocol_AllocatedPerProtocol()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"apply -n {ns} -f -", NodePortManifest("tcp", """
            ports:
            - port: 80
              nodePort: 30020
            """));
        await kubectl.OkAsync($"apply -n {ns} -f -", NodePortManifest("udp", """
            ports:
            - port: 80
              protocol: UDP
              nodePort: 30020
            """));
        var table = await kubectl.OkAsync($"get svc -n {ns}");
        Assert.Equal("80:30020/TCP", Row(table, "tcp")[4]);
        Assert.Equal("80:30020/UDP", Row(table, "udp")[4]);
        // Still exclusive within a protocol.
        var taken = await kubectl.RunAsync($"apply -n {ns} -f -", NodePortManifest("tcp2", """
            ports:
            - port: 80
              nodePort: 30020
            """));
        Assert.Contains("The Service \"tcp2\" is invalid: spec.ports[0].nodePort: Invalid value: 30020: provided port is already allocated", taken.Stderr);
    }

    [Fact]
    public async Task PatchType_NodePortExternalNameClusterIPNodePort_AllocatesAndReleases()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"apply -n {ns} -f -", NodePortManifest("tr", """
            clusterIP: 127.96.0.110
            ports:
            - port: 80
              nodePort: 30030
            """));

        Assert.Contains("service/tr patched", await kubectl.OkAsync($"patch svc tr -n {ns} --type=merge -p '{{\"spec\":{{\"type\":\"ExternalName\",\"externalName\":\"foo.example.com\"}}}}'"));
        var external = (await GetServiceAsync(kubectl, ns, "tr"))["spec"]!;
        Assert.Null(external["clusterIP"]);
        Assert.Null(external["clusterIPs"]);
        Assert.Null(external["ports"]![0]!["nodePort"]);
        Assert.Equal(["ExternalName", "<none>", "foo.example.com"], Row(await kubectl.OkAsync($"get svc -n {ns}"), "tr")[1..4]);
        // Both were released with the transition: another Service takes them at once.
        await kubectl.OkAsync($"apply -n {ns} -f -", NodePortManifest("taker", """
            clusterIP: 127.96.0.110
            ports:
            - port: 80
              nodePort: 30030
            """));

        Assert.Contains("service/tr patched", await kubectl.OkAsync($"patch svc tr -n {ns} --type=merge -p '{{\"spec\":{{\"type\":\"ClusterIP\",\"externalName\":null}}}}'"));
        var clusterIP = (await GetServiceAsync(kubectl, ns, "tr"))["spec"]!;
        var ip = clusterIP["clusterIP"]!.GetValue<string>();
        AssertDynamicClusterIP(ip);
        Assert.Equal(ip, clusterIP["clusterIPs"]![0]!.GetValue<string>());
        Assert.Null(clusterIP["ports"]![0]!["nodePort"]);
        Assert.Equal(["ClusterIP", ip, "<none>", "80/TCP"], Row(await kubectl.OkAsync($"get svc -n {ns}"), "tr")[1..5]);

        Assert.Contains("service/tr patched", await kubectl.OkAsync($"patch svc tr -n {ns} --type=merge -p '{{\"spec\":{{\"type\":\"NodePort\"}}}}'"));
        var nodePort = (await GetServiceAsync(kubectl, ns, "tr"))["spec"]!;
        Assert.Equal(ip, nodePort["clusterIP"]!.GetValue<string>());
        var port = nodePort["ports"]![0]!["nodePort"]!.GetValue<int>();
        AssertNodePort(port);
        Assert.NotEqual(30030, port);
        Assert.Equal("Cluster", nodePort["externalTrafficPolicy"]!.GetValue<string>());
    }

    [Fact]
    public async Task PatchType_ClusterIPToLoadBalancerAndBack_IngressComesAndGoesAndAddressIsReusable()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"create service clusterip lb --tcp=80:8080 -n {ns}");
        var ip = (await GetServiceAsync(kubectl, ns, "lb"))["spec"]!["clusterIP"]!.GetValue<string>();

        await kubectl.OkAsync($"patch svc lb -n {ns} --type=merge -p '{{\"spec\":{{\"type\":\"LoadBalancer\"}}}}'");
        var balanced = await WaitForServiceAsync(kubectl, ns, "lb", s => IngressIp(s) is not null);
        var address = IngressIp(balanced)!;
        Assert.True(InCidr(address, LoadBalancerPool), address);
        Assert.Equal(ip, balanced["spec"]!["clusterIP"]!.GetValue<string>());
        AssertNodePort(balanced["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>());
        Assert.Equal(address, Row(await kubectl.OkAsync($"get svc -n {ns}"), "lb")[3]);

        await kubectl.OkAsync($"patch svc lb -n {ns} --type=merge -p '{{\"spec\":{{\"type\":\"ClusterIP\"}}}}'");
        var back = await WaitForServiceAsync(kubectl, ns, "lb", s => IngressIp(s) is null);
        Assert.Equal(ip, back["spec"]!["clusterIP"]!.GetValue<string>());
        Assert.Null(back["spec"]!["ports"]![0]!["nodePort"]);

        await kubectl.OkAsync($"apply -n {ns} -f -", $$"""
            apiVersion: v1
            kind: Service
            metadata:
              name: lb2
            spec:
              type: LoadBalancer
              loadBalancerIP: {{address}}
              ports:
              - port: 80
            """);
        var reused = await WaitForServiceAsync(kubectl, ns, "lb2", s => IngressIp(s) is not null);
        Assert.Equal(address, IngressIp(reused));
    }

    [Fact]
    public async Task ApplyTwiceThenReplace_NoAllocatedValuesInManifest_KeepsClusterIPAndNodePort()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        var dir = TestDirectories.Create("manifests");
        try
        {
            var file = Path.Combine(dir, "svc.yaml");
            await File.WriteAllTextAsync(file, NodePortManifest("app", """
                selector:
                  app: x
                ports:
                - port: 80
                """));
            Assert.Contains("service/app created", await kubectl.OkAsync($"apply -n {ns} -f {file}"));
            var created = (await GetServiceAsync(kubectl, ns, "app"))["spec"]!;
            var ip = created["clusterIP"]!.GetValue<string>();
            var nodePort = created["ports"]![0]!["nodePort"]!.GetValue<int>();

            Assert.Contains("service/app unchanged", await kubectl.OkAsync($"apply -n {ns} -f {file}"));
            var reapplied = (await GetServiceAsync(kubectl, ns, "app"))["spec"]!;
            Assert.Equal(ip, reapplied["clusterIP"]!.GetValue<string>());
            Assert.Equal(nodePort, reapplied["ports"]![0]!["nodePort"]!.GetValue<int>());

            // A full update without the allocated values keeps them too (upstream patchAllocatedValues).
            Assert.Contains("service/app replaced", await kubectl.OkAsync($"replace -n {ns} -f {file}"));
            var replaced = (await GetServiceAsync(kubectl, ns, "app"))["spec"]!;
            Assert.Equal(ip, replaced["clusterIP"]!.GetValue<string>());
            Assert.Equal(nodePort, replaced["ports"]![0]!["nodePort"]!.GetValue<int>());
        }
        finally
        {
            TestDirectories.Delete(dir);
        }
    }

    [Fact]
    public async Task SystemServices_KubernetesAndKubeDns_OnFirstAndTenthAddress()
    {
        using var kubectl = _server.Kubectl();
        var kubernetes = Row(await kubectl.OkAsync("get svc kubernetes -n default"), "kubernetes");
        Assert.Equal(["ClusterIP", "127.96.0.1", "<none>", "443/TCP"], kubernetes[1..5]);

        var apiPort = new Uri(_server.Url).Port.ToString(CultureInfo.InvariantCulture);
        Assert.Equal($"127.0.0.1:{apiPort}", Row(await kubectl.OkAsync("get endpoints kubernetes -n default"), "kubernetes")[1]);
        var slice = Row(await kubectl.OkAsync("get endpointslices -n default"), "kubernetes");
        Assert.Equal(["IPv4", apiPort, "127.0.0.1"], slice[1..4]);

        var all = await kubectl.OkAsync("get svc -A");
        Assert.Matches(@"(?m)^default\s+kubernetes\s+ClusterIP\s+127\.96\.0\.1\s+<none>\s+443/TCP\s", all);
        Assert.Matches(@"(?m)^kube-system\s+kube-dns\s+ClusterIP\s+127\.96\.0\.10\s+<none>\s+53/UDP,53/TCP\s", all);
    }

    [Fact]
    public async Task ConcurrentCreates_200NodePortServices_DistinctClusterIPsAndNodePorts()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        using var http = _server.CreateHttpClient();
        var results = new ConcurrentBag<(HttpStatusCode Status, string Body)>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var body = $$$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"c{{{i}}}"},"spec":{"type":"NodePort","ports":[{"port":80}]}}""";
            using var response = await http.PostAsync($"/api/v1/namespaces/{ns}/services", new StringContent(body, Encoding.UTF8, "application/json"), ct);
            results.Add((response.StatusCode, await response.Content.ReadAsStringAsync(ct)));
        });

        var failed = results.Where(r => r.Status != HttpStatusCode.Created).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} creates failed, e.g. {failed.FirstOrDefault()}");
        var created = results.Select(r => JsonNode.Parse(r.Body)!["spec"]!).ToList();
        var ips = created.Select(s => s["clusterIP"]!.GetValue<string>()).ToList();
        var ports = created.Select(s => s["ports"]![0]!["nodePort"]!.GetValue<int>()).ToList();
        Assert.Equal(200, ips.Distinct().Count());
        Assert.Equal(200, ports.Distinct().Count());
        Assert.All(ips, AssertDynamicClusterIP);
        Assert.All(ports, AssertNodePort);

        // What was answered is what was stored.
        var list = JsonNode.Parse(await http.GetStringAsync($"/api/v1/namespaces/{ns}/services"))!["items"]!.AsArray();
        Assert.Equal(
            created.Select(s => (s["clusterIP"]!.GetValue<string>(), s["ports"]![0]!["nodePort"]!.GetValue<int>())).Order(),
            list.Select(i => (i!["spec"]!["clusterIP"]!.GetValue<string>(), i["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>())).Order());
    }

    [Fact]
    public async Task LoadBalancer_OtherProxyOrClass_LeftPending_RequestedIPHonoured()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"apply -n {ns} -f -", """
            apiVersion: v1
            kind: Service
            metadata:
              name: other-proxy
              labels:
                service.kubernetes.io/service-proxy-name: other
            spec:
              type: LoadBalancer
              ports:
              - port: 80
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: other-class
            spec:
              type: LoadBalancer
              loadBalancerClass: example.com/other
              ports:
              - port: 80
            """);
        // Created after the two above: once it is served, the controller has seen them too.
        await kubectl.OkAsync($"apply -n {ns} -f -", """
            apiVersion: v1
            kind: Service
            metadata:
              name: pinned
            spec:
              type: LoadBalancer
              loadBalancerIP: 127.100.5.5
              ports:
              - port: 80
            """);
        var pinned = await WaitForServiceAsync(kubectl, ns, "pinned", s => IngressIp(s) is not null);
        Assert.Equal("127.100.5.5", IngressIp(pinned));
        await Task.Delay(TimeSpan.FromSeconds(2));

        var table = await kubectl.OkAsync($"get svc -n {ns}");
        Assert.Equal("127.100.5.5", Row(table, "pinned")[3]);
        foreach (var name in new[] { "other-proxy", "other-class" })
        {
            // Stored and allocated like any other Service; only the load balancer is someone else's.
            var row = Row(table, name);
            Assert.Equal("LoadBalancer", row[1]);
            AssertDynamicClusterIP(row[2]);
            Assert.Equal("<pending>", row[3]);
            AssertNodePortColumn(row[4], "TCP");
            Assert.Null(IngressIp(await GetServiceAsync(kubectl, ns, name)));
        }
    }

    /// <summary>
    /// Small ranges make forgetting visible: after a restart every remaining value is handed out, and none of them
    /// may be one that a Service already holds.
    /// </summary>
    [Fact]
    public async Task Restart_SameDataDir_AllocationsKeptAndNotHandedOutAgain()
    {
        // 14 cluster IPs (.1 and .10 for the system Services) and 10 nodePorts, all dynamic (no static band in
        // ranges this small), and 2 pool addresses.
        string[] flags = ["--service-cidr", "127.96.0.0/28", "--service-node-port-range", "30000-30009", "--load-balancer-pool", "127.100.0.0/30"];
        var dataDir = TestDirectories.Create("berth-services");
        try
        {
            Dictionary<string, (string ClusterIP, int? NodePort)> held = [];
            string heldAddress;
            await using (var server = await BerthServer.StartAsync(dataDir, 0, flags))
            {
                using var kubectl = server.Kubectl();
                // The pinned port first: with no static band a dynamic pick may land on 30003 (one in ten).
                await kubectl.OkAsync("create service nodeport pinned --tcp=80:80 --node-port=30003");
                await kubectl.OkAsync("create service clusterip cip --tcp=80:80");
                await kubectl.OkAsync("create service nodeport np --tcp=80:80");
                await kubectl.OkAsync("create service loadbalancer lb --tcp=80:80");
                heldAddress = IngressIp(await WaitForServiceAsync(kubectl, "default", "lb", s => IngressIp(s) is not null))!;
                foreach (var name in new[] { "kubernetes", "cip", "np", "pinned", "lb" })
                {
                    held[name] = Allocated(await GetServiceAsync(kubectl, "default", name));
                }
                Assert.Equal("127.96.0.1", held["kubernetes"].ClusterIP);
                Assert.Equal(30003, held["pinned"].NodePort);
                await server.KillAsync();
            }

            await using var restarted = await BerthServer.StartAsync(dataDir, 0, flags);
            using var k = restarted.Kubectl();
            foreach (var (name, values) in held)
            {
                Assert.Equal(values, Allocated(await GetServiceAsync(k, "default", name)));
            }
            Assert.Equal(heldAddress, IngressIp(await GetServiceAsync(k, "default", "lb")));
            Assert.Equal("127.96.0.10", (await GetServiceAsync(k, "kube-system", "kube-dns"))["spec"]!["clusterIP"]!.GetValue<string>());

            var port = await k.RunAsync("create service nodeport again --tcp=80:80 --node-port=30003");
            // kubectl create service words it "error: failed to create NodePort service: Service ... is invalid: ...".
            Assert.Contains("Service \"again\" is invalid: spec.ports[0].nodePort: Invalid value: 30003: provided port is already allocated", port.Stderr);
            var ip = await k.RunAsync($"create service clusterip again --tcp=80:80 --clusterip={held["cip"].ClusterIP}");
            Assert.Contains($"Service \"again\" is invalid: spec.clusterIPs: Invalid value: []string{{\"{held["cip"].ClusterIP}\"}}: failed to allocate IP {held["cip"].ClusterIP}: provided IP is already allocated", ip.Stderr);

            // The seven free nodePorts and the eight free cluster IPs, picked dynamically: all must be new.
            var fresh = new List<(string ClusterIP, int? NodePort)>();
            for (var i = 0; i < 8; i++)
            {
                await k.OkAsync($"create service {(i < 7 ? "nodeport" : "clusterip")} fresh{i} --tcp=80:80");
                fresh.Add(Allocated(await GetServiceAsync(k, "default", $"fresh{i}")));
            }
            var heldIPs = held.Values.Select(v => v.ClusterIP).Append("127.96.0.10");
            Assert.Equal(
                Enumerable.Range(1, 14).Select(i => $"127.96.0.{i}").Order(StringComparer.Ordinal),
                fresh.Select(f => f.ClusterIP).Concat(heldIPs).Order(StringComparer.Ordinal));
            Assert.Equal(
                Enumerable.Range(30000, 10),
                fresh.Concat(held.Values).Where(v => v.NodePort is not null).Select(v => v.NodePort!.Value).Order());

            // The pool's other address goes to the next load balancer; the one after finds the pool empty.
            await k.OkAsync("patch svc fresh5 --type=merge -p '{\"spec\":{\"type\":\"LoadBalancer\"}}'");
            var second = IngressIp(await WaitForServiceAsync(k, "default", "fresh5", s => IngressIp(s) is not null))!;
            Assert.NotEqual(heldAddress, second);
            Assert.True(InCidr(second, "127.100.0.0/30"), second);
            await k.OkAsync("patch svc fresh6 --type=merge -p '{\"spec\":{\"type\":\"LoadBalancer\"}}'");
            await WaitForAsync(async () => JsonNode.Parse(await k.OkAsync("get events -n default -o json"))!["items"]!.AsArray()
                .Any(e => e!["involvedObject"]?["name"]?.GetValue<string>() == "fresh6" && e["reason"]?.GetValue<string>() == "AllocationFailed"),
                () => "an AllocationFailed event for fresh6");
            Assert.Null(IngressIp(await GetServiceAsync(k, "default", "fresh6")));
            Assert.Equal(heldAddress, IngressIp(await GetServiceAsync(k, "default", "lb")));
        }
        finally
        {
            TestDirectories.Delete(dataDir);
        }
    }

    private async Task<(Kubectl Kubectl, string Namespace)> NamespaceAsync()
    {
        var kubectl = _server.Kubectl();
        var ns = "svc-" + Guid.NewGuid().ToString("N")[..10];
        await kubectl.OkAsync($"create namespace {ns}");
        return (kubectl, ns);
    }

    private static string NodePortManifest(string name, string spec) =>
        $"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  type: NodePort\n" +
        string.Concat(spec.Split('\n').Where(l => l.Length > 0).Select(l => "  " + l + "\n"));

    private static string ValueOf(string yaml, string key) =>
        yaml.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim();

    private static async Task<JsonNode> GetServiceAsync(Kubectl kubectl, string ns, string name) =>
        JsonNode.Parse(await kubectl.OkAsync($"get svc {name} -n {ns} -o json"))!;

    /// <summary>Polls the Service until the condition holds (the load-balancer controller works asynchronously).</summary>
    private static async Task<JsonNode> WaitForServiceAsync(Kubectl kubectl, string ns, string name, Func<JsonNode, bool> condition)
    {
        JsonNode? last = null;
        await WaitForAsync(async () => condition(last = await GetServiceAsync(kubectl, ns, name)), () => $"service {ns}/{name} to match; last seen:\n{last}");
        return last!;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what()}");
            await Task.Delay(100);
        }
    }

    private static string? IngressIp(JsonNode service) =>
        service["status"]?["loadBalancer"]?["ingress"] is JsonArray { Count: > 0 } ingress ? ingress[0]!["ip"]?.GetValue<string>() : null;

    private static (string ClusterIP, int? NodePort) Allocated(JsonNode service) =>
        (service["spec"]!["clusterIP"]!.GetValue<string>(), service["spec"]!["ports"]![0]!["nodePort"]?.GetValue<int>());

    /// <summary>The whitespace-separated columns of the table row for a name.</summary>
    private static string[] Row(string table, string name) =>
        table.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).FirstOrDefault(c => c.Length > 0 && c[0] == name)
        ?? throw new Xunit.Sdk.XunitException($"no row for {name} in:\n{table}");

    // Dynamic picks come from above the static band (the CIDR's first 256 addresses), per KEP-3070.
    private static void AssertDynamicClusterIP(string ip)
    {
        Assert.True(InCidr(ip, ServiceCidr), $"{ip} is not in {ServiceCidr}");
        Assert.True(ToUInt32(ip) > ToUInt32("127.96.1.0"), $"{ip} is in the static band");
    }

    private static void AssertNodePort(int port) => Assert.InRange(port, 30000, 32767);

    private static void AssertNodePortColumn(string column, string protocol)
    {
        var match = System.Text.RegularExpressions.Regex.Match(column, $@"^80:(\d+)/{protocol}$");
        Assert.True(match.Success, $"PORT(S) column \"{column}\" is not 80:<nodePort>/{protocol}");
        AssertNodePort(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static bool InCidr(string ip, string cidr)
    {
        var slash = cidr.IndexOf('/', StringComparison.Ordinal);
        var bits = int.Parse(cidr[(slash + 1)..], CultureInfo.InvariantCulture);
        var mask = bits == 0 ? 0u : uint.MaxValue << (32 - bits);
        return IPAddress.TryParse(ip, out _) && (ToUInt32(ip) & mask) == (ToUInt32(cidr[..slash]) & mask);
    }

    private static uint ToUInt32(string ip)
    {
        var bytes = IPAddress.Parse(ip).GetAddressBytes();
        return ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
    }
}
