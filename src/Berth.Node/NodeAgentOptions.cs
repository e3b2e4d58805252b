using Berth.Client;

namespace Berth.Node;

/// <summary>How a node agent is set up; <c>berth server</c> and <c>berth agent</c> fill it from their flags.</summary>
public sealed class NodeAgentOptions
{
    /// <summary>The API client the agent works through (the same code in-process and remote).</summary>
    public required KubeClient Client { get; init; }

    /// <summary>The Node's name (default: the host name, lower-cased, as the kubelet does).</summary>
    public required string NodeName { get; init; }

    /// <summary>The address the node is reached at: NodePorts and the kubelet endpoint listen here.</summary>
    public string NodeIP { get; init; } = "127.0.0.1";

    /// <summary>The agent's state: process records, pod IP leases, container logs.</summary>
    public required string DataDir { get; init; }

    /// <summary>The kubelet API port (logs, exec); 0 picks a free one. Published in the Node's daemonEndpoints.</summary>
    public int KubeletPort { get; init; } = 10250;

    /// <summary>The bearer token the API server presents to the kubelet API.</summary>
    public required string Token { get; init; }

    /// <summary>
    /// The node Lease's spec.leaseDurationSeconds (upstream kubelet --node-lease-duration-seconds, 40 s); the agent
    /// renews it every quarter of this, as the kubelet's renewInterval. The node lifecycle controller marks a node
    /// whose Lease and status have gone unrenewed for its grace period (40 s) Unknown.
    /// </summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>The service proxy (kube-proxy) of this node; null runs none (--proxy-mode none).</summary>
    public Proxy.ProxyOptions? Proxy { get; init; } = new();

    /// <summary>
    /// The cluster DNS settings: the kubelet writes pods' resolv.conf from them (cluster domain, cluster DNS address,
    /// the host's resolv.conf), and, with <see cref="ServeDns"/>, this node answers the cluster zone.
    /// </summary>
    public Dns.DnsOptions Dns { get; init; } = new();

    /// <summary>Run this node's DNS server (--dns-mode node); false for none (e.g. a second agent on the same host).</summary>
    public bool ServeDns { get; init; } = true;

    public Action<string> Log { get; init; } = Console.WriteLine;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
