using Berth.Node.Proxy.Backend;

namespace Berth.Node.Proxy.Userspace.Udp;

/// <summary>The UDP half of the userspace backend: one socket per UDP frontend, one connected upstream socket per client flow.</summary>
internal sealed class UdpProxy : IAsyncDisposable
{
    public UdpProxy(ProxyOptions options) => _ = options;

    /// <summary>Programs every UDP frontend of <paramref name="routes"/> (others are ignored); returns those that could not be bound.</summary>
    public IReadOnlyList<BindFailure> Apply(IReadOnlyList<RouteProgram> routes) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
