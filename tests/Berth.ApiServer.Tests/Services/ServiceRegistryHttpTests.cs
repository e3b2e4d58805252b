using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Services;
using Berth.ApiServer.Tests.Http;

namespace Berth.ApiServer.Tests.Services;

/// <summary>
/// Service writes through the real API server (Kestrel, TLS, SQLite, the registry hooks, ServiceLB and the system
/// Services): status codes and causes as kubectl sees them, and what the pools hold after each request.
/// Default ranges: service CIDR 127.96.0.0/16, node ports 30000-32767, load balancers 127.100.0.0/16.
/// </summary>
public sealed class ServiceRegistryHttpTests : IAsyncLifetime
{
    private const string Services = "/api/v1/namespaces/default/services";

    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private ServiceNetwork Network => _server.Service<ServiceNetwork>();

    private static string NodePortService(string name, int nodePort, string extraSpec = "") => $$$"""
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"{{{name}}}"},
         "spec":{"type":"NodePort","selector":{"app":"{{{name}}}"},"ports":[{"port":80,"nodePort":{{{nodePort}}}}]{{{extraSpec}}}}}
        """;

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpMethod method, string path, string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }
        using var response = await _server.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private async Task<JsonNode> CreateAsync(string body)
    {
        var (status, created) = await SendAsync(HttpMethod.Post, Services, body);
        Assert.True(status == HttpStatusCode.Created, $"{(int)status}: {created.ToJsonString()}");
        return created;
    }

    private static void AssertInvalid(HttpStatusCode status, JsonNode body, string name, string field, string message)
    {
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("Invalid", body["reason"]!.GetValue<string>());
        Assert.Equal($"Service \"{name}\" is invalid: {field}: {message}", body["message"]!.GetValue<string>());
        var cause = Assert.Single(body["details"]!["causes"]!.AsArray())!;
        Assert.Equal(("FieldValueInvalid", message, field),
            (cause["reason"]!.GetValue<string>(), cause["message"]!.GetValue<string>(), cause["field"]!.GetValue<string>()));
    }

    private static int NodePortOf(JsonNode svc, int index = 0) => svc["spec"]!["ports"]![index]!["nodePort"]!.GetValue<int>();

    private static string ClusterIPOf(JsonNode svc) => svc["spec"]!["clusterIP"]!.GetValue<string>();

    private string? TcpHolder(int nodePort) => Network.NodePortPool("TCP")!.OwnerOf(nodePort.ToString(CultureInfo.InvariantCulture))?.Name;

    [Fact]
    public async Task Create_NodePortOutOfRange_422WithUpstreamCause()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, Services, NodePortService("np", 80));

        AssertInvalid(status, body, "np", "spec.ports[0].nodePort",
            "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767");
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, Services + "/np")).Status);
    }

    [Fact]
    public async Task Create_ClusterIPOutOfRange_422NamingTheServiceCidr()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, Services, """
            {"metadata":{"name":"cip"},"spec":{"clusterIP":"1.1.1.1","ports":[{"port":80}]}}
            """);

        AssertInvalid(status, body, "cip", "spec.clusterIPs",
            "Invalid value: []string{\"1.1.1.1\"}: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 127.96.0.0/16");
    }

    [Fact]
    public async Task Create_NodePortTaken_422AndTheRefusedCreateLeavesNothingBehind()
    {
        await CreateAsync(NodePortService("holder", 30080));

        // Port 0 (30081) is free and gets allocated before port 1 (30080) is refused: the refusal gives 30081 back.
        var (status, body) = await SendAsync(HttpMethod.Post, Services, """
            {"metadata":{"name":"two"},"spec":{"type":"NodePort","ports":[{"name":"a","port":80,"nodePort":30081},{"name":"b","port":81,"nodePort":30080}]}}
            """);

        AssertInvalid(status, body, "two", "spec.ports[1].nodePort", "Invalid value: 30080: provided port is already allocated");
        Assert.Null(TcpHolder(30081));
        Assert.Equal("holder", TcpHolder(30080));
        Assert.Equal(30081, NodePortOf(await CreateAsync(NodePortService("next", 30081))));
    }

    [Fact]
    public async Task Create_RefusedByValidation_ReleasesWhatWasAllocated()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, Services, """
            {"metadata":{"name":"badsel"},"spec":{"type":"NodePort","selector":{"bad key!":"v"},"ports":[{"port":80,"nodePort":30082}]}}
            """);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains(body["details"]!["causes"]!.AsArray(), c => c!["field"]!.GetValue<string>() == "spec.selector");
        Assert.Null(TcpHolder(30082));
        Assert.Equal(30082, NodePortOf(await CreateAsync(NodePortService("ok", 30082))));
    }

    [Fact]
    public async Task Create_ConcurrentRequestsForTheSameNodePort_ExactlyOneWins()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => SendAsync(HttpMethod.Post, Services, NodePortService($"race{i}", 30091))));

        var winner = Assert.Single(results, r => r.Status == HttpStatusCode.Created);
        Assert.All(results.Where(r => r.Status != HttpStatusCode.Created), r =>
            AssertInvalid(r.Status, r.Body, r.Body["details"]!["name"]!.GetValue<string>(), "spec.ports[0].nodePort", "Invalid value: 30091: provided port is already allocated"));
        Assert.Equal(winner.Body["metadata"]!["name"]!.GetValue<string>(), TcpHolder(30091));
        // The losers' cluster IPs went back: only the winner and the two system Services hold one.
        Assert.Equal(3, Network.ClusterIPs.Snapshot().Count);
    }

    [Fact]
    public async Task Delete_ReleasesClusterIPAndNodePortAtOnce()
    {
        var first = await CreateAsync(NodePortService("first", 30083));
        var ip = ClusterIPOf(first);

        var (status, _) = await SendAsync(HttpMethod.Delete, Services + "/first");
        Assert.Equal(HttpStatusCode.OK, status);

        Assert.Null(TcpHolder(30083));
        Assert.Null(Network.ClusterIPs.OwnerOf(ip));
        var second = await CreateAsync(NodePortService("second", 30083, $",\"clusterIP\":\"{ip}\""));
        Assert.Equal((ip, 30083), (ClusterIPOf(second), NodePortOf(second)));
    }

    [Fact]
    public async Task Update_StaleResourceVersion_409AndAllocatesNothing()
    {
        var created = await CreateAsync("""{"metadata":{"name":"stale"},"spec":{"ports":[{"port":80}]}}""");
        var staleRv = created["metadata"]!["resourceVersion"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Patch, Services + "/stale",
            """{"metadata":{"labels":{"touched":"yes"}}}""", "application/merge-patch+json")).Status);

        var (status, body) = await SendAsync(HttpMethod.Put, Services + "/stale", $$$"""
            {"metadata":{"name":"stale","resourceVersion":"{{{staleRv}}}"},
             "spec":{"type":"NodePort","clusterIP":"{{{ClusterIPOf(created)}}}","ports":[{"port":80,"nodePort":30084}]}}
            """);

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("Conflict", body["reason"]!.GetValue<string>());
        Assert.Null(TcpHolder(30084));
        Assert.Equal(30084, NodePortOf(await CreateAsync(NodePortService("other", 30084))));
    }

    [Fact]
    public async Task Create_DryRun_ReturnsAnAllocatedClusterIPButHoldsNothing()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, Services + "?dryRun=All", NodePortService("dry", 30085));

        Assert.Equal(HttpStatusCode.Created, status);
        var ip = ClusterIPOf(body);
        Assert.True(IPRange.Parse("127.96.0.0/16").Contains(IPAddress.Parse(ip)), ip);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, Services + "/dry")).Status);
        Assert.Null(Network.ClusterIPs.OwnerOf(ip));
        Assert.Null(TcpHolder(30085));
        var real = await CreateAsync(NodePortService("real", 30085, $",\"clusterIP\":\"{ip}\""));
        Assert.Equal(ip, ClusterIPOf(real));
    }

    [Fact]
    public async Task Patch_NodePortToClusterIP_ClearsAndReleasesTheNodePort()
    {
        var created = await CreateAsync(NodePortService("shrink", 30086));

        var (status, patched) = await SendAsync(HttpMethod.Patch, Services + "/shrink",
            """{"spec":{"type":"ClusterIP"}}""", "application/merge-patch+json");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(patched["spec"]!["ports"]![0]!["nodePort"]);
        Assert.Null(patched["spec"]!["externalTrafficPolicy"]);
        Assert.Equal(ClusterIPOf(created), ClusterIPOf(patched));
        Assert.Null(TcpHolder(30086));
        Assert.Equal("shrink", Network.ClusterIPs.OwnerOf(ClusterIPOf(created))?.Name);
    }

    [Fact]
    public async Task Put_ManifestWithoutAllocatedValues_KeepsClusterIPAndNodePort()
    {
        // kubectl replace of the manifest the Service was created from: upstream patchAllocatedValues keeps what was allocated.
        var created = await CreateAsync("""{"metadata":{"name":"again"},"spec":{"type":"NodePort","ports":[{"name":"http","port":80}]}}""");

        var (status, replaced) = await SendAsync(HttpMethod.Put, Services + "/again",
            """{"metadata":{"name":"again"},"spec":{"type":"NodePort","ports":[{"name":"http","port":80}],"selector":{"app":"new"}}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((ClusterIPOf(created), NodePortOf(created)), (ClusterIPOf(replaced), NodePortOf(replaced)));
        Assert.Equal("again", TcpHolder(NodePortOf(created)));
    }

    [Fact]
    public async Task Patch_DryRunToExternalName_ReleasesNothing()
    {
        var created = await CreateAsync(NodePortService("keep", 30087));

        var (status, patched) = await SendAsync(HttpMethod.Patch, Services + "/keep?dryRun=All",
            """{"spec":{"type":"ExternalName","externalName":"example.com"}}""", "application/merge-patch+json");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(patched["spec"]!["clusterIP"]);
        Assert.Equal("keep", TcpHolder(30087));
        Assert.Equal("keep", Network.ClusterIPs.OwnerOf(ClusterIPOf(created))?.Name);
    }

    [Fact]
    public async Task Delete_DryRun_ReleasesNothing()
    {
        var created = await CreateAsync(NodePortService("stay", 30088));

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, Services + "/stay?dryRun=All")).Status);

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, Services + "/stay")).Status);
        Assert.Equal("stay", TcpHolder(30088));
        Assert.Equal("stay", Network.ClusterIPs.OwnerOf(ClusterIPOf(created))?.Name);
    }

    [Fact]
    public async Task Delete_WithFinalizer_HoldsEverythingUntilTheFinalizerIsRemoved()
    {
        // Upstream TestDeleteWithFinalizer.
        var created = await CreateAsync("""
            {"metadata":{"name":"held","finalizers":["example.com/test"]},
             "spec":{"type":"LoadBalancer","externalTrafficPolicy":"Local","ports":[{"port":80,"nodePort":30089}],"healthCheckNodePort":30090}}
            """);

        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(HttpMethod.Delete, Services + "/held")).Status);
        Assert.Equal(("held", "held"), (TcpHolder(30089), TcpHolder(30090)));
        Assert.Equal("held", Network.ClusterIPs.OwnerOf(ClusterIPOf(created))?.Name);

        var (status, _) = await SendAsync(HttpMethod.Patch, Services + "/held", """{"metadata":{"finalizers":null}}""", "application/merge-patch+json");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, Services + "/held")).Status);
        Assert.Equal(((string?)null, (string?)null), (TcpHolder(30089), TcpHolder(30090)));
        Assert.Null(Network.ClusterIPs.OwnerOf(ClusterIPOf(created)));
    }

    [Fact]
    public async Task SystemServices_KubernetesAndKubeDnsExist_EndpointsPointAtThisServer()
    {
        var (status, kubernetes) = await SendAsync(HttpMethod.Get, Services + "/kubernetes");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("127.96.0.1", ClusterIPOf(kubernetes));
        var port = kubernetes["spec"]!["ports"]![0]!;
        Assert.Equal(("https", 443), (port["name"]!.GetValue<string>(), port["port"]!.GetValue<int>()));
        Assert.Equal("kubernetes", Network.ClusterIPs.OwnerOf("127.96.0.1")?.Name);

        var (_, endpoints) = await SendAsync(HttpMethod.Get, "/api/v1/namespaces/default/endpoints/kubernetes");
        var subset = endpoints["subsets"]![0]!;
        Assert.Equal("127.0.0.1", subset["addresses"]![0]!["ip"]!.GetValue<string>());
        Assert.Equal(_server.Client.BaseAddress!.Port, subset["ports"]![0]!["port"]!.GetValue<int>());

        var (_, dns) = await SendAsync(HttpMethod.Get, "/api/v1/namespaces/kube-system/services/kube-dns");
        Assert.Equal("127.96.0.10", ClusterIPOf(dns));
        Assert.Equal("berth-node-dns", dns["metadata"]!["labels"]![SystemServices.ServiceProxyNameLabel]!.GetValue<string>());
    }

    [Fact]
    public async Task SystemServices_KubeDnsLosesItsProxyNameLabel_ReconcilePutsItBackAndKeepsTheUsersChanges()
    {
        const string kubeDns = "/api/v1/namespaces/kube-system/services/kube-dns";
        var (status, _) = await SendAsync(HttpMethod.Patch, kubeDns,
            """{"metadata":{"labels":{"service.kubernetes.io/service-proxy-name":null,"team":"dns"}}}""", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, status);

        await _server.Service<SystemServices>().EnsureAsync(IPAddress.Loopback, _server.Client.BaseAddress!.Port, CancellationToken.None);

        var (_, dns) = await SendAsync(HttpMethod.Get, kubeDns);
        var labels = dns["metadata"]!["labels"]!;
        Assert.Equal("berth-node-dns", labels[SystemServices.ServiceProxyNameLabel]!.GetValue<string>());
        Assert.Equal("dns", labels["team"]!.GetValue<string>());
        Assert.Equal("127.96.0.10", ClusterIPOf(dns));
    }

    [Fact]
    public async Task LoadBalancer_DefaultClassGetsAnAddressFromThePool_OtherClassIsLeftAlone()
    {
        await CreateAsync("""
            {"metadata":{"name":"elsewhere"},"spec":{"type":"LoadBalancer","loadBalancerClass":"example.com/other","ports":[{"port":80}]}}
            """);
        await CreateAsync("""{"metadata":{"name":"ours"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}""");

        var ip = await PollIngressIPAsync("ours", TimeSpan.FromSeconds(10));

        Assert.NotNull(ip);
        Assert.True(IPRange.Parse("127.100.0.0/16").Contains(IPAddress.Parse(ip)), ip);
        Assert.Equal("ours", Network.LoadBalancerAddresses.OwnerOf(ip)?.Name);
        // The controller works its queue in order: "elsewhere" was seen before "ours" got its address.
        var (_, elsewhere) = await SendAsync(HttpMethod.Get, Services + "/elsewhere");
        Assert.Null(elsewhere["status"]?["loadBalancer"]?["ingress"]);
        Assert.DoesNotContain(Network.LoadBalancerAddresses.Snapshot(), a => a.Owner.Name == "elsewhere");
    }

    private async Task<string?> PollIngressIPAsync(string name, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var (_, svc) = await SendAsync(HttpMethod.Get, Services + "/" + name);
            if (svc["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"]?.GetValue<string>() is { } ip)
            {
                return ip;
            }
            await Task.Delay(50);
        }
        return null;
    }
}
