using System.Net;
using System.Net.Sockets;
using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using KubeNode = Berth.Api.Models.Node;

namespace Berth.Controllers.NodeIpam;

/// <summary>
/// Gives every Node its share of the cluster's pod CIDR (upstream node-ipam-controller, range allocator):
/// the lowest free subnet of the mask size, written once to spec.podCIDR / spec.podCIDRs. The node agent waits
/// for it before it runs pods. One instance per cluster, so two nodes never get the same subnet.
/// </summary>
public sealed class NodeIpamController
{
    private readonly KubeClient _client;
    private readonly Informer<KubeNode> _nodes;
    private readonly CidrSet _cidrs;
    private readonly Action<string> _log;
    private readonly Lock _lock = new();
    // Nodes given a subnet by this controller (the patch may be in flight, or its watch event not here yet):
    // an older event of one of them, still without spec.podCIDR, must not assign another subnet.
    private readonly Dictionary<string, string> _assigned = new(StringComparer.Ordinal);

    /// <summary>Registers on the shared Node informer; it works once the informers are started.</summary>
    public NodeIpamController(SharedInformers informers, string clusterCidr, int nodeMaskSize, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(informers);
        _client = informers.Client;
        _cidrs = new CidrSet(clusterCidr, nodeMaskSize);
        _log = log ?? (_ => { });
        _nodes = informers.For<KubeNode>();
        // AssignAsync handles its own failures; the informer's handlers are synchronous.
        _nodes.OnAdd(node => _ = AssignAsync(node));
        _nodes.OnUpdate((old, node) => { _ = AssignAsync(node); });
        _nodes.OnDelete(node =>
        {
            lock (_lock)
            {
                if ((node.Spec?.PodCIDR ?? _assigned.GetValueOrDefault(node.Metadata!.Name!)) is { } cidr)
                {
                    _cidrs.Release(cidr);
                }
                _assigned.Remove(node.Metadata!.Name!);
            }
        });
    }

    private async Task AssignAsync(KubeNode node)
    {
        string cidr;
        lock (_lock)
        {
            if (node.Spec?.PodCIDR is { Length: > 0 } existing)
            {
                _cidrs.Occupy(existing);
                return;
            }
            // Subnets of nodes the informer already holds are taken, even if their events came later.
            foreach (var other in _nodes.List())
            {
                if (other.Spec?.PodCIDR is { Length: > 0 } taken)
                {
                    _cidrs.Occupy(taken);
                }
            }
            if (_assigned.ContainsKey(node.Metadata!.Name!))
            {
                return;
            }
            if (_cidrs.Next() is not { } next)
            {
                _log($"node-ipam: no pod CIDR left in {_cidrs} for node {node.Metadata?.Name}");
                return;
            }
            cidr = next;
            _assigned[node.Metadata.Name!] = cidr;
        }
        try
        {
            await _client.PatchAsync<KubeNode>(null, node.Metadata!.Name!, PatchType.Merge,
                $$$"""{"spec":{"podCIDR":"{{{cidr}}}","podCIDRs":["{{{cidr}}}"]}}""").ConfigureAwait(false);
            _log($"node-ipam: node {node.Metadata.Name} gets pod CIDR {cidr}");
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException)
        {
            lock (_lock)
            {
                _cidrs.Release(cidr);
                _assigned.Remove(node.Metadata!.Name!);
            }
            _log($"node-ipam: assigning {cidr} to node {node.Metadata!.Name} failed: {e.Message}");
        }
    }

    /// <summary>The subnets of one mask size in a cluster CIDR, by index (upstream cidrset).</summary>
    internal sealed class CidrSet
    {
        private readonly uint _base;
        private readonly int _clusterPrefix;
        private readonly int _nodePrefix;
        private readonly bool[] _used;

        public CidrSet(string clusterCidr, int nodeMaskSize)
        {
            var slash = clusterCidr.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || !IPAddress.TryParse(clusterCidr.AsSpan(0, slash), out var ip) || clusterCidr.AsSpan(0, slash).Count('.') != 3 || ip.AddressFamily != AddressFamily.InterNetwork
                || !int.TryParse(clusterCidr.AsSpan(slash + 1), out _clusterPrefix) || _clusterPrefix is < 1 or > 30)
            {
                throw new ArgumentException($"cluster CIDR \"{clusterCidr}\" is not an IPv4 CIDR", nameof(clusterCidr));
            }
            if (nodeMaskSize < _clusterPrefix || nodeMaskSize > 30 || nodeMaskSize - _clusterPrefix > 16)
            {
                throw new ArgumentException($"node CIDR mask size {nodeMaskSize} does not fit the cluster CIDR {clusterCidr} (at most 16 bits more)", nameof(nodeMaskSize));
            }
            var b = ip.GetAddressBytes();
            _base = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) & (uint.MaxValue << (32 - _clusterPrefix));
            _nodePrefix = nodeMaskSize;
            _used = new bool[1 << (nodeMaskSize - _clusterPrefix)];
        }

        public string? Next()
        {
            for (var i = 0; i < _used.Length; i++)
            {
                if (!_used[i])
                {
                    _used[i] = true;
                    return Format(i);
                }
            }
            return null;
        }

        public void Occupy(string cidr)
        {
            if (IndexOf(cidr) is { } i)
            {
                _used[i] = true;
            }
        }

        public void Release(string cidr)
        {
            if (IndexOf(cidr) is { } i)
            {
                _used[i] = false;
            }
        }

        private int? IndexOf(string cidr)
        {
            var slash = cidr.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || !IPAddress.TryParse(cidr.AsSpan(0, slash), out var ip) || cidr.AsSpan(0, slash).Count('.') != 3 || ip.AddressFamily != AddressFamily.InterNetwork)
            {
                return null;
            }
            var b = ip.GetAddressBytes();
            var value = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
            var index = (long)(value - _base) >> (32 - _nodePrefix);
            return value >= _base && index < _used.Length ? (int)index : null;
        }

        private string Format(int index)
        {
            var value = _base + ((uint)index << (32 - _nodePrefix));
            return $"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}/{_nodePrefix}";
        }

        public override string ToString() => $"{Format(0).Split('/')[0]}/{_clusterPrefix}";
    }
}
