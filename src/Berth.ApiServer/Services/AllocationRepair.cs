using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer.Services;

/// <summary>
/// Makes the allocation pools agree with the stored Services before the API server takes requests (upstream's
/// ipallocator and portallocator repair controllers): a value a Service holds but the pool lost is recorded again,
/// and a value held for a Service that is gone, or no longer uses it, is released. Leaks come only from a crash
/// between allocating and writing the Service, so running this at start-up closes them all.
/// </summary>
public sealed partial class AllocationRepair
{
    private readonly ObjectStore _objects;
    private readonly ServiceNetwork _network;
    private readonly ServiceAllocator _allocator;
    private readonly ResourceDefinition _serviceDef;
    private readonly ILogger<AllocationRepair> _logger;

    public AllocationRepair(ObjectStore objects, ServiceNetwork network, ServiceAllocator allocator, ResourceCatalog catalog, ILogger<AllocationRepair> logger)
    {
        _objects = objects;
        _network = network;
        _allocator = allocator;
        _serviceDef = catalog.Get("", "services");
        _logger = logger;
    }

    /// <summary>Repairs, then opens the pools for requests (<see cref="ServiceNetwork.Ready"/>), also when it fails.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await RepairAsync(ct).ConfigureAwait(false);
            _network.SetReady();
        }
        catch (Exception e)
        {
            _network.SetReady(e);
            throw;
        }
    }

    private async Task RepairAsync(CancellationToken ct)
    {
        await _network.LoadAsync(ct).ConfigureAwait(false);
        var (items, _) = await _objects.ListAsync(_serviceDef, null, ct).ConfigureAwait(false);
        var wanted = new HashSet<(string Pool, string Value, string Uid)>();
        var services = items.Select(i => KubeJson.Deserialize<Service>(i.Object)).ToList();
        var live = services.Select(s => s.Metadata?.Uid ?? "").ToHashSet(StringComparer.Ordinal);
        foreach (var service in services)
        {
            var owner = ServiceAllocator.OwnerOf(service);
            var holdings = _allocator.Holdings(service).ToList();
            if (ServiceLoadBalancer.IsOurs(service))
            {
                holdings.AddRange(ServiceAllocator.IngressIPs(service)
                    .Where(ip => System.Net.IPAddress.TryParse(ip, out var a) && _network.LoadBalancerRange.Contains(a))
                    .Select(ip => (_network.LoadBalancerAddresses, ip)));
            }
            foreach (var (pool, value) in holdings)
            {
                wanted.Add((pool.Name, value, owner.Uid));
                var holder = pool.OwnerOf(value);
                if (holder is null)
                {
                    try
                    {
                        await pool.RestoreAsync(value, owner, ct).ConfigureAwait(false);
                        LogRestored(pool.Name, value, owner.ToString());
                    }
                    catch (AllocationException e)
                    {
                        // Outside today's range (the flag changed): the Service keeps it, nobody else can get it.
                        LogOutOfRange(pool.Name, value, owner.ToString(), e.Message);
                    }
                }
                else if (holder.Uid != owner.Uid && !live.Contains(holder.Uid))
                {
                    // Recorded for a Service that is gone, used by one that exists: it belongs to the living one.
                    await pool.ReleaseAsync(value, holder, ct).ConfigureAwait(false);
                    await pool.RestoreAsync(value, owner, ct).ConfigureAwait(false);
                    LogRestored(pool.Name, value, owner.ToString());
                }
                else if (holder.Uid != owner.Uid)
                {
                    // Two stored Services claim it; the recorded one keeps it, and it is never released here.
                    wanted.Add((pool.Name, value, holder.Uid));
                    LogConflict(pool.Name, value, owner.ToString(), holder.ToString());
                }
            }
        }
        foreach (var pool in _network.Pools)
        {
            foreach (var (value, owner) in pool.Snapshot())
            {
                if (!wanted.Contains((pool.Name, value, owner.Uid)))
                {
                    await pool.ReleaseAsync(value, owner, ct).ConfigureAwait(false);
                    LogReleased(pool.Name, value, owner.ToString());
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "repair: {Pool} {Value} is held by Service {Owner} but was not recorded; recorded it")]
    private partial void LogRestored(string pool, string value, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "repair: {Pool} {Value} of Service {Owner} is outside the configured range: {Reason}")]
    private partial void LogOutOfRange(string pool, string value, string owner, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "repair: {Pool} {Value} is used by Service {Owner} but recorded for {Holder}")]
    private partial void LogConflict(string pool, string value, string owner, string holder);

    [LoggerMessage(Level = LogLevel.Information, Message = "repair: released {Pool} {Value}, recorded for {Owner} which no longer holds it")]
    private partial void LogReleased(string pool, string value, string owner);
}
