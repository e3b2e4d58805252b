using System.Net;
using System.Net.Sockets;
using Berth.Api.Models;
using Berth.Controllers.ServiceEndpoints;

namespace Berth.Controllers.Tests.ServiceEndpoints;

// Ported from kubernetes pkg/controller/endpoint/endpoints_controller_test.go: the controller's pure functions
// (TestPodToEndpointAddressForService, TestTruncateEndpoints, TestEndpointPortFromServicePort).
public sealed class EndpointsFunctionTests
{
    private static readonly string[] s_ipv4Only = ["IPv4"];
    private static readonly string[] s_ipv6Only = ["IPv6"];
    private static readonly string[] s_ipv4Ipv6 = ["IPv4", "IPv6"];
    private static readonly string[] s_ipv6Ipv4 = ["IPv6", "IPv4"];

    // (name, pod's families, service clusterIP, service ipFamilies, expected family or null for no address)
    public static TheoryData<string, string[], string, string[]?, string?> AddressCases => new()
    {
        { "v4 service, in a single stack cluster", s_ipv4Only, "10.0.0.1", null, "IPv4" },
        { "v4 service, in a dual stack cluster", s_ipv4Ipv6, "10.0.0.1", null, "IPv4" },
        { "v4 service, in a dual stack ipv6-primary cluster", s_ipv6Ipv4, "10.0.0.1", null, "IPv4" },
        { "v4 headless service, in a single stack cluster", s_ipv4Only, "None", null, "IPv4" },
        { "v4 headless service, in a dual stack cluster", s_ipv4Ipv6, "None", s_ipv4Only, "IPv4" },
        { "v4 legacy headless service, in a dual stack cluster", s_ipv4Ipv6, "None", null, "IPv4" },
        { "v4 legacy headless service, in a dual stack ipv6-primary cluster", s_ipv6Ipv4, "None", null, "IPv6" },
        { "v6 service, in a dual stack cluster", s_ipv4Ipv6, "3000::1", null, "IPv6" },
        { "v6 headless service, in a single stack cluster", s_ipv6Only, "None", null, "IPv6" },
        { "v6 headless service, in a dual stack cluster (connected to a new api-server)", s_ipv4Ipv6, "None", s_ipv6Only, "IPv6" },
        { "v6 legacy headless service, in a dual stack cluster  (connected to a old api-server)", s_ipv4Ipv6, "None", null, "IPv4" },
        // A misconfigured cluster (pods v4, Services v6): no address rather than one of the wrong family.
        { "v6 service, in a v4 only cluster", s_ipv4Only, "3000::1", null, null },
        { "ipFamilies win over the clusterIP", s_ipv4Ipv6, "10.0.0.1", s_ipv6Only, "IPv6" },
    };

    [Theory]
    [MemberData(nameof(AddressCases))]
    public void PodToEndpointAddressForService_IpOfTheServiceFamily(string name, string[] podFamilies, string clusterIP, string[]? serviceFamilies, string? expectedFamily)
    {
        var pod = TestPod("test", 0, podFamilies);
        var service = new Service { Metadata = new() { Name = "foo", Namespace = "test" }, Spec = new() { ClusterIP = clusterIP, IpFamilies = serviceFamilies?.ToList() } };

        var address = EndpointsController.PodToEndpointAddressForService(service, pod);

        if (expectedFamily is null)
        {
            Assert.True(address is null, name);
            return;
        }
        Assert.NotNull(address);
        var family = IPAddress.Parse(address.Ip!).AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";
        Assert.True(expectedFamily == family, $"{name}: expected {expectedFamily}, got {address.Ip}");
        Assert.Equal("node-1", address.NodeName);
        Assert.Null(address.Hostname);
        Assert.Equal(("Pod", "test", "pod0", "uid-pod0", null), (address.TargetRef!.Kind, address.TargetRef.Namespace, address.TargetRef.Name,
            address.TargetRef.Uid, address.TargetRef.ResourceVersion));
    }

    [Fact]
    public void PodToEndpointAddressForService_UnscheduledPod_EmptyNodeName()
    {
        var pod = TestPod("test", 0, s_ipv4Only);
        pod.Spec!.NodeName = null;

        var address = EndpointsController.PodToEndpointAddressForService(new Service { Spec = new() { ClusterIP = "10.0.0.1" } }, pod);

        // Upstream writes &pod.Spec.NodeName: an empty string, not a missing field.
        Assert.Equal("", address!.NodeName);
    }

