using System.Globalization;
using System.Net;
using System.Text;
using Berth.Node.Proxy.Metrics;

namespace Berth.Node.Proxy.HealthCheck;

/// <summary>
/// The proxy's own HTTP endpoint (upstream --metrics-bind-address and --healthz-bind-address, served together here):
/// GET /metrics in the Prometheus text format, /healthz and /livez as upstream proxy_health.go answers them.
/// </summary>
internal sealed class ProxyHttpServer : IAsyncDisposable
{
    private const string MetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly IPEndPoint _address;
    private readonly ProxyMetrics _metrics;
    private readonly Func<ProxyHealth> _health;
    private TinyHttpServer? _server;
    private int _disposed;

    public ProxyHttpServer(IPEndPoint address, ProxyMetrics metrics, Func<ProxyHealth> health)
    {
        _address = address;
        _metrics = metrics;
        _health = health;
    }

    /// <summary>Where it serves: once started, the bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint EndPoint => _server?.EndPoint ?? _address;

    /// <summary>Binds and starts serving; throws <see cref="System.Net.Sockets.SocketException"/> when the address cannot be bound.</summary>
    public Task StartAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_server is not null)
        {
            throw new InvalidOperationException("already started");
        }
        _server = TinyHttpServer.Listen(_address, Respond);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }

    private TinyHttpResponse Respond(string method, string path)
    {
        switch (path)
        {
            case "/metrics":
                var text = new StringBuilder();
                _metrics.WriteTo(text);
                return new TinyHttpResponse(200, MetricsContentType, text.ToString());
            case "/healthz":
                return Health(includeNodeEligible: true);
            case "/livez":
                return Health(includeNodeEligible: false);
            default:
                // Go's http.NotFound.
                return new TinyHttpResponse(404, "text/plain; charset=utf-8", "404 page not found\n");
        }
    }

    private TinyHttpResponse Health(bool includeNodeEligible)
    {
        var health = _health();
        // Upstream reports lastUpdated = now while healthy ("recent", for compatibility with older releases).
        var lastUpdated = health.Healthy ? health.CurrentTime : health.LastUpdated;
        var body = includeNodeEligible
            // Node eligibility (upstream: not deleted, no ToBeDeletedByClusterAutoscaler taint) is not tracked: always eligible.
            ? $"{{\"lastUpdated\": \"{GoTime(lastUpdated)}\",\"currentTime\": \"{GoTime(health.CurrentTime)}\", \"nodeEligible\": true}}"
            : $"{{\"lastUpdated\": \"{GoTime(lastUpdated)}\",\"currentTime\": \"{GoTime(health.CurrentTime)}\"}}";
        return new TinyHttpResponse(health.Healthy ? 200 : 503, "application/json", body);
    }

    /// <summary>Go's time.Time.String() in UTC (no monotonic reading); the zero time when there is none.</summary>
    internal static string GoTime(DateTimeOffset? time) =>
        (time ?? DateTimeOffset.MinValue).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture) + " +0000 UTC";
}
