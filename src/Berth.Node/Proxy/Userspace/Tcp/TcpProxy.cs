using Berth.Node.Proxy.Backend;

namespace Berth.Node.Proxy.Userspace.Tcp;

/// <summary>The TCP half of the userspace backend: listeners for every TCP frontend, relayed by epoll worker threads.</summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    public TcpProxy(ProxyOptions options) => throw new NotImplementedException();

    /// <summary>Serves exactly the TCP frontends of <paramref name="routes"/> (others are ignored); returns those that could not be bound.</summary>
    public IReadOnlyList<BindFailure> Apply(IReadOnlyList<RouteProgram> routes) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
