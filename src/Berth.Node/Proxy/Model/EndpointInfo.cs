using System.Collections.Immutable;
using System.Net;

namespace Berth.Node.Proxy.Model;

/// <summary>
/// One endpoint of a service port as the proxy sees it (upstream's BaseEndpointInfo), built from EndpointSlices:
/// address and resolved port, the three conditions, and where it runs. Immutable.
/// </summary>
public sealed record EndpointInfo
{
    public EndpointInfo(IPAddress address, int port)
    {
        Address = address;
        Port = port;
        EndPoint = new IPEndPoint(address, port);
    }

    public IPAddress Address { get; }

    public int Port { get; }

    /// <summary>Address and port, for sockets (made once, not per connection).</summary>
    public IPEndPoint EndPoint { get; }

    public bool Ready { get; init; }

    public bool Serving { get; init; }

    public bool Terminating { get; init; }

    /// <summary>The endpoint runs on this proxy's node (its nodeName is ours).</summary>
    public bool IsLocal { get; init; }

    public string? NodeName { get; init; }

    public string? Zone { get; init; }

    /// <summary>hints.forZones; empty when the slice gives none.</summary>
    public ImmutableHashSet<string> ZoneHints { get; init; } = [];

    public bool Equals(EndpointInfo? other) =>
        other is not null && Address.Equals(other.Address) && Port == other.Port && Ready == other.Ready && Serving == other.Serving &&
        Terminating == other.Terminating && IsLocal == other.IsLocal && NodeName == other.NodeName && Zone == other.Zone &&
        ZoneHints.SetEquals(other.ZoneHints);

    public override int GetHashCode() => HashCode.Combine(Address, Port, Ready, Serving, Terminating, IsLocal);

    public override string ToString() => EndPoint.ToString();
}
