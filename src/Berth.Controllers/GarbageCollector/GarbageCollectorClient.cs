using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.GarbageCollector;

/// <summary>
/// The collector's API calls (upstream uses a metadata client): tests answer them from memory and record them.
/// Failures are <see cref="KubeApiException"/>s, as the real client throws them.
/// </summary>
internal interface IGarbageCollectorClient
{
    /// <summary>The object's metadata as the API server has it now; null when it does not exist.</summary>
    Task<ObjectMeta?> GetAsync(GcKind kind, string? ns, string name, CancellationToken ct);

    Task DeleteAsync(GcKind kind, string? ns, string name, DeleteOptions options, CancellationToken ct);

    Task PatchAsync(GcKind kind, string? ns, string name, PatchType type, string patch, CancellationToken ct);
}

internal sealed class KubeGarbageCollectorClient(KubeClient client) : IGarbageCollectorClient
{
    public Task<ObjectMeta?> GetAsync(GcKind kind, string? ns, string name, CancellationToken ct) => kind.GetAsync(client, ns, name, ct);

    public Task DeleteAsync(GcKind kind, string? ns, string name, DeleteOptions options, CancellationToken ct) =>
        kind.DeleteAsync(client, ns, name, options, ct);

    public Task PatchAsync(GcKind kind, string? ns, string name, PatchType type, string patch, CancellationToken ct) =>
        kind.PatchAsync(client, ns, name, type, patch, ct);
}
