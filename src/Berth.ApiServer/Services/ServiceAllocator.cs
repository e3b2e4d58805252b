using System.Net;
using Berth.Api.Models;
using Berth.Api.Services;
using Berth.Api.Validation;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Http;

namespace Berth.ApiServer.Services;

/// <summary>
/// Cluster IPs, node ports and health-check node ports for Service writes, ported from upstream's
/// pkg/registry/core/service/storage/alloc.go: allocate before the write, then commit (release what the old
/// object held) or revert (release what was just taken) once the store has said yes or no.
/// </summary>
/// <remarks>
/// Node ports are allocated per protocol here (upstream shares one range across protocols): a userspace proxy
/// binds TCP and UDP sockets separately, so 30080/TCP and 30080/UDP can belong to different Services.
/// </remarks>
public sealed class ServiceAllocator
{
    private readonly ServiceNetwork _network;

    public ServiceAllocator(ServiceNetwork network)
    {
        _network = network;
    }

    /// <summary>allocateCreate: IP families, cluster IPs, node ports and the health-check node port of a new Service.</summary>
    public async Task<AllocationTransaction> AllocateCreateAsync(Service service, bool dryRun, CancellationToken ct)
    {
        await _network.Ready.WaitAsync(ct).ConfigureAwait(false);
        ThrowIfInvalid(service, ServiceIPFamilies.Apply(service, null, _network.Families));
        var txn = new AllocationTransaction();
        try
        {
            await AllocClusterIPsAsync(service, txn, dryRun, ct).ConfigureAwait(false);
            if (ServiceRules.NeedsNodePorts(service))
            {
                await InitNodePortsAsync(service, txn, dryRun, ct).ConfigureAwait(false);
            }
            if (ServiceRules.NeedsHealthCheck(service))
            {
                await AllocHealthCheckNodePortAsync(service, txn, dryRun, ct).ConfigureAwait(false);
            }
            return txn;
        }
        catch
        {
            await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>allocateUpdate: what a changed Service (type, ports, policy) needs and what it gives back.</summary>
    public async Task<AllocationTransaction> AllocateUpdateAsync(Service service, Service old, bool dryRun, CancellationToken ct)
    {
        await _network.Ready.WaitAsync(ct).ConfigureAwait(false);
        ThrowIfInvalid(service, ServiceIPFamilies.Apply(service, old, _network.Families));
        var txn = new AllocationTransaction();
        try
        {
            await UpdateClusterIPsAsync(service, old, txn, dryRun, ct).ConfigureAwait(false);
            await UpdateNodePortsAsync(service, old, txn, dryRun, ct).ConfigureAwait(false);
            await UpdateHealthCheckNodePortAsync(service, old, txn, dryRun, ct).ConfigureAwait(false);
            if (!dryRun && LoadBalancerAddressReleased(service, old))
            {
                var owner = OwnerOf(old);
                foreach (var ip in IngressIPs(old))
                {
                    txn.OnCommit(c => _network.LoadBalancerAddresses.ReleaseAsync(ip, owner, c));
                }
            }
            return txn;
        }
        catch
        {
            await txn.RevertAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>releaseAllocatedResources: everything a deleted Service held, including its load-balancer address.</summary>
    public async Task ReleaseAsync(Service service, CancellationToken ct)
    {
        await _network.Ready.WaitAsync(ct).ConfigureAwait(false);
        var owner = OwnerOf(service);
        foreach (var (pool, value) in Holdings(service))
        {
            await pool.ReleaseAsync(value, owner, ct).ConfigureAwait(false);
        }
        foreach (var ip in IngressIPs(service))
        {
            await _network.LoadBalancerAddresses.ReleaseAsync(ip, owner, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The (pool, value) pairs a stored Service holds: its cluster IPs, node ports and health-check node port.</summary>
    public IEnumerable<(AllocationPool Pool, string Value)> Holdings(Service service)
    {
        var spec = service.Spec;
        if (spec is null)
        {
            yield break;
        }
        if (ServiceRules.NeedsClusterIP(service) && !ServiceRules.IsHeadless(service))
        {
            foreach (var ip in spec.ClusterIPs ?? [])
            {
                if (_network.ClusterIPPool(ip) is { } pool)
                {
                    yield return (pool, Canonical(ip));
                }
            }
        }
        foreach (var port in spec.Ports ?? [])
        {
            if (port.NodePort is > 0 and var nodePort && _network.NodePortPool(port.Protocol) is { } pool)
            {
                yield return (pool, nodePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        if (ServiceRules.NeedsHealthCheck(service) && spec.HealthCheckNodePort is > 0 and var hc)
        {
            yield return (_network.NodePortPool("TCP")!, hc.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public static AllocationOwner OwnerOf(Service service) =>
        new(service.Metadata?.Namespace ?? "", service.Metadata?.Name ?? "", service.Metadata?.Uid ?? "");

    /// <summary>The load-balancer ingress IPs a Service shows (ours or another implementation's).</summary>
    public static IEnumerable<string> IngressIPs(Service service) =>
        (service.Status?.LoadBalancer?.Ingress ?? []).Select(i => i.Ip).OfType<string>().Where(ip => ip.Length > 0);

    private static bool LoadBalancerAddressReleased(Service service, Service old) =>
        old.Spec?.Type == ServiceRules.TypeLoadBalancer &&
        (service.Spec?.Type != ServiceRules.TypeLoadBalancer || service.Spec?.LoadBalancerClass != old.Spec?.LoadBalancerClass);

    // allocClusterIPs: one address per requested family, "" meaning "any".
    private async Task AllocClusterIPsAsync(Service service, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var spec = service.Spec!;
        if (!ServiceRules.NeedsClusterIP(service) || ServiceRules.IsHeadless(service))
        {
            return;
        }
        var families = spec.IpFamilies ?? [];
        var ips = spec.ClusterIPs ?? [];
        var result = new List<string>(families.Count);
        for (var i = 0; i < families.Count; i++)
        {
            var requested = i < ips.Count ? ips[i] : "";
            var pool = _network.ClusterIPPoolFor(families[i]);
            result.Add(await AllocIPAsync(service, pool, requested, txn, dryRun, ct).ConfigureAwait(false));
        }
        spec.ClusterIPs = result;
        spec.ClusterIP = result.Count > 0 ? result[0] : spec.ClusterIP;
    }

    private static async Task<string> AllocIPAsync(Service service, AllocationPool pool, string requested, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var owner = OwnerOf(service);
        if (requested.Length == 0)
        {
            try
            {
                var ip = await pool.AllocateNextAsync(owner, dryRun, ct).ConfigureAwait(false);
                txn.OnRevert(c => pool.ReleaseAsync(ip, owner, c), dryRun);
                return ip;
            }
            catch (AllocationException e)
            {
                throw ApiException.Internal($"failed to allocate a serviceIP: {e.Message}");
            }
        }
        var value = Canonical(requested);
        try
        {
            await pool.AllocateAsync(value, owner, dryRun, ct).ConfigureAwait(false);
        }
        catch (AllocationException e)
        {
            throw ApiException.Invalid("Service", service.Metadata?.Name ?? "",
                [new FieldError("Invalid value", "spec.clusterIPs", $"failed to allocate IP {requested}: {e.Message}", GoStrings(service.Spec!.ClusterIPs))]);
        }
        txn.OnRevert(c => pool.ReleaseAsync(value, owner, c), dryRun);
        return requested;
    }

    // updateClusterIPs: ExternalName to a type with an IP allocates; the reverse releases; otherwise IPs are immutable.
    private async Task UpdateClusterIPsAsync(Service service, Service old, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var oldSpec = old.Spec!;
        if (oldSpec.Type == ServiceRules.TypeExternalName && service.Spec!.Type != ServiceRules.TypeExternalName)
        {
            await AllocClusterIPsAsync(service, txn, dryRun, ct).ConfigureAwait(false);
            return;
        }
        if (ServiceRules.IsHeadless(old))
        {
            return;
        }
        if (oldSpec.Type != ServiceRules.TypeExternalName && service.Spec!.Type == ServiceRules.TypeExternalName)
        {
            var owner = OwnerOf(old);
            foreach (var ip in oldSpec.ClusterIPs ?? [])
            {
                if (_network.ClusterIPPool(ip) is { } pool)
                {
                    var value = Canonical(ip);
                    txn.OnCommit(c => pool.ReleaseAsync(value, owner, c), dryRun);
                }
            }
        }
    }

    // initNodePorts: requested ports are taken as asked; the others get one free port, shared by every entry with the
    // same service port (TCP and UDP on port 53 get one nodePort number, as upstream).
    private async Task InitNodePortsAsync(Service service, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var ports = service.Spec!.Ports ?? [];
        var byServicePort = new Dictionary<int, int>();
        var held = new HashSet<(string, int)>();
        for (var i = 0; i < ports.Count; i++)
        {
            var port = ports[i];
            var nodePort = port.NodePort ?? 0;
            if (nodePort == 0 && !ServiceRules.ShouldAllocateNodePorts(service))
            {
                continue;
            }
            var servicePort = port.Port ?? 0;
            if (nodePort == 0)
            {
                nodePort = byServicePort.GetValueOrDefault(servicePort);
            }
            if (nodePort == 0)
            {
                // A later entry for the same service port may name the nodePort this one should share.
                nodePort = ports.Skip(i).FirstOrDefault(p => p.Port == servicePort && (p.NodePort ?? 0) != 0)?.NodePort ?? 0;
            }
            if (nodePort == 0)
            {
                var protocols = SameServicePortProtocols(ports, servicePort);
                nodePort = await AllocateNextNodePortAsync(service, protocols, txn, dryRun, ct).ConfigureAwait(false);
                foreach (var protocol in protocols)
                {
                    held.Add((Protocol(protocol), nodePort));
                }
            }
            else if (held.Add((Protocol(port.Protocol), nodePort)))
            {
                await AllocateNodePortAsync(service, i, nodePort, port.Protocol, txn, dryRun, ct).ConfigureAwait(false);
            }
            port.NodePort = nodePort;
            byServicePort.TryAdd(servicePort, nodePort);
        }
    }

    // updateNodePorts: keep what the old object held, take what is new, release (on commit) what is gone.
    private async Task UpdateNodePortsAsync(Service service, Service old, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var oldHeld = NodePortKeys(old).ToHashSet();
        var newHeld = new HashSet<(string, int)>();
        if (ServiceRules.NeedsNodePorts(service))
        {
            var ports = service.Spec!.Ports ?? [];
            for (var i = 0; i < ports.Count; i++)
            {
                var port = ports[i];
                var nodePort = port.NodePort ?? 0;
                if (nodePort == 0 && !ServiceRules.ShouldAllocateNodePorts(service))
                {
                    continue;
                }
                if (nodePort == 0)
                {
                    nodePort = await AllocateNextNodePortAsync(service, [port.Protocol], txn, dryRun, ct).ConfigureAwait(false);
                    port.NodePort = nodePort;
                }
                else if (!oldHeld.Contains((Protocol(port.Protocol), nodePort)) && !newHeld.Contains((Protocol(port.Protocol), nodePort)))
                {
                    await AllocateNodePortAsync(service, i, nodePort, port.Protocol, txn, dryRun, ct).ConfigureAwait(false);
                }
                newHeld.Add((Protocol(port.Protocol), nodePort));
            }
        }
        var owner = OwnerOf(old);
        foreach (var (protocol, nodePort) in oldHeld.Except(newHeld))
        {
            var pool = _network.NodePortPool(protocol)!;
            var value = nodePort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            txn.OnCommit(c => pool.ReleaseAsync(value, owner, c), dryRun);
        }
    }

    // updateHealthCheckNodePort: allocated when a LoadBalancer turns to eTP Local, released when it stops being one.
    private async Task UpdateHealthCheckNodePortAsync(Service service, Service old, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var needed = ServiceRules.NeedsHealthCheck(old);
        var needs = ServiceRules.NeedsHealthCheck(service);
        if (!needed && needs)
        {
            await AllocHealthCheckNodePortAsync(service, txn, dryRun, ct).ConfigureAwait(false);
        }
        else if (needed && !needs && old.Spec!.HealthCheckNodePort is > 0 and var hc)
        {
            var pool = _network.NodePortPool("TCP")!;
            var value = hc.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var owner = OwnerOf(old);
            txn.OnCommit(c => pool.ReleaseAsync(value, owner, c), dryRun);
        }
    }

    private async Task AllocHealthCheckNodePortAsync(Service service, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var spec = service.Spec!;
        var pool = _network.NodePortPool("TCP")!;
        var owner = OwnerOf(service);
        if (spec.HealthCheckNodePort is > 0 and var requested)
        {
            var value = requested.ToString(System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                await pool.AllocateAsync(value, owner, dryRun, ct).ConfigureAwait(false);
            }
            catch (AllocationException e)
            {
                // Upstream answers 500 here; a port the client asked for is input, so it gets a 422 like nodePort does.
                throw ApiException.Invalid("Service", service.Metadata?.Name ?? "",
                    [FieldError.Invalid("spec.healthCheckNodePort", requested, $"failed to allocate requested HealthCheck NodePort {requested}: {e.Message}")]);
            }
            txn.OnRevert(c => pool.ReleaseAsync(value, owner, c), dryRun);
            return;
        }
        try
        {
            var value = await pool.AllocateNextAsync(owner, dryRun, ct).ConfigureAwait(false);
            txn.OnRevert(c => pool.ReleaseAsync(value, owner, c), dryRun);
            spec.HealthCheckNodePort = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (AllocationException e)
        {
            throw ApiException.Internal($"failed to allocate a HealthCheck NodePort 0: {e.Message}");
        }
    }

    private async Task AllocateNodePortAsync(Service service, int index, int nodePort, string? protocol, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var pool = _network.NodePortPool(protocol)!;
        var owner = OwnerOf(service);
        var value = nodePort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            await pool.AllocateAsync(value, owner, dryRun, ct).ConfigureAwait(false);
        }
        catch (AllocationException e)
        {
            throw ApiException.Invalid("Service", service.Metadata?.Name ?? "",
                [FieldError.Invalid($"spec.ports[{index}].nodePort", nodePort, e.Message)]);
        }
        txn.OnRevert(c => pool.ReleaseAsync(value, owner, c), dryRun);
    }

    /// <summary>A port number free in every one of <paramref name="protocols"/>, taken in all of them.</summary>
    private async Task<int> AllocateNextNodePortAsync(Service service, IReadOnlyList<string?> protocols, AllocationTransaction txn, bool dryRun, CancellationToken ct)
    {
        var owner = OwnerOf(service);
        var first = _network.NodePortPool(protocols[0])!;
        // Bounded: each failed attempt holds its pick until the end, so the same number is never tried twice.
        var held = new List<string>();
        try
        {
            for (var attempt = 0; attempt < 64; attempt++)
            {
                string value;
                try
                {
                    value = await first.AllocateNextAsync(owner, dryRun, ct).ConfigureAwait(false);
                }
                catch (AllocationException e)
                {
                    throw ApiException.Internal($"failed to allocate a nodePort: {e.Message}");
                }
                var taken = new List<AllocationPool> { first };
                var ok = true;
                foreach (var protocol in protocols.Skip(1).Distinct())
                {
                    var pool = _network.NodePortPool(protocol)!;
                    try
                    {
                        await pool.AllocateAsync(value, owner, dryRun, ct).ConfigureAwait(false);
                        taken.Add(pool);
                    }
                    catch (AllocationException)
                    {
                        ok = false;
                        break;
                    }
                }
                if (ok)
                {
                    foreach (var pool in taken)
                    {
                        txn.OnRevert(c => pool.ReleaseAsync(value, owner, c), dryRun);
                    }
                    return int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                }
                foreach (var pool in taken.Skip(1))
                {
                    await pool.ReleaseAsync(value, owner, ct).ConfigureAwait(false);
                }
                held.Add(value);
            }
            throw ApiException.Internal("failed to allocate a nodePort: range is full");
        }
        finally
        {
            foreach (var value in held)
            {
                await first.ReleaseAsync(value, owner, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static List<string?> SameServicePortProtocols(List<ServicePort> ports, int servicePort) =>
        [.. ports.Where(p => p.Port == servicePort).Select(p => (string?)Protocol(p.Protocol)).Distinct()];

    private static IEnumerable<(string, int)> NodePortKeys(Service service) =>
        (service.Spec?.Ports ?? []).Where(p => p.NodePort > 0).Select(p => (Protocol(p.Protocol), p.NodePort!.Value));

    private static string Protocol(string? protocol) => string.IsNullOrEmpty(protocol) ? "TCP" : protocol;

    private static string Canonical(string ip) => IPAddress.TryParse(ip, out var parsed) ? parsed.ToString() : ip;

    // Go's %#v of a []string, as upstream's field.Invalid renders the clusterIPs value.
    private static string GoStrings(List<string>? values) =>
        "[]string{" + string.Join(", ", (values ?? []).Select(FieldError.Quote)) + "}";

    private static void ThrowIfInvalid(Service service, List<FieldError> errors)
    {
        if (errors.Count > 0)
        {
            throw ApiException.Invalid("Service", service.Metadata?.Name ?? "", errors);
        }
    }
}
