using System.Collections.Frozen;
using System.Net;
using System.Runtime.InteropServices;
using Berth.Node.Native;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy.Userspace.Tcp;

/// <summary>
/// The TCP half of the userspace backend: one listening socket per TCP frontend, shared by every relay loop
/// (<see cref="TcpLoop"/>, one thread and epoll set each), which accept, connect to an endpoint and relay.
/// Only Apply (one thread) changes listeners; the loops read each listener's binding per accept.
/// </summary>
internal sealed unsafe class TcpProxy : IAsyncDisposable
{
    // The kernel clamps it to net.core.somaxconn.
    private const int Backlog = 4096;

    private readonly ProxyOptions _options;
    private readonly TcpLoop[] _loops;
    private readonly Dictionary<(IPAddress Address, int Port), TcpFrontendListener> _listeners = [];
    private readonly Stack<int> _freeIds = new();
    private TcpFrontendListener?[] _table = new TcpFrontendListener?[16];
    private int _nextId;
    private List<ServiceRoute> _presenceRoutes = [];
    private int _disposed;

    public TcpProxy(ProxyOptions options)
    {
        _options = options;
        _loops = new TcpLoop[Math.Max(1, options.Workers)];
        for (int i = 0; i < _loops.Length; i++)
        {
            _loops[i] = new TcpLoop(this, options, i);
        }
        foreach (TcpLoop loop in _loops)
        {
            loop.Start();
        }
    }

    /// <summary>Every relay loop, for a loop handing a new connection to a less loaded one.</summary>
    internal ReadOnlySpan<TcpLoop> Loops => _loops;

    /// <summary>The listener an epoll registration names, or null once it is gone.</summary>
    internal TcpFrontendListener? ListenerAt(int id)
    {
        TcpFrontendListener?[] table = Volatile.Read(ref _table);
        return (uint)id < (uint)table.Length ? table[id] : null;
    }

    /// <summary>Serves exactly the TCP frontends of <paramref name="routes"/> (others are ignored); returns those that could not be bound.</summary>
    public IReadOnlyList<BindFailure> Apply(IReadOnlyList<RouteProgram> routes)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        List<BindFailure> failures = [];
        Dictionary<(IPAddress, int), ListenerBinding> desired = [];
        foreach (RouteProgram program in routes)
        {
            foreach (Frontend frontend in program.Route.Frontends)
            {
                // Two service ports on one address:port cannot both be served: the first keeps it, as a second
                // process would be refused by the kernel.
                if (frontend.Protocol == TransportProtocol.Tcp && !desired.TryAdd((frontend.Address, frontend.Port), new ListenerBinding(frontend, program)))
                {
                    failures.Add(new BindFailure(frontend, program.Route.Name, Marshal.GetPInvokeErrorMessage(LibC.EADDRINUSE)));
                }
            }
        }

