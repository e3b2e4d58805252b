using System.Net;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Routing;

/// <summary>Where a service port is reached, which decides the endpoint set it uses (internal vs external traffic policy).</summary>
public enum FrontendKind
{
    ClusterIP,
    NodePort,
    ExternalIP,
    LoadBalancer,
}

/// <summary>One address:port:protocol a backend listens on for a service port.</summary>
public readonly record struct Frontend(IPAddress Address, int Port, TransportProtocol Protocol, FrontendKind Kind)
{
    public IPEndPoint EndPoint => new(Address, Port);

    /// <summary>Traffic policy "external" applies (NodePort, externalIPs, load-balancer addresses).</summary>
    public bool IsExternal => Kind != FrontendKind.ClusterIP;

    public override string ToString() =>
        (Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}") + "/" + Protocol.ToString().ToUpperInvariant();
}
