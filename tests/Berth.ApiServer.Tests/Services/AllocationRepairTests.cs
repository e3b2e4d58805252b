using System.Text;
using System.Text.Json.Nodes;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Services;
using Berth.ApiServer.Tests.Allocation;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.ApiServer.Tests.Services;

/// <summary>
/// The start-up repair over a store written by hand, as a crash between allocating and writing the Service (or a
/// lost key) would leave it: what a stored Service uses is recorded again, what nobody uses is released, and a value
/// a Service uses is never left free for someone else (upstream ipallocator/portallocator repair controllers).
/// </summary>
public sealed class AllocationRepairTests : IAsyncLifetime
{
    private static readonly CancellationToken s_ct = CancellationToken.None;

    private TempStore _store = null!;
    private ObjectStore _objects = null!;

    public async Task InitializeAsync()
    {
        _store = await TempStore.OpenAsync();
        _objects = new ObjectStore(_store.Store);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>A fresh network and a repair run, as at API server start-up.</summary>
    private async Task<ServiceNetwork> RepairAsync()
    {
        var network = new ServiceNetwork(_store.Store, "10.0.0.0/16", "30000-32767", "127.100.0.0/16");
        var repair = new AllocationRepair(_objects, network, new ServiceAllocator(network), ResourceCatalog.Default, NullLogger<AllocationRepair>.Instance);
        await repair.RunAsync(s_ct);
        await network.Ready;
        return network;
    }

    private Task WriteServiceAsync(string name, string spec, string status = "{}") =>
        _objects.CreateAsync(ResourceCatalog.Default.Get("", "services"), JsonNode.Parse($$"""
            {"apiVersion":"v1","kind":"Service",
             "metadata":{"name":"{{name}}","namespace":"default","uid":"uid-{{name}}"},
             "spec":{{spec}},"status":{{status}}}
            """)!.AsObject(), s_ct);

    private Task WriteKeyAsync(string poolAndValue, string name) =>
        _store.Store.CreateAsync("/berth/allocations/" + poolAndValue,
            Encoding.UTF8.GetBytes($$"""{"namespace":"default","name":"{{name}}","uid":"uid-{{name}}"}"""), s_ct);

    private async Task<List<string>> HeldAsync()
    {
        var list = await _store.Store.ListAsync("/berth/allocations/", s_ct);
        return [.. list.Items.Select(i => i.Key["/berth/allocations/".Length..] + "=" + JsonNode.Parse(i.Value.Span)!["uid"]!.GetValue<string>())
            .Order(StringComparer.Ordinal)];
    }

    private const string NodePortSpec = """
        {"type":"NodePort","clusterIP":"10.0.0.5","clusterIPs":["10.0.0.5"],"ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack",
         "ports":[{"port":53,"protocol":"TCP","nodePort":30053},{"port":53,"protocol":"UDP","nodePort":30053}]}
        """;

    [Fact]
    public async Task RunAsync_ServiceWhoseKeysWereLost_RecordsThemAgain()
    {
        await WriteServiceAsync("dns", NodePortSpec);

        var network = await RepairAsync();

        Assert.Equal(["nodeports/TCP/30053=uid-dns", "nodeports/UDP/30053=uid-dns", "serviceips/10.0.0.5=uid-dns"], await HeldAsync());
        var e = await Assert.ThrowsAsync<AllocationException>(() =>
            network.ClusterIPs.AllocateAsync("10.0.0.5", new AllocationOwner("default", "other", "uid-other"), dryRun: false, s_ct));
        Assert.Equal("provided IP is already allocated", e.Message);
    }

    [Fact]
    public async Task RunAsync_KeysOfNoStoredService_AreReleased()
    {
        await WriteServiceAsync("dns", NodePortSpec);
        await WriteKeyAsync("serviceips/10.0.0.5", "dns");
        await WriteKeyAsync("serviceips/10.0.0.9", "gone");
        await WriteKeyAsync("nodeports/TCP/30099", "gone");
        await WriteKeyAsync("loadbalancerips/127.100.0.9", "gone");

        var network = await RepairAsync();

        Assert.Equal(["nodeports/TCP/30053=uid-dns", "nodeports/UDP/30053=uid-dns", "serviceips/10.0.0.5=uid-dns"], await HeldAsync());
        Assert.Null(network.ClusterIPs.OwnerOf("10.0.0.9"));
        // Released values are free at once.
        await network.NodePortPool("TCP")!.AllocateAsync("30099", new AllocationOwner("default", "new", "uid-new"), dryRun: false, s_ct);
    }

    [Fact]
    public async Task RunAsync_KeyOfAServiceThatNoLongerUsesTheValue_IsReleased()
    {
        // The Service moved from 30080 to 30053 and the old key was left behind.
        await WriteServiceAsync("dns", NodePortSpec);
        await WriteKeyAsync("nodeports/TCP/30080", "dns");

        await RepairAsync();

        Assert.DoesNotContain("nodeports/TCP/30080=uid-dns", await HeldAsync());
    }

    [Fact]
    public async Task RunAsync_ValueALiveServiceUsesRecordedForAGoneOne_StaysAllocated()
    {
        // The key names a deleted Service, but a stored Service uses the value: it must not become free, or the
        // next create could be handed an address or port that is in use.
        await WriteServiceAsync("dns", NodePortSpec);
        await WriteKeyAsync("serviceips/10.0.0.5", "gone");
        await WriteKeyAsync("nodeports/TCP/30053", "gone");

        var network = await RepairAsync();

        Assert.NotNull(network.ClusterIPs.OwnerOf("10.0.0.5"));
        Assert.NotNull(network.NodePortPool("TCP")!.OwnerOf("30053"));
        var held = await HeldAsync();
        Assert.Contains(held, k => k.StartsWith("serviceips/10.0.0.5=", StringComparison.Ordinal));
        Assert.Contains(held, k => k.StartsWith("nodeports/TCP/30053=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_OurLoadBalancerAddress_IsRecordedAndAnotherClassIsNot()
    {
        await WriteServiceAsync("lb", """
            {"type":"LoadBalancer","clusterIP":"10.0.0.6","clusterIPs":["10.0.0.6"],"allocateLoadBalancerNodePorts":false,
             "ports":[{"port":80,"protocol":"TCP"}]}
            """, """{"loadBalancer":{"ingress":[{"ip":"127.100.0.7","ipMode":"VIP"}]}}""");
        await WriteServiceAsync("other", """
            {"type":"LoadBalancer","clusterIP":"10.0.0.7","clusterIPs":["10.0.0.7"],"allocateLoadBalancerNodePorts":false,
             "loadBalancerClass":"example.com/other","ports":[{"port":80,"protocol":"TCP"}]}
            """, """{"loadBalancer":{"ingress":[{"ip":"127.100.0.8"}]}}""");

        await RepairAsync();

        Assert.Equal(["loadbalancerips/127.100.0.7=uid-lb", "serviceips/10.0.0.6=uid-lb", "serviceips/10.0.0.7=uid-other"], await HeldAsync());
    }

    [Fact]
    public async Task RunAsync_Twice_ChangesNothingTheSecondTime()
    {
        await WriteServiceAsync("dns", NodePortSpec);
        await WriteKeyAsync("serviceips/10.0.0.9", "gone");
        await RepairAsync();
        var held = await HeldAsync();
        var revision = await _store.Store.GetRevisionAsync(s_ct);

        await RepairAsync();

        Assert.Equal(held, await HeldAsync());
        Assert.Equal(revision, await _store.Store.GetRevisionAsync(s_ct));
    }
}
