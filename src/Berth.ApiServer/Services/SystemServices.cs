using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Berth.Api.Defaulting;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Http;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer.Services;

/// <summary>
/// The Services every cluster has: <c>default/kubernetes</c> (443 → this API server, on the service CIDR's first
/// address) with its Endpoints and EndpointSlice pointing at where the API server listens now, and
/// <c>kube-system/kube-dns</c> on the tenth address. Upstream's apiserver reconciles the first every 10 s
/// (pkg/controlplane/controller/kubernetesservice); so does this, so a deleted or edited one comes back.
/// </summary>
public sealed partial class SystemServices : BackgroundService
{
    public const string KubernetesName = "kubernetes";
    public const string DnsName = "kube-dns";

    /// <summary>Upstream's label for "another proxy serves this Service"; every kube-proxy skips such Services.</summary>
    public const string ServiceProxyNameLabel = "service.kubernetes.io/service-proxy-name";

    /// <summary>The value kube-dns carries: the node agents' DNS servers are its "proxy".</summary>
    public const string NodeDnsProxyName = "berth-node-dns";

    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(10);

    private readonly ObjectStore _objects;
    private readonly ServiceRegistry _services;
    private readonly ServiceNetwork _network;
    private readonly TimeProvider _time;
    private readonly ILogger<SystemServices> _logger;
    private readonly ResourceDefinition _serviceDef;
    private readonly ResourceDefinition _endpointsDef;
    private readonly ResourceDefinition _sliceDef;
    private (IPAddress Address, int Port)? _apiServer;

    public SystemServices(ObjectStore objects, ServiceRegistry services, ServiceNetwork network, ResourceCatalog catalog, TimeProvider time, ILogger<SystemServices> logger)
    {
        _objects = objects;
        _services = services;
        _network = network;
        _time = time;
        _logger = logger;
        _serviceDef = catalog.Get("", "services");
        _endpointsDef = catalog.Get("", "endpoints");
        _sliceDef = catalog.Get("discovery.k8s.io", "endpointslices");
    }

