using System.Collections;
using System.Text;
using Berth.Api.Models;

namespace Berth.Controllers.EndpointSlices;

/// <summary>
/// Upstream endpointsliceutil.EndpointSet: endpoints keyed by identity, their addresses (in any order), hostname and
/// target pod (namespace/name). Conditions, node and zone are not part of the identity, so an endpoint whose pod
/// became ready is found again and updated in place (EndpointsEqualBeyondHash compares the rest). Unlike upstream's
/// map, iteration and <see cref="PopAny"/> follow insertion order, so slices fill deterministically.
/// </summary>
public sealed class EndpointSet : IEnumerable<Endpoint>
{
    private readonly Dictionary<string, LinkedListNode<Endpoint>> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<Endpoint> _order = new();

    public EndpointSet()
    {
    }

    public EndpointSet(IEnumerable<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var endpoint in endpoints)
        {
            Insert(endpoint);
        }
    }

    public int Count => _byKey.Count;

    /// <summary>Adds the endpoint, replacing one with the same identity (keeping that one's place).</summary>
    public void Insert(Endpoint endpoint)
    {
        var key = Key(endpoint);
        if (_byKey.TryGetValue(key, out var node))
        {
            node.Value = endpoint;
            return;
        }
        _byKey[key] = _order.AddLast(endpoint);
    }

    public bool Has(Endpoint endpoint) => _byKey.ContainsKey(Key(endpoint));

    /// <summary>The stored endpoint with the same identity, or null.</summary>
    public Endpoint? Get(Endpoint endpoint) => _byKey.TryGetValue(Key(endpoint), out var node) ? node.Value : null;

    /// <summary>Removes the endpoint with the same identity; false if none.</summary>
    public bool Remove(Endpoint endpoint)
    {
        if (!_byKey.Remove(Key(endpoint), out var node))
        {
            return false;
        }
        _order.Remove(node);
        return true;
    }

    /// <summary>Removes and returns the oldest endpoint, or null when empty (upstream PopAny).</summary>
    public Endpoint? PopAny()
    {
        if (_order.First is not { } first)
        {
            return null;
        }
        _order.RemoveFirst();
        _byKey.Remove(Key(first.Value));
        return first.Value;
    }

    public IEnumerator<Endpoint> GetEnumerator() => _order.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// hashEndpoint's fields as an unambiguous string (upstream hashes the same fields; an absent hostname counts as
    /// empty there too). The addresses are sorted for the key only: upstream sorts the endpoint's own list in place.
    /// </summary>
    internal static string Key(Endpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var key = new StringBuilder();
        var addresses = endpoint.Addresses ?? [];
        key.Append(addresses.Count).Append('|');
        foreach (var address in addresses.Order(StringComparer.Ordinal))
        {
            EndpointSliceRules.AppendField(key, address);
        }
        EndpointSliceRules.AppendField(key, endpoint.Hostname ?? "");
        EndpointSliceRules.AppendField(key, endpoint.TargetRef?.Namespace ?? "");
        EndpointSliceRules.AppendField(key, endpoint.TargetRef?.Name ?? "");
        return key.ToString();
    }
}
