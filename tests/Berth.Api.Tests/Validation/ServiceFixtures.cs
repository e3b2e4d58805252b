using Berth.Api.Models;
using Berth.Api.Validation;

namespace Berth.Api.Tests.Validation;

/// <summary>Builders shared by the Service validation tables, after upstream validation_test.go.</summary>
internal static class ServiceFixtures
{
    /// <summary>makeValidService: default/valid, selector {key: val}, affinity None, ClusterIP, port p TCP 8675→8675, iTP Cluster.</summary>
    public static Service MakeValidService() => new()
    {
        Metadata = new ObjectMeta { Name = "valid", Namespace = "valid", Labels = [], Annotations = [], ResourceVersion = "1" },
        Spec = new ServiceSpec
        {
            Selector = new() { ["key"] = "val" },
            SessionAffinity = "None",
            Type = "ClusterIP",
            Ports = [Port("p", "TCP", 8675, 8675)],
            InternalTrafficPolicy = "Cluster",
        },
    };

    public static ServicePort Port(string? name, string protocol, int port, IntOrString target, int? nodePort = null, string? appProtocol = null) =>
        new() { Name = name, Protocol = protocol, Port = port, TargetPort = target, NodePort = nodePort, AppProtocol = appProtocol };

    /// <summary>What most upstream cases set to make a valid LoadBalancer.</summary>
    public static void MakeLoadBalancer(Service service)
    {
        service.Spec!.Type = "LoadBalancer";
        service.Spec.ExternalTrafficPolicy = "Cluster";
        service.Spec.AllocateLoadBalancerNodePorts = true;
    }

    /// <summary>How kubectl prints one error: "field: message".</summary>
    public static string Render(FieldError error) => $"{error.Field}: {error.Message}";
}
