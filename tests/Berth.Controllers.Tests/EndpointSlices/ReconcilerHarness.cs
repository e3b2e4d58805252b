using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.Tests.EndpointRules;

namespace Berth.Controllers.Tests.EndpointSlices;

/// <summary>
/// An in-memory EndpointSlice store standing in for upstream's fake clientset with its reactors: creates take a name
/// from generateName and generation 1, updates bump the generation, writes to a missing slice are 404s. Every write is
/// recorded (verb, name) in order; <see cref="Seed"/> adds slices without recording, like the setup before
/// upstream's numActionsBefore.
/// </summary>
internal sealed class RecordingEndpointSliceWriter : IEndpointSliceWriter
{
    private readonly Dictionary<string, EndpointSlice> _slices = new(StringComparer.Ordinal);
    private int _nextName;

    public List<(string Verb, string Name)> Actions { get; } = [];

    /// <summary>Makes the next writes fail: given the verb and the slice name, an exception to throw, or null.</summary>
    public Func<string, string, Exception?>? Fail { get; set; }

    public void Seed(IEnumerable<EndpointSlice> slices)
    {
        foreach (var slice in slices)
        {
            _slices[slice.Metadata!.Name!] = KubeJson.DeepClone(slice);
        }
    }

    /// <summary>The stored slices (copies), in name order.</summary>
    public List<EndpointSlice> List() => [.. _slices.Values.OrderBy(s => s.Metadata!.Name, StringComparer.Ordinal).Select(KubeJson.DeepClone)];

    public int Count(string verb) => Actions.Count(a => a.Verb == verb);

    public Task<EndpointSlice> CreateAsync(EndpointSlice slice, CancellationToken ct)
    {
        var stored = KubeJson.DeepClone(slice);
        var meta = stored.Metadata ??= new ObjectMeta();
        if (string.IsNullOrEmpty(meta.Name))
        {
            meta.Name = $"{meta.GenerateName}{_nextName++:x5}";
        }
        Record("create", meta.Name);
        if (_slices.ContainsKey(meta.Name))
        {
            throw new KubeApiException(409, null);
        }
        meta.Uid = Guid.NewGuid().ToString();
        meta.Generation = 1;
        _slices[meta.Name] = stored;
        return Task.FromResult(KubeJson.DeepClone(stored));
    }

    public Task<EndpointSlice> UpdateAsync(EndpointSlice slice, CancellationToken ct)
    {
        var name = slice.Metadata?.Name ?? "";
        Record("update", name);
        if (!_slices.TryGetValue(name, out var current))
        {
            throw new KubeApiException(404, null);
        }
        var stored = KubeJson.DeepClone(slice);
        stored.Metadata!.Uid = current.Metadata!.Uid;
        stored.Metadata.Generation = (current.Metadata.Generation ?? 0) + 1;
        _slices[name] = stored;
        return Task.FromResult(KubeJson.DeepClone(stored));
    }

    public Task DeleteAsync(string ns, string name, CancellationToken ct)
    {
        Record("delete", name);
        if (!_slices.Remove(name))
        {
            throw new KubeApiException(404, null);
        }
        return Task.CompletedTask;
    }

    private void Record(string verb, string name)
    {
        Actions.Add((verb, name));
        if (Fail?.Invoke(verb, name) is { } error)
        {
            throw error;
        }
    }
}

/// <summary>Upstream reconciler_test.go / utils_test.go helpers.</summary>
internal static class ReconcilerHarness
{
    public const string TestNamespace = "test";

    public static readonly Node Node1 = new() { Metadata = new ObjectMeta { Name = "node-1" } };

    /// <summary>newServiceAndEndpointMeta: Service foo with port "foo" 80/TCP → targetPort 80, IPv4, and its slice ports.</summary>
    public static (Service Service, List<EndpointSlicePort> Ports) NewServiceAndPorts(string name = "foo") =>
        (EndpointObjects.NewService(name, TestNamespace), [new EndpointSlicePort { Name = name, Port = 80, Protocol = "TCP" }]);

    public static List<Pod> NewPods(int count) => [.. Enumerable.Range(0, count).Select(i => EndpointObjects.NewPod(i, ready: i % 3 != 0))];

    /// <summary>newEmptyEndpointSlice: "foo-{n}", owned by the Service (controller reference), no endpoints, no labels.</summary>
    public static EndpointSlice NewEmptyEndpointSlice(int n, Service service, List<EndpointSlicePort> ports) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = $"{service.Metadata!.Name}-{n}",
            Namespace = TestNamespace,
            OwnerReferences =
            [
                new OwnerReference
                {
                    ApiVersion = "v1", Kind = "Service", Name = service.Metadata.Name, Uid = service.Metadata.Uid,
                    Controller = true, BlockOwnerDeletion = true,
                },
            ],
        },
        Ports = ports,
        AddressType = "IPv4",
        Endpoints = [],
    };

    /// <summary>podToEndpoint with an empty Node, as upstream's tests build existing slices.</summary>
    public static Endpoint ToEndpoint(Pod pod, Service service) =>
        EndpointSliceRules.PodToEndpoint(pod, new Node(), service, "IPv4");

    public static EndpointSliceReconciler NewReconciler(RecordingEndpointSliceWriter writer, int maxEndpointsPerSlice = 100) =>
        new(writer, new EndpointSliceTracker(), EndpointSliceRules.ControllerName, maxEndpointsPerSlice);

    public static Func<string, Node?> Nodes(params Node[] nodes) =>
        name => nodes.FirstOrDefault(n => n.Metadata!.Name == name);

    public static Task ReconcileHelperAsync(this EndpointSliceReconciler reconciler, Service service, IReadOnlyList<Pod> pods,
        IReadOnlyList<EndpointSlice> existing, DateTimeOffset? triggerTime = null, params Node[] nodes) =>
        reconciler.ReconcileAsync(service, pods, existing, Nodes(nodes.Length == 0 ? [Node1] : nodes), triggerTime ?? DateTimeOffset.UtcNow,
            CancellationToken.None);

    /// <summary>expectUnorderedSlicesWithLengths.</summary>
    public static void AssertSliceLengths(IEnumerable<EndpointSlice> slices, params int[] expected) =>
        Assert.Equal(expected.Order(), slices.Select(s => s.Endpoints?.Count ?? 0).Order());

    /// <summary>cacheMutationCheck: the JSON of the informer's slices before the reconcile, to compare after.</summary>
    public static List<string> Snapshot(IEnumerable<EndpointSlice> slices) =>
        [.. slices.Select(s => System.Text.Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(s)))];
}
