using System.Collections.Immutable;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Tracking;

/// <summary>
/// Value equality for <see cref="ServicePortInfo"/>: the record's own equality compares its ImmutableArrays by
/// reference, while "nothing to reprogram" needs the elements compared (upstream uses reflect.DeepEqual).
/// </summary>
internal sealed class ServicePortInfoComparer : IEqualityComparer<ServicePortInfo>
{
    public static ServicePortInfoComparer Instance { get; } = new();

    public bool Equals(ServicePortInfo? x, ServicePortInfo? y)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }
        if (x is null || y is null)
        {
            return false;
        }
        return x.Name == y.Name && x.Port == y.Port && x.NodePort == y.NodePort && x.AffinityTimeout == y.AffinityTimeout &&
            x.InternalPolicyLocal == y.InternalPolicyLocal && x.ExternalPolicyLocal == y.ExternalPolicyLocal &&
            x.HealthCheckNodePort == y.HealthCheckNodePort && x.Algorithm == y.Algorithm && x.UsesTopology == y.UsesTopology &&
            x.ClusterIPs.SequenceEqual(y.ClusterIPs) && x.ExternalIPs.SequenceEqual(y.ExternalIPs) &&
            x.LoadBalancerIPs.SequenceEqual(y.LoadBalancerIPs) && x.LoadBalancerSourceRanges.SequenceEqual(y.LoadBalancerSourceRanges);
    }

    public int GetHashCode(ServicePortInfo obj) => HashCode.Combine(obj.Name, obj.Port, obj.NodePort);

    /// <summary>Same service ports with equal values.</summary>
    public static bool MapsEqual(ImmutableDictionary<ServicePortName, ServicePortInfo> x, ImmutableDictionary<ServicePortName, ServicePortInfo> y)
    {
        if (x.Count != y.Count)
        {
            return false;
        }
        foreach (var (name, info) in x)
        {
            if (!y.TryGetValue(name, out var other) || !Instance.Equals(info, other))
            {
                return false;
            }
        }
        return true;
    }
}
