using Berth.Api.Models;

namespace Berth.ApiServer.Tests.Services;

/// <summary>
/// Builds valid Services tersely, as upstream's pkg/api/service/testing/make.go (svctest) does, so cases ported from
/// the upstream tables read like the originals: a ClusterIP Service with one port and a trivial selector, then tweaks.
/// Every Service gets a uid (the allocation owner) derived from its name.
/// </summary>
internal static class ServiceMaker
{
    public static Service MakeService(string name, params Action<Service>[] tweaks)
    {
        var svc = new Service
        {
            Metadata = new ObjectMeta { Name = name, Namespace = "default", Uid = "uid-" + name },
            Spec = new ServiceSpec { Selector = new() { ["k"] = "v" }, SessionAffinity = "None" },
        };
        SetTypeClusterIP(svc);
        SetPorts(MakeServicePort("", 93, 76, "TCP"))(svc);
        foreach (var tweak in tweaks)
        {
            tweak(svc);
        }
        return svc;
    }

    public static ServicePort MakeServicePort(string name, int port, IntOrString targetPort, string protocol) =>
        new() { Name = name, Port = port, TargetPort = targetPort, Protocol = protocol };

    public static void SetTypeClusterIP(Service svc)
    {
        var spec = svc.Spec!;
        spec.Type = "ClusterIP";
        foreach (var port in spec.Ports ?? [])
        {
            port.NodePort = null;
        }
        spec.ExternalName = null;
        spec.ExternalTrafficPolicy = null;
        spec.AllocateLoadBalancerNodePorts = null;
        spec.InternalTrafficPolicy = "Cluster";
    }

    public static void SetTypeNodePort(Service svc)
    {
        var spec = svc.Spec!;
        spec.Type = "NodePort";
        spec.ExternalTrafficPolicy = "Cluster";
        spec.ExternalName = null;
        spec.AllocateLoadBalancerNodePorts = null;
        spec.InternalTrafficPolicy = "Cluster";
    }

    public static void SetTypeLoadBalancer(Service svc)
    {
        var spec = svc.Spec!;
        spec.Type = "LoadBalancer";
        spec.ExternalTrafficPolicy = "Cluster";
        spec.AllocateLoadBalancerNodePorts = true;
        spec.ExternalName = null;
        spec.InternalTrafficPolicy = "Cluster";
    }

    public static void SetTypeExternalName(Service svc)
    {
        var spec = svc.Spec!;
        spec.Type = "ExternalName";
        spec.ExternalName = "example.com";
        spec.ExternalTrafficPolicy = null;
        spec.ClusterIP = null;
        spec.ClusterIPs = null;
        spec.AllocateLoadBalancerNodePorts = null;
        spec.InternalTrafficPolicy = null;
    }

    public static void SetHeadless(Service svc)
    {
        SetTypeClusterIP(svc);
        SetClusterIPs("None")(svc);
    }

    public static Action<Service> SetPorts(params ServicePort[] ports) => svc => svc.Spec!.Ports = [.. ports];

    public static Action<Service> SetClusterIPs(params string[] ips) => svc =>
    {
        svc.Spec!.ClusterIP = ips[0];
        svc.Spec.ClusterIPs = [.. ips];
    };

    public static Action<Service> SetIPFamilyPolicy(string policy) => svc => svc.Spec!.IpFamilyPolicy = policy;

    public static Action<Service> SetIPFamilies(params string[] families) => svc => svc.Spec!.IpFamilies = [.. families];

    /// <summary>The values of each nodePort, in order; 0 means "not set". Ports beyond the values are untouched.</summary>
    public static Action<Service> SetNodePorts(params int[] values) => svc =>
    {
        var ports = svc.Spec!.Ports ?? [];
        for (var i = 0; i < ports.Count && i < values.Length; i++)
        {
            ports[i].NodePort = values[i] == 0 ? null : values[i];
        }
    };

    public static void SetUniqueNodePorts(Service svc)
    {
        var ports = svc.Spec!.Ports ?? [];
        for (var i = 0; i < ports.Count; i++)
        {
            ports[i].NodePort = 30000 + i;
        }
    }

    public static Action<Service> SetHealthCheckNodePort(int value) => svc => svc.Spec!.HealthCheckNodePort = value;

    public static Action<Service> SetExternalTrafficPolicy(string policy) => svc => svc.Spec!.ExternalTrafficPolicy = policy;

    public static Action<Service> SetAllocateLoadBalancerNodePorts(bool value) => svc => svc.Spec!.AllocateLoadBalancerNodePorts = value;

    public static Action<Service> SetSelector(Dictionary<string, string> selector) => svc => svc.Spec!.Selector = new(selector);

    public static Action<Service> SetLoadBalancerClass(string? loadBalancerClass) => svc => svc.Spec!.LoadBalancerClass = loadBalancerClass;

    public static Action<Service> SetIngressIP(string ip) => svc =>
        svc.Status = new ServiceStatus { LoadBalancer = new LoadBalancerStatus { Ingress = [new LoadBalancerIngress { Ip = ip, IpMode = "VIP" }] } };
}
