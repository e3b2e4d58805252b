using System.Net;

namespace Berth.Node.Dns;

/// <summary>A node's cluster DNS server (--dns-mode node); <c>berth server</c> and <c>berth agent</c> fill it from their flags.</summary>
public sealed class DnsOptions
{
    /// <summary>The cluster domain (--cluster-domain), lower case, no trailing dot.</summary>
    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>
    /// The address to serve on (--cluster-dns); null follows the ClusterIP of kube-system/kube-dns (the service
    /// CIDR's tenth address), as seen through the Services informer.
    /// </summary>
    public IPAddress? ClusterDnsIP { get; init; }

    /// <summary>The port (53; tests and benchmarks may use another).</summary>
    public int Port { get; init; } = 53;

    /// <summary>Where names outside the cluster zone go (--dns-upstream); null reads the host's /etc/resolv.conf.</summary>
    public IReadOnlyList<IPEndPoint>? Upstreams { get; init; }

    /// <summary>The host resolv.conf (its nameservers when <see cref="Upstreams"/> is null; its search list for autopath).</summary>
    public string HostResolvConf { get; init; } = "/etc/resolv.conf";

    /// <summary>TTL of cluster records (--dns-ttl, CoreDNS's 5 s).</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(5);

    public Action<string> Log { get; init; } = Console.WriteLine;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
