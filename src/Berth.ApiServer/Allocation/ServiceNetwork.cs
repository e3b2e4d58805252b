using System.Net;
using Berth.Storage;

namespace Berth.ApiServer.Allocation;

/// <summary>
/// The cluster's Service address plan and its persisted pools: cluster IPs from the service CIDR, node ports per
/// protocol, and load-balancer addresses. The <c>kubernetes</c> Service takes the CIDR's first address and the
/// cluster DNS Service its tenth, as in every distribution.
/// </summary>
public sealed class ServiceNetwork
{
    public static readonly string[] NodePortProtocols = ["TCP", "UDP", "SCTP"];

    private readonly Dictionary<string, AllocationPool> _nodePorts;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServiceNetwork(IStore store, string serviceCidr, string nodePortRange, string loadBalancerPool)
    {
        ServiceRange = IPRange.Parse(serviceCidr);
        NodePortRange = PortRange.Parse(nodePortRange);
        LoadBalancerRange = IPRange.Parse(loadBalancerPool);
        Families = [ServiceRange.Family];
        ClusterIPs = new AllocationPool("serviceips", store, new IPValueRange(ServiceRange));
        _nodePorts = NodePortProtocols.ToDictionary(p => p, p => new AllocationPool("nodeports/" + p, store, new PortValueRange(NodePortRange)));
        LoadBalancerAddresses = new AllocationPool("loadbalancerips", store, new IPValueRange(LoadBalancerRange));
    }

    public IPRange ServiceRange { get; }

    public PortRange NodePortRange { get; }

    public IPRange LoadBalancerRange { get; }

    /// <summary>The IP families Services may use ("IPv4" or "IPv6"; one: this cluster is single-stack).</summary>
    public IReadOnlyList<string> Families { get; }

    public AllocationPool ClusterIPs { get; }

    public AllocationPool LoadBalancerAddresses { get; }

    public IEnumerable<AllocationPool> Pools => [ClusterIPs, .. _nodePorts.Values, LoadBalancerAddresses];

    /// <summary>The address of default/kubernetes: the first of the service CIDR.</summary>
    public IPAddress KubernetesServiceIP => ServiceRange.Nth(1);

    /// <summary>The address of kube-system/kube-dns: the tenth of the service CIDR.</summary>
    public IPAddress ClusterDnsIP => ServiceRange.Nth(10);

    public AllocationPool ClusterIPPoolFor(string family) =>
        family == ServiceRange.Family ? ClusterIPs : throw new InvalidOperationException($"{family} is not configured on this cluster");

    /// <summary>The pool a stored cluster IP came from, or null for an address of another family.</summary>
    public AllocationPool? ClusterIPPool(string ip) =>
        IPAddress.TryParse(ip, out var address) && IPRange.FamilyOf(address) == ServiceRange.Family ? ClusterIPs : null;

    public AllocationPool? NodePortPool(string? protocol) =>
        _nodePorts.GetValueOrDefault(string.IsNullOrEmpty(protocol) ? "TCP" : protocol);

    /// <summary>
    /// Completes once the pools agree with the stored Services (set by the start-up repair, which runs while
    /// the listener starts); allocating for a request waits for it.
    /// </summary>
    public Task Ready => _ready.Task;

    public void SetReady(Exception? failure = null)
    {
        if (failure is null)
        {
            _ready.TrySetResult();
        }
        else
        {
            _ready.TrySetException(failure);
        }
    }

    public async Task LoadAsync(CancellationToken ct)
    {
        foreach (var pool in Pools)
        {
            await pool.LoadAsync(ct).ConfigureAwait(false);
        }
    }
}
