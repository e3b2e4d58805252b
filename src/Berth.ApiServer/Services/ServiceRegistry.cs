using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Validation;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Http;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.Storage;

namespace Berth.ApiServer.Services;

/// <summary>
/// What makes a Service write a Service write (upstream's service REST storage and strategy): keep allocated values
/// a client did not resend, clear what a type change makes meaningless, allocate cluster IPs and node ports, then
/// validate; after a delete, give everything back and remove the Endpoints of the same name.
/// </summary>
public sealed class ServiceRegistry : IObjectHooks
{
    private readonly ServiceAllocator _allocator;
    private readonly ObjectStore _objects;
    private readonly ResourceDefinition _endpoints;

    public ServiceRegistry(ServiceAllocator allocator, ObjectStore objects, ResourceCatalog catalog)
    {
        _allocator = allocator;
        _objects = objects;
        _endpoints = catalog.Get("", "endpoints");
    }

    public string Kind => "Service";

    public async Task<AllocationTransaction> BeforeCreateAsync(JsonObject obj, bool dryRun, CancellationToken ct)
    {
        var service = KubeJson.Deserialize<Service>(obj);
        ServiceUpdateRules.NormalizeClusterIPs(null, service);
        // Upstream allocates before validating (BeginCreate runs first), so allocator errors win over field errors.
        var txn = await _allocator.AllocateCreateAsync(service, dryRun, ct).ConfigureAwait(false);
        await ThrowIfInvalidAsync(service, ServiceValidation.ValidateCreate(service), txn).ConfigureAwait(false);
        obj["spec"] = KubeJson.ToNode(service.Spec);
        return txn;
    }

    public async Task<AllocationTransaction> BeforeUpdateAsync(JsonObject updated, JsonObject old, string? subresource, bool dryRun, CancellationToken ct)
    {
        var service = KubeJson.Deserialize<Service>(updated);
        var oldService = KubeJson.Deserialize<Service>(old);
        if (subresource == "status")
        {
            await ThrowIfInvalidAsync(service, ServiceValidation.ValidateStatusUpdate(service, oldService), null).ConfigureAwait(false);
            return new AllocationTransaction();
        }
        ServiceUpdateRules.PatchAllocatedValues(service, oldService);
        ServiceUpdateRules.NormalizeClusterIPs(oldService, service);
        ServiceUpdateRules.DropTypeDependentFields(service, oldService);
        ServiceUpdateRules.TrimForSingleStackDowngrade(service, oldService);
        var txn = await _allocator.AllocateUpdateAsync(service, oldService, dryRun, ct).ConfigureAwait(false);
        await ThrowIfInvalidAsync(service, ServiceValidation.ValidateUpdate(service, oldService), txn).ConfigureAwait(false);
        updated["spec"] = KubeJson.ToNode(service.Spec);
        if (service.Status is not null)
        {
            updated["status"] = KubeJson.ToNode(service.Status);
        }
        return txn;
    }

    public async Task AfterDeleteAsync(JsonObject deleted, CancellationToken ct)
    {
        var service = KubeJson.Deserialize<Service>(deleted);
        await _allocator.ReleaseAsync(service, ct).ConfigureAwait(false);
        // As upstream: remove the Service's Endpoints at once, so a new Service of the same name never sees stale ones.
        if (await _objects.GetAsync(_endpoints, service.Metadata?.Namespace, service.Metadata?.Name ?? "", ct).ConfigureAwait(false) is { } endpoints)
        {
            try
            {
                await _objects.DeleteAsync(_endpoints, service.Metadata?.Namespace, service.Metadata!.Name!, endpoints.ModRevision, ct).ConfigureAwait(false);
            }
            catch (StoreException)
            {
                // Changed or gone meanwhile: the endpoints controller owns it from here.
            }
        }
    }

    private static async Task ThrowIfInvalidAsync(Service service, List<FieldError> errors, AllocationTransaction? txn)
    {
        if (errors.Count == 0)
        {
            return;
        }
        if (txn is not null)
        {
            await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
        }
        throw ApiException.Invalid("Service", service.Metadata?.Name ?? "", errors);
    }
}
