using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Berth.Node.Proxy.HealthCheck;

/// <summary>
/// The healthCheckNodePort servers of this node (upstream pkg/proxy/healthcheck/service_health.go): for each Service
/// with externalTrafficPolicy Local and a healthCheckNodePort, an HTTP server on that port of every node-port address,
/// answering any path with 200 while the Service has endpoints on this node and 503 otherwise, so external load
/// balancers send its traffic only to nodes that can serve it locally.
/// </summary>
internal sealed class HealthCheckServers : IAsyncDisposable
{
    private readonly ImmutableArray<IPAddress> _addresses;
    private readonly Func<ProxyHealth>? _proxyHealth;
    private readonly Dictionary<int, Instance> _instances = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <param name="addresses">The node-port addresses; each served port listens on all of them.</param>
    /// <param name="proxyHealth">The proxy's own health (serviceProxyHealthy); null = always healthy.</param>
    public HealthCheckServers(ImmutableArray<IPAddress> addresses, Func<ProxyHealth>? proxyHealth = null)
    {
        _addresses = addresses;
        _proxyHealth = proxyHealth;
    }

    /// <summary>The ports being served now.</summary>
    public IReadOnlyCollection<int> Ports
    {
        get
        {
            lock (_lock)
            {
                return [.. _instances.Keys];
            }
        }
    }

    /// <summary>
    /// Serves exactly the ports of <paramref name="byPort"/> (health-check node port → its Service and the number of
    /// its endpoints on this node): opens new ones, closes those gone, updates the rest. A port that cannot be bound
    /// on every address is not served (what did bind is closed again, as upstream) and is returned with the reason;
    /// the next Sync tries it again.
    /// </summary>
    public IReadOnlyList<(int Port, string Reason)> Sync(IReadOnlyDictionary<int, (string Namespace, string Name, int LocalEndpoints)> byPort)
    {
        List<Instance> closing = [];
        List<(int Port, string Reason)> failures = [];
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var (port, instance) in _instances)
            {
                if (!byPort.ContainsKey(port))
                {
                    closing.Add(instance);
                }
            }
            foreach (var instance in closing)
            {
                _instances.Remove(instance.Port);
            }
            foreach (var (port, service) in byPort)
            {
                var status = new Status(service.Namespace, service.Name, service.LocalEndpoints);
                if (_instances.TryGetValue(port, out var instance))
                {
                    instance.Status = status;
                    continue;
                }
                instance = new Instance(port, status);
                if (Open(instance) is { } reason)
                {
                    closing.Add(instance);
                    failures.Add((port, reason));
                    continue;
                }
                _instances[port] = instance;
            }
        }
        CloseAll(closing);
        return failures;
    }

    public async ValueTask DisposeAsync()
    {
        List<Instance> closing;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            closing = [.. _instances.Values];
            _instances.Clear();
        }
        await Task.WhenAll(closing.Select(i => i.CloseAsync())).ConfigureAwait(false);
    }

    /// <summary>Listens on every address; the error text when one fails.</summary>
    private string? Open(Instance instance)
    {
        foreach (var address in _addresses)
        {
            try
            {
                instance.Servers.Add(TinyHttpServer.Listen(new IPEndPoint(address, instance.Port), (_, _) => Respond(instance)));
            }
            catch (SocketException e)
            {
                return e.Message;
            }
        }
        return null;
    }

    private static void CloseAll(List<Instance> instances)
    {
        foreach (var instance in instances)
        {
            // The listening sockets close before CloseAsync returns; the accept loops wind down on their own.
            _ = instance.CloseAsync();
        }
    }

    private TinyHttpResponse Respond(Instance instance)
    {
        var status = instance.Status;
        var proxyHealthy = _proxyHealth?.Invoke().Healthy ?? true;
        // Upstream's body byte for byte (a dedented Go template). Namespace and name are DNS labels: nothing to escape.
        var body = string.Create(CultureInfo.InvariantCulture,
            $"{{\n\t\"service\": {{\n\t\t\"namespace\": \"{status.Namespace}\",\n\t\t\"name\": \"{status.Name}\"\n\t}},\n" +
            $"\t\"localEndpoints\": {status.LocalEndpoints},\n\t\"serviceProxyHealthy\": {(proxyHealthy ? "true" : "false")}\n}}");
        return new TinyHttpResponse(status.LocalEndpoints != 0 && proxyHealthy ? 200 : 503, "application/json", body);
    }

    private sealed record Status(string Namespace, string Name, int LocalEndpoints);

    private sealed class Instance(int port, Status status)
    {
        public int Port { get; } = port;

        public List<TinyHttpServer> Servers { get; } = [];

        // Read by the request handlers while Sync replaces it.
        public volatile Status Status = status;

        /// <summary>Closes every listening socket before returning; the task completes when their accept loops have ended.</summary>
        public Task CloseAsync() => Task.WhenAll(Servers.Select(s => s.DisposeAsync().AsTask()));
    }
}
