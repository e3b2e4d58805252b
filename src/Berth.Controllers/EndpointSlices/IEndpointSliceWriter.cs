using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.EndpointSlices;

/// <summary>
/// Where <see cref="EndpointSliceReconciler"/> writes: the API server in production, a recording fake in unit tests.
/// Failures surface as <see cref="KubeApiException"/> (a 404 on delete means already gone).
/// </summary>
public interface IEndpointSliceWriter
{
    /// <summary>Creates the slice (named by <c>metadata.generateName</c> when it has no name); returns it as stored.</summary>
    Task<EndpointSlice> CreateAsync(EndpointSlice slice, CancellationToken ct);

    /// <summary>Replaces the slice named <c>metadata.name</c>; returns it as stored.</summary>
    Task<EndpointSlice> UpdateAsync(EndpointSlice slice, CancellationToken ct);

    Task DeleteAsync(string ns, string name, CancellationToken ct);
}

/// <summary>Writes EndpointSlices through the API server.</summary>
public sealed class KubeEndpointSliceWriter(KubeClient client) : IEndpointSliceWriter
{
    public Task<EndpointSlice> CreateAsync(EndpointSlice slice, CancellationToken ct) => client.CreateAsync(slice, ct);

    public Task<EndpointSlice> UpdateAsync(EndpointSlice slice, CancellationToken ct) => client.UpdateAsync(slice, ct);

    public Task DeleteAsync(string ns, string name, CancellationToken ct) => client.DeleteAsync<EndpointSlice>(ns, name, options: null, ct);
}
