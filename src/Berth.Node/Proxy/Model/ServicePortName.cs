namespace Berth.Node.Proxy.Model;

/// <summary>The transport of a Service port. SCTP is valid in the API but not proxied here (no userspace SCTP relay).</summary>
public enum TransportProtocol
{
    Tcp,
    Udp,
    Sctp,
}

/// <summary>
/// One port of one Service: the unit the proxy programs (upstream's proxy.ServicePortName). The same port number over
/// TCP and UDP is two independent service ports.
/// </summary>
public readonly record struct ServicePortName(string Namespace, string Name, string Port, TransportProtocol Protocol)
{
    /// <summary>upstream's form, <c>ns/name:port</c>, with the protocol when it is not TCP.</summary>
    public override string ToString() =>
        (Port.Length == 0 ? $"{Namespace}/{Name}" : $"{Namespace}/{Name}:{Port}") + (Protocol == TransportProtocol.Tcp ? "" : "/" + Protocol.ToString().ToUpperInvariant());
}
