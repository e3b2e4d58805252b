using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Runtime.InteropServices;
using Berth.Node.Native;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy.Userspace.Tcp;

/// <summary>
/// One relay thread: an epoll set holding every listening frontend (level-triggered, EPOLLEXCLUSIVE, so one loop
/// wakes per SYN) and the sockets of the connections this loop owns (edge-triggered): those it accepted, or that a
/// busier loop accepted and handed to it. Apply reaches it through commands (an eventfd wakes it); commands run after
/// the event batch, so a listener removed from the set by Apply can have no event left here once a command posted
/// afterwards has run.
/// </summary>
internal sealed unsafe partial class TcpLoop
{
    private const int MaxEvents = 256;

    // Accepts per listener wakeup: enough to empty a burst; balance among loops is kept by handing off instead.
    private const int AcceptBatch = 16;

    // A loop with this many connections more than the least loaded one hands a new connection to that one: the
    // listener wakes the first waiting loop (always the same when all are idle), so a burst of long-lived
    // connections (a client pool, wrk -c16) would otherwise often land on one thread.
    private const int HandOffSlack = 2;

    // epoll data: generation << 32 | slot << 2 | tag.
    private const ulong TagClient = 0;
    private const ulong TagUpstream = 1;
    private const ulong TagListener = 2;
    private const ulong TagCommand = 3;

    // Connect timeouts and drain deadlines are checked this often while there are any.
    private static readonly TimeSpan s_sweepInterval = TimeSpan.FromMilliseconds(50);

    private readonly TcpProxy _proxy;
    private readonly ProxyOptions _options;
    private readonly TimeProvider _time;
    private readonly int _epoll;
    private readonly int _wake;
    private readonly ConcurrentQueue<Action<TcpLoop>> _commands = new();
    private readonly ConcurrentQueue<(ListenerBinding Binding, int Fd, LibC.SockAddr Peer)> _handedOff = new();
    private readonly Thread _thread;
    private readonly long _connectTimeout;
    private readonly long _drainTimeout;
    private readonly long _sweepTicks;
    private TcpConnection[] _connections = new TcpConnection[64];
    private int _used;
    private readonly Stack<int> _free = new();
    private int _connecting;
    private int _draining;
    private long _nextSweep;
    private FrozenDictionary<ServicePortName, FrozenSet<IPEndPoint>>? _present;
    private volatile bool _stopping;

    // Held for the moment the process runs out of descriptors (see RefuseWithSpare).
    private int _spare;

    // Connections this loop owns plus those handed to it and not yet taken in; read by the other loops' accepts.
    private int _load;

