using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Userspace.Tcp;
using Berth.Node.Proxy.Userspace.Udp;

namespace Berth.Node.Proxy.Userspace;

/// <summary>
/// The first backend: the node's own sockets on every frontend address, relaying to endpoints — TCP on epoll worker
/// threads, UDP through a flow table. Works without root on loopback addresses (Linux routes 127/8 to lo).
/// </summary>
internal sealed class UserspaceBackend : IProxyBackend
{
    private readonly TcpProxy _tcp;
    private readonly UdpProxy _udp;

    public UserspaceBackend(ProxyOptions options)
    {
        _tcp = new TcpProxy(options);
        _udp = new UdpProxy(options);
    }

    public IReadOnlyList<BindFailure> Apply(IReadOnlyList<RouteProgram> routes) => [.. _tcp.Apply(routes), .. _udp.Apply(routes)];

    public async ValueTask DisposeAsync()
    {
        await _tcp.DisposeAsync().ConfigureAwait(false);
        await _udp.DisposeAsync().ConfigureAwait(false);
    }
}
