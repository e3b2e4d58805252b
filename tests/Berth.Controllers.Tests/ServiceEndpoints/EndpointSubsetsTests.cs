using Berth.Api.Models;
using Berth.Controllers.ServiceEndpoints;

namespace Berth.Controllers.Tests.ServiceEndpoints;

// Ported from kubernetes pkg/api/v1/endpoints/util_test.go (TestPackSubsets) and
// pkg/controller/endpoint/endpoints_controller_test.go (TestEndpointSubsetsEqualIgnoreResourceVersion).
public sealed class EndpointSubsetsTests
{
    private static readonly ObjectReference s_foo = new() { Name = "foo" };
    private static readonly ObjectReference s_bar = new() { Name = "bar" };

    public static TheoryData<string, List<EndpointSubset>, List<EndpointSubset>> PackCases => new()
    {
        { "empty everything", [S(ready: [], ports: [])], [] },
        { "empty addresses", [S(ready: [], ports: [P(111)])], [] },
        // A subset without ports keeps its addresses (a headless Service may have no ports), with no ports.
        { "empty ports", [S(ready: [A("1.2.3.4")], ports: [])], [S(ready: [A("1.2.3.4")])] },
        { "empty ports, not ready", [S(notReady: [A("1.2.3.4")], ports: [])], [S(notReady: [A("1.2.3.4")])] },
        { "one set, one ip, one port", [S(ready: [A("1.2.3.4")], ports: [P(111)])], [S(ready: [A("1.2.3.4")], ports: [P(111)])] },
        { "one set, one ip, one port (IPv6)", [S(ready: [A("beef::1:2:3:4")], ports: [P(111)])], [S(ready: [A("beef::1:2:3:4")], ports: [P(111)])] },
        { "one set, one notReady ip, one port", [S(notReady: [A("1.2.3.4")], ports: [P(111)])], [S(notReady: [A("1.2.3.4")], ports: [P(111)])] },
        { "one set, one ip, one UID, one port", [S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111)])], [S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111)])] },
        {
            "one set, one notReady ip, one UID, one port",
            [S(notReady: [A("1.2.3.4", "uid-1")], ports: [P(111)])], [S(notReady: [A("1.2.3.4", "uid-1")], ports: [P(111)])]
        },
        { "one set, one ip, empty UID, one port", [S(ready: [A("1.2.3.4", "")], ports: [P(111)])], [S(ready: [A("1.2.3.4", "")], ports: [P(111)])] },
        {
            "one set, one notReady ip, empty UID, one port",
            [S(notReady: [A("1.2.3.4", "")], ports: [P(111)])], [S(notReady: [A("1.2.3.4", "")], ports: [P(111)])]
        },
        {
            "one set, two ips, one port",
            [S(ready: [A("1.2.3.4"), A("5.6.7.8")], ports: [P(111)])], [S(ready: [A("1.2.3.4"), A("5.6.7.8")], ports: [P(111)])]
        },
        {
            "one set, two mixed ips, one port",
            [S(ready: [A("1.2.3.4")], notReady: [A("5.6.7.8")], ports: [P(111)])],
            [S(ready: [A("1.2.3.4")], notReady: [A("5.6.7.8")], ports: [P(111)])]
        },
        {
            "one set, two duplicate ips, one port, notReady is covered by ready",
            [S(ready: [A("1.2.3.4")], notReady: [A("1.2.3.4")], ports: [P(111)])], [S(notReady: [A("1.2.3.4")], ports: [P(111)])]
        },
        { "one set, one ip, two ports", [S(ready: [A("1.2.3.4")], ports: [P(111), P(222)])], [S(ready: [A("1.2.3.4")], ports: [P(111), P(222)])] },
        { "one set, dup ips, one port", [S(ready: [A("1.2.3.4"), A("1.2.3.4")], ports: [P(111)])], [S(ready: [A("1.2.3.4")], ports: [P(111)])] },
        { "one set, dup ips, one port (IPv6)", [S(ready: [A("beef::1"), A("beef::1")], ports: [P(111)])], [S(ready: [A("beef::1")], ports: [P(111)])] },
        {
            "one set, dup ips with target-refs, one port",
            [S(ready: [A("1.2.3.4", s_foo), A("1.2.3.4", s_bar)], ports: [P(111)])], [S(ready: [A("1.2.3.4", s_foo)], ports: [P(111)])]
        },
        {
            // Finding the same address twice is an error on input: only the first address+port reference is kept.
            "one set, dup mixed ips with target-refs, one port",
            [S(ready: [A("1.2.3.4", s_foo)], notReady: [A("1.2.3.4", s_bar)], ports: [P(111)])], [S(notReady: [A("1.2.3.4", s_foo)], ports: [P(111)])]
        },
        { "one set, one ip, dup ports", [S(ready: [A("1.2.3.4")], ports: [P(111), P(111)])], [S(ready: [A("1.2.3.4")], ports: [P(111)])] },
        {
            "two sets, dup ip, dup port",
            [S(ready: [A("1.2.3.4")], ports: [P(111)]), S(ready: [A("1.2.3.4")], ports: [P(111)])], [S(ready: [A("1.2.3.4")], ports: [P(111)])]
        },
        {
            "two sets, dup mixed ip, dup port",
            [S(ready: [A("1.2.3.4")], ports: [P(111)]), S(notReady: [A("1.2.3.4")], ports: [P(111)])], [S(notReady: [A("1.2.3.4")], ports: [P(111)])]
        },
        {
            "two sets, dup ip, two ports",
            [S(ready: [A("1.2.3.4")], ports: [P(111)]), S(ready: [A("1.2.3.4")], ports: [P(222)])], [S(ready: [A("1.2.3.4")], ports: [P(111), P(222)])]
        },
        {
            "two sets, dup ip, dup uids, two ports",
            [S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111)]), S(ready: [A("1.2.3.4", "uid-1")], ports: [P(222)])],
            [S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111), P(222)])]
        },
        {
            "two sets, dup mixed ip, dup uids, two ports",
            [S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111)]), S(notReady: [A("1.2.3.4", "uid-1")], ports: [P(222)])],
            [S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111)]), S(notReady: [A("1.2.3.4", "uid-1")], ports: [P(222)])]
        },
        {
            "two sets, two ips, dup port",
            [S(ready: [A("1.2.3.4")], ports: [P(111)]), S(ready: [A("5.6.7.8")], ports: [P(111)])], [S(ready: [A("1.2.3.4"), A("5.6.7.8")], ports: [P(111)])]
        },
        {
            "two set, dup ip, two uids, dup ports",
            [S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111)]), S(ready: [A("1.2.3.4", "uid-2")], ports: [P(111)])],
            [S(ready: [A("1.2.3.4", "uid-1"), A("1.2.3.4", "uid-2")], ports: [P(111)])]
        },
        {
            "two set, dup ip, with and without uid, dup ports",
            [S(ready: [A("1.2.3.4")], ports: [P(111)]), S(ready: [A("1.2.3.4", "uid-2")], ports: [P(111)])],
            [S(ready: [A("1.2.3.4"), A("1.2.3.4", "uid-2")], ports: [P(111)])]
        },
        {
            "two sets, two ips, two dup ip with uid, dup port, wrong order",
            [
                S(ready: [A("5.6.7.8")], ports: [P(111)]), S(ready: [A("5.6.7.8", "uid-1")], ports: [P(111)]),
                S(ready: [A("1.2.3.4", "uid-1")], ports: [P(111)]), S(ready: [A("1.2.3.4")], ports: [P(111)]),
            ],
            [S(ready: [A("1.2.3.4"), A("1.2.3.4", "uid-1"), A("5.6.7.8"), A("5.6.7.8", "uid-1")], ports: [P(111)])]
        },
        {
            "two sets, two mixed ips, two dup ip with uid, dup port, wrong order, ends up with split addresses",
            [
                S(ready: [A("5.6.7.8")], ports: [P(111)]), S(notReady: [A("5.6.7.8", "uid-1")], ports: [P(111)]),
                S(notReady: [A("1.2.3.4", "uid-1")], ports: [P(111)]), S(notReady: [A("1.2.3.4")], ports: [P(111)]),
            ],
            [S(ready: [A("5.6.7.8")], notReady: [A("1.2.3.4"), A("1.2.3.4", "uid-1"), A("5.6.7.8", "uid-1")], ports: [P(111)])]
        },
        {
            "two sets, two ips, two ports",
            [S(ready: [A("1.2.3.4")], ports: [P(111)]), S(ready: [A("5.6.7.8")], ports: [P(222)])],
            [S(ready: [A("1.2.3.4")], ports: [P(111)]), S(ready: [A("5.6.7.8")], ports: [P(222)])]
        },
        {
            "four sets, three ips, three ports, jumbled",
            [
                S(ready: [A("1.2.3.4")], ports: [P(111)]), S(ready: [A("1.2.3.5")], ports: [P(222)]),
                S(ready: [A("1.2.3.6")], ports: [P(111)]), S(ready: [A("1.2.3.5")], ports: [P(333)]),
            ],
            [S(ready: [A("1.2.3.4"), A("1.2.3.6")], ports: [P(111)]), S(ready: [A("1.2.3.5")], ports: [P(222), P(333)])]
        },
        {
            "four sets, three mixed ips, three ports, jumbled",
            [
                S(ready: [A("1.2.3.4")], ports: [P(111)]), S(notReady: [A("1.2.3.5")], ports: [P(222)]),
                S(ready: [A("1.2.3.6")], ports: [P(111)]), S(notReady: [A("1.2.3.5")], ports: [P(333)]),
            ],
            [S(ready: [A("1.2.3.4"), A("1.2.3.6")], ports: [P(111)]), S(notReady: [A("1.2.3.5")], ports: [P(222), P(333)])]
        },
    };

    [Theory]
    [MemberData(nameof(PackCases))]
    public void Repack_UpstreamCases_CanonicalLayout(string name, List<EndpointSubset> given, List<EndpointSubset> expect)
    {
        var result = EndpointSubsets.Repack(given);

        Assert.True(SubsetText.Of(EndpointSubsets.Sort(expect), strict: true) == SubsetText.Of(result, strict: true),
            $"{name}: expected {SubsetText.Of(expect, strict: true)}, got {SubsetText.Of(result, strict: true)}");
    }

    [Fact]
    public void Repack_JumbledInputs_SameOrderWhateverTheInputOrder()
    {
        List<EndpointSubset> subsets =
        [
            S(ready: [A("1.2.3.6")], ports: [P(111)]), S(notReady: [A("1.2.3.5")], ports: [P(333)]),
            S(ready: [A("1.2.3.4")], ports: [P(111)]), S(notReady: [A("1.2.3.5")], ports: [P(222)]),
        ];

        var forward = SubsetText.Of(EndpointSubsets.Repack(subsets), strict: true);
        var backward = SubsetText.Of(EndpointSubsets.Repack(Enumerable.Reverse(subsets).ToList()), strict: true);

        Assert.Equal(forward, backward);
        Assert.Equal("[{ready=nil notReady=[1.2.3.5|||-] ports=[:222// :333//]}, {ready=[1.2.3.4|||- 1.2.3.6|||-] notReady=nil ports=[:111//]}]",
            forward);
    }

    [Fact]
    public void Repack_DoesNotModifyItsInput()
    {
        List<EndpointSubset> given = [S(ready: [A("5.6.7.8"), A("1.2.3.4")], notReady: [A("1.2.3.4")], ports: [P(222), P(111)])];
        var before = SubsetText.Of(given, strict: true);

        EndpointSubsets.Repack(given);

        Assert.Equal(before, SubsetText.Of(given, strict: true));
    }

    public static TheoryData<string, List<EndpointSubset>, List<EndpointSubset>, bool> EqualCases
    {
        get
        {
            var data = new TheoryData<string, List<EndpointSubset>, List<EndpointSubset>, bool>
            {
                { "Subsets removed", [Es1(), Es2()], [Es1()], false },
                { "Ready Pod IP changed", [Es1(), Es2()], [Es1(s => s.Addresses![0].Ip = "1.1.1.10"), Es2()], false },
                { "NotReady Pod IP changed", [Es1(), Es2()], [Es1(), Es2(s => s.NotReadyAddresses![0].Ip = "2.2.2.10")], false },
                { "Pod ResourceVersion changed", [Es1(), Es2()], [Es1(), Es2(s => s.Addresses![0].TargetRef!.ResourceVersion = "100")], true },
                { "Pod ResourceVersion removed", [Es1(), Es2()], [Es1(), Es2(s => s.Addresses![0].TargetRef!.ResourceVersion = null)], true },
                { "Ports changed", [Es1(), Es2()], [Es1(), Es1(s => s.Ports![0].Port = 8082)], false },
                // Semantic equality: a missing list is an empty one.
                { "nil and empty subsets", [], [], true },
                { "nil and empty ports", [S(ready: [A("1.1.1.1")], ports: [])], [S(ready: [A("1.1.1.1")])], true },
                { "targetRef uid changed", [Es1()], [Es1(s => s.Addresses![0].TargetRef!.Uid = "other")], false },
                { "nodeName changed", [Es1()], [Es1(s => s.Addresses![0].NodeName = "node-b")], false },
                { "hostname changed", [Es1()], [Es1(s => s.Addresses![0].Hostname = "h")], false },
                { "appProtocol changed", [Es1()], [Es1(s => s.Ports![0].AppProtocol = "http")], false },
            };
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EqualCases))]
    public void EqualIgnoreResourceVersion_UpstreamCases(string name, List<EndpointSubset> a, List<EndpointSubset> b, bool expected)
    {
        Assert.True(expected == EndpointSubsets.EqualIgnoreResourceVersion(a, b), name);
    }

    [Fact]
    public void EqualIgnoreResourceVersion_NullEqualsEmpty()
    {
        Assert.True(EndpointSubsets.EqualIgnoreResourceVersion(null, []));
        Assert.False(EndpointSubsets.EqualIgnoreResourceVersion(null, [Es1()]));
    }

    public static TheoryData<string, EndpointAddress, EndpointAddress, int> CompareCases => new()
    {
        { "ip decides", A("1.2.3.4", "b"), A("1.2.3.5", "a"), -1 },
        { "bytes, not numbers", A("10.0.0.1"), A("9.0.0.1"), -1 },
        { "no targetRef first", A("1.2.3.4"), A("1.2.3.4", "a"), -1 },
        { "then uid", A("1.2.3.4", "uid-2"), A("1.2.3.4", "uid-1"), 1 },
        { "same", A("1.2.3.4", "uid-1"), A("1.2.3.4", "uid-1"), 0 },
    };

    [Theory]
    [MemberData(nameof(CompareCases))]
    public void CompareAddresses_LessEndpointAddress(string name, EndpointAddress a, EndpointAddress b, int expected)
    {
        Assert.True(expected == Math.Sign(EndpointSubsets.CompareAddresses(a, b)), name);
        Assert.True(-expected == Math.Sign(EndpointSubsets.CompareAddresses(b, a)), name);
    }

    private static EndpointSubset Es1(Action<EndpointSubset>? mutate = null)
    {
        var subset = S(
            ready: [new EndpointAddress { Ip = "1.1.1.1", TargetRef = new() { Kind = "Pod", Name = "pod1-1", Namespace = "ns", ResourceVersion = "1" } }],
            notReady: [new EndpointAddress { Ip = "1.1.1.2", TargetRef = new() { Kind = "Pod", Name = "pod1-2", Namespace = "ns2", ResourceVersion = "2" } }],
            ports: [new EndpointPort { Port = 8081, Protocol = "TCP" }]);
        mutate?.Invoke(subset);
        return subset;
    }

    private static EndpointSubset Es2(Action<EndpointSubset>? mutate = null)
    {
        var subset = S(
            ready: [new EndpointAddress { Ip = "2.2.2.1", TargetRef = new() { Kind = "Pod", Name = "pod2-1", Namespace = "ns", ResourceVersion = "3" } }],
            notReady: [new EndpointAddress { Ip = "2.2.2.2", TargetRef = new() { Kind = "Pod", Name = "pod2-2", Namespace = "ns2", ResourceVersion = "4" } }],
            ports: [new EndpointPort { Port = 8082, Protocol = "TCP" }]);
        mutate?.Invoke(subset);
        return subset;
    }

    private static EndpointSubset S(List<EndpointAddress>? ready = null, List<EndpointAddress>? notReady = null, List<EndpointPort>? ports = null) =>
        new() { Addresses = ready, NotReadyAddresses = notReady, Ports = ports };

    private static EndpointAddress A(string ip) => new() { Ip = ip };

    // Upstream podRef: a targetRef with only a UID.
    private static EndpointAddress A(string ip, string uid) => new() { Ip = ip, TargetRef = new ObjectReference { Uid = uid } };

    private static EndpointAddress A(string ip, ObjectReference targetRef) => new() { Ip = ip, TargetRef = targetRef };

    private static EndpointPort P(int port) => new() { Port = port };
}
