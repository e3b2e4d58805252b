using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Berth.Api.Models;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Tests.Proxy.Tracking;

/// <summary>The fixtures of upstream pkg/proxy tests (makeTestService, addTestPort, generateEndpointSlice, makeServicePortName).</summary>
internal static class ProxyObjects
{
    public const string TestHostname = "test-hostname";

    /// <summary>Upstream makeTestService: name and namespace, empty annotations, the rest set by <paramref name="configure"/>.</summary>
    public static Service MakeTestService(string ns, string name, Action<Service> configure)
    {
        var service = new Service
        {
            Metadata = new ObjectMeta { Namespace = ns, Name = name, Annotations = [] },
            Spec = new ServiceSpec(),
            Status = new ServiceStatus(),
        };
        configure(service);
        return service;
    }

    /// <summary>Upstream addTestPort.</summary>
    public static void AddTestPort(Service service, string name, string protocol, int port, int nodePort, int targetPort) =>
        (service.Spec!.Ports ??= []).Add(new ServicePort { Name = name, Protocol = protocol, Port = port, NodePort = nodePort, TargetPort = targetPort });

    public static void SetIngress(Service service, params LoadBalancerIngress[] ingress) =>
        service.Status = new ServiceStatus { LoadBalancer = new LoadBalancerStatus { Ingress = [.. ingress] } };

    public static ServicePortName Spn(string ns, string name, string port, TransportProtocol protocol = TransportProtocol.Tcp) => new(ns, name, port, protocol);

    public static IPAddress Ip(string text) => IPAddress.Parse(text);

    /// <summary>
    /// Upstream generateEndpointSliceWithOffset: slice "{service}-{sliceNum}", endpoints 10.0.{offset}.1..n, every
    /// unreadyMod-th one not serving, every terminatingMod-th one terminating (and so not ready), node
    /// hosts[i % hosts.Length], one TCP port "port-{i}" per entry of <paramref name="ports"/>.
    /// </summary>
    public static EndpointSlice GenerateEndpointSliceWithOffset(string service, string ns, int sliceNum, int offset, int numEndpoints, int unreadyMod, int terminatingMod, string[] hosts, int?[] ports)
    {
        var slice = new EndpointSlice
        {
            Metadata = new ObjectMeta
            {
                Name = $"{service}-{sliceNum}",
                Namespace = ns,
                Labels = new() { ["kubernetes.io/service-name"] = service },
            },
            AddressType = "IPv4",
            Ports = [.. ports.Select((port, i) => new EndpointSlicePort { Name = $"port-{i}", Port = port, Protocol = "TCP" })],
            Endpoints = [],
        };
        for (var i = 1; i <= numEndpoints; i++)
        {
            var ready = i % unreadyMod != 0;
            var terminating = i % terminatingMod == 0;
            slice.Endpoints.Add(new Endpoint
            {
                Addresses = [$"10.0.{offset}.{i}"],
                Conditions = new EndpointConditions { Ready = ready && !terminating, Serving = ready, Terminating = terminating },
                NodeName = hosts.Length > 0 ? hosts[i % hosts.Length] : null,
            });
        }
        return slice;
    }

    public static EndpointSlice GenerateEndpointSlice(string service, string ns, int sliceNum, int numEndpoints, int unreadyMod, int terminatingMod, string[] hosts, int?[] ports) =>
        GenerateEndpointSliceWithOffset(service, ns, sliceNum, sliceNum, numEndpoints, unreadyMod, terminatingMod, hosts, ports);

    /// <summary>An expected endpoint as upstream's BaseEndpointInfo literals write it.</summary>
    public static EndpointInfo Ep(string endpoint, bool isLocal = false, bool ready = true, bool serving = true, bool terminating = false)
    {
        var colon = endpoint.LastIndexOf(':');
        return new EndpointInfo(IPAddress.Parse(endpoint.AsSpan(0, colon).Trim("[]")), int.Parse(endpoint.AsSpan(colon + 1), CultureInfo.InvariantCulture))
        {
            IsLocal = isLocal,
            Ready = ready,
            Serving = serving,
            Terminating = terminating,
        };
    }

    /// <summary>Compares endpoints on what upstream's test BaseEndpointInfo literals set: ip:port, local, and the three conditions.</summary>
    public static void AssertEndpoints(IEnumerable<EndpointInfo> expected, IEnumerable<EndpointInfo> actual) =>
        Assert.Equal(
            expected.Select(Describe).ToArray(),
            actual.Select(Describe).ToArray());

    public static string Describe(EndpointInfo e) =>
        $"{e} local={e.IsLocal} ready={e.Ready} serving={e.Serving} terminating={e.Terminating}";

    /// <summary>Service port names in upstream's string form, sorted: ServicePortName has no order of its own.</summary>
    public static string[] Names(IEnumerable<ServicePortName> names) => [.. names.Select(n => n.ToString()).Order(StringComparer.Ordinal)];

    public static ImmutableDictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        labels.ToImmutableDictionary(l => l.Key, l => l.Value);
}
