using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy.Userspace.Tcp;

/// <summary>What a listener serves: read by the relay threads once per accept, replaced whole by Apply.</summary>
internal sealed record ListenerBinding(Frontend Frontend, RouteProgram Program);

/// <summary>
/// One TCP frontend's socket. Owned by <see cref="TcpProxy"/> (only Apply changes it); the relay threads read
/// <see cref="Binding"/> and accept on <see cref="Fd"/> while it is in their epoll sets.
/// </summary>
internal sealed class TcpFrontendListener(int id, int fd, ListenerBinding binding)
{
    private ListenerBinding _binding = binding;

    /// <summary>Index in the proxy's listener table, carried in the epoll data of every loop's registration.</summary>
    public int Id { get; } = id;

    public int Fd { get; } = fd;

    /// <summary>listen() is in effect and the socket is in every loop's epoll set; otherwise SYNs are refused.</summary>
    public bool Listening { get; set; }

    public ListenerBinding Binding => Volatile.Read(ref _binding);

    public void Publish(ListenerBinding binding) => Volatile.Write(ref _binding, binding);
}
