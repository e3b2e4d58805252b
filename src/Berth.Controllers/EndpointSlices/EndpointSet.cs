using System.Collections;
using Berth.Api.Models;

namespace Berth.Controllers.EndpointSlices;

/// <summary>endpointsliceutil.EndpointSet: endpoints keyed by identity (addresses, hostname, target pod), insertion ordered.</summary>
public sealed class EndpointSet : IEnumerable<Endpoint>
{
    public EndpointSet() => throw new NotImplementedException();

    public EndpointSet(IEnumerable<Endpoint> endpoints) => throw new NotImplementedException();

    public int Count => throw new NotImplementedException();

    /// <summary>Adds the endpoint, replacing one with the same identity (keeping that one's place).</summary>
    public void Insert(Endpoint endpoint) => throw new NotImplementedException();

    public bool Has(Endpoint endpoint) => throw new NotImplementedException();

    /// <summary>The stored endpoint with the same identity, or null.</summary>
    public Endpoint? Get(Endpoint endpoint) => throw new NotImplementedException();

    /// <summary>Removes the endpoint with the same identity; false if none.</summary>
    public bool Remove(Endpoint endpoint) => throw new NotImplementedException();

    /// <summary>Removes and returns the oldest endpoint, or null when empty (upstream PopAny).</summary>
    public Endpoint? PopAny() => throw new NotImplementedException();

    public IEnumerator<Endpoint> GetEnumerator() => throw new NotImplementedException();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
