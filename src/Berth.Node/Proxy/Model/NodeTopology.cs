using System.Collections.Immutable;
using System.Net;

namespace Berth.Node.Proxy.Model;

/// <summary>What the proxy knows of its own node: its name, its labels (the zone for topology hints), and the addresses NodePorts listen on.</summary>
public sealed record NodeTopology(string NodeName, ImmutableDictionary<string, string> Labels, ImmutableArray<IPAddress> NodePortAddresses)
{
    /// <summary>topology.kubernetes.io/zone, or null.</summary>
    public string? Zone => Labels.GetValueOrDefault("topology.kubernetes.io/zone");
}
