using System.Collections.Immutable;
using System.Net;
using System.Net.NetworkInformation;
using Berth.Api.Models;
using Berth.Client;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.HealthCheck;
using Berth.Node.Proxy.Metrics;
using Berth.Node.Proxy.Routing;
using Berth.Node.Proxy.Tracking;
using Berth.Node.Proxy.Userspace;
using KubeNode = Berth.Api.Models.Node;

namespace Berth.Node.Proxy;

/// <summary>
/// This node's kube-proxy: Services and EndpointSlices flow through change trackers into a bounded-frequency sync
/// that builds an immutable routing snapshot and programs the backend (userspace sockets). Policy — which endpoints,
/// affinity, balancing — is decided in the routes and balancers; the backend only moves bytes. Bind failures are
/// reported on the Service (event + condition); health-check node ports and /metrics are served alongside.
/// </summary>
public sealed partial class ServiceProxy : IAsyncDisposable
{
    // A listener that could not bind is tried again this soon, not only at the next periodic resync.
    private static readonly TimeSpan s_bindRetry = TimeSpan.FromSeconds(5);

    private readonly KubeClient _client;
    private readonly string _nodeName;
    private readonly ProxyOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly ServiceChangeTracker _serviceChanges;
    private readonly EndpointsChangeTracker _endpointChanges;
    private readonly RoutingState _routing = new();
    private readonly ProxyMetrics _metrics = new();
    private readonly IProxyBackend _backend;
    private readonly HealthCheckServers _healthChecks;
    private readonly BoundedFrequencyRunner _runner;
    private readonly ImmutableArray<IPAddress> _nodePortAddresses;
    private readonly Informer<Service> _services;
    private readonly Informer<EndpointSlice> _slices;
    private readonly Informer<KubeNode> _node;
    private readonly EventRecorder _events;
    // Per service port state that outlives snapshots; touched by the sync loop only.
    private readonly Dictionary<Model.ServicePortName, RouteProgram> _programs = [];
    private ProxyHttpServer? _http;
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    private ServiceProxy(KubeClient client, string nodeName, string nodeIP, ProxyOptions options)
    {
        _client = client;
        _nodeName = nodeName;
        _options = options;
        _serviceChanges = new ServiceChangeTracker(options.Log);
        _endpointChanges = new EndpointsChangeTracker(nodeName, options.Time);
        _backend = new UserspaceBackend(options);
        _nodePortAddresses = NodePortAddresses(options.NodePortAddresses, nodeIP);
        _healthChecks = new HealthCheckServers(_nodePortAddresses, Health);
        _runner = new BoundedFrequencyRunner("sync-proxy-rules", Sync, options.MinSyncPeriod, options.SyncPeriod, options.Time);
        _events = new EventRecorder(client, "kube-proxy", nodeName);
        _services = new Informer<Service>(client, log: line => options.Log("services: " + line));
        _slices = new Informer<EndpointSlice>(client, log: line => options.Log("endpointslices: " + line));
        _node = new Informer<KubeNode>(client, selectors: new ListOptions(FieldSelector: "metadata.name=" + nodeName), log: line => options.Log("node: " + line));
    }

    /// <summary>The address /metrics and /healthz are served at, once started (null when not served).</summary>
    public IPEndPoint? MetricsEndPoint => _http?.EndPoint;

    /// <summary>
    /// Starts the proxy: the metrics server binds (its failure is fatal, as kube-proxy's flag errors are), the
    /// informers start, and the first sync runs once they have all synced — nothing is programmed from a partial view.
    /// </summary>
    public static async Task<ServiceProxy> StartAsync(KubeClient client, string nodeName, string nodeIP, ProxyOptions options, CancellationToken ct)
    {
        var proxy = new ServiceProxy(client, nodeName, nodeIP, options);
        try
        {
            await proxy.StartCoreAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return proxy;
    }

    private async Task StartCoreAsync(CancellationToken ct)
    {
        if (_options.MetricsAddress is { } metricsAddress)
        {
            _http = new ProxyHttpServer(metricsAddress, _metrics, Health);
            await _http.StartAsync(ct).ConfigureAwait(false);
            _options.Log($"serving http://{_http.EndPoint}/metrics (and /healthz)");
        }

        _services.OnAdd(s => Changed(_serviceChanges.Update(null, s)));
        _services.OnUpdate((old, s) => Changed(_serviceChanges.Update(old, s)));
        _services.OnDelete(s => Changed(_serviceChanges.Update(s, null)));
        _slices.OnAdd(s => Changed(_endpointChanges.EndpointSliceUpdate(s, removed: false)));
        _slices.OnUpdate((_, s) => Changed(_endpointChanges.EndpointSliceUpdate(s, removed: false)));
        _slices.OnDelete(s => Changed(_endpointChanges.EndpointSliceUpdate(s, removed: true)));
        // Labels (the zone for topology hints) are read at each sync; a change asks for one.
        _node.OnAdd(_ => Changed(true));
        _node.OnUpdate((old, n) => Changed(!Api.Selectors.StringMaps.SemanticEqual(old.Metadata?.Labels, n.Metadata?.Labels)));

        var stop = _stop.Token;
        await _services.StartAsync(stop).ConfigureAwait(false);
        await _slices.StartAsync(stop).ConfigureAwait(false);
        await _node.StartAsync(stop).ConfigureAwait(false);
        _loop = Task.Run(async () =>
        {
            try
            {
                await Task.WhenAll(_services.WaitForSyncAsync(stop), _slices.WaitForSyncAsync(stop), _node.WaitForSyncAsync(stop)).ConfigureAwait(false);
                _synced = true;
                _runner.Run();
                await _runner.Loop(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopping.
            }
        }, CancellationToken.None);
        _statusWriter = Task.Run(() => WriteStatusAsync(stop), CancellationToken.None);
    }

    private volatile bool _synced;

    private void Changed(bool needed)
    {
        if (needed && _synced)
        {
            Interlocked.CompareExchange(ref _queuedSinceTicks, _options.Time.GetUtcNow().UtcTicks, 0);
            _runner.Run();
        }
    }

    /// <summary>NodePorts listen on these: the flag's IPs, each CIDR's addresses on this host, or the node IP.</summary>
    internal static ImmutableArray<IPAddress> NodePortAddresses(IReadOnlyList<string> configured, string nodeIP)
    {
        if (configured.Count == 0)
        {
            return [IPAddress.Parse(nodeIP)];
        }
        var local = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .ToList();
        var addresses = new List<IPAddress>();
        foreach (var entry in configured)
        {
            if (IPAddress.TryParse(entry, out var ip))
            {
                addresses.Add(ip);
            }
            else if (IPNetwork.TryParse(entry, out var network))
            {
                addresses.AddRange(local.Where(network.Contains));
            }
        }
        return [.. addresses.Distinct()];
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _statusWriter.ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
        await _slices.DisposeAsync().ConfigureAwait(false);
        await _node.DisposeAsync().ConfigureAwait(false);
        await _backend.DisposeAsync().ConfigureAwait(false);
        await _healthChecks.DisposeAsync().ConfigureAwait(false);
        if (_http is not null)
        {
            await _http.DisposeAsync().ConfigureAwait(false);
        }
        await _events.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
