namespace Berth.Node.Proxy.Metrics;

/// <summary>
/// The counters of one service port, updated with <see cref="Interlocked"/> by the relay threads and read by the
/// /metrics endpoint. Lives as long as the service port.
/// </summary>
internal sealed class ServicePortStats
{
    /// <summary>Connections (TCP) or flows (UDP) accepted and sent to an endpoint.</summary>
    public long Connections;

    /// <summary>Connections or flows open now.</summary>
    public long Active;

    /// <summary>Bytes from clients to endpoints.</summary>
    public long BytesIn;

    /// <summary>Bytes from endpoints to clients.</summary>
    public long BytesOut;

    /// <summary>Connections refused or closed because no endpoint could be reached (none usable, or all failed), and UDP datagrams dropped for the same reason.</summary>
    public long Refused;

    /// <summary>Connect attempts that failed and were retried on another endpoint.</summary>
    public long Retried;

    /// <summary>Endpoint choices made by ClientIP session affinity.</summary>
    public long AffinityHits;
}
