using Berth.Api.Models;
using Berth.Controllers.EndpointSlices;
using static Berth.Controllers.Tests.EndpointRules.EndpointObjects;

namespace Berth.Controllers.Tests.EndpointRules;

// Ported from kubernetes staging/src/k8s.io/endpointslice/utils_test.go: TestPodToEndpoint, TestGetEndpointPorts,
// TestSupportedServiceAddressType; plus the address rules of getEndpointAddresses.
public sealed class PodToEndpointTests
{
    private const string Ns = "test";

    private static readonly Node s_node1 = new()
    {
        Metadata = new ObjectMeta
        {
            Name = "node-1",
            Labels = new() { ["topology.kubernetes.io/zone"] = "us-central1-a", ["topology.kubernetes.io/region"] = "us-central1" },
        },
    };

    public static TheoryData<string, Pod, Node?, Service, Endpoint> PodToEndpointCases()
    {
        var svc = NewService("foo", Ns);
        var svcPublishNotReady = NewService("publishnotready", Ns);
        svcPublishNotReady.Spec!.PublishNotReadyAddresses = true;

        var readyPod = NewPod(1, ready: true, terminating: false, ns: Ns);
        var readyTerminatingPod = NewPod(1, ready: true, terminating: true, ns: Ns);
        var readyPodHostname = NewPod(1, ready: true, terminating: false, ns: Ns);
        readyPodHostname.Spec!.Subdomain = svc.Metadata!.Name;
        readyPodHostname.Spec.Hostname = "example-hostname";
        var unreadyPod = NewPod(1, ready: false, terminating: false, ns: Ns);
        var unreadyTerminatingPod = NewPod(1, ready: false, terminating: true, ns: Ns);
        var multiIPPod = NewPod(1, ready: true, terminating: false, ns: Ns);
        multiIPPod.Status!.PodIPs = [new PodIP { Ip = "1.2.3.4" }, new PodIP { Ip = "1234::5678:0000:0000:9abc:def0" }];
        // Berth's pod network is loopback: those addresses are endpoints like any other.
        var loopbackPod = NewPod(1, ready: true, terminating: false, ns: Ns);
        loopbackPod.Status!.PodIPs = [new PodIP { Ip = "127.244.0.7" }];

        return new()
        {
            { "Ready pod", readyPod, null, svc, Ep("1.2.3.5", ready: true, serving: true, terminating: false) },
            { "Ready pod + publishNotReadyAddresses", readyPod, null, svcPublishNotReady, Ep("1.2.3.5", ready: true, serving: true, terminating: false) },
            { "Unready pod", unreadyPod, null, svc, Ep("1.2.3.5", ready: false, serving: false, terminating: false) },
            { "Unready pod + publishNotReadyAddresses", unreadyPod, null, svcPublishNotReady, Ep("1.2.3.5", ready: true, serving: false, terminating: false) },
            { "Ready pod + node labels", readyPod, s_node1, svc, Ep("1.2.3.5", ready: true, serving: true, terminating: false, zone: "us-central1-a") },
            { "Multi IP Ready pod + node labels", multiIPPod, s_node1, svc, Ep("1.2.3.4", ready: true, serving: true, terminating: false, zone: "us-central1-a") },
            { "Ready pod + hostname", readyPodHostname, s_node1, svc, Ep("1.2.3.5", ready: true, serving: true, terminating: false, zone: "us-central1-a", hostname: "example-hostname") },
            { "Ready terminating pod", readyTerminatingPod, null, svc, Ep("1.2.3.5", ready: false, serving: true, terminating: true) },
            { "Not ready terminating pod", unreadyTerminatingPod, null, svc, Ep("1.2.3.5", ready: false, serving: false, terminating: true) },
            { "Ready terminating pod + publishNotReadyAddresses", readyTerminatingPod, null, svcPublishNotReady, Ep("1.2.3.5", ready: true, serving: true, terminating: true) },
            { "Ready pod, hostname but subdomain of another service", readyPodHostname, null, svcPublishNotReady, Ep("1.2.3.5", ready: true, serving: true, terminating: false) },
            { "Ready pod with a loopback IP", loopbackPod, null, svc, Ep("127.244.0.7", ready: true, serving: true, terminating: false) },
        };
    }

    [Theory]
    [MemberData(nameof(PodToEndpointCases))]
    public void PodToEndpoint_Table(string name, Pod pod, Node? node, Service service, Endpoint expected)
    {
        var endpoint = EndpointSliceRules.PodToEndpoint(pod, node, service, EndpointSliceRules.AddressTypeIPv4);

        Assert.True(Json(expected) == Json(endpoint), $"{name}: expected {Json(expected)}, got {Json(endpoint)}");
    }