        CloseGone(desired);
        foreach (((IPAddress, int) key, ListenerBinding binding) in desired)
        {
            if (!_listeners.TryGetValue(key, out TcpFrontendListener? listener))
            {
                listener = Open(binding, out int error);
                if (listener is null)
                {
                    failures.Add(new BindFailure(binding.Frontend, binding.Program.Route.Name, Marshal.GetPInvokeErrorMessage(error)));
                    continue;
                }
                _listeners.Add(key, listener);
            }
            else if (listener.Binding != binding)
            {
                listener.Publish(binding);
            }

            // No usable endpoint: the port stays bound but refuses SYNs, as kube-proxy's REJECT rule does.
            bool serve = !binding.Program.Route.EndpointsFor(binding.Frontend.Kind).IsEmpty;
            if (serve && !listener.Listening)
            {
                if (LibC.Listen(listener.Fd, Backlog) != 0)
                {
                    failures.Add(new BindFailure(binding.Frontend, binding.Program.Route.Name, Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())));
                    continue;
                }
                foreach (TcpLoop loop in _loops)
                {
                    loop.AddListener(listener);
                }
                listener.Listening = true;
            }
            else if (!serve && listener.Listening)
            {
                StopListening(listener);
            }
        }

        PublishPresence(routes);
        return failures;
    }

    private void CloseGone(Dictionary<(IPAddress, int), ListenerBinding> desired)
    {
        List<(IPAddress, int)> gone = [.. _listeners.Keys.Where(key => !desired.ContainsKey(key))];
        if (gone.Count == 0)
        {
            return;
        }
        foreach ((IPAddress, int) key in gone)
        {
            StopListening(_listeners[key]);
        }

        // A loop may still hold an event for a listener it no longer watches, from the batch it is handling: the
        // fd number must not be reused by close before every loop has finished that batch.
        Barrier();
        TcpFrontendListener?[] table = (TcpFrontendListener?[])_table.Clone();
        foreach ((IPAddress, int) key in gone)
        {
            TcpFrontendListener listener = _listeners[key];
            _listeners.Remove(key);
            table[listener.Id] = null;
            _freeIds.Push(listener.Id);
            LibC.Close(listener.Fd);
        }
        Volatile.Write(ref _table, table);
    }

    private void StopListening(TcpFrontendListener listener)
    {
        if (!listener.Listening)
        {
            return;
        }
        foreach (TcpLoop loop in _loops)
        {
            loop.RemoveListener(listener);
        }

        // shutdown() on a listening socket drops it back to bound-but-not-listening: SYNs get a RST, the port stays ours.
        LibC.Shutdown(listener.Fd, LibC.ShutRdWr);
        listener.Listening = false;
    }

    private TcpFrontendListener? Open(ListenerBinding binding, out int error)
    {
        LibC.SockAddr address = SocketAddresses.From(binding.Frontend.EndPoint);
        int fd = LibC.Socket(address.Family, LibC.SockStream | LibC.SockNonBlock | LibC.SockCloExec, 0);
        if (fd < 0)
        {
            error = Marshal.GetLastPInvokeError();
            return null;
        }

        // SO_REUSEADDR lets a restarted proxy rebind past TIME_WAIT; IP_FREEBIND lets externalIPs that are not (yet)
        // local be bound (SOL_IP options apply to IPv6 sockets too); no SO_REUSEPORT, so a second proxy on the same
        // address fails loudly instead of sharing.
        LibC.SetSockOptInt(fd, LibC.SolSocket, LibC.SoReuseAddr, 1);
        LibC.SetSockOptInt(fd, LibC.SolIp, LibC.IpFreeBind, 1);

        // Accepted sockets inherit TCP_NODELAY from the listener (Linux): relayed messages go out as they come.
        LibC.SetSockOptInt(fd, LibC.SolTcp, LibC.TcpNoDelay, 1);
        if (address.Family == LibC.AfInet6)
        {
            LibC.SetSockOptInt(fd, LibC.SolIpv6, LibC.Ipv6V6Only, 1);
        }
        if (LibC.Bind(fd, &address, address.Length) != 0)
        {
            error = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            return null;
        }

        int id = _freeIds.Count > 0 ? _freeIds.Pop() : _nextId++;
        TcpFrontendListener listener = new(id, fd, binding);
        TcpFrontendListener?[] table = _table;
        table = id < table.Length ? (TcpFrontendListener?[])table.Clone() : [.. table, .. new TcpFrontendListener?[table.Length]];
        table[id] = listener;
        Volatile.Write(ref _table, table);
        error = 0;
        return listener;
    }

    /// <summary>Tells the loops which endpoints each service port still has, so they drain connections to the others.</summary>
    private void PublishPresence(IReadOnlyList<RouteProgram> routes)
    {
        List<ServiceRoute> current = [.. routes.Where(p => p.Route.Name.Protocol == TransportProtocol.Tcp).Select(p => p.Route)];
        if (current.SequenceEqual(_presenceRoutes, ReferenceEqualityComparer.Instance))
        {
            return;
        }
        _presenceRoutes = current;
        FrozenDictionary<ServicePortName, FrozenSet<IPEndPoint>> present = current
            .GroupBy(route => route.Name)
            .ToFrozenDictionary(group => group.Key, group => group.SelectMany(route => route.AllEndpoints).Select(endpoint => endpoint.EndPoint).ToFrozenSet());
        foreach (TcpLoop loop in _loops)
        {
            loop.Post(l => l.SetPresent(present));
        }
    }

    /// <summary>Waits until every loop has finished the event batch it was handling.</summary>
    private void Barrier()
    {
        CountdownEvent done = new(_loops.Length);
        foreach (TcpLoop loop in _loops)
        {
            loop.Post(_ => done.Signal());
        }
        if (done.Wait(TimeSpan.FromSeconds(10)))
        {
            done.Dispose();
        }
        else
        {
            _options.Log("tcp proxy: a relay loop did not answer within 10s");
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }
        foreach (TcpLoop loop in _loops)
        {
            loop.Stop();
        }
        foreach (TcpLoop loop in _loops)
        {
            loop.Join();
        }
        foreach (TcpFrontendListener listener in _listeners.Values)
        {
            LibC.Close(listener.Fd);
        }
        _listeners.Clear();
        return ValueTask.CompletedTask;
    }
}
