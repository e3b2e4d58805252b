using System.Text.Json.Nodes;
using Berth.ApiServer.Allocation;

namespace Berth.ApiServer.Registry;

/// <summary>
/// Kind-specific work around a write that the generic <see cref="Strategy"/> cannot do (upstream's BeginCreate,
/// BeginUpdate and AfterDelete store hooks): allocate from shared pools before the write, validate the kind's
/// spec, and give things back once the object is gone.
/// </summary>
public interface IObjectHooks
{
    string Kind { get; }

    /// <summary>Prepares and validates a new object in place; the transaction is committed or reverted after the write.</summary>
    Task<AllocationTransaction> BeforeCreateAsync(JsonObject obj, bool dryRun, CancellationToken ct);

    /// <summary>Prepares and validates an update (after the generic carry-over of immutable fields) in place.</summary>
    Task<AllocationTransaction> BeforeUpdateAsync(JsonObject updated, JsonObject old, string? subresource, bool dryRun, CancellationToken ct);

    /// <summary>Runs once the object has been removed from the store.</summary>
    Task AfterDeleteAsync(JsonObject deleted, CancellationToken ct);
}

/// <summary>The hooks of every kind that has some, by kind.</summary>
public sealed class ObjectHooks
{
    private readonly Dictionary<string, IObjectHooks> _byKind;

    public ObjectHooks(IEnumerable<IObjectHooks> hooks)
    {
        _byKind = hooks.ToDictionary(h => h.Kind, StringComparer.Ordinal);
    }

    public IObjectHooks? For(string kind) => _byKind.GetValueOrDefault(kind);
}
