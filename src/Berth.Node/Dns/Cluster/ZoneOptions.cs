using System.Net;

namespace Berth.Node.Dns.Cluster;

/// <summary>How the zone answers.</summary>
public sealed class ZoneOptions
{
    /// <summary>The cluster domain, lower case, no trailing dot.</summary>
    public string Domain { get; init; } = "cluster.local";

    /// <summary>TTL of every record, and the SOA's minimum (CoreDNS: 5 s).</summary>
    public uint Ttl { get; init; } = 5;

    /// <summary>
    /// Addresses of the name server, answered for ns.dns.&lt;zone&gt; and given as additional records of the apex NS
    /// (CoreDNS nsAddrs: the addresses it serves on, kubernetes_apex_test.go). The cluster DNS IP; empty leaves the NS
    /// answer without additional records.
    /// </summary>
    public IReadOnlyList<IPAddress> NameServers { get; init; } = [];

    /// <summary>The clock the SOA serial is taken from (CoreDNS: the time of the last change, in seconds).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
