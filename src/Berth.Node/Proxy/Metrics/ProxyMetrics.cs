using System.Text;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Metrics;

/// <summary>
/// Every metric the proxy exports, written in the Prometheus text format (0.0.4) for /metrics: per service port
/// counters (<see cref="ServicePortStats"/>) and the sync histograms, named as upstream kube-proxy's where one exists.
/// </summary>
internal sealed class ProxyMetrics
{
    /// <summary>kubeproxy_sync_proxy_rules_duration_seconds: how long one sync took.</summary>
    public Histogram SyncDuration => throw new NotImplementedException();

    /// <summary>kubeproxy_network_programming_duration_seconds: EndpointSlice change (its trigger time) → listeners programmed.</summary>
    public Histogram ProgrammingLatency => throw new NotImplementedException();

    /// <summary>The stats of a service port, created on first use.</summary>
    public ServicePortStats For(ServicePortName name) => throw new NotImplementedException();

    /// <summary>Drops a service port that no longer exists.</summary>
    public void Remove(ServicePortName name) => throw new NotImplementedException();

    public void WriteTo(StringBuilder output) => throw new NotImplementedException();
}

/// <summary>A cumulative histogram with fixed buckets (upper bounds in seconds), safe to observe from any thread.</summary>
internal sealed class Histogram
{
    public Histogram(string name, string help, double[] buckets) => throw new NotImplementedException();

    public void Observe(double seconds) => throw new NotImplementedException();
}
