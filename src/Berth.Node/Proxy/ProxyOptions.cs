namespace Berth.Node.Proxy;

/// <summary>How the node's service proxy runs; <c>berth server</c> and <c>berth agent</c> fill it from their flags.</summary>
public sealed class ProxyOptions
{
    /// <summary>
    /// Where NodePorts listen (upstream --nodeport-addresses): IP addresses, or CIDRs meaning every address of this
    /// host inside them. Empty: the node's own address (--node-ip) only.
    /// </summary>
    public IReadOnlyList<string> NodePortAddresses { get; init; } = [];

    /// <summary>Where /metrics and /healthz are served (upstream --metrics-bind-address, 127.0.0.1:10249); null = not served; port 0 = any free port.</summary>
    public System.Net.IPEndPoint? MetricsAddress { get; init; } = new(System.Net.IPAddress.Loopback, 10249);

    /// <summary>Longest a connection to an endpoint that left its Service is kept open (drained); 0 = no limit.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A UDP flow with no datagram either way for this long is forgotten (upstream: the conntrack UDP timeout, 30 s).</summary>
    public TimeSpan UdpIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a connect to an endpoint may take before the next endpoint is tried.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Relay threads (each its own epoll set); default one per core.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Use splice(2) through a pipe for a connection direction once it has carried this many bytes; 0 = never.</summary>
    public int SpliceThreshold { get; init; } = 64 * 1024;

    /// <summary>Shortest time between syncs (upstream --iptables-min-sync-period); 0 = sync as soon as something changed.</summary>
    public TimeSpan MinSyncPeriod { get; init; }

    /// <summary>Longest time between syncs: a full resync, which also retries listeners that failed to bind.</summary>
    public TimeSpan SyncPeriod { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public Action<string> Log { get; init; } = Console.WriteLine;
}
