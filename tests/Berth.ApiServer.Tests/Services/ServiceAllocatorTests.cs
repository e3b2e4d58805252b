using System.Globalization;
using System.Net;
using Berth.Api.Defaulting;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Http;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Services;
using Berth.ApiServer.Tests.Allocation;
using Microsoft.Extensions.Logging.Abstractions;
using static Berth.ApiServer.Tests.Services.ServiceMaker;

namespace Berth.ApiServer.Tests.Services;

/// <summary>
/// <see cref="ServiceAllocator"/> over persisted pools on a real SQLite store, driven the way a Service write is:
/// defaulting, then the registry hooks (update rules, allocation, validation), then commit or revert as the store
/// write succeeds or fails. Cases are ported from upstream pkg/registry/core/service/storage/storage_test.go.
/// The invariant behind most assertions: after a commit the store holds exactly what the Service holds.
/// </summary>
public sealed class ServiceAllocatorTests : IAsyncLifetime
{
    private static readonly CancellationToken s_ct = CancellationToken.None;

    private TempStore _store = null!;
    private ServiceNetwork _network = null!;
    private ServiceAllocator _allocator = null!;
    private ServiceRegistry _registry = null!;

    public async Task InitializeAsync()
    {
        _store = await TempStore.OpenAsync();
        await ConfigureAsync("10.0.0.0/16", "30000-32767");
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private async Task ConfigureAsync(string serviceCidr, string nodePortRange)
    {
        var objects = new ObjectStore(_store.Store);
        _network = new ServiceNetwork(_store.Store, serviceCidr, nodePortRange, "127.100.0.0/16");
        _allocator = new ServiceAllocator(_network);
        _registry = new ServiceRegistry(_allocator, objects, ResourceCatalog.Default);
        // Allocating waits for the start-up repair, as in the API server.
        await new AllocationRepair(objects, _network, _allocator, ResourceCatalog.Default, NullLogger<AllocationRepair>.Instance).RunAsync(s_ct);
    }

    private async Task<(Service Service, AllocationTransaction Txn)> BeginCreateAsync(Service svc, bool dryRun = false)
    {
        Defaults.Apply(svc);
        var obj = KubeJson.ToNode(svc).AsObject();
        var txn = await _registry.BeforeCreateAsync(obj, dryRun, s_ct);
        return (KubeJson.Deserialize<Service>(obj), txn);
    }

    private async Task<Service> CreateAsync(Service svc)
    {
        var (created, txn) = await BeginCreateAsync(svc);
        await txn.CommitAsync(s_ct);
        return created;
    }

    private async Task<(Service Service, AllocationTransaction Txn)> BeginUpdateAsync(Service updated, Service stored, bool dryRun = false)
    {
        // The generic update path carries the stored uid over; the uid is who owns the allocations.
        updated.Metadata!.Uid = stored.Metadata!.Uid;
        Defaults.Apply(updated);
        var obj = KubeJson.ToNode(updated).AsObject();
        var txn = await _registry.BeforeUpdateAsync(obj, KubeJson.ToNode(stored).AsObject(), subresource: null, dryRun, s_ct);
        return (KubeJson.Deserialize<Service>(obj), txn);
    }

    private async Task<Service> UpdateAsync(Service updated, Service stored)
    {
        var (result, txn) = await BeginUpdateAsync(updated, stored);
        await txn.CommitAsync(s_ct);
        return result;
    }

    /// <summary>Every allocation key in the store, as "POOL/VALUE=uid".</summary>
    private async Task<List<string>> HeldAsync()
    {
        var list = await _store.Store.ListAsync("/berth/allocations/");
        return [.. list.Items.Select(i => i.Key["/berth/allocations/".Length..] + "=" +
            System.Text.Json.Nodes.JsonNode.Parse(i.Value.Span)!["uid"]!.GetValue<string>()).Order(StringComparer.Ordinal)];
    }

    /// <summary>What a stored Service should hold, in the same form as <see cref="HeldAsync"/>.</summary>
    private static List<string> Expected(params Service[] services)
    {
        var held = new List<string>();
        foreach (var svc in services)
        {
            var uid = svc.Metadata!.Uid;
            var spec = svc.Spec!;
            if (spec.Type != "ExternalName" && spec.ClusterIP != "None")
            {
                held.AddRange((spec.ClusterIPs ?? []).Select(ip => $"serviceips/{ip}={uid}"));
            }
            held.AddRange((spec.Ports ?? []).Where(p => p.NodePort is > 0).Select(p => $"nodeports/{p.Protocol}/{p.NodePort}={uid}"));
            if (spec.HealthCheckNodePort is > 0 and var hc)
            {
                held.Add($"nodeports/TCP/{hc}={uid}");
            }
        }
        return [.. held.Distinct().Order(StringComparer.Ordinal)];
    }

    private static void AssertInvalid(ApiException e, string field, string message)
    {
        Assert.Equal(422, e.Code);
        var cause = Assert.Single(e.Causes!);
        Assert.Equal((field, message), (cause.Field, cause.Message));
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    // ---- TestCreateInitNodePorts ----

    private static readonly Dictionary<string, (Service Svc, bool ExpectError, bool ExpectNodePorts)> s_initNodePorts = new()
    {
        // Upstream's two "ExternalName" cases build svctest's default Service, which is a ClusterIP one; kept as written.
        ["type:ExternalName"] = (MakeService("foo"), false, false),
        ["type:ExternalName_with_NodePorts"] = (MakeService("foo", SetUniqueNodePorts), true, false),
        ["type:ClusterIP"] = (MakeService("foo"), false, false),
        ["type:ClusterIP_with_NodePorts"] = (MakeService("foo", SetUniqueNodePorts), true, false),
        ["type:NodePort_single_port_unspecified"] = (MakeService("foo", SetTypeNodePort), false, true),
        ["type:NodePort_single_port_specified"] = (MakeService("foo", SetTypeNodePort, SetUniqueNodePorts), false, true),
        ["type:NodePort_multiport_unspecified"] = (MakeService("foo", SetTypeNodePort, SetPorts(TcpP80, TcpQ443)), false, true),
        ["type:NodePort_multiport_specified"] = (MakeService("foo", SetTypeNodePort, SetPorts(TcpP80, TcpQ443), SetUniqueNodePorts), false, true),
        ["type:NodePort_multiport_same"] = (MakeService("foo", SetTypeNodePort, SetPorts(TcpP80, TcpQ443), SetNodePorts(30080, 30080)), true, false),
        ["type:NodePort_multiport_multiproto_unspecified"] = (MakeService("foo", SetTypeNodePort, SetPorts(TcpP53, UdpQ53)), false, true),
        ["type:NodePort_multiport_multiproto_specified"] = (MakeService("foo", SetTypeNodePort, SetPorts(TcpP53, UdpQ53), SetUniqueNodePorts), false, true),
        ["type:NodePort_multiport_multiproto_same"] = (MakeService("foo", SetTypeNodePort, SetPorts(TcpP53, UdpQ53), SetNodePorts(30053, 30053)), false, true),
        // Upstream refuses this (one range for all protocols). Berth keeps a pool per protocol, so 30093/TCP and
        // 30093/UDP are two different node ports, and validation only forbids a duplicate (protocol, nodePort).
        ["type:NodePort_multiport_multiproto_conflict"] = (MakeService("foo", SetTypeNodePort, SetPorts(TcpP93, UdpQ76), SetNodePorts(30093, 30093)), false, true),
        ["type:LoadBalancer_single_port_unspecified:on_alloc:false"] = (MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false)), false, false),
        ["type:LoadBalancer_single_port_unspecified:on_alloc:true"] = (MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(true)), false, true),
        ["type:LoadBalancer_single_port_specified:on_alloc:false"] = (MakeService("foo", SetTypeLoadBalancer, SetUniqueNodePorts, SetAllocateLoadBalancerNodePorts(false)), false, true),
        ["type:LoadBalancer_single_port_specified:on_alloc:true"] = (MakeService("foo", SetTypeLoadBalancer, SetUniqueNodePorts, SetAllocateLoadBalancerNodePorts(true)), false, true),
        ["type:LoadBalancer_multiport_unspecified:on_alloc:false"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP80, TcpQ443), SetAllocateLoadBalancerNodePorts(false)), false, false),
        ["type:LoadBalancer_multiport_unspecified:on_alloc:true"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP80, TcpQ443), SetAllocateLoadBalancerNodePorts(true)), false, true),
        ["type:LoadBalancer_multiport_specified:on_alloc:false"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP80, TcpQ443), SetUniqueNodePorts, SetAllocateLoadBalancerNodePorts(false)), false, true),
        ["type:LoadBalancer_multiport_specified:on_alloc:true"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP80, TcpQ443), SetUniqueNodePorts, SetAllocateLoadBalancerNodePorts(true)), false, true),
        ["type:LoadBalancer_multiport_same"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP80, TcpQ443), SetNodePorts(30080, 30080)), true, false),
        ["type:LoadBalancer_multiport_multiproto_unspecified"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP53, UdpQ53)), false, true),
        ["type:LoadBalancer_multiport_multiproto_specified"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP53, UdpQ53), SetUniqueNodePorts), false, true),
        ["type:LoadBalancer_multiport_multiproto_same"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP53, UdpQ53), SetNodePorts(30053, 30053)), false, true),
        // As the NodePort case above: per-protocol pools.
        ["type:LoadBalancer_multiport_multiproto_conflict"] = (MakeService("foo", SetTypeLoadBalancer, SetPorts(TcpP93, UdpQ76), SetNodePorts(30093, 30093)), false, true),
    };

    private static ServicePort TcpP80 => MakeServicePort("p", 80, 80, "TCP");
    private static ServicePort TcpQ443 => MakeServicePort("q", 443, 443, "TCP");
    private static ServicePort TcpP53 => MakeServicePort("p", 53, 53, "TCP");
    private static ServicePort UdpQ53 => MakeServicePort("q", 53, 53, "UDP");
    private static ServicePort TcpP93 => MakeServicePort("p", 93, 93, "TCP");
    private static ServicePort UdpQ76 => MakeServicePort("q", 76, 76, "UDP");

    public static TheoryData<string> InitNodePortsCases => [.. s_initNodePorts.Keys];

    [Theory]
    [MemberData(nameof(InitNodePortsCases))]
    public async Task Create_InitNodePorts_UpstreamTable(string name)
    {
        var (template, expectError, expectNodePorts) = s_initNodePorts[name];
        var svc = KubeJson.Deserialize<Service>(KubeJson.ToNode(template));

        if (expectError)
        {
            await Assert.ThrowsAsync<ApiException>(() => CreateAsync(svc));
            // A refused create leaves nothing allocated.
            Assert.Empty(await HeldAsync());
            return;
        }
        var created = await CreateAsync(svc);

        var ports = created.Spec!.Ports!;
        Assert.Equal(expectNodePorts ? ports.Count : 0, ports.Count(p => p.NodePort is > 0));
        for (var i = 0; i < ports.Count; i++)
        {
            if (template.Spec!.Ports![i].NodePort is { } requested)
            {
                Assert.Equal(requested, ports[i].NodePort);
            }
        }
        // Allocated node ports are unique, except for the same port number under different protocols.
        var seen = new Dictionary<int, int>();
        foreach (var port in ports.Where(p => p.NodePort is > 0 && template.Spec!.Ports!.Single(t => t.Name == p.Name).NodePort is null))
        {
            Assert.True(!seen.TryGetValue(port.NodePort!.Value, out var other) || other == port.Port, $"non-unique allocation: {port.NodePort}");
            seen[port.NodePort.Value] = port.Port!.Value;
        }
        Assert.Equal(Expected(created), await HeldAsync());
    }

    [Fact]
    public async Task Create_SamePortTcpAndUdp_ShareOneNodePortNumberHeldInBothPools()
    {
        var created = await CreateAsync(MakeService("dns", SetTypeNodePort, SetPorts(TcpP53, UdpQ53)));

        var ports = created.Spec!.Ports!;
        Assert.NotNull(ports[0].NodePort);
        Assert.Equal(ports[0].NodePort, ports[1].NodePort);
        var value = Port(ports[0].NodePort!.Value);
        Assert.Equal("uid-dns", _network.NodePortPool("TCP")!.OwnerOf(value)!.Uid);
        Assert.Equal("uid-dns", _network.NodePortPool("UDP")!.OwnerOf(value)!.Uid);
    }

    [Fact]
    public async Task Create_SameNodePortOtherProtocol_BelongsToAnotherServiceButSameProtocolIsRefused()
    {
        await CreateAsync(MakeService("tcp", SetTypeNodePort, SetPorts(MakeServicePort("", 80, 80, "TCP")), SetNodePorts(30080)));
        await CreateAsync(MakeService("udp", SetTypeNodePort, SetPorts(MakeServicePort("", 80, 80, "UDP")), SetNodePorts(30080)));

        var e = await Assert.ThrowsAsync<ApiException>(() =>
            CreateAsync(MakeService("tcp2", SetTypeNodePort, SetPorts(MakeServicePort("", 81, 81, "TCP")), SetNodePorts(30080))));

        AssertInvalid(e, "spec.ports[0].nodePort", "Invalid value: 30080: provided port is already allocated");
        Assert.Equal("uid-tcp", _network.NodePortPool("TCP")!.OwnerOf("30080")!.Uid);
        Assert.Equal("uid-udp", _network.NodePortPool("UDP")!.OwnerOf("30080")!.Uid);
        Assert.DoesNotContain(await HeldAsync(), k => k.EndsWith("=uid-tcp2", StringComparison.Ordinal));
    }

    // ---- TestCreateInitIPFields (single-stack IPv4 cluster) ----

    [Theory]
    [InlineData(null, true, false)]
    [InlineData("10.0.0.5", true, false)]
    [InlineData("None", false, true)]
    public async Task Create_InitIPFields_SingleStack(string? clusterIP, bool expectClusterIP, bool expectHeadless)
    {
        var created = await CreateAsync(clusterIP is null ? MakeService("foo") : MakeService("foo", SetClusterIPs(clusterIP)));

        var spec = created.Spec!;
        Assert.Equal("SingleStack", spec.IpFamilyPolicy);
        Assert.Equal(["IPv4"], spec.IpFamilies!);
        Assert.Equal(spec.ClusterIP, Assert.Single(spec.ClusterIPs!));
        if (expectHeadless)
        {
            Assert.Equal("None", spec.ClusterIP);
            Assert.Empty(await HeldAsync());
            return;
        }
        Assert.True(expectClusterIP);
        Assert.True(_network.ServiceRange.Contains(IPAddress.Parse(spec.ClusterIP!)));
        if (clusterIP is not null)
        {
            Assert.Equal(clusterIP, spec.ClusterIP);
        }
        Assert.Equal([$"serviceips/{spec.ClusterIP}=uid-foo"], await HeldAsync());
    }

    [Fact]
    public async Task Create_ExternalName_AllocatesNothing()
    {
        var created = await CreateAsync(MakeService("foo", SetTypeExternalName));

        Assert.Null(created.Spec!.ClusterIP);
        Assert.Empty(await HeldAsync());
    }

    public static TheoryData<string, string, string> RefusedCreateCases => new()
    {
        { "clusterIP outside the range", "spec.clusterIPs",
            "Invalid value: []string{\"1.1.1.1\"}: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.0.0.0/16" },
        { "clusterIP taken", "spec.clusterIPs", "Invalid value: []string{\"10.0.0.5\"}: failed to allocate IP 10.0.0.5: provided IP is already allocated" },
        { "nodePort outside the range", "spec.ports[0].nodePort",
            "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767" },
        { "nodePort taken", "spec.ports[0].nodePort", "Invalid value: 30080: provided port is already allocated" },
        { "healthCheckNodePort taken", "spec.healthCheckNodePort",
            "Invalid value: 30080: failed to allocate requested HealthCheck NodePort 30080: provided port is already allocated" },
        { "healthCheckNodePort outside the range", "spec.healthCheckNodePort",
            "Invalid value: 29999: failed to allocate requested HealthCheck NodePort 29999: provided port is not in the valid range. The range of valid ports is 30000-32767" },
    };

    [Theory]
    [MemberData(nameof(RefusedCreateCases))]
    public async Task Create_AllocatorRefuses_422WithFieldAndUpstreamMessageAndNothingLeaked(string scenario, string field, string message)
    {
        var holder = await CreateAsync(MakeService("holder", SetTypeNodePort, SetClusterIPs("10.0.0.5"), SetNodePorts(30080)));
        var svc = scenario switch
        {
            "clusterIP outside the range" => MakeService("foo", SetClusterIPs("1.1.1.1")),
            "clusterIP taken" => MakeService("foo", SetClusterIPs("10.0.0.5")),
            "nodePort outside the range" => MakeService("foo", SetTypeNodePort, SetNodePorts(80)),
            "nodePort taken" => MakeService("foo", SetTypeNodePort, SetNodePorts(30080)),
            "healthCheckNodePort taken" => MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetHealthCheckNodePort(30080)),
            _ => MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetHealthCheckNodePort(29999)),
        };

        var e = await Assert.ThrowsAsync<ApiException>(() => CreateAsync(svc));

        AssertInvalid(e, field, message);
        Assert.Equal($"Service \"foo\" is invalid: {field}: {message}", e.Message);
        Assert.Equal(Expected(holder), await HeldAsync());
    }

    [Fact]
    public async Task Create_SecondNodePortRefused_ReleasesTheClusterIPAndFirstNodePort()
    {
        var e = await Assert.ThrowsAsync<ApiException>(() =>
            CreateAsync(MakeService("foo", SetTypeNodePort, SetPorts(TcpP80, TcpQ443), SetNodePorts(30080, 80))));

        AssertInvalid(e, "spec.ports[1].nodePort", "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767");
        Assert.Empty(await HeldAsync());
        Assert.Null(_network.NodePortPool("TCP")!.OwnerOf("30080"));
    }

    [Fact]
    public async Task Create_ValidationFailsAfterAllocating_ReleasesEverything()
    {
        // Upstream allocates before validating; a Service refused by validation must not keep what it was given.
        var svc = MakeService("foo", SetTypeNodePort, SetNodePorts(30080), SetSelector(new() { ["bad key!"] = "v" }));

        var e = await Assert.ThrowsAsync<ApiException>(() => CreateAsync(svc));

        Assert.Equal(422, e.Code);
        Assert.Contains(e.Causes!, c => c.Field == "spec.selector");
        Assert.Empty(await HeldAsync());
        await CreateAsync(MakeService("bar", SetTypeNodePort, SetNodePorts(30080)));
    }

    [Fact]
    public async Task Create_ServiceRangeFull_InternalErrorAndNothingLeaked()
    {
        await ConfigureAsync("10.1.0.0/30", "30000-32767");
        await CreateAsync(MakeService("a"));
        await CreateAsync(MakeService("b"));
        var held = await HeldAsync();

        var e = await Assert.ThrowsAsync<ApiException>(() => CreateAsync(MakeService("c", SetTypeNodePort)));

        Assert.Equal((500, "InternalError"), (e.Code, e.Reason));
        Assert.Equal("Internal error occurred: failed to allocate a serviceIP: range is full", e.Message);
        Assert.Equal(held, await HeldAsync());
    }

    [Fact]
    public async Task Create_NodePortRangeFull_InternalErrorAndClusterIPReleased()
    {
        await ConfigureAsync("10.0.0.0/16", "30000-30000");
        var first = await CreateAsync(MakeService("a", SetTypeNodePort));
        Assert.Equal(30000, first.Spec!.Ports![0].NodePort);

        var e = await Assert.ThrowsAsync<ApiException>(() => CreateAsync(MakeService("b", SetTypeNodePort)));

        Assert.Equal(500, e.Code);
        Assert.Equal("Internal error occurred: failed to allocate a nodePort: range is full", e.Message);
        Assert.Equal(Expected(first), await HeldAsync());
    }

    // ---- TestCreateDryRun ----

    public static TheoryData<string> DryRunCreateCases => ["clusterip:unset", "clusterip:set", "type:NodePort_nodeport:unset", "type:NodePort_nodeport:set",
        "type:LoadBalancer_nodePort:unset", "type:LoadBalancer_nodePort:set"];

    [Theory]
    [MemberData(nameof(DryRunCreateCases))]
    public async Task Create_DryRun_AssignsValuesButHoldsNothing(string name)
    {
        var svc = name switch
        {
            "clusterip:unset" => MakeService("foo"),
            "clusterip:set" => MakeService("foo", SetClusterIPs("10.0.0.1")),
            "type:NodePort_nodeport:unset" => MakeService("foo", SetTypeNodePort),
            "type:NodePort_nodeport:set" => MakeService("foo", SetTypeNodePort, SetUniqueNodePorts),
            "type:LoadBalancer_nodePort:unset" => MakeService("foo", SetTypeLoadBalancer),
            _ => MakeService("foo", SetTypeLoadBalancer, SetUniqueNodePorts),
        };

        var (created, txn) = await BeginCreateAsync(svc, dryRun: true);
        await txn.CommitAsync(s_ct);

        Assert.True(_network.ServiceRange.Contains(IPAddress.Parse(created.Spec!.ClusterIP!)));
        if (created.Spec.Type != "ClusterIP")
        {
            Assert.InRange(created.Spec.Ports![0].NodePort ?? 0, 30000, 32767);
        }
        Assert.Empty(await HeldAsync());
        // The values are still free for a real create.
        var real = await CreateAsync(MakeService("bar", SetClusterIPs(created.Spec.ClusterIP!), SetTypeNodePort, SetNodePorts(created.Spec.Ports![0].NodePort ?? 30000)));
        Assert.Equal(Expected(real), await HeldAsync());
    }

    [Fact]
    public async Task Create_DryRunOfATakenNodePort_IsStillRefused()
    {
        await CreateAsync(MakeService("holder", SetTypeNodePort, SetNodePorts(30080)));

        var e = await Assert.ThrowsAsync<ApiException>(() => BeginCreateAsync(MakeService("foo", SetTypeNodePort, SetNodePorts(30080)), dryRun: true));

        AssertInvalid(e, "spec.ports[0].nodePort", "Invalid value: 30080: provided port is already allocated");
    }

    // ---- commit and revert ----

    [Fact]
    public async Task Create_Reverted_ReleasesWhatWasTaken()
    {
        // The store refused the write (e.g. AlreadyExists in a race): the transaction is reverted.
        var (created, txn) = await BeginCreateAsync(MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local")));
        Assert.Equal(Expected(created), await HeldAsync());

        await txn.RevertAsync(s_ct);

        Assert.Empty(await HeldAsync());
    }

    [Fact]
    public async Task Update_NodePortChanged_OldHeldUntilCommitThenReleased()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeNodePort, SetNodePorts(30080)));

        var (updated, txn) = await BeginUpdateAsync(MakeService("foo", SetTypeNodePort, SetClusterIPs(stored.Spec!.ClusterIP!), SetNodePorts(30081)), stored);
        Assert.Equal(Expected(stored, updated), await HeldAsync());
        await txn.CommitAsync(s_ct);

        Assert.Equal(Expected(updated), await HeldAsync());
        Assert.Null(_network.NodePortPool("TCP")!.OwnerOf("30080"));
    }

    [Fact]
    public async Task Update_NodePortChanged_RevertReleasesTheNewAndKeepsTheOld()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeNodePort, SetNodePorts(30080)));

        var (_, txn) = await BeginUpdateAsync(MakeService("foo", SetTypeNodePort, SetNodePorts(30081)), stored);
        await txn.RevertAsync(s_ct);

        Assert.Equal(Expected(stored), await HeldAsync());
        Assert.Null(_network.NodePortPool("TCP")!.OwnerOf("30081"));
    }

    [Fact]
    public async Task Update_ToExternalNameReverted_KeepsClusterIPAndNodePorts()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeNodePort));

        var (updated, txn) = await BeginUpdateAsync(MakeService("foo", SetTypeExternalName), stored);
        Assert.Null(updated.Spec!.ClusterIP);
        await txn.RevertAsync(s_ct);

        Assert.Equal(Expected(stored), await HeldAsync());
    }

    [Fact]
    public async Task Update_FromExternalNameReverted_ReleasesTheNewClusterIP()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeExternalName));

        var (updated, txn) = await BeginUpdateAsync(MakeService("foo", SetTypeNodePort), stored);
        Assert.Equal(Expected(updated), await HeldAsync());
        await txn.RevertAsync(s_ct);

        Assert.Empty(await HeldAsync());
    }

    // ---- type transitions ----

    private static readonly Dictionary<string, Action<Service>[]> s_types = new()
    {
        ["ClusterIP"] = [SetTypeClusterIP],
        ["NodePort"] = [SetTypeNodePort],
        ["LoadBalancer"] = [SetTypeLoadBalancer],
        ["LoadBalancer:Local"] = [SetTypeLoadBalancer, SetExternalTrafficPolicy("Local")],
        ["LoadBalancer:on_alloc:false"] = [SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false)],
        ["ExternalName"] = [SetTypeExternalName],
    };

    public static TheoryData<string, string> TypeTransitions
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var from in s_types.Keys)
            {
                foreach (var to in s_types.Keys.Where(to => to != from))
                {
                    data.Add(from, to);
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(TypeTransitions))]
    public async Task Update_TypeTransition_StoreHoldsExactlyWhatTheServiceHolds(string from, string to)
    {
        var ports = SetPorts(TcpP53, UdpQ53);
        var stored = await CreateAsync(MakeService("foo", [ports, .. s_types[from]]));

        // The client re-sends its manifest with the new type: no clusterIP, no nodePorts.
        var updated = await UpdateAsync(MakeService("foo", [ports, .. s_types[to]]), stored);

        var spec = updated.Spec!;
        var hadIP = from != "ExternalName";
        var needsIP = to != "ExternalName";
        Assert.Equal(needsIP, spec.ClusterIP is not null);
        if (hadIP && needsIP)
        {
            Assert.Equal(stored.Spec!.ClusterIP, spec.ClusterIP);
        }
        var needsNodePorts = to is "NodePort" or "LoadBalancer" or "LoadBalancer:Local";
        var hadNodePorts = from is "NodePort" or "LoadBalancer" or "LoadBalancer:Local";
        Assert.All(spec.Ports!, p => Assert.Equal(needsNodePorts, p.NodePort is > 0));
        if (hadNodePorts && needsNodePorts)
        {
            Assert.Equal(stored.Spec!.Ports!.Select(p => p.NodePort), spec.Ports!.Select(p => p.NodePort));
        }
        Assert.Equal(to == "LoadBalancer:Local", spec.HealthCheckNodePort is > 0);
        Assert.Equal(Expected(updated), await HeldAsync());
    }

    // ---- TestUpdatePatchAllocatedValues (single-stack cases) ----

    private static readonly Dictionary<string, (Service Create, Service Update, bool ExpectError, int[] NodePorts, int HealthCheckNodePort)> s_patchUpdates = new()
    {
        ["single-ip_single-port"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetClusterIPs("10.0.0.1"), SetNodePorts(30093), SetHealthCheckNodePort(30118)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local")),
            false, [30093], 30118),
        ["multi-port_partial"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 30076), SetHealthCheckNodePort(30118)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 0)),
            false, [30093, 30076], 30118),
        ["swap-ports"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 30076), SetHealthCheckNodePort(30118)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpQ5309, TcpP867)),
            false, [30076, 30093], 30118),
        // [0] takes [1]'s value and [1] is omitted: [1] gets anything but 30076.
        ["partial-swap-ports"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 30076), SetHealthCheckNodePort(30118)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30076, 0), SetHealthCheckNodePort(30118)),
            false, [30076, -30076], 30118),
        ["swap-port-with-hcnp"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 30076), SetHealthCheckNodePort(30118)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30076, 30118)),
            true, [], 0),
        ["partial-swap-port-with-hcnp"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 30076), SetHealthCheckNodePort(30118)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30118, 0)),
            true, [], 0),
        ["update-hcnp"] = (
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 30076), SetHealthCheckNodePort(30118)),
            MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP867, TcpQ5309), SetNodePorts(30093, 30076), SetHealthCheckNodePort(30111)),
            true, [], 0),
    };

    private static ServicePort TcpP867 => MakeServicePort("p", 867, 867, "TCP");
    private static ServicePort TcpQ5309 => MakeServicePort("q", 5309, 5309, "TCP");

    public static TheoryData<string> PatchUpdateCases => [.. s_patchUpdates.Keys];

    [Theory]
    [MemberData(nameof(PatchUpdateCases))]
    public async Task Update_PatchAllocatedValues_UpstreamTable(string name)
    {
        var (create, update, expectError, nodePorts, healthCheckNodePort) = s_patchUpdates[name];
        var stored = await CreateAsync(KubeJson.Deserialize<Service>(KubeJson.ToNode(create)));
        var before = await HeldAsync();

        if (expectError)
        {
            await Assert.ThrowsAsync<ApiException>(() => UpdateAsync(KubeJson.Deserialize<Service>(KubeJson.ToNode(update)), stored));
            Assert.Equal(before, await HeldAsync());
            return;
        }
        var updated = await UpdateAsync(KubeJson.Deserialize<Service>(KubeJson.ToNode(update)), stored);

        Assert.Equal(stored.Spec!.ClusterIP, updated.Spec!.ClusterIP);
        for (var i = 0; i < nodePorts.Length; i++)
        {
            var got = updated.Spec.Ports![i].NodePort ?? 0;
            Assert.True(nodePorts[i] > 0 ? got == nodePorts[i] : got != -nodePorts[i] && got != 0, $"Ports[{i}].NodePort = {got}, want {nodePorts[i]}");
        }
        Assert.Equal(healthCheckNodePort, updated.Spec.HealthCheckNodePort);
        Assert.Equal(Expected(updated), await HeldAsync());
    }

    // ---- TestServiceRegistryUpdateLoadBalancerService and health-check node ports ----

    [Fact]
    public async Task Update_ClusterIPToLoadBalancerThenLocalThenCluster_AllocatesAndReleasesHealthCheckNodePort()
    {
        var stored = await CreateAsync(MakeService("foo"));

        var lb = await UpdateAsync(MakeService("foo", SetTypeLoadBalancer), stored);
        Assert.InRange(lb.Spec!.Ports![0].NodePort ?? 0, 30000, 32767);
        Assert.Null(lb.Spec.HealthCheckNodePort);
        Assert.Equal(Expected(lb), await HeldAsync());

        var local = await UpdateAsync(MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local")), lb);
        Assert.InRange(local.Spec!.HealthCheckNodePort ?? 0, 30000, 32767);
        Assert.Equal(lb.Spec.Ports[0].NodePort, local.Spec.Ports![0].NodePort);
        Assert.Equal(Expected(local), await HeldAsync());

        var cluster = await UpdateAsync(MakeService("foo", SetTypeLoadBalancer), local);
        Assert.Null(cluster.Spec!.HealthCheckNodePort);
        Assert.Equal(Expected(cluster), await HeldAsync());
        Assert.Null(_network.NodePortPool("TCP")!.OwnerOf(Port(local.Spec.HealthCheckNodePort!.Value)));
    }

    [Fact]
    public async Task Create_HealthCheckNodePortRequested_IsHeld()
    {
        var created = await CreateAsync(MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetHealthCheckNodePort(30100)));

        Assert.Equal(30100, created.Spec!.HealthCheckNodePort);
        Assert.Equal("uid-foo", _network.NodePortPool("TCP")!.OwnerOf("30100")!.Uid);
        Assert.Equal(Expected(created), await HeldAsync());
    }

    // ---- allocateLoadBalancerNodePorts ----

    [Fact]
    public async Task Update_AllocateLoadBalancerNodePortsFalseToTrue_AllocatesNodePorts()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false)));
        Assert.Null(stored.Spec!.Ports![0].NodePort);

        var updated = await UpdateAsync(MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(true)), stored);

        Assert.InRange(updated.Spec!.Ports![0].NodePort ?? 0, 30000, 32767);
        Assert.Equal(Expected(updated), await HeldAsync());
    }

    [Fact]
    public async Task Update_AllocateLoadBalancerNodePortsTrueToFalse_KeepsExistingNodePorts()
    {
        // Upstream test/integration/service Test_ServiceLoadBalancerEnableThenDisableAllocatedNodePorts: a
        // read-modify-write that turns allocation off keeps the node ports the Service already has.
        var stored = await CreateAsync(MakeService("foo", SetTypeLoadBalancer));
        var update = KubeJson.Deserialize<Service>(KubeJson.ToNode(stored));
        SetAllocateLoadBalancerNodePorts(false)(update);

        var updated = await UpdateAsync(update, stored);

        Assert.Equal(stored.Spec!.Ports![0].NodePort, updated.Spec!.Ports![0].NodePort);
        Assert.Equal(Expected(updated), await HeldAsync());
    }

    [Fact]
    public async Task Update_AllocateLoadBalancerNodePortsFalse_NodePortSetToZero_IsReleased()
    {
        // kubernetes/kubernetes#122381 (upstream storage_test.go TestPatchAllocatedValues "reset_NodePort").
        var stored = await CreateAsync(MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false), SetNodePorts(30080)));

        var updated = await UpdateAsync(
            MakeService("foo", SetTypeLoadBalancer, SetAllocateLoadBalancerNodePorts(false), SetClusterIPs(stored.Spec!.ClusterIP!), SetNodePorts(0)), stored);

        Assert.Null(updated.Spec!.Ports![0].NodePort);
        Assert.Null(_network.NodePortPool("TCP")!.OwnerOf("30080"));
        Assert.Equal(Expected(updated), await HeldAsync());
    }

    // ---- TestUpdateDryRun ----

    [Fact]
    public async Task Update_DryRunNoAllocsToAllocs_AssignsValuesButHoldsNothing()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeExternalName));

        var (updated, txn) = await BeginUpdateAsync(MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local")), stored, dryRun: true);
        await txn.CommitAsync(s_ct);

        Assert.True(_network.ServiceRange.Contains(IPAddress.Parse(updated.Spec!.ClusterIP!)));
        Assert.InRange(updated.Spec.Ports![0].NodePort ?? 0, 30000, 32767);
        Assert.InRange(updated.Spec.HealthCheckNodePort ?? 0, 30000, 32767);
        Assert.Empty(await HeldAsync());
    }

    [Fact]
    public async Task Update_DryRunAllocsToNoAllocs_ClearsTheFieldsButReleasesNothing()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local")));
        var held = await HeldAsync();

        var (updated, txn) = await BeginUpdateAsync(MakeService("foo", SetTypeExternalName), stored, dryRun: true);
        await txn.CommitAsync(s_ct);

        Assert.Null(updated.Spec!.ClusterIP);
        Assert.All(updated.Spec.Ports!, p => Assert.Null(p.NodePort));
        Assert.Null(updated.Spec.HealthCheckNodePort);
        Assert.Equal(held, await HeldAsync());
        Assert.Equal(Expected(stored), held);
    }

    // ---- releaseAllocatedResources and load-balancer addresses ----

    [Fact]
    public async Task ReleaseAsync_DeletedService_ReleasesEverythingItHeldIncludingItsLoadBalancerAddress()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeLoadBalancer, SetExternalTrafficPolicy("Local"), SetPorts(TcpP53, UdpQ53)));
        await _network.LoadBalancerAddresses.AllocateAsync("127.100.0.7", ServiceAllocator.OwnerOf(stored), dryRun: false, s_ct);
        SetIngressIP("127.100.0.7")(stored);
        var other = await CreateAsync(MakeService("other", SetTypeNodePort));

        await _allocator.ReleaseAsync(stored, s_ct);

        Assert.Equal(Expected(other), await HeldAsync());
    }

    [Fact]
    public async Task ReleaseAsync_ServiceOfTheSameNameWithAnotherUid_ReleasesNothing()
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeNodePort));
        var successor = KubeJson.Deserialize<Service>(KubeJson.ToNode(stored));
        successor.Metadata!.Uid = "uid-foo-2";

        await _allocator.ReleaseAsync(successor, s_ct);

        Assert.Equal(Expected(stored), await HeldAsync());
    }

    [Theory]
    [InlineData("ClusterIP", true)]
    [InlineData("NodePort", true)]
    [InlineData("LoadBalancer", false)]
    public async Task Update_NoLongerALoadBalancer_ReleasesItsAddressOnCommit(string newType, bool released)
    {
        var stored = await CreateAsync(MakeService("foo", SetTypeLoadBalancer));
        await _network.LoadBalancerAddresses.AllocateAsync("127.100.0.7", ServiceAllocator.OwnerOf(stored), dryRun: false, s_ct);
        SetIngressIP("127.100.0.7")(stored);
        var update = newType switch
        {
            "ClusterIP" => MakeService("foo", SetTypeClusterIP, SetIngressIP("127.100.0.7")),
            "NodePort" => MakeService("foo", SetTypeNodePort, SetIngressIP("127.100.0.7")),
            _ => MakeService("foo", SetTypeLoadBalancer, SetIngressIP("127.100.0.7")),
        };

        var (updated, txn) = await BeginUpdateAsync(update, stored);
        Assert.NotNull(_network.LoadBalancerAddresses.OwnerOf("127.100.0.7"));
        await txn.CommitAsync(s_ct);

        Assert.Equal(released, _network.LoadBalancerAddresses.OwnerOf("127.100.0.7") is null);
        Assert.Equal(released, updated.Status?.LoadBalancer?.Ingress is not { Count: > 0 });
    }
}
