namespace Berth.Node.Proxy.HealthCheck;

/// <summary>
/// The proxy's own health as /healthz and /livez report it (upstream ProxyHealthServer.isHealthy): unhealthy when a
/// sync that was asked for has waited too long. <paramref name="LastUpdated"/> is null before the first sync.
/// </summary>
internal sealed record ProxyHealth(bool Healthy, DateTimeOffset? LastUpdated, DateTimeOffset CurrentTime);
