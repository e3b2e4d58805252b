using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.EndpointSliceMirroring;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.Framework;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.EndpointSliceMirroring;

public sealed class MirroringApiFixture() : ApiServerFixture("mirror-");

/// <summary>A mirroring controller over its own shared informers, optionally running its workers.</summary>
internal sealed class MirroringHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    private MirroringHarness(KubeClient client, SharedInformers informers, EndpointSliceMirroringController controller)
    {
        Client = client;
        Informers = informers;
        Controller = controller;
    }

    public KubeClient Client { get; }

    public SharedInformers Informers { get; }

    public EndpointSliceMirroringController Controller { get; }

    /// <param name="run">Run the workers; false leaves syncing to the test (SyncAsync).</param>
    /// <param name="writer">Null for the API server.</param>
    public static async Task<MirroringHarness> StartAsync(KubeClient client, bool run, IEndpointSliceWriter? writer = null)
    {
        var informers = new SharedInformers(client);
        var controller = new EndpointSliceMirroringController(informers, TimeSpan.Zero, TimeProvider.System, _ => { }, writer);
        var harness = new MirroringHarness(client, informers, controller);
        await Eventually.SyncedAsync(informers);
        if (run)
        {
            harness._running = controller.RunAsync(2, harness._stop.Token);
        }
        return harness;
    }

    /// <summary>Waits until the informers hold the object (a sync reads only the cache).</summary>
    public Task CachedAsync<T>(string ns, string name, Func<T, bool>? condition = null)
        where T : class, IKubernetesObject =>
        UntilAsync(() => Informers.For<T>().Get(ns, name) is { } o && (condition?.Invoke(o) ?? true), $"{typeof(T).Name} {ns}/{name} in the cache");

    /// <summary>The slices of the namespace managed by the mirroring controller, from the API.</summary>
    public static async Task<List<EndpointSlice>> MirroredAsync(KubeClient client, string ns) =>
        [.. (await client.ListAsync<EndpointSlice>(ns, new ListOptions(LabelSelector: $"{EndpointSliceRules.ManagedByLabel}={EndpointSliceRules.MirroringControllerName}"))).Items
            .Where(s => s.Metadata!.DeletionTimestamp is null)
            .OrderBy(s => s.AddressType, StringComparer.Ordinal).ThenBy(s => s.Metadata!.Name, StringComparer.Ordinal)];

    public async Task<List<Event>> EventsAsync(string ns, string reason)
    {
        await Controller.FlushEventsAsync();
        return [.. (await Client.ListAsync<Event>(ns)).Items.Where(e => e.Reason == reason)];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        await Controller.DisposeAsync();
        await Informers.DisposeAsync();
        _stop.Dispose();
    }

    public static Service SelectorlessService(string ns, string name, Dictionary<string, string>? selector = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Spec = new ServiceSpec
        {
            Selector = selector,
            Ports = [new ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = IntOrString.FromInt32(88) }],
        },
    };

    public static Endpoints NewEndpoints(string ns, string name, params EndpointSubset[] subsets) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Subsets = [.. subsets],
    };

    public static EndpointSubset Subset(EndpointPort[] ports, string[] ready, string[]? notReady = null) => new()
    {
        Ports = [.. ports],
        Addresses = ready.Length == 0 ? null : [.. ready.Select(ip => new EndpointAddress { Ip = ip })],
        NotReadyAddresses = notReady is not { Length: > 0 } ? null : [.. notReady.Select(ip => new EndpointAddress { Ip = ip })],
    };

    public static EndpointPort Port(string? name, int port, string? protocol = "TCP") => new() { Name = name, Port = port, Protocol = protocol };

    /// <summary>Upstream generateAddresses: 10.0.i/255.i%255.</summary>
    public static List<EndpointAddress> GenerateAddresses(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new EndpointAddress { Ip = $"10.0.{i / 255}.{i % 255}" })];

    /// <summary>
    /// Upstream expectEndpointSlices: the number of slices; each named after the Endpoints, labelled with it, without
    /// the trigger-time and last-applied annotations but with every other one; and per canonical subset, the
    /// endpoints of the slices with its ports are its addresses (up to the maximum), with readiness, hostname, node.
    /// </summary>
    public static void ExpectEndpointSlices(int count, int maxEndpointsPerSubset, Endpoints endpoints, IReadOnlyList<EndpointSlice> slices)
    {
        Assert.Equal(count, slices.Count);
        if (count == 0)
        {
            return;
        }
        var name = endpoints.Metadata!.Name!;
        foreach (var slice in slices)
        {
            Assert.StartsWith(name, slice.Metadata!.Name, StringComparison.Ordinal);
            Assert.Equal(name, slice.Metadata.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel));
            Assert.False(slice.Metadata.Annotations?.ContainsKey("kubectl.kubernetes.io/last-applied-configuration") ?? false);
            Assert.False(slice.Metadata.Annotations?.ContainsKey(PodEndpointRules.LastChangeTriggerTimeAnnotation) ?? false);
            foreach (var (key, value) in endpoints.Metadata.Annotations ?? [])
            {
                if (key is not ("kubectl.kubernetes.io/last-applied-configuration" or PodEndpointRules.LastChangeTriggerTimeAnnotation))
                {
                    Assert.Equal(value, slice.Metadata.Annotations?.GetValueOrDefault(key));
                }
            }
        }

        // The canonical subsets, so a test with more addresses than allowed knows which were mirrored.
        foreach (var subset in EndpointSubsets.Repack(endpoints.Subsets ?? []))
        {
            if ((subset.Addresses?.Count ?? 0) + (subset.NotReadyAddresses?.Count ?? 0) == 0)
            {
                continue;
            }
            var matching = slices.Where(s => PortsMatch(subset.Ports ?? [], s.Ports ?? [])).ToList();
            Assert.All(matching, s => Assert.Contains(s.AddressType, new[] { "IPv4", "IPv6" }));
            var v4 = matching.Where(s => s.AddressType == "IPv4").SelectMany(s => s.Endpoints ?? []).ToList();
            var v6 = matching.Where(s => s.AddressType == "IPv6").SelectMany(s => s.Endpoints ?? []).ToList();
            Assert.True(v4.Count + v6.Count > 0, "no EndpointSlices match the Endpoints subset");
            ExpectMatchingAddresses(subset, v4, "IPv4", maxEndpointsPerSubset);
            ExpectMatchingAddresses(subset, v6, "IPv6", maxEndpointsPerSubset);
        }
    }

    private static bool PortsMatch(List<EndpointPort> epPorts, List<EndpointSlicePort> slicePorts)
    {
        if (epPorts.Count != slicePorts.Count)
        {
            return false;
        }
        var toMatch = epPorts.ToDictionary(p => p.Port ?? 0);
        foreach (var slicePort in slicePorts)
        {
            if (!toMatch.Remove(slicePort.Port ?? 0, out var epPort))
            {
                return false;
            }
            // The API server defaults an Endpoints port's protocol to TCP; Endpoints built in a test may lack it.
            if ((epPort.Name ?? "") != slicePort.Name || (string.IsNullOrEmpty(epPort.Protocol) ? "TCP" : epPort.Protocol) != slicePort.Protocol
                || epPort.AppProtocol != slicePort.AppProtocol)
            {
                return false;
            }
        }
        return true;
    }

    private static void ExpectMatchingAddresses(EndpointSubset subset, List<Endpoint> endpoints, string addressType, int max)
    {
        // Assumes each IP is unique within a subset, as upstream's does.
        var expected = new Dictionary<string, (bool Ready, EndpointAddress Address)>();
        foreach (var (address, ready) in (subset.Addresses ?? []).Select(a => (a, true)).Concat((subset.NotReadyAddresses ?? []).Select(a => (a, false))))
        {
            var type = Api.Validation.NetValidation.IsIPv4String(address.Ip!) ? "IPv4"
                : Api.Validation.NetValidation.IsIPv6String(address.Ip!) ? "IPv6" : null;
            if (type == addressType && expected.Count < max)
            {
                expected[address.Ip!] = (ready, address);
            }
        }
        Assert.Equal(expected.Count, endpoints.Count);
        foreach (var endpoint in endpoints)
        {
            var ip = Assert.Single(endpoint.Addresses!);
            Assert.True(expected.TryGetValue(ip, out var want), $"EndpointSlice has endpoint with unexpected address: {ip}");
            Assert.Equal(want.Ready, endpoint.Conditions?.Ready);
            Assert.Equal(string.IsNullOrEmpty(want.Address.Hostname) ? null : want.Address.Hostname, endpoint.Hostname);
            if (want.Address.NodeName is not null)
            {
                Assert.Equal(want.Address.NodeName, endpoint.NodeName);
            }
        }
    }
}

/// <summary>The real writer, counting calls as upstream's fake clientset counts actions.</summary>
internal sealed class CountingWriter(IEndpointSliceWriter inner) : IEndpointSliceWriter
{
    public int Created { get; private set; }

    public int Updated { get; private set; }

    public int Deleted { get; private set; }

    public int Actions => Created + Updated + Deleted;

    public Task<EndpointSlice> CreateAsync(EndpointSlice slice, CancellationToken ct)
    {
        Created++;
        return inner.CreateAsync(slice, ct);
    }

    public Task<EndpointSlice> UpdateAsync(EndpointSlice slice, CancellationToken ct)
    {
        Updated++;
        return inner.UpdateAsync(slice, ct);
    }

    public Task DeleteAsync(string ns, string name, CancellationToken ct)
    {
        Deleted++;
        return inner.DeleteAsync(ns, name, ct);
    }
}