    public TcpLoop(TcpProxy proxy, ProxyOptions options, int index)
    {
        _proxy = proxy;
        _options = options;
        _time = options.Time;
        _connectTimeout = Ticks(options.ConnectTimeout);
        _drainTimeout = Ticks(options.DrainTimeout);
        _sweepTicks = Ticks(s_sweepInterval);
        _spliceThreshold = options.SpliceThreshold;
        _epoll = LibC.EpollCreate1(LibC.EpollCloExec);
        _wake = LibC.EventFd(0, LibC.EfdCloExec | LibC.EfdNonBlock);
        if (_epoll < 0 || _wake < 0)
        {
            throw new InvalidOperationException("tcp proxy: epoll: " + Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
        }
        LibC.EpollEvent wake = new() { Events = LibC.EpollIn, Data = TagCommand };
        LibC.EpollCtl(_epoll, LibC.EpollCtlAdd, _wake, &wake);
        _spare = LibC.Open("/dev/null", LibC.ORdOnly | LibC.OCloExec);
        _scratch = (byte*)NativeMemory.Alloc(ScratchSize);
        _thread = new Thread(Run) { IsBackground = true, Name = $"berth-tcp-{index}" };
    }

    public void Start() => _thread.Start();

    public void Stop()
    {
        _stopping = true;
        Wake();
    }

    public void Join() => _thread.Join();

    public void Post(Action<TcpLoop> command)
    {
        _commands.Enqueue(command);
        Wake();
    }

    // epoll_ctl is safe from any thread: Apply adds and removes listeners directly.
    public void AddListener(TcpFrontendListener listener)
    {
        LibC.EpollEvent ev = new() { Events = LibC.EpollIn | LibC.EpollExclusive, Data = ((ulong)listener.Id << 2) | TagListener };
        LibC.EpollCtl(_epoll, LibC.EpollCtlAdd, listener.Fd, &ev);
    }

    public void RemoveListener(TcpFrontendListener listener) => LibC.EpollCtl(_epoll, LibC.EpollCtlDel, listener.Fd, null);

    /// <summary>The endpoints each service port still has: connections to any other start draining.</summary>
    public void SetPresent(FrozenDictionary<ServicePortName, FrozenSet<IPEndPoint>> present)
    {
        _present = present;
        long now = _time.GetTimestamp();
        for (int slot = 0; slot < _used; slot++)
        {
            TcpConnection c = _connections[slot];
            if (c.State == ConnectionState.Relaying)
            {
                StampDrain(c, now);
            }
        }
    }

    private void StampDrain(TcpConnection c, long now)
    {
        FrozenDictionary<ServicePortName, FrozenSet<IPEndPoint>>? present = _present;
        bool gone = present is not null && c.Endpoint is not null &&
            !(present.TryGetValue(c.Program.Route.Name, out FrozenSet<IPEndPoint>? endpoints) && endpoints.Contains(c.Endpoint.EndPoint));
        if (gone && c.DrainDeadline == 0 && _drainTimeout > 0)
        {
            c.DrainDeadline = now + _drainTimeout;
            _draining++;
        }
        else if (!gone && c.DrainDeadline != 0)
        {
            c.DrainDeadline = 0;
            _draining--;
        }
    }

    private void Wake()
    {
        ulong one = 1;
        LibC.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private void Run()
    {
        LibC.EpollEvent* events = stackalloc LibC.EpollEvent[MaxEvents];
        try
        {
            while (!_stopping)
            {
                int count = LibC.EpollWait(_epoll, events, MaxEvents, Timeout());
                if (count < 0)
                {
                    if (Marshal.GetLastPInvokeError() == LibC.EINTR)
                    {
                        continue;
                    }
                    _options.Log("tcp proxy: epoll_wait: " + Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
                    return;
                }
                bool commands = false;
                for (int i = 0; i < count; i++)
                {
                    ulong data = events[i].Data;
                    int slot = (int)((data >> 2) & 0x3FFF_FFFF);
                    switch (data & 3)
                    {
                        case TagCommand:
                            ulong value;
                            LibC.Read(_wake, (byte*)&value, sizeof(ulong));
                            commands = true;
                            break;
                        case TagListener:
                            Accept(_proxy.ListenerAt(slot));
                            break;
                        default:
                            TcpConnection c = _connections[slot];
                            if (c.Generation == (uint)(data >> 32) && c.State != ConnectionState.Free)
                            {
                                OnEvent(c, (data & 3) == TagUpstream, events[i].Events);
                            }
                            break;
                    }
                }
                if (_posted.Count > 0)
                {
                    RunPosted();
                }
                if (commands)
                {
                    while (_handedOff.TryDequeue(out (ListenerBinding Binding, int Fd, LibC.SockAddr Peer) handed))
                    {
                        Admit(handed.Binding, handed.Fd, handed.Peer);
                    }
                    while (_commands.TryDequeue(out Action<TcpLoop>? command))
                    {
                        command(this);
                    }
                }
                if (_connecting + _draining > 0)
                {
                    long now = _time.GetTimestamp();
                    if (now >= _nextSweep)
                    {
                        Sweep(now);
                    }
                }
            }
        }
        catch (Exception e)
        {
            _options.Log("tcp proxy: relay loop failed: " + e);
        }
        finally
        {
            for (int slot = 0; slot < _used; slot++)
            {
                if (_connections[slot].State != ConnectionState.Free)
                {
                    Close(_connections[slot], reset: false);
                }
            }
            while (_handedOff.TryDequeue(out (ListenerBinding Binding, int Fd, LibC.SockAddr Peer) handed))
            {
                LibC.Close(handed.Fd);
            }
            LibC.Close(_epoll);
            LibC.Close(_wake);
            if (_spare >= 0)
            {
                LibC.Close(_spare);
            }
            NativeMemory.Free(_scratch);
        }
    }

    private int Timeout()
    {
        if (_posted.Count > 0)
        {
            return 0;
        }
        if (_connecting + _draining == 0)
        {
            return -1;
        }
        long left = _nextSweep - _time.GetTimestamp();
        return left <= 0 ? 0 : (int)Math.Ceiling(left * 1000.0 / _time.TimestampFrequency);
    }

    private void Sweep(long now)
    {
        for (int slot = 0; slot < _used; slot++)
        {
            TcpConnection c = _connections[slot];
            if (c.State == ConnectionState.Connecting && now >= c.ConnectDeadline)
            {
                ConnectFailed(c);
            }
            else if (c.State == ConnectionState.Relaying && c.DrainDeadline != 0 && now >= c.DrainDeadline)
            {
                Close(c, reset: true);
            }
        }
        _nextSweep = now + _sweepTicks;
    }

    private void Accept(TcpFrontendListener? listener)
    {
        if (listener is null)
        {
            return;
        }
        for (int i = 0; i < AcceptBatch; i++)
        {
            LibC.SockAddr peer;
            int length = sizeof(LibC.SockAddr);
            int fd = LibC.Accept4(listener.Fd, &peer, &length, LibC.SockNonBlock | LibC.SockCloExec);
            if (fd < 0)
            {
                int error = Marshal.GetLastPInvokeError();
                if (error is LibC.EINTR or LibC.ECONNABORTED)
                {
                    continue;
                }
                if (error is LibC.EMFILE or LibC.ENFILE && _spare >= 0)
                {
                    RefuseWithSpare(listener);
                    continue;
                }

                // EAGAIN: another loop took it; EINVAL: Apply just stopped the listener.
                return;
            }
            TcpLoop owner = LeastLoaded();
            Interlocked.Increment(ref owner._load);
            if (owner == this)
            {
                Admit(listener.Binding, fd, peer);
            }
            else
            {
                owner._handedOff.Enqueue((listener.Binding, fd, peer));
                owner.Wake();
            }
        }
    }

    /// <summary>Connections this loop owns or is about to take in.</summary>
    public int Load => Volatile.Read(ref _load);

    private TcpLoop LeastLoaded()
    {
        TcpLoop least = this;
        int leastLoad = Volatile.Read(ref _load);
        foreach (TcpLoop loop in _proxy.Loops)
        {
            int load = Volatile.Read(ref loop._load);
            if (load < leastLoad)
            {
                least = loop;
                leastLoad = load;
            }
        }
        return Volatile.Read(ref _load) - leastLoad > HandOffSlack ? least : this;
    }

    // Out of descriptors, the waiting connection would keep the level-triggered listener ready and the loop spinning:
    // the spare descriptor is given up to accept it and reset it (the client sees a refusal), then taken back.
    private void RefuseWithSpare(TcpFrontendListener listener)
    {
        LibC.Close(_spare);
        int fd = LibC.Accept4(listener.Fd, null, null, LibC.SockCloExec);
        if (fd >= 0)
        {
            Interlocked.Increment(ref listener.Binding.Program.Stats.Refused);
            Reset(fd);
            LibC.Close(fd);
        }
        _spare = LibC.Open("/dev/null", LibC.ORdOnly | LibC.OCloExec);
    }

    private void Admit(ListenerBinding binding, int fd, in LibC.SockAddr peer)
    {
        RouteProgram program = binding.Program;
        IPAddress client = SocketAddresses.ToAddress(peer);
        ImmutableArray<EndpointInfo> candidates = program.Route.EndpointsFor(binding.Frontend.Kind);
        if (candidates.IsEmpty || (binding.Frontend.Kind == FrontendKind.LoadBalancer && !SourceAllowed(program.Route.Service, client)))
        {
            Interlocked.Increment(ref program.Stats.Refused);
            Interlocked.Decrement(ref _load);
            Reset(fd);
            LibC.Close(fd);
            return;
        }
        TcpConnection c = Allocate();
        c.Reset(fd, peer, client, program, candidates);
        Register(fd, c, TagClient);
        ConnectNext(c, afterFailure: false);
    }

    // spec.loadBalancerSourceRanges: kube-proxy drops other sources' load-balancer traffic (KUBE-FW chain).
    private static bool SourceAllowed(ServicePortInfo service, IPAddress client)
    {
        if (service.LoadBalancerSourceRanges.IsEmpty)
        {
            return true;
        }
        foreach (IPNetwork range in service.LoadBalancerSourceRanges)
        {
            if (range.Contains(client))
            {
                return true;
            }
        }
        return false;
    }

    private TcpConnection Allocate()
    {
        if (_free.TryPop(out int slot))
        {
            return _connections[slot];
        }
        if (_used == _connections.Length)
        {
            Array.Resize(ref _connections, _connections.Length * 2);
        }
        TcpConnection c = new(_used);
        _connections[_used++] = c;
        return c;
    }

    // SO_LINGER 0: close sends RST, so the peer sees a refusal or reset, not an orderly end of data.
    private static void Reset(int fd)
    {
        LibC.Linger linger = new() { OnOff = 1, Seconds = 0 };
        LibC.SetSockOpt(fd, LibC.SolSocket, LibC.SoLinger, &linger, sizeof(LibC.Linger));
    }
}
