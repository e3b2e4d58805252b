using Berth.Api.Models;
using Berth.Controllers.EndpointSlices;

namespace Berth.Controllers.Tests.EndpointRules;

// Ported from kubernetes staging/src/k8s.io/endpointslice/util/controller_utils_test.go:
// TestEndpointsEqualBeyondHash, TestNewPortMapKey_NilVsEmptySlice; plus the identity (hashEndpoint) of EndpointSet.
public sealed class EndpointIdentityTests
{
    private static Endpoint Ep(bool? ready = true, string pod = "pod0", string? node = null, string? zone = null, bool? serving = null, bool? terminating = null, string? resourceVersion = null) => new()
    {
        Conditions = new EndpointConditions { Ready = ready, Serving = serving, Terminating = terminating },
        Addresses = ["10.0.0.1"],
        TargetRef = new ObjectReference { Kind = "Pod", Namespace = "default", Name = pod, ResourceVersion = resourceVersion },
        NodeName = node,
        Zone = zone,
    };

    public static TheoryData<string, Endpoint, Endpoint, bool> EqualBeyondHashCases => new()
    {
        { "No change", Ep(node: "node-1"), Ep(node: "node-1"), true },
        { "NodeName changed", Ep(node: "node-1"), Ep(node: "node-2"), false },
        { "Zone changed", Ep(zone: "zone-1"), Ep(zone: "zone-2"), false },
        { "Ready condition changed", Ep(ready: true, zone: "zone-1", node: "node-1"), Ep(ready: false, zone: "zone-1", node: "node-1"), false },
        { "Serving condition changed from nil to true", Ep(zone: "zone-1", node: "node-1"), Ep(zone: "zone-1", node: "node-1", serving: true, terminating: false), false },
        { "Serving condition changed from false to true", Ep(zone: "zone-1", node: "node-1", serving: false, terminating: false), Ep(zone: "zone-1", node: "node-1", serving: true, terminating: false), false },
        { "Pod name changed", Ep(zone: "zone-1", node: "node-1"), Ep(pod: "pod1", zone: "zone-1", node: "node-1"), false },
        { "Pod resourceVersion changed", Ep(zone: "zone-1", node: "node-1", resourceVersion: "1"), Ep(zone: "zone-1", node: "node-1", resourceVersion: "2"), true },
        { "Pod resourceVersion removed", Ep(zone: "zone-1", node: "node-1", resourceVersion: "1"), Ep(zone: "zone-1", node: "node-1", resourceVersion: ""), true },
        { "Terminating changed", Ep(serving: true, terminating: false), Ep(serving: true, terminating: true), false },
        { "TargetRef removed", Ep(), new Endpoint { Conditions = new EndpointConditions { Ready = true }, Addresses = ["10.0.0.1"] }, false },
    };

    [Theory]
    [MemberData(nameof(EqualBeyondHashCases))]
    public void EndpointsEqualBeyondHash_Table(string name, Endpoint a, Endpoint b, bool expected)
    {
        Assert.True(expected == EndpointSliceRules.EndpointsEqualBeyondHash(a, b), name);
        Assert.True(expected == EndpointSliceRules.EndpointsEqualBeyondHash(b, a), name + " (swapped)");
    }

    [Fact]
    public void PortMapKey_NilVsEmptySlice_Same()
    {
        Assert.Equal(EndpointSliceRules.PortMapKey([]), EndpointSliceRules.PortMapKey(new List<EndpointSlicePort>()));
    }

    [Fact]
    public void PortMapKey_OrderIndependent()
    {
        EndpointSlicePort http = new() { Name = "http", Port = 80, Protocol = "TCP" };
        EndpointSlicePort dns = new() { Name = "dns", Port = 53, Protocol = "UDP" };

        Assert.Equal(EndpointSliceRules.PortMapKey([http, dns]), EndpointSliceRules.PortMapKey([dns, http]));
    }

