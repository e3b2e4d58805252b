using Berth.Api.Models;

namespace Berth.Controllers.EndpointSlices;

/// <summary>
/// Upstream staging/src/k8s.io/endpointslice/util/endpointslice_tracker.go: the generation of every EndpointSlice the
/// controller last wrote, per Service, so it can tell its own writes (nothing to do) from others' (resync), and see
/// when the informer cache still lags behind them (<see cref="StaleSlices"/>). Thread-safe.
/// </summary>
public sealed class EndpointSliceTracker
{
    // A generation no write can have: the controller deleted this slice and waits to see it go.
    private const long DeletionExpected = -1;

    private readonly Lock _lock = new();

    // Service namespace/name → slice uid → generation (or DeletionExpected).
    private readonly Dictionary<(string Namespace, string Name), Dictionary<string, long>> _generationsByService = [];

    /// <summary>Whether a generation (or an expected deletion) is tracked for the slice.</summary>
    public bool Has(EndpointSlice slice)
    {
        lock (_lock)
        {
            return GenerationsFor(slice) is { } generations && generations.ContainsKey(Uid(slice));
        }
    }

    /// <summary>True unless the tracked generation of the slice is at least its own: a change the controller did not make.</summary>
    public bool ShouldSync(EndpointSlice slice)
    {
        lock (_lock)
        {
            if (GenerationsFor(slice) is not { } generations || !generations.TryGetValue(Uid(slice), out var generation))
            {
                return true;
            }
            return Generation(slice) > generation;
        }
    }

    /// <summary>
    /// Whether the informer cache lags behind the controller's own writes for this Service: a given slice is older
    /// than tracked or expected to be deleted, or a tracked slice (not one being deleted) is missing.
    /// </summary>
    public bool StaleSlices(Service service, IReadOnlyList<EndpointSlice> slices)
    {
        lock (_lock)
        {
            var key = (service.Metadata?.Namespace ?? "", service.Metadata?.Name ?? "");
            if (!_generationsByService.TryGetValue(key, out var generations))
            {
                return false;
            }
            var provided = new HashSet<string>(StringComparer.Ordinal);
            foreach (var slice in slices)
            {
                provided.Add(Uid(slice));
                if (generations.TryGetValue(Uid(slice), out var generation) &&
                    (generation == DeletionExpected || generation > Generation(slice)))
                {
                    return true;
                }
            }
            foreach (var (uid, generation) in generations)
            {
                if (generation != DeletionExpected && !provided.Contains(uid))
                {
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>Records the slice's generation (after the controller wrote it).</summary>
    public void Update(EndpointSlice slice)
    {
        lock (_lock)
        {
            GenerationsForWrite(slice)[Uid(slice)] = Generation(slice);
        }
    }

    /// <summary>Forgets everything tracked for the Service.</summary>
    public void DeleteService(string ns, string name)
    {
        lock (_lock)
        {
            _generationsByService.Remove((ns, name));
        }
    }

    /// <summary>Records that the controller deleted the slice.</summary>
    public void ExpectDeletion(EndpointSlice slice)
    {
        lock (_lock)
        {
            GenerationsForWrite(slice)[Uid(slice)] = DeletionExpected;
        }
    }

    /// <summary>Forgets the deleted slice; false when a live generation was tracked (someone else deleted it).</summary>
    public bool HandleDeletion(EndpointSlice slice)
    {
        lock (_lock)
        {
            if (GenerationsFor(slice) is { } generations && generations.Remove(Uid(slice), out var generation))
            {
                return generation == DeletionExpected;
            }
            return true;
        }
    }

    /// <summary>The tracked generation of the slice (-1: deletion expected), for tests (upstream GenerationsForSliceUnsafe).</summary>
    internal long? TrackedGeneration(EndpointSlice slice)
    {
        lock (_lock)
        {
            return GenerationsFor(slice) is { } generations && generations.TryGetValue(Uid(slice), out var generation) ? generation : null;
        }
    }

    private Dictionary<string, long>? GenerationsFor(EndpointSlice slice) =>
        _generationsByService.GetValueOrDefault(ServiceKey(slice));

    private Dictionary<string, long> GenerationsForWrite(EndpointSlice slice)
    {
        var key = ServiceKey(slice);
        if (!_generationsByService.TryGetValue(key, out var generations))
        {
            generations = new Dictionary<string, long>(StringComparer.Ordinal);
            _generationsByService[key] = generations;
        }
        return generations;
    }

    // The Service a slice belongs to is named by its kubernetes.io/service-name label (upstream getServiceNN).
    private static (string Namespace, string Name) ServiceKey(EndpointSlice slice) =>
        (slice.Metadata?.Namespace ?? "", slice.Metadata?.Labels?.GetValueOrDefault(EndpointSliceRules.ServiceNameLabel) ?? "");

    private static string Uid(EndpointSlice slice) => slice.Metadata?.Uid ?? "";

    private static long Generation(EndpointSlice slice) => slice.Metadata?.Generation ?? 0;
}