    [Fact]
    public void PodToEndpoint_NodeWithoutZoneAndPodWithoutNode_NoZoneNoNodeName()
    {
        var pod = NewPod(1, ready: true, terminating: false, ns: Ns);
        pod.Spec!.NodeName = "";
        var node = new Node { Metadata = new ObjectMeta { Name = "node-1", Labels = new() { ["topology.kubernetes.io/zone"] = "" } } };

        var endpoint = EndpointSliceRules.PodToEndpoint(pod, node, NewService("foo", Ns), EndpointSliceRules.AddressTypeIPv4);

        Assert.Null(endpoint.NodeName);
        Assert.Null(endpoint.Zone);
    }

    public static TheoryData<string, Service, Pod, EndpointSlicePort[]> EndpointPortCases()
    {
        var namedPod = new Pod
        {
            Spec = new PodSpec { Containers = [new Container { Ports = [new ContainerPort { Name = "https", ContainerPortNumber = 443, Protocol = "TCP" }] }] },
        };
        var otherNamedPod = new Pod
        {
            Spec = new PodSpec { Containers = [new Container { Ports = [new ContainerPort { Name = "https", ContainerPortNumber = 8443, Protocol = "TCP" }] }] },
        };
        var sidecarPod = new Pod
        {
            Spec = new PodSpec
            {
                Containers = [new Container { Name = "app" }],
                InitContainers =
                [
                    new Container { Name = "init", Ports = [new ContainerPort { Name = "https", ContainerPortNumber = 1443, Protocol = "TCP" }] },
                    new Container { Name = "proxy", RestartPolicy = "Always", Ports = [new ContainerPort { Name = "https", ContainerPortNumber = 2443, Protocol = "TCP" }] },
                ],
            },
        };
        var twoPorts = new Service
        {
            Spec = new ServiceSpec
            {
                Ports =
                [
                    new ServicePort { Name = "http", Port = 80, TargetPort = 80, Protocol = "TCP" },
                    new ServicePort { Name = "https", Protocol = "TCP", TargetPort = "https", AppProtocol = "https" },
                ],
            },
        };
        return new()
        {
            {
                "service with AppProtocol on one port",
                new Service { Spec = new ServiceSpec { Ports = [new ServicePort { Name = "http", Port = 80, TargetPort = 80, Protocol = "TCP", AppProtocol = "example.com/custom-protocol" }] } },
                new Pod { Spec = new PodSpec { Containers = [new Container { Ports = [] }] } },
                [new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP", AppProtocol = "example.com/custom-protocol" }]
            },
            {
                "service with named port and AppProtocol on one port",
                twoPorts,
                namedPod,
                [new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP" }, new EndpointSlicePort { Name = "https", Port = 443, Protocol = "TCP", AppProtocol = "https" }]
            },
            // A named targetPort resolves per pod: another pod of the same Service may use another number.
            {
                "named port resolves to this pod's number",
                twoPorts,
                otherNamedPod,
                [new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP" }, new EndpointSlicePort { Name = "https", Port = 8443, Protocol = "TCP", AppProtocol = "https" }]
            },
            {
                "named port missing from the pod is left out",
                twoPorts,
                new Pod { Spec = new PodSpec { Containers = [new Container { Name = "app" }] } },
                [new EndpointSlicePort { Name = "http", Port = 80, Protocol = "TCP" }]
            },
            {
                "named port with another protocol does not match",
                new Service { Spec = new ServiceSpec { Ports = [new ServicePort { Name = "dns", Port = 53, Protocol = "UDP", TargetPort = "https" }] } },
                namedPod,
                []
            },
            {
                "named port of a sidecar (restartPolicy Always), not of a plain init container",
                new Service { Spec = new ServiceSpec { Ports = [new ServicePort { Name = "https", Port = 443, Protocol = "TCP", TargetPort = "https" }] } },
                sidecarPod,
                [new EndpointSlicePort { Name = "https", Port = 2443, Protocol = "TCP" }]
            },
            {
                "unnamed port without targetPort uses the port",
                new Service { Spec = new ServiceSpec { Ports = [new ServicePort { Port = 8080, Protocol = "TCP" }] } },
                namedPod,
                [new EndpointSlicePort { Name = "", Port = 8080, Protocol = "TCP" }]
            },
            {
                "headless service without ports",
                new Service { Spec = new ServiceSpec { ClusterIP = "None" } },
                namedPod,
                []
            },
        };
    }

    [Theory]
    [MemberData(nameof(EndpointPortCases))]
    public void GetEndpointPorts_Table(string name, Service service, Pod pod, EndpointSlicePort[] expected)
    {
        var ports = EndpointSliceRules.GetEndpointPorts(service, pod);

        Assert.True(Json(expected.ToList()) == Json(ports), $"{name}: expected {Json(expected.ToList())}, got {Json(ports)}");
    }

    public static TheoryData<string, string[], string, string[]> AddressCases => new()
    {
        { "IPv4 of a single-stack pod", ["1.2.3.4"], "IPv4", ["1.2.3.4"] },
        { "IPv4 slice of a dual-stack pod", ["1.2.3.4", "1234::5678:0000:0000:9abc:def0"], "IPv4", ["1.2.3.4"] },
        { "IPv6 slice of a dual-stack pod, canonical form", ["1.2.3.4", "1234::5678:0000:0000:9abc:def0"], "IPv6", ["1234::5678:0:0:9abc:def0"] },
        { "IPv6 slice of an IPv4 pod", ["1.2.3.4"], "IPv6", [] },
        { "loopback pod IP", ["127.244.1.2"], "IPv4", ["127.244.1.2"] },
        { "leading zeros read as decimal (ParseIPSloppy)", ["010.001.002.003"], "IPv4", ["10.1.2.3"] },
        { "IPv4-mapped IPv6 is IPv4", ["::ffff:1.2.3.4"], "IPv4", ["1.2.3.4"] },
        { "unparseable IP skipped", ["1.2.3"], "IPv4", [] },
    };

    [Theory]
    [MemberData(nameof(AddressCases))]
    public void GetEndpointAddresses_Table(string name, string[] podIPs, string addressType, string[] expected)
    {
        var status = new PodStatus { PodIPs = [.. podIPs.Select(ip => new PodIP { Ip = ip })] };

        Assert.True(expected.SequenceEqual(EndpointSliceRules.GetEndpointAddresses(status, new Service(), addressType)), name);
    }

    public static TheoryData<string, ServiceSpec, string[]> AddressTypeCases => new()
    {
        { "v4 service with no ip families (cluster upgrade)", new ServiceSpec { ClusterIP = "10.0.0.10" }, ["IPv4"] },
        { "v6 service with no ip families (cluster upgrade)", new ServiceSpec { ClusterIP = "2000::1" }, ["IPv6"] },
        { "v4 service", new ServiceSpec { IpFamilies = ["IPv4"] }, ["IPv4"] },
        { "v6 services", new ServiceSpec { IpFamilies = ["IPv6"] }, ["IPv6"] },
        { "v4,v6 service", new ServiceSpec { IpFamilies = ["IPv4", "IPv6"] }, ["IPv4", "IPv6"] },
        { "v6,v4 service", new ServiceSpec { IpFamilies = ["IPv6", "IPv4"] }, ["IPv6", "IPv4"] },
        { "headless with no selector and no families (old api-server)", new ServiceSpec { ClusterIP = "None" }, ["IPv4", "IPv6"] },
        { "headless with selector and no families (old api-server)", new ServiceSpec { ClusterIP = "None", Selector = new() { ["foo"] = "bar" } }, ["IPv4", "IPv6"] },
        { "headless with no selector with families", new ServiceSpec { ClusterIP = "None", IpFamilies = ["IPv4", "IPv6"] }, ["IPv4", "IPv6"] },
        { "headless with selector with families", new ServiceSpec { ClusterIP = "None", Selector = new() { ["foo"] = "bar" }, IpFamilies = ["IPv4", "IPv6"] }, ["IPv4", "IPv6"] },
    };

    [Theory]
    [MemberData(nameof(AddressTypeCases))]
    public void AddressTypes_Table(string name, ServiceSpec spec, string[] expected)
    {
        Assert.True(expected.SequenceEqual(EndpointSliceRules.AddressTypes(new Service { Spec = spec })), name);
    }

    private static Endpoint Ep(string address, bool ready, bool serving, bool terminating, string? zone = null, string? hostname = null) => new()
    {
        Addresses = [address],
        Conditions = new EndpointConditions { Ready = ready, Serving = serving, Terminating = terminating },
        Hostname = hostname,
        NodeName = "node-1",
        TargetRef = new ObjectReference { Kind = "Pod", Namespace = Ns, Name = "pod1" },
        Zone = zone,
    };
}
