using System.Collections.Immutable;
using System.Net;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy.Userspace.Udp;

/// <summary>What one frontend serves as of one Apply: the service port and the endpoints its new flows may use. Immutable.</summary>
internal sealed class UdpRoute
{
    private UdpRoute(RouteProgram program, ImmutableArray<EndpointInfo> candidates, ImmutableArray<IPNetwork> sourceRanges)
    {
        Program = program;
        Candidates = candidates;
        SourceRanges = sourceRanges;
    }

    public RouteProgram Program { get; }

    /// <summary>The route's endpoints for this frontend's kind (internal or external traffic policy); empty: drop.</summary>
    public ImmutableArray<EndpointInfo> Candidates { get; }

    /// <summary>loadBalancerSourceRanges, on load-balancer frontends only (upstream filters only the LB address's traffic).</summary>
    public ImmutableArray<IPNetwork> SourceRanges { get; }

    public static UdpRoute For(Frontend frontend, RouteProgram program) =>
        new(program, program.Route.EndpointsFor(frontend.Kind),
            frontend.Kind == FrontendKind.LoadBalancer ? program.Route.Service.LoadBalancerSourceRanges : []);

    public bool Admits(IPAddress client)
    {
        if (SourceRanges.IsEmpty)
        {
            return true;
        }
        foreach (IPNetwork range in SourceRanges)
        {
            if (range.Contains(client))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The flow may live on under this route: same service port, its endpoint (by address:port, whatever its conditions
    /// now) still a candidate, its client still admitted. Upstream's stale UDP conntrack entries kept sending to endpoints
    /// that were gone (kubernetes#19029, the event-based flush missing cases until the v1.32 reconciler, #126130); here
    /// every Apply checks every flow, so none is stale.
    /// </summary>
    public bool Serves(UdpFlow flow) =>
        ReferenceEquals(flow.Program.Balancer, Program.Balancer) && ReferenceEquals(flow.Program.Stats, Program.Stats) &&
        IndexOf(flow.Endpoint.EndPoint) >= 0 && Admits(flow.ClientIp);

    /// <summary>The balancer's tried mask for endpoints that already refused this client.</summary>
    public ulong TriedMask(ImmutableArray<IPEndPoint> refused)
    {
        ulong tried = 0;
        foreach (IPEndPoint endpoint in refused)
        {
            tried |= Bit(IndexOf(endpoint));
        }
        return tried;
    }

    /// <summary>Bit <paramref name="index"/> of a tried mask; candidates past 64 (and -1, not a candidate) have none.</summary>
    public static ulong Bit(int index) => index is >= 0 and < 64 ? 1UL << index : 0;

    private int IndexOf(IPEndPoint endpoint)
    {
        for (int i = 0; i < Candidates.Length; i++)
        {
            if (Candidates[i].EndPoint.Equals(endpoint))
            {
                return i;
            }
        }
        return -1;
    }
}
