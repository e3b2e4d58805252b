using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Storage;

namespace Berth.ApiServer.Allocation;

/// <summary>Who holds an allocated value: a Service, by namespace, name and uid.</summary>
public sealed record AllocationOwner(
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("uid")] string Uid)
{
    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>
/// A range of values (cluster IPs, node ports of one protocol, load-balancer addresses), each handed out at most
/// once. Every allocation is a key of its own in the store (<c>/berth/allocations/POOL/VALUE</c>, holding the
/// owner), created only if absent: the store, not this process's memory, decides who wins a race, so a value is
/// never handed out twice, and nothing is lost on a restart. The in-memory range mirrors the keys to pick free
/// values quickly (upstream keeps a bitmap in one etcd key; one key per value is the newer IPAddress-object design
/// and needs no compare-and-swap on a shared bitmap).
/// </summary>
public sealed class AllocationPool
{
    private const string Root = "/berth/allocations/";

    private readonly IStore _store;
    private readonly IValueRange _range;
    private readonly Dictionary<string, AllocationOwner> _owners = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public AllocationPool(string name, IStore store, IValueRange range)
    {
        Name = name;
        _store = store;
        _range = range;
        Prefix = Root + name + "/";
    }

    public string Name { get; }

    /// <summary>The range as upstream prints it in errors ("127.96.0.0/16", "30000-32767").</summary>
    public string Range => _range.ToString()!;

    public string Prefix { get; }

    public int Free => _range.Free;

    /// <summary>Reads every allocation of this pool from the store into memory (start-up, before any request).</summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        var list = await _store.ListAsync(Prefix, ct).ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var item in list.Items)
            {
                var value = item.Key[Prefix.Length..];
                var owner = DecodeOwner(item.Value);
                if (owner is null || !_range.TryMark(value))
                {
                    // Outside the configured range (the flag changed) or unreadable: keep the key, it's just not ours to hand out.
                    continue;
                }
                _owners[value] = owner;
            }
        }
    }

    /// <summary>Every allocation with its owner (for repair and for release by owner).</summary>
    public List<(string Value, AllocationOwner Owner)> Snapshot()
    {
        lock (_lock)
        {
            return [.. _owners.Select(kv => (kv.Key, kv.Value))];
        }
    }

    public AllocationOwner? OwnerOf(string value)
    {
        lock (_lock)
        {
            return _owners.GetValueOrDefault(value);
        }
    }

    /// <summary>Takes a specific value; throws <see cref="AllocationException"/> (not in range, already allocated).</summary>
    public async Task AllocateAsync(string value, AllocationOwner owner, bool dryRun, CancellationToken ct)
    {
        lock (_lock)
        {
            _range.Allocate(value);
            if (dryRun)
            {
                _range.Release(value);
                return;
            }
            _owners[value] = owner;
        }
        await PersistAsync(value, owner, ct).ConfigureAwait(false);
    }

    /// <summary>Takes any free value (upper band first); throws <see cref="AllocationException"/> when the range is full.</summary>
    public async Task<string> AllocateNextAsync(AllocationOwner owner, bool dryRun, CancellationToken ct)
    {
        while (true)
        {
            string value;
            lock (_lock)
            {
                value = _range.AllocateNext();
                if (dryRun)
                {
                    _range.Release(value);
                    return value;
                }
                _owners[value] = owner;
            }
            try
            {
                await PersistAsync(value, owner, ct).ConfigureAwait(false);
                return value;
            }
            catch (AllocationException e) when (e.Kind == AllocationErrorKind.Allocated)
            {
                // Another writer of the same store holds it; memory now knows, so the next pick differs.
            }
        }
    }

    /// <summary>Gives a value back, if <paramref name="owner"/> (when given) still holds it. Free for reuse at once.</summary>
    public async Task ReleaseAsync(string value, AllocationOwner? owner, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(value, out var holder) || (owner is not null && holder.Uid != owner.Uid))
            {
                return;
            }
        }
        try
        {
            await _store.DeleteAsync(Prefix + value, 0, ct).ConfigureAwait(false);
        }
        catch (StoreKeyNotFoundException)
        {
            // Already gone from the store: memory only needs to catch up.
        }
        lock (_lock)
        {
            _owners.Remove(value);
            _range.Release(value);
        }
    }

    /// <summary>Records an allocation the store is missing (repair of a Service whose key was lost).</summary>
    public Task RestoreAsync(string value, AllocationOwner owner, CancellationToken ct) => AllocateAsync(value, owner, dryRun: false, ct);

    private async Task PersistAsync(string value, AllocationOwner owner, CancellationToken ct)
    {
        try
        {
            await _store.CreateAsync(Prefix + value, JsonSerializer.SerializeToUtf8Bytes(owner, AllocationJson.Default.AllocationOwner), ct).ConfigureAwait(false);
        }
        catch (KeyExistsException)
        {
            // Memory said free but the store disagrees: believe the store and keep the value marked.
            var existing = await _store.GetAsync(Prefix + value, ct).ConfigureAwait(false);
            lock (_lock)
            {
                if (existing is not null && DecodeOwner(existing.Value) is { } holder)
                {
                    _owners[value] = holder;
                }
                else
                {
                    _owners.Remove(value);
                    _range.Release(value);
                }
            }
            throw new AllocationException(AllocationErrorKind.Allocated, _range.AllocatedMessage);
        }
        catch
        {
            lock (_lock)
            {
                _owners.Remove(value);
                _range.Release(value);
            }
            throw;
        }
    }

    private static AllocationOwner? DecodeOwner(ReadOnlyMemory<byte> value)
    {
        try
        {
            return JsonSerializer.Deserialize(value.Span, AllocationJson.Default.AllocationOwner);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSerializable(typeof(AllocationOwner))]
internal sealed partial class AllocationJson : JsonSerializerContext;