    // (description, ready per subset, not ready per subset, expected ready, expected not ready)
    public static TheoryData<string, int[], int[], int[], int[]> TruncateCases => new()
    {
        { "empty", [], [], [], [] },
        { "total endpoints < max capacity", [50, 100, 100, 100, 100], [50, 100, 100, 100, 100], [50, 100, 100, 100, 100], [50, 100, 100, 100, 100] },
        { "total endpoints = max capacity", [100, 100, 100, 100, 100], [100, 100, 100, 100, 100], [100, 100, 100, 100, 100], [100, 100, 100, 100, 100] },
        {
            "total ready endpoints < max capacity, but total endpoints > max capacity",
            [90, 110, 50, 10, 20], [101, 200, 200, 201, 298], [90, 110, 50, 10, 20], [73, 144, 144, 145, 214]
        },
        { "total ready endpoints > max capacity", [205, 400, 402, 400, 693], [100, 200, 200, 200, 300], [98, 191, 192, 191, 328], [0, 0, 0, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(TruncateCases))]
    public void TruncateEndpoints_ReadyFirstInProportion(string description, int[] ready, int[] notReady, int[] expectedReady, int[] expectedNotReady)
    {
        var endpoints = new Endpoints
        {
            Subsets = [.. ready.Select((n, i) => new EndpointSubset
            {
                Addresses = [.. Enumerable.Range(0, n).Select(_ => new EndpointAddress())],
                NotReadyAddresses = [.. Enumerable.Range(0, notReady[i]).Select(_ => new EndpointAddress())],
            })],
        };

        var truncated = EndpointsController.TruncateEndpoints(endpoints);

        Assert.True(expectedReady.Sum() + expectedNotReady.Sum() < ready.Sum() + notReady.Sum() == truncated, description);
        Assert.Equal(expectedReady, endpoints.Subsets.Select(s => s.Addresses?.Count ?? 0));
        Assert.Equal(expectedNotReady, endpoints.Subsets.Select(s => s.NotReadyAddresses?.Count ?? 0));
    }

    [Theory]
    [InlineData("empty app protocol", null)]
    [InlineData("http app protocol", "http")]
    public void EndpointPortFromServicePort_CopiesAppProtocol(string name, string? appProtocol)
    {
        var port = EndpointsController.EndpointPortFromServicePort(new ServicePort { Name = "test", AppProtocol = appProtocol, Protocol = "UDP" }, 80);

        Assert.True((appProtocol, "test", 80, "UDP") == (port.AppProtocol, port.Name, port.Port, port.Protocol), name);
    }

    // The trigger time as Go's time.RFC3339Nano writes it (TestLastTriggerChangeTimeAnnotation's triggerTimeString).
    [Theory]
    [InlineData(0L, "2018-01-01T00:00:00Z")]
    [InlineData(5_000_000L, "2018-01-01T00:00:00.5Z")]
    [InlineData(1_234_567L, "2018-01-01T00:00:00.1234567Z")]
    [InlineData(10_000L, "2018-01-01T00:00:00.001Z")]
    public void FormatRfc3339Nano_TrailingZerosLeftOut(long ticks, string expected)
    {
        var time = new DateTimeOffset(2018, 1, 1, 2, 0, 0, TimeSpan.FromHours(2)).AddTicks(ticks);

        Assert.Equal(expected, PodEndpointRules.FormatRfc3339Nano(time));
    }

    // Upstream testPod: ready, IPs 1.2.3.{4+id} / 2000::{4+id} in the given family order.
    private static Pod TestPod(string ns, int id, string[] families)
    {
        var ips = families.Select(f => f == "IPv4" ? $"1.2.3.{4 + id}" : $"2000::{4 + id}").ToList();
        return new Pod
        {
            Metadata = new() { Namespace = ns, Name = $"pod{id}", Uid = $"uid-pod{id}", ResourceVersion = $"{id}", Labels = new() { ["foo"] = "bar" } },
            Spec = new() { NodeName = "node-1", Containers = [new Container { Name = "c" }] },
            Status = new()
            {
                PodIP = ips[0],
                PodIPs = [.. ips.Select(ip => new PodIP { Ip = ip })],
                Conditions = [new PodCondition { Type = "Ready", Status = "True" }],
            },
        };
    }
}
