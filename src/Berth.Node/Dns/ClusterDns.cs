using System.Net;
using Berth.Api.Models;
using Berth.Client;
using Berth.Node.Dns.Cluster;

namespace Berth.Node.Dns;

/// <summary>
/// This node's cluster DNS, NodeLocal DNSCache style: it listens on the cluster DNS address itself (UDP and TCP 53,
/// no proxy hop; kube-dns carries service.kubernetes.io/service-proxy-name so the proxy leaves it alone), answers
/// the cluster zone from informers (Services, EndpointSlices, Pods) and forwards everything else. It publishes
/// its own EndpointSlice kube-system/kube-dns-&lt;node&gt;. A failed bind is logged, recorded as a Warning event on
/// the kube-dns Service, and retried.
/// </summary>
/// <remarks>
/// Three loops, each the only writer of its state: the informers' handlers queue changes for the zone loop
/// (<c>ClusterDns.Zone.cs</c>), which alone touches <see cref="ClusterZone"/> and publishes snapshots; the serve loop
/// (<c>ClusterDns.Serve.cs</c>) alone binds, rebinds and reports; it also writes the EndpointSlice
/// (<c>ClusterDns.Slice.cs</c>). Queries read the published snapshot and never wait for either.
/// </remarks>
public sealed partial class ClusterDns : IAsyncDisposable
{
    /// <summary>Events on the kube-dns Service name this component.</summary>
    public const string Component = "berth-node-dns";

    public const string ReasonBindFailed = "BindFailed";
    public const string ReasonListening = "Listening";

    private const string DnsNamespace = "kube-system";
    private const string DnsServiceName = "kube-dns";

    private readonly KubeClient _client;
    private readonly string _nodeName;
    private readonly DnsOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Informer<Service> _services;
    private readonly Informer<EndpointSlice> _slices;
    private readonly Informer<Pod> _pods;
    private readonly EventRecorder _events;
    private Task _zoneLoop = Task.CompletedTask;
    private Task _serveLoop = Task.CompletedTask;
    private int _disposed;

    private ClusterDns(KubeClient client, string nodeName, DnsOptions options)
    {
        _client = client;
        _nodeName = nodeName;
        _options = options;
        _zone = new ClusterZone(new ZoneOptions { Domain = options.ClusterDomain, Ttl = (uint)options.Ttl.TotalSeconds, Time = options.Time });
        _sliceName = "kube-dns-" + nodeName;
        _events = new EventRecorder(client, Component, nodeName);
        _services = new Informer<Service>(client, log: line => Log("services: " + line));
        _slices = new Informer<EndpointSlice>(client, log: line => Log("endpointslices: " + line));
        _pods = new Informer<Pod>(client, log: line => Log("pods: " + line));
    }

    /// <summary>Starts the informers and, once the cluster DNS address is known, the listeners; returns at once.</summary>
    public static async Task<ClusterDns> StartAsync(KubeClient client, string nodeName, DnsOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(nodeName);
        ArgumentNullException.ThrowIfNull(options);
        var dns = new ClusterDns(client, nodeName, options);
        try
        {
            await dns.StartCoreAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await dns.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return dns;
    }

    /// <summary>Where it answers now (null until kube-dns has a ClusterIP and the bind succeeded).</summary>
    public IPEndPoint? Listening => Volatile.Read(ref _listening);

    private async Task StartCoreAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        _services.OnAdd(s => ServiceChanged(s, deleted: false));
        _services.OnUpdate((_, s) => ServiceChanged(s, deleted: false));
        _services.OnDelete(s => ServiceChanged(s, deleted: true));
        _slices.OnAdd(s => SliceChanged(s, deleted: false));
        _slices.OnUpdate((_, s) => SliceChanged(s, deleted: false));
        _slices.OnDelete(s => SliceChanged(s, deleted: true));
        _pods.OnAdd(p => Queue(p, deleted: false));
        _pods.OnUpdate((_, p) => Queue(p, deleted: false));
        _pods.OnDelete(p => Queue(p, deleted: true));

        var stop = _stop.Token;
        await _services.StartAsync(stop).ConfigureAwait(false);
        await _slices.StartAsync(stop).ConfigureAwait(false);
        await _pods.StartAsync(stop).ConfigureAwait(false);
        _zoneLoop = Task.Run(() => RunZoneAsync(stop), CancellationToken.None);
        _serveLoop = Task.Run(() => ServeAsync(stop), CancellationToken.None);
    }

    private void ServiceChanged(Service service, bool deleted)
    {
        Queue(service, deleted);
        if (IsKubeDns(service.Metadata))
        {
            Wake();
        }
    }

    private void SliceChanged(EndpointSlice slice, bool deleted)
    {
        Queue(slice, deleted);
        // Our own slice edited or deleted by someone else is put back.
        if (slice.Metadata?.Namespace == DnsNamespace && slice.Metadata.Name == _sliceName)
        {
            Wake();
        }
    }

    private static bool IsKubeDns(ObjectMeta? metadata) => metadata?.Namespace == DnsNamespace && metadata.Name == DnsServiceName;

    private void Log(string line) => _options.Log("dns: " + line);

    /// <summary>Stops answering, deletes this node's EndpointSlice (best effort, 2 s) and stops the informers; never throws for API errors.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        _changes.Writer.TryComplete();
        await _zoneLoop.ConfigureAwait(false);
        await _serveLoop.ConfigureAwait(false);
        await StopServerAsync().ConfigureAwait(false);
        await DeleteSliceAsync().ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
        await _slices.DisposeAsync().ConfigureAwait(false);
        await _pods.DisposeAsync().ConfigureAwait(false);
        await _events.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
