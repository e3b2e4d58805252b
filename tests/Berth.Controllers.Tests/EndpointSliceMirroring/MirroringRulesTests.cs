using Berth.Api.Models;
using Berth.Controllers.EndpointSliceMirroring;
using Berth.Controllers.EndpointSlices;

namespace Berth.Controllers.Tests.EndpointSliceMirroring;

// Ported from kubernetes pkg/controller/endpointslicemirroring/utils_test.go (TestNewEndpointSlice,
// TestAddressToEndpoint), plus the re-formatting of irregular IPs and the generateName prefix.
public sealed class MirroringRulesTests
{
    public static TheoryData<string, Dictionary<string, string>?, Dictionary<string, string>?, Dictionary<string, string>, Dictionary<string, string>> NewSliceCases => new()
    {
        { "create slice from endpoints", null, null, [], [] },
        { "create slice from endpoints with annotations", null, new() { ["foo"] = "bar" }, [], new() { ["foo"] = "bar" } },
        { "create slice from endpoints with labels", new() { ["foo"] = "bar" }, null, new() { ["foo"] = "bar" }, [] },
        {
            "create slice from endpoints with labels and annotations",
            new() { ["foo"] = "bar" }, new() { ["foo2"] = "bar2" }, new() { ["foo"] = "bar" }, new() { ["foo2"] = "bar2" }
        },
        {
            "create slice from endpoints with labels and annotations triggertime",
            new() { ["foo"] = "bar" }, new() { ["foo2"] = "bar2", ["endpoints.kubernetes.io/last-change-trigger-time"] = "date" },
            new() { ["foo"] = "bar" }, new() { ["foo2"] = "bar2" }
        },
    };

