using System.Collections.Immutable;
using System.Net;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.LoadBalancing;

/// <summary>
/// Picks the endpoint for each new connection (or UDP flow) of one service port: ClientIP session affinity first,
/// then the port's algorithm. Lives as long as the service port, across snapshots, so round-robin position,
/// connection counts and the affinity table survive endpoint changes. Thread-safe: every relay thread calls it.
/// </summary>
internal sealed class ServiceBalancer
{
    public ServiceBalancer(TimeProvider time) => throw new NotImplementedException();

    /// <summary>Takes the port's algorithm and affinity timeout (turning affinity off, or changing its timeout, clears the table).</summary>
    public void Configure(ServicePortInfo service) => throw new NotImplementedException();

    /// <summary>
    /// The index in <paramref name="candidates"/> of the endpoint to try next, skipping those whose bit is set in
    /// <paramref name="tried"/> (bit i = candidates[i]; candidates beyond 64 are never tried twice anyway); -1 when none is left.
    /// <paramref name="affinityHit"/> says the choice came from the client's affinity entry.
    /// </summary>
    public int Pick(ImmutableArray<EndpointInfo> candidates, IPAddress client, ulong tried, out bool affinityHit) => throw new NotImplementedException();

    /// <summary>A connection (or flow) to <paramref name="endpoint"/> was established: affinity recorded, active count up.</summary>
    public void Connected(EndpointInfo endpoint, IPAddress client) => throw new NotImplementedException();

    /// <summary>That connection (or flow) ended: active count down.</summary>
    public void Disconnected(EndpointInfo endpoint) => throw new NotImplementedException();
}