    /// <summary>Called once the API server listens: from now on the kubernetes Service points there.</summary>
    public async Task EnsureAsync(IPAddress address, int port, CancellationToken ct)
    {
        _apiServer = (address, port);
        await ReconcileAsync(ct).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(s_interval, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await ReconcileAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReconcileFailed(e);
            }
        }
    }

    private async Task ReconcileAsync(CancellationToken ct)
    {
        if (_apiServer is not { } api)
        {
            return;
        }
        await EnsureServiceAsync(KubernetesService(api.Port), overwriteSpec: true, ct).ConfigureAwait(false);
        await EnsureServiceAsync(DnsService(), overwriteSpec: false, ct).ConfigureAwait(false);
        await EnsureObjectAsync(_endpointsDef, KubernetesEndpoints(api.Address, api.Port), ct).ConfigureAwait(false);
        await EnsureObjectAsync(_sliceDef, KubernetesEndpointSlice(api.Address, api.Port), ct).ConfigureAwait(false);
    }

    private Service KubernetesService(int apiPort) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = KubernetesName,
            Namespace = "default",
            Labels = new() { ["component"] = "apiserver", ["provider"] = "kubernetes" },
        },
        Spec = new ServiceSpec
        {
            ClusterIP = _network.KubernetesServiceIP.ToString(),
            Ports = [new ServicePort { Name = "https", Port = 443, Protocol = "TCP", TargetPort = IntOrString.FromInt32(apiPort) }],
        },
    };

    private Service DnsService() => new()
    {
        Metadata = new ObjectMeta
        {
            Name = DnsName,
            Namespace = "kube-system",
            Labels = new()
            {
                ["k8s-app"] = "kube-dns",
                ["kubernetes.io/cluster-service"] = "true",
                ["kubernetes.io/name"] = "CoreDNS",
                // Each node agent answers on the cluster DNS address itself (NodeLocal DNSCache style): the proxies
                // must leave this Service's ClusterIP:53 alone, or they would take the address the DNS binds.
                [ServiceProxyNameLabel] = NodeDnsProxyName,
            },
        },
        Spec = new ServiceSpec
        {
            // No selector: the node agents answer DNS themselves (not in pods) and publish their own endpoints.
            ClusterIP = _network.ClusterDnsIP.ToString(),
            Ports =
            [
                new ServicePort { Name = "dns", Port = 53, Protocol = "UDP", TargetPort = IntOrString.FromInt32(53) },
                new ServicePort { Name = "dns-tcp", Port = 53, Protocol = "TCP", TargetPort = IntOrString.FromInt32(53) },
            ],
        },
    };

    private static Endpoints KubernetesEndpoints(IPAddress address, int port) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = KubernetesName,
            Namespace = "default",
            // The mirroring controller must not turn these into a second slice: the API server writes its own.
            Labels = new() { ["endpointslice.kubernetes.io/skip-mirror"] = "true" },
        },
        Subsets =
        [
            new EndpointSubset
            {
                Addresses = [new EndpointAddress { Ip = address.ToString() }],
                Ports = [new EndpointPort { Name = "https", Port = port, Protocol = "TCP" }],
            },
        ],
    };

    private static EndpointSlice KubernetesEndpointSlice(IPAddress address, int port) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = KubernetesName,
            Namespace = "default",
            Labels = new() { ["kubernetes.io/service-name"] = KubernetesName },
        },
        AddressType = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4",
        Endpoints = [new Endpoint { Addresses = [address.ToString()], Conditions = new EndpointConditions { Ready = true } }],
        Ports = [new EndpointSlicePort { Name = "https", Port = port, Protocol = "TCP" }],
    };

    private async Task EnsureServiceAsync(Service desired, bool overwriteSpec, CancellationToken ct)
    {
        var ns = desired.Metadata!.Namespace;
        var name = desired.Metadata.Name!;
        var current = await _objects.GetAsync(_serviceDef, ns, name, ct).ConfigureAwait(false);
        if (current is not null)
        {
            var service = KubeJson.Deserialize<Service>(current.Object);
            var port = service.Spec?.Ports is [var only] ? only : null;
            var wanted = desired.Spec!.Ports![0];
            if (!overwriteSpec)
            {
                await EnsureLabelAsync(current, desired, ServiceProxyNameLabel, ct).ConfigureAwait(false);
                return;
            }
            if (service.Spec?.Type == "ClusterIP" && port is not null && port.Port == wanted.Port && port.TargetPort?.ToString() == wanted.TargetPort?.ToString())
            {
                return;
            }
            // Someone changed it or the API server moved: put the ports back, through the normal update path.
            var updated = (JsonObject)current.Object.DeepClone();
            var spec = (JsonObject)updated["spec"]!;
            spec["type"] = "ClusterIP";
            spec["ports"] = KubeJson.ToNode(desired.Spec.Ports);
            await WriteUpdateAsync(updated, current, ct).ConfigureAwait(false);
            return;
        }
        Defaults.Apply(desired);
        var obj = KubeJson.ToNode(desired).AsObject();
        obj["apiVersion"] = "v1";
        obj["kind"] = "Service";
        Strategy.PrepareForCreate(_serviceDef, obj, _time.GetUtcNow());
        AllocationTransaction txn;
        try
        {
            txn = await _services.BeforeCreateAsync(obj, dryRun: false, ct).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            LogCannotCreate(ns!, name, e.Message);
            return;
        }
        try
        {
            await _objects.CreateAsync(_serviceDef, obj, ct).ConfigureAwait(false);
            await txn.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (KeyExistsException)
        {
            await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Puts back one label of <paramref name="desired"/> that the node agents rely on (a kube-dns from before Berth
    /// answered DNS, or one a user edited); the rest of the Service is the user's to change.
    /// </summary>
    private async Task EnsureLabelAsync(StoredObject current, Service desired, string label, CancellationToken ct)
    {
        var value = desired.Metadata!.Labels![label];
        var metadata = (JsonObject)current.Object["metadata"]!;
        if ((metadata["labels"] as JsonObject)?[label]?.GetValue<string>() == value)
        {
            return;
        }
        var updated = (JsonObject)current.Object.DeepClone();
        var labels = updated["metadata"]!["labels"] as JsonObject ?? [];
        labels[label] = value;
        updated["metadata"]!["labels"] = labels;
        await WriteUpdateAsync(updated, current, ct).ConfigureAwait(false);
    }

    private async Task WriteUpdateAsync(JsonObject updated, StoredObject current, CancellationToken ct)
    {
        var txn = await _services.BeforeUpdateAsync(updated, current.Object, subresource: null, dryRun: false, ct).ConfigureAwait(false);
        try
        {
            await _objects.UpdateAsync(_serviceDef, updated, current.ModRevision, ct).ConfigureAwait(false);
            await txn.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (StoreException)
        {
            // Raced with a client: the next round looks again.
            await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Creates the object, or replaces its content when it differs (these two belong to the API server).</summary>
    private async Task EnsureObjectAsync<T>(ResourceDefinition def, T desired, CancellationToken ct)
        where T : class
    {
        var obj = KubeJson.ToNode(desired).AsObject();
        obj["apiVersion"] = def.ApiVersion;
        obj["kind"] = def.Kind;
        var name = Meta.Name(obj)!;
        var ns = Meta.Namespace(obj);
        var current = await _objects.GetAsync(def, ns, name, ct).ConfigureAwait(false);
        try
        {
            if (current is null)
            {
                Strategy.PrepareForCreate(def, obj, _time.GetUtcNow());
                await _objects.CreateAsync(def, obj, ct).ConfigureAwait(false);
                return;
            }
            var updated = (JsonObject)current.Object.DeepClone();
            var changed = false;
            foreach (var field in new[] { "subsets", "addressType", "endpoints", "ports" })
            {
                if (!JsonNode.DeepEquals(updated[field], obj[field]))
                {
                    updated[field] = obj[field]?.DeepClone();
                    changed = true;
                }
            }
            if (changed)
            {
                await _objects.UpdateAsync(def, updated, current.ModRevision, ct).ConfigureAwait(false);
            }
        }
        catch (StoreException)
        {
            // Raced with a client: the next round looks again.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "cannot create the system Service {Namespace}/{Name}: {Reason}")]
    private partial void LogCannotCreate(string @namespace, string name, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "reconciling the system Services failed")]
    private partial void LogReconcileFailed(Exception e);
}