    [Theory]
    [MemberData(nameof(NewSliceCases))]
    public void NewEndpointSlice_Table(string name, Dictionary<string, string>? labels, Dictionary<string, string>? annotations,
        Dictionary<string, string> extraLabels, Dictionary<string, string> expectedAnnotations)
    {
        var endpoints = new Endpoints
        {
            Metadata = new ObjectMeta { Name = "foo", Namespace = "test", Uid = "uid-1", Labels = labels, Annotations = annotations },
            Subsets = [new EndpointSubset { Ports = [new EndpointPort { Port = 80 }] }],
        };
        List<EndpointSlicePort> ports = [new EndpointSlicePort { Name = "foo", Protocol = "TCP" }];

        var slice = MirroringRules.NewEndpointSlice(endpoints, ports, "IPv4", null);

        var expectedLabels = new Dictionary<string, string>(extraLabels)
        {
            [EndpointSliceRules.ServiceNameLabel] = "foo",
            [EndpointSliceRules.ManagedByLabel] = EndpointSliceRules.MirroringControllerName,
        };
        Assert.Equal(expectedLabels, slice.Metadata!.Labels);
        Assert.Equal(expectedAnnotations, slice.Metadata.Annotations);
        Assert.Equal(("foo-", null, "test"), (slice.Metadata.GenerateName, slice.Metadata.Name, slice.Metadata.Namespace));
        var owner = Assert.Single(slice.Metadata.OwnerReferences!);
        Assert.Equal(("v1", "Endpoints", "foo", "uid-1", true, true), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        Assert.Same(ports, slice.Ports);
        Assert.Equal("IPv4", slice.AddressType);
        Assert.Empty(slice.Endpoints!);
        // The Endpoints' own labels are not modified.
        Assert.True((labels?.Count ?? 0) <= 1, name);
    }

    [Fact]
    public void NewEndpointSlice_ExistingName_NamedNotGenerated()
    {
        var endpoints = new Endpoints { Metadata = new ObjectMeta { Name = "foo", Namespace = "test" } };

        var slice = MirroringRules.NewEndpointSlice(endpoints, [], "IPv6", "foo-abcde");

        Assert.Equal(("foo-abcde", null, "IPv6"), (slice.Metadata!.Name, slice.Metadata.GenerateName, slice.AddressType));
    }

    [Fact]
    public void AddressToEndpoint_Simple()
    {
        var targetRef = new ObjectReference { ApiVersion = "v1", Kind = "Pod", Namespace = "default", Name = "foo" };
        var address = new EndpointAddress { Ip = "10.1.2.3", Hostname = "foo", NodeName = "node-abc", TargetRef = targetRef };

        var (endpoint, addressType) = MirroringRules.AddressToEndpoint(address, ready: true);

        Assert.Equal("IPv4", addressType);
        Assert.Equal(["10.1.2.3"], endpoint!.Addresses);
        Assert.Equal(("foo", "node-abc", true), (endpoint.Hostname, endpoint.NodeName, endpoint.Conditions!.Ready));
        Assert.Same(targetRef, endpoint.TargetRef);
    }

    // addressToEndpoint parses sloppily and writes the address back in Go's canonical form (net.IP.String).
    [Theory]
    [InlineData("010.000.000.001", "10.0.0.1", "IPv4")]
    [InlineData("127.244.0.5", "127.244.0.5", "IPv4")]
    [InlineData("::ffff:1.2.3.4", "1.2.3.4", "IPv4")]
    [InlineData("2001:DB8:0:0:0:0:0:1", "2001:db8::1", "IPv6")]
    [InlineData("2001:db8:2222:3333:4444:5555:6666:7777", "2001:db8:2222:3333:4444:5555:6666:7777", "IPv6")]
    [InlineData("::1", "::1", "IPv6")]
    [InlineData("::102:304", "::102:304", "IPv6")]
    [InlineData("fe80::1:0:0:1", "fe80::1:0:0:1", "IPv6")]
    public void AddressToEndpoint_IrregularIP_Canonical(string ip, string expected, string expectedType)
    {
        var (endpoint, addressType) = MirroringRules.AddressToEndpoint(new EndpointAddress { Ip = ip }, ready: false);

        Assert.Equal((expected, expectedType, false), (Assert.Single(endpoint!.Addresses!), addressType, endpoint.Conditions!.Ready));
        Assert.Null(endpoint.Hostname);
    }

    [Theory]
    [InlineData("this-is-not-an-ip")]
    [InlineData("")]
    [InlineData("1.2.3")]
    public void AddressToEndpoint_NotAnIP_Null(string ip)
    {
        var (endpoint, addressType) = MirroringRules.AddressToEndpoint(new EndpointAddress { Ip = ip }, ready: true);

        Assert.Equal((null, null), (endpoint, addressType));
    }

    // epPortsToEpsPorts copies each field; the defaults are those upstream's API server gives Endpoints ports.
    [Theory]
    [InlineData("http", "UDP", "kubernetes.io/h2c", "http", "UDP", "kubernetes.io/h2c")]
    [InlineData(null, null, null, "", "TCP", null)]
    [InlineData("", "", null, "", "TCP", null)]
    public void ToSlicePorts_CopiedWithDefaults(string? name, string? protocol, string? appProtocol, string expectedName, string expectedProtocol, string? expectedAppProtocol)
    {
        var port = Assert.Single(MirroringRules.ToSlicePorts([new EndpointPort { Name = name, Port = 8080, Protocol = protocol, AppProtocol = appProtocol }]));

        Assert.Equal((expectedName, 8080, expectedProtocol, expectedAppProtocol), (port.Name, port.Port, port.Protocol, port.AppProtocol));
    }

    // getEndpointSlicePrefix: "name-" unless the dash would make the prefix longer than a name may be.
    [Theory]
    [InlineData(5, true)]
    [InlineData(252, true)]
    [InlineData(253, false)]
    public void NewEndpointSlice_GenerateName_DashUnlessTooLong(int length, bool withDash)
    {
        var name = new string('a', length);

        var slice = MirroringRules.NewEndpointSlice(new Endpoints { Metadata = new ObjectMeta { Name = name, Namespace = "test" } }, [], "IPv4", null);

        Assert.Equal(withDash ? name + "-" : name, slice.Metadata!.GenerateName);
    }
}
