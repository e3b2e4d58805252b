using System.Net;
using Berth.Api.Models;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns.Cluster;

/// <summary>
/// The cluster zone's state: stripped projections of Services, EndpointSlices and Pods (only what DNS answers
/// from), updated from informer events on one thread at a time, and turned into an immutable
/// <see cref="ZoneSnapshot"/> on demand. Not thread-safe: the caller serializes Apply/Delete/Snapshot.
/// </summary>
public sealed class ClusterZone
{
    public ClusterZone(ZoneOptions options) => throw new NotImplementedException();

    /// <summary>True when the projection differs from the last snapshot taken.</summary>
    public bool Changed => throw new NotImplementedException();

    /// <summary>Returns true when anything DNS answers from changed.</summary>
    public bool ApplyService(Service service) => throw new NotImplementedException();

    public bool DeleteService(Service service) => throw new NotImplementedException();

    public bool ApplySlice(EndpointSlice slice) => throw new NotImplementedException();

    public bool DeleteSlice(EndpointSlice slice) => throw new NotImplementedException();

    public bool ApplyPod(Pod pod) => throw new NotImplementedException();

    public bool DeletePod(Pod pod) => throw new NotImplementedException();

    /// <summary>Builds the snapshot of everything applied so far (cheap when little changed).</summary>
    public ZoneSnapshot Snapshot() => throw new NotImplementedException();
}

/// <summary>How the zone answers.</summary>
public sealed class ZoneOptions
{
    /// <summary>The cluster domain, lower case, no trailing dot.</summary>
    public string Domain { get; init; } = "cluster.local";

    /// <summary>TTL of every record, and the SOA's minimum (CoreDNS: 5 s).</summary>
    public uint Ttl { get; init; } = 5;
}

/// <summary>
/// An immutable view of the cluster zone, swapped atomically when something changes; lookups allocate nothing.
/// Semantics are CoreDNS's kubernetes plugin (plugin/kubernetes) with "pods verified" and reverse zones for
/// addresses it knows (others fall through to the forwarder).
/// </summary>
public sealed class ZoneSnapshot
{
    /// <summary>A snapshot with nothing in it, for before the first build.</summary>
    public static ZoneSnapshot Empty(ZoneOptions options) => throw new NotImplementedException();

    public string Domain => throw new NotImplementedException();

    /// <summary>
    /// The answer for <paramref name="name"/> (lower case, no trailing dot) and <paramref name="type"/> when this zone
    /// is authoritative for it: every name in the cluster domain, and PTR names (in-addr.arpa / ip6.arpa) of
    /// ClusterIPs and endpoint addresses it knows. False means "not ours": forward it.
    /// </summary>
    public bool TryAnswer(ReadOnlySpan<char> name, DnsType type, out DnsAnswer answer) => throw new NotImplementedException();

    /// <summary>The namespace of the pod with this IP, if one is known (autopath uses it to find the pod's search path).</summary>
    public string? PodNamespace(IPAddress address) => throw new NotImplementedException();

    /// <summary>Number of Services, for logs and metrics.</summary>
    public int ServiceCount => throw new NotImplementedException();
}
