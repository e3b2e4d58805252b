using System.Net;
using Berth.Client;

namespace Berth.Node.Dns;

/// <summary>
/// This node's cluster DNS, NodeLocal DNSCache style: it listens on the cluster DNS address itself (UDP and TCP 53,
/// no proxy hop; kube-dns carries service.kubernetes.io/service-proxy-name so the proxy leaves it alone), answers
/// the cluster zone from informers (Services, EndpointSlices, Pods) and forwards everything else. It publishes
/// its own EndpointSlice kube-system/kube-dns-&lt;node&gt;. A failed bind is logged, recorded as a Warning event on
/// the kube-dns Service, and retried.
/// </summary>
public sealed class ClusterDns : IAsyncDisposable
{
    /// <summary>Starts the informers and, once the cluster DNS address is known, the listeners; returns at once.</summary>
    public static Task<ClusterDns> StartAsync(KubeClient client, string nodeName, DnsOptions options, CancellationToken ct) => throw new NotImplementedException();

    /// <summary>Where it answers now (null until kube-dns has a ClusterIP and the bind succeeded).</summary>
    public IPEndPoint? Listening => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