    public static TheoryData<string, EndpointSlicePort> DifferentPortCases => new()
    {
        { "other name", new EndpointSlicePort { Name = "web", Port = 80, Protocol = "TCP" } },
        { "other number", new EndpointSlicePort { Name = "http", Port = 8080, Protocol = "TCP" } },
        { "other protocol", new EndpointSlicePort { Name = "http", Port = 80, Protocol = "UDP" } },
        { "with appProtocol", new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP", AppProtocol = "http" } },
        { "empty appProtocol is not absent", new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP", AppProtocol = "" } },
        { "absent name is not empty", new EndpointSlicePort { Port = 80, Protocol = "TCP" } },
        { "a field cannot spill into the next", new EndpointSlicePort { Name = "http|80", Protocol = "TCP" } },
    };

    [Theory]
    [MemberData(nameof(DifferentPortCases))]
    public void PortMapKey_AnyFieldDiffers_DifferentKey(string name, EndpointSlicePort other)
    {
        EndpointSlicePort http = new() { Name = "http", Port = 80, Protocol = "TCP" };

        Assert.True(EndpointSliceRules.PortMapKey([http]) != EndpointSliceRules.PortMapKey([other]), name);
        Assert.Equal(EndpointSliceRules.PortMapKey([http]), EndpointSliceRules.PortMapKey([new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP" }]));
    }

    private static Endpoint Identity(string[] addresses, string? hostname = null, string ns = "default", string name = "pod0", bool ready = true, string? node = "node-1") => new()
    {
        Addresses = [.. addresses],
        Hostname = hostname,
        TargetRef = new ObjectReference { Kind = "Pod", Namespace = ns, Name = name, Uid = Guid.NewGuid().ToString() },
        Conditions = new EndpointConditions { Ready = ready },
        NodeName = node,
    };

    public static TheoryData<string, Endpoint, bool> SameIdentityCases => new()
    {
        { "same endpoint, other conditions and node (an in-place update)", Identity(["10.0.0.1"], ready: false, node: "node-2"), true },
        { "addresses in another order", Identity(["10.0.0.2", "10.0.0.1"]), false },
        { "other address", Identity(["10.0.0.9"]), false },
        { "with a hostname", Identity(["10.0.0.1"], hostname: "web-0"), false },
        { "other pod name", Identity(["10.0.0.1"], name: "pod1"), false },
        { "other pod namespace", Identity(["10.0.0.1"], ns: "other"), false },
    };

    [Theory]
    [MemberData(nameof(SameIdentityCases))]
    public void EndpointSet_Has_ByIdentity(string name, Endpoint probe, bool expected)
    {
        var set = new EndpointSet([Identity(["10.0.0.1"])]);

        Assert.True(expected == set.Has(probe), name);
    }

    [Fact]
    public void EndpointSet_AddressOrder_NotPartOfIdentity_AndNotMutated()
    {
        var stored = Identity(["10.0.0.2", "10.0.0.1"]);
        var set = new EndpointSet([stored]);

        Assert.True(set.Has(Identity(["10.0.0.1", "10.0.0.2"])));
        Assert.Equal(["10.0.0.2", "10.0.0.1"], stored.Addresses);
    }

    [Fact]
    public void EndpointSet_AbsentAndEmptyHostname_SameIdentity()
    {
        var set = new EndpointSet([Identity(["10.0.0.1"], hostname: null)]);

        Assert.True(set.Has(Identity(["10.0.0.1"], hostname: "")));
    }

    [Fact]
    public void EndpointSet_InsertSameIdentity_ReplacesInPlace_GetReturnsTheNewOne()
    {
        var a = Identity(["10.0.0.1"], name: "a");
        var b = Identity(["10.0.0.2"], name: "b");
        var aReady = Identity(["10.0.0.1"], name: "a", ready: false);
        var set = new EndpointSet([a, b]);

        set.Insert(aReady);

        Assert.Equal(2, set.Count);
        Assert.Same(aReady, set.Get(a));
        Assert.Equal([aReady, b], set.ToList());
    }

    [Fact]
    public void EndpointSet_RemoveAndPopAny_InInsertionOrder()
    {
        var a = Identity(["10.0.0.1"], name: "a");
        var b = Identity(["10.0.0.2"], name: "b");
        var c = Identity(["10.0.0.3"], name: "c");
        var set = new EndpointSet([a, b, c]);

        Assert.True(set.Remove(Identity(["10.0.0.2"], name: "b")));
        Assert.False(set.Remove(b));
        Assert.Null(set.Get(b));
        Assert.Same(a, set.PopAny());
        Assert.Same(c, set.PopAny());
        Assert.Null(set.PopAny());
        Assert.Equal(0, set.Count);
    }
}
