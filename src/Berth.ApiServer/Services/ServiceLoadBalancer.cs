using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Services;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer.Services;

/// <summary>
/// The built-in load-balancer implementation (the role k3s's ServiceLB or MetalLB play): every LoadBalancer Service
/// of the default class gets one address from the pool (127.100.0.0/16 by default), or the one it asks for in
/// <c>spec.loadBalancerIP</c>, and <c>status.loadBalancer.ingress</c> says so as soon as the Service is seen. The
/// node agents' proxies listen there. Services of another <c>loadBalancerClass</c>, or labelled for another proxy,
/// are left alone; when an address can't be had, a Warning event says why instead of a silent &lt;pending&gt;.
/// </summary>
/// <remarks>
/// It runs inside the API server and reads the store directly, like the namespace lifecycle, because it shares the
/// allocation pools with the Service registry (an address is released synchronously when its Service goes).
/// </remarks>
public sealed partial class ServiceLoadBalancer : BackgroundService
{
    /// <summary>The class this implementation also answers to, besides no class at all.</summary>
    public const string ClassName = "berth.io/service-lb";

    private const string Component = "service-lb-controller";

    private readonly ObjectStore _objects;
    private readonly ServiceNetwork _network;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceLoadBalancer> _logger;
    private readonly ResourceDefinition _serviceDef;
    private readonly ResourceDefinition _eventDef;
    // The last event message per Service (namespace/name): one that keeps failing the same way is reported once.
    private readonly Dictionary<string, string> _lastEvent = new(StringComparer.Ordinal);
    private readonly Channel<(string Namespace, string Name)> _queue = Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleReader = true });

    public ServiceLoadBalancer(ObjectStore objects, ServiceNetwork network, ResourceCatalog catalog, TimeProvider time, ILogger<ServiceLoadBalancer> logger)
    {
        _objects = objects;
        _network = network;
        _time = time;
        _logger = logger;
        _serviceDef = catalog.Get("", "services");
        _eventDef = catalog.Get("", "events");
    }

    /// <summary>Whether this implementation serves the Service's load balancer.</summary>
    public static bool IsOurs(Service service) =>
        service.Spec?.Type == ServiceRules.TypeLoadBalancer &&
        (service.Spec.LoadBalancerClass is null || service.Spec.LoadBalancerClass == ClassName) &&
        ServiceRules.IsProxiedByBerth(service);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _network.Ready.WaitAsync(stoppingToken).ConfigureAwait(false);
        var worker = WorkAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (items, revision) = await _objects.ListAsync(_serviceDef, null, stoppingToken).ConfigureAwait(false);
                foreach (var item in items)
                {
                    Enqueue(item.Object);
                }
                await foreach (var e in _objects.Store.WatchAsync(_serviceDef.StoragePrefix(null), revision, stoppingToken).ConfigureAwait(false))
                {
                    Enqueue(ObjectStore.Decode(e.Value, e.ModRevision).Object);
                }
            }
            catch (CompactedException)
            {
                // Fell behind a compaction: list again.
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
        _queue.Writer.TryComplete();
        await worker.ConfigureAwait(false);
    }

    private void Enqueue(JsonObject service) => _queue.Writer.TryWrite((Meta.Namespace(service) ?? "", Meta.Name(service) ?? ""));

    private async Task WorkAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var key in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    await ReconcileAsync(key.Namespace, key.Name, ct).ConfigureAwait(false);
                }
                catch (StoreException)
                {
                    // A write raced with a client; its watch event brings the key back.
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogReconcileFailed(key.Namespace, key.Name, e);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task ReconcileAsync(string ns, string name, CancellationToken ct)
    {
        var current = await _objects.GetAsync(_serviceDef, ns, name, ct).ConfigureAwait(false);
        if (current is null)
        {
            // Deleting a Service released its address already (ServiceAllocator.ReleaseAsync).
            _lastEvent.Remove($"{ns}/{name}");
            return;
        }
        var service = KubeJson.Deserialize<Service>(current.Object);
        var owner = ServiceAllocator.OwnerOf(service);
        var held = HeldBy(owner);
        if (!IsOurs(service) || Meta.IsDeleting(current.Object))
        {
            // Not (or no longer) ours: give back what we held. The status is not ours to write: a type change
            // clears the ingress itself (ServiceUpdateRules), and another class's controller owns its own.
            foreach (var ip in held)
            {
                await _network.LoadBalancerAddresses.ReleaseAsync(ip, owner, ct).ConfigureAwait(false);
            }
            return;
        }
        var address = await ChooseAddressAsync(current, service, owner, held, ct).ConfigureAwait(false);
        foreach (var ip in held.Where(ip => ip != address))
        {
            await _network.LoadBalancerAddresses.ReleaseAsync(ip, owner, ct).ConfigureAwait(false);
        }
        await WriteIngressAsync(current, address, ct).ConfigureAwait(false);
    }

    private async Task<string?> ChooseAddressAsync(StoredObject current, Service service, AllocationOwner owner, List<string> held, CancellationToken ct)
    {
        var requested = service.Spec?.LoadBalancerIP;
        if (!string.IsNullOrEmpty(requested))
        {
            if (held.Contains(requested))
            {
                return requested;
            }
            try
            {
                await _network.LoadBalancerAddresses.AllocateAsync(requested, owner, dryRun: false, ct).ConfigureAwait(false);
                await RecordEventAsync(current, "IPAllocated", $"Assigned IP [\"{requested}\"]", ct, warning: false).ConfigureAwait(false);
                return requested;
            }
            catch (AllocationException e)
            {
                var holder = _network.LoadBalancerAddresses.OwnerOf(requested);
                var why = e.Kind == AllocationErrorKind.Allocated && holder is not null ? $"{e.Message} (to {holder})" : e.Message;
                await RecordEventAsync(current, "AllocationFailed", $"Failed to allocate IP {requested} for \"{owner}\": {why}", ct).ConfigureAwait(false);
                return null;
            }
        }
        if (held.Count > 0)
        {
            return held[0];
        }
        try
        {
            var ip = await _network.LoadBalancerAddresses.AllocateNextAsync(owner, dryRun: false, ct).ConfigureAwait(false);
            await RecordEventAsync(current, "IPAllocated", $"Assigned IP [\"{ip}\"]", ct, warning: false).ConfigureAwait(false);
            return ip;
        }
        catch (AllocationException e)
        {
            await RecordEventAsync(current, "AllocationFailed", $"Failed to allocate IP for \"{owner}\": no available IPs in pool {_network.LoadBalancerRange} ({e.Message})", ct).ConfigureAwait(false);
            return null;
        }
    }

    private List<string> HeldBy(AllocationOwner owner) =>
        [.. _network.LoadBalancerAddresses.Snapshot().Where(a => a.Owner.Uid == owner.Uid).Select(a => a.Value)];

    private async Task WriteIngressAsync(StoredObject current, string? address, CancellationToken ct)
    {
        var ingress = address is null
            ? new JsonArray()
            : new JsonArray(new JsonObject { ["ip"] = address, ["ipMode"] = "VIP" });
        var updated = (JsonObject)current.Object.DeepClone();
        var status = updated["status"] as JsonObject ?? [];
        updated["status"] = status;
        var loadBalancer = status["loadBalancer"] as JsonObject ?? [];
        status["loadBalancer"] = loadBalancer;
        var before = loadBalancer["ingress"] as JsonArray ?? [];
        if (JsonNode.DeepEquals(before, ingress))
        {
            return;
        }
        if (ingress.Count == 0)
        {
            loadBalancer.Remove("ingress");
        }
        else
        {
            loadBalancer["ingress"] = ingress;
        }
        await _objects.UpdateAsync(_serviceDef, updated, current.ModRevision, ct).ConfigureAwait(false);
    }

    private async Task RecordEventAsync(StoredObject current, string reason, string message, CancellationToken ct, bool warning = true)
    {
        var obj = current.Object;
        var key = $"{Meta.Namespace(obj)}/{Meta.Name(obj)}";
        if (_lastEvent.TryGetValue(key, out var last) && last == message)
        {
            return;
        }
        _lastEvent[key] = message;
        var now = _time.GetUtcNow();
        var name = $"{Meta.Name(obj)}.{now.ToUnixTimeMilliseconds().ToString("x", CultureInfo.InvariantCulture)}{Random.Shared.Next(0x1000):x3}";
        var ev = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Meta.Namespace(obj) },
            ["involvedObject"] = new JsonObject
            {
                ["kind"] = "Service",
                ["namespace"] = Meta.Namespace(obj),
                ["name"] = Meta.Name(obj),
                ["uid"] = Meta.String(obj, "uid"),
                ["apiVersion"] = "v1",
                ["resourceVersion"] = Meta.String(obj, "resourceVersion"),
            },
            ["reason"] = reason,
            ["message"] = message,
            ["source"] = new JsonObject { ["component"] = Component },
            ["firstTimestamp"] = Meta.Timestamp(now),
            ["lastTimestamp"] = Meta.Timestamp(now),
            ["count"] = 1,
            ["type"] = warning ? "Warning" : "Normal",
            ["reportingComponent"] = Component,
        };
        Strategy.PrepareForCreate(_eventDef, ev, now);
        try
        {
            await _objects.CreateAsync(_eventDef, ev, ct).ConfigureAwait(false);
        }
        catch (KeyExistsException)
        {
            // Same millisecond and suffix: one event is enough.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "service-lb: reconciling {Namespace}/{Name} failed")]
    private partial void LogReconcileFailed(string @namespace, string name, Exception e);
}
