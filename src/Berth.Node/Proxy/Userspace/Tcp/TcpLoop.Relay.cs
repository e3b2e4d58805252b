using System.Buffers;
using System.Runtime.InteropServices;
using Berth.Node.Native;

namespace Berth.Node.Proxy.Userspace.Tcp;

// Connecting, relaying and closing. Both sockets of a connection are in the epoll set once, edge-triggered, for
// reading and writing: no epoll_ctl per state change. Each event adds to the socket's readiness, and the relay runs
// until a call finds that used up. Every read goes to the loop's one scratch buffer and is written on at once; only
// what a write leaves behind is copied to a pooled array, and the source is not read until it is written (the kernel's
// socket buffers are the backpressure). Past SpliceThreshold a direction moves through a pipe with splice(2) instead,
// never entering user memory. Expected socket errors are return codes, never exceptions.
internal sealed unsafe partial class TcpLoop
{
    private const int ScratchSize = 64 * 1024;

    // Early-failure replay: what the client sent is kept until the endpoint answers, up to this much, and replayed
    // to another endpoint at most this many times if the endpoint ends the connection without a byte back.
    private const int ReplayLimit = 16 * 1024;
    private const int MaxReplays = 2;

    private const int PipeSize = 1024 * 1024;

    // Reads (or splices) per connection per turn: a bulk transfer yields to the loop's other connections after this.
    private const int ReadBudget = 16;

    private const uint SocketEvents = LibC.EpollIn | LibC.EpollOut | LibC.EpollRdHup | LibC.EpollEt;

    private readonly byte* _scratch;
    private readonly int _spliceThreshold;

    // Connections whose budget ran out while they could still move data, continued after the batch.
    private List<(TcpConnection Connection, uint Generation)> _posted = [];
    private List<(TcpConnection Connection, uint Generation)> _posting = [];

    private void Register(int fd, TcpConnection c, ulong tag)
    {
        LibC.EpollEvent ev = new() { Events = SocketEvents, Data = ((ulong)c.Generation << 32) | ((ulong)c.Slot << 2) | tag };
        LibC.EpollCtl(_epoll, LibC.EpollCtlAdd, fd, &ev);
    }

    private void ConnectNext(TcpConnection c, bool afterFailure)
    {
        while (true)
        {
            int index = c.Attempts < c.Candidates.Length ? c.Program.Balancer.Pick(c.Candidates, c.ClientIp, c.Tried, out c.AffinityHit) : -1;
            if (index < 0)
            {
                // Every endpoint refused or timed out: the client sees a reset, as with no endpoint at all.
                Interlocked.Increment(ref c.Program.Stats.Refused);
                Close(c, reset: true);
                return;
            }
            if (afterFailure)
            {
                Interlocked.Increment(ref c.Program.Stats.Retried);
            }
            afterFailure = true;
            c.Attempts++;
            if (index < 64)
            {
                c.Tried |= 1UL << index;
            }
            c.Endpoint = c.Candidates[index];
            switch (StartConnect(c))
            {
                case 0:
                    Connected(c);
                    return;
                case 1:
                    c.State = ConnectionState.Connecting;
                    c.ConnectDeadline = _time.GetTimestamp() + _connectTimeout;
                    if (_connecting++ == 0 && _draining == 0)
                    {
                        _nextSweep = c.ConnectDeadline;
                    }
                    return;
            }
        }
    }

    /// <summary>0: connected; 1: in progress; -1: failed at once (the next endpoint is tried).</summary>
    private int StartConnect(TcpConnection c)
    {
        LibC.SockAddr target = SocketAddresses.From(c.Endpoint!.EndPoint);

        // The pod sees the real client when both are local: the upstream socket takes the client's address (any
        // port) before connecting. If the address cannot be used, the connection goes out unbound. 127.0.0.1 and ::1
        // need no bind (two syscalls): the kernel picks them for loopback destinations anyway (lo's route src).
        bool bind = c.ClientAddress.Family == target.Family && SocketAddresses.IsLoopback(target) &&
            SocketAddresses.IsLoopback(c.ClientAddress) && !SocketAddresses.IsDefaultLoopbackSource(c.ClientAddress);
        while (true)
        {
            int fd = LibC.Socket(target.Family, LibC.SockStream | LibC.SockNonBlock | LibC.SockCloExec, 0);
            if (fd < 0)
            {
                return -1;
            }
            LibC.SetSockOptInt(fd, LibC.SolTcp, LibC.TcpNoDelay, 1);
            if (bind)
            {
                LibC.SockAddr local = c.ClientAddress;
                local.Port = 0;
                LibC.SetSockOptInt(fd, LibC.SolIp, LibC.IpBindAddressNoPort, 1);
                bind = LibC.Bind(fd, &local, local.Length) == 0;
            }
            int rc = LibC.Connect(fd, &target, target.Length);
            int error = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
            if (rc == 0 || error == LibC.EINPROGRESS)
            {
                // Registered only now: an unconnected socket polls as hung up.
                c.Upstream = fd;
                c.UpstreamReady = Readiness.None;
                Register(fd, c, TagUpstream);
                return rc == 0 ? 0 : 1;
            }
            LibC.Close(fd);

            // No free port for the client's address and this endpoint: without the bind the kernel has more.
            if (!(bind && error == LibC.EADDRNOTAVAIL))
            {
                return -1;
            }
            bind = false;
        }
    }

    private void ConnectFailed(TcpConnection c)
    {
        _connecting--;
        c.State = ConnectionState.Opening;
        CloseUpstream(c);
        ConnectNext(c, afterFailure: true);
    }

    private void Connected(TcpConnection c)
    {
        if (c.State == ConnectionState.Connecting)
        {
            _connecting--;
        }
        c.State = ConnectionState.Relaying;
        c.UpstreamReady |= Readiness.Writable;
        c.Program.Balancer.Connected(c.Endpoint!, c.ClientIp);
        c.BalancerConnected = true;
        if (!c.Established)
        {
            c.Established = true;
            Interlocked.Increment(ref c.Program.Stats.Connections);
            Interlocked.Increment(ref c.Program.Stats.Active);
            if (c.AffinityHit)
            {
                Interlocked.Increment(ref c.Program.Stats.AffinityHits);
            }
        }

        // An Apply may have removed this endpoint while the connect was in flight.
        StampDrain(c, _time.GetTimestamp());
        if (c.ReplayLength > 0)
        {
            Keep(ref c.Up, c.Replay!.AsSpan(0, c.ReplayLength));
        }
        Progress(c);
    }

    private void OnEvent(TcpConnection c, bool upstream, uint events)
    {
        Readiness ready = Readiness.None;
        if ((events & (LibC.EpollIn | LibC.EpollHup | LibC.EpollRdHup)) != 0)
        {
            ready |= Readiness.Readable;
        }
        if ((events & (LibC.EpollOut | LibC.EpollHup)) != 0)
        {
            ready |= Readiness.Writable;
        }
        if ((events & (LibC.EpollHup | LibC.EpollRdHup)) != 0)
        {
            ready |= Readiness.PeerClosed;
        }
        if (upstream)
        {
            c.UpstreamReady |= ready;
        }
        else
        {
            c.ClientReady |= ready;
        }

        if (c.State == ConnectionState.Connecting)
        {
            // The client is only read once the endpoint is there; a client error ends the attempt.
            if (!upstream)
            {
                if ((events & LibC.EpollErr) != 0)
                {
                    Close(c, reset: true);
                }
            }
            else if ((events & (LibC.EpollErr | LibC.EpollHup)) != 0)
            {
                ConnectFailed(c);
            }
            else if ((events & LibC.EpollOut) != 0)
            {
                // Writable without error or hang-up is a completed connect (no SO_ERROR needed to tell).
                Connected(c);
            }
            return;
        }
        if ((events & LibC.EpollErr) != 0)
        {
            Failed(c, upstreamFailed: upstream);
            return;
        }
        Progress(c);
    }

    /// <summary>Moves what can be moved both ways, until the sockets say no more or the budget is spent.</summary>
    private void Progress(TcpConnection c)
    {
        uint generation = c.Generation;
        int budget = ReadBudget;
        if (!Move(c, up: true, ref budget) || !Move(c, up: false, ref budget))
        {
            return;
        }
        if (budget <= 0 && !c.Posted && c.Generation == generation)
        {
            c.Posted = true;
            _posted.Add((c, generation));
        }
    }

    /// <summary>One direction: flush what is pending, then read and write until used up. False: the connection is gone (closed or replaced).</summary>
    private bool Move(TcpConnection c, bool up, ref int budget)
    {
        ref Direction d = ref up ? ref c.Up : ref c.Down;
        ref Readiness source = ref up ? ref c.ClientReady : ref c.UpstreamReady;
        ref Readiness destination = ref up ? ref c.UpstreamReady : ref c.ClientReady;
        while (c.State == ConnectionState.Relaying)
        {
            if (d.HasOutput && (destination & Readiness.Writable) != 0 && !FlushOut(c, up, ref d, ref source, ref destination))
            {
                return false;
            }
            if (d.SourceEof)
            {
                if (!d.HasOutput && !d.Shut)
                {
                    return FinishDirection(c, up);
                }
                return true;
            }
            bool splicing = d.PipeWrite >= 0;
            bool room = splicing ? d.PipeBytes < d.PipeCapacity : !d.HasOutput && (destination & Readiness.Writable) != 0;
            if (!room || (source & Readiness.Readable) == 0 || budget <= 0)
            {
                return true;
            }
            budget--;
            if (!(splicing ? PumpSplice(c, up, ref d, ref source, ref destination) : PumpCopy(c, up, ref d, ref source, ref destination)))
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>One read into the scratch buffer, written on at once. False: the connection is gone.</summary>
    private bool PumpCopy(TcpConnection c, bool up, ref Direction d, ref Readiness source, ref Readiness destination)
    {
        nint read = LibC.Read(up ? c.Client : c.Upstream, _scratch, ScratchSize);
        if (read <= 0)
        {
            return SourceEnded(c, up, ref source, read == 0 ? 0 : Marshal.GetLastPInvokeError());
        }
        Count(c, up, read);
        d.Carried += read;

        // Less than asked for: the socket is empty; edge-triggered epoll reports new data as a new event.
        bool drained = read < ScratchSize;
        if (drained)
        {
            source &= ~Readiness.Readable;
        }
        nint written = LibC.Send(up ? c.Upstream : c.Client, _scratch, read, LibC.MsgNoSignal | LibC.MsgDontWait);
        if (written < 0)
        {
            if (Marshal.GetLastPInvokeError() != LibC.EAGAIN)
            {
                Failed(c, upstreamFailed: up);
                return false;
            }
            written = 0;
        }
        if (written < read)
        {
            Keep(ref d, new ReadOnlySpan<byte>(_scratch + written, (int)(read - written)));
            destination &= ~Readiness.Writable;
        }
        else if (!drained && _spliceThreshold > 0 && d.Carried >= _spliceThreshold && !(up && c.ReplayOpen))
        {
            // Only a read that filled the whole buffer says bulk (as HAProxy's splice-auto): request/response traffic
            // past the threshold keeps copying, which costs fewer syscalls per small message than two splices.
            StartSplice(ref d);
        }

        // The FIN was in before this read, so the read that emptied the socket took the last byte: no read for the 0.
        return !drained || (source & Readiness.PeerClosed) == 0 || SourceEnded(c, up, ref source, 0);
    }

    /// <summary>One splice from the source into the pipe, then as much of the pipe as the destination takes. False: the connection is gone.</summary>
    private bool PumpSplice(TcpConnection c, bool up, ref Direction d, ref Readiness source, ref Readiness destination)
    {
        nint read = LibC.Splice(up ? c.Client : c.Upstream, null, d.PipeWrite, null, d.PipeCapacity - d.PipeBytes, LibC.SpliceFMove | LibC.SpliceFNonBlock);
        if (read <= 0)
        {
            int error = read == 0 ? 0 : Marshal.GetLastPInvokeError();

            // Into a pipe that is not empty, EAGAIN may mean it ran out of slots (one per segment) with bytes still in
            // the socket, which then sends no new event: the next splice out of the pipe restores the readiness.
            d.SourceMaybeBlocked = error == LibC.EAGAIN && d.PipeBytes > 0;
            return SourceEnded(c, up, ref source, error);
        }
        Count(c, up, read);
        d.PipeBytes += (int)read;
        return (destination & Readiness.Writable) == 0 || FlushOut(c, up, ref d, ref source, ref destination);
    }

    private void Count(TcpConnection c, bool up, nint bytes)
    {
        if (up)
        {
            Interlocked.Add(ref c.Program.Stats.BytesIn, bytes);
            if (c.ReplayOpen)
            {
                Remember(c, bytes);
            }
        }
        else
        {
            Interlocked.Add(ref c.Program.Stats.BytesOut, bytes);
            if (!c.Answered)
            {
                c.Answered = true;
                ForgetReplay(c);
            }
        }
    }

    private void Remember(TcpConnection c, nint bytes)
    {
        if (c.ReplayLength + bytes > ReplayLimit)
        {
            ForgetReplay(c);
            return;
        }
        c.Replay ??= ArrayPool<byte>.Shared.Rent(ReplayLimit);
        new ReadOnlySpan<byte>(_scratch, (int)bytes).CopyTo(c.Replay.AsSpan(c.ReplayLength));
        c.ReplayLength += (int)bytes;
    }

    private static void ForgetReplay(TcpConnection c)
    {
        c.ReplayOpen = false;
        c.ReplayLength = 0;
        if (c.Replay is not null)
        {
            ArrayPool<byte>.Shared.Return(c.Replay);
            c.Replay = null;
        }
    }

    private static void Keep(ref Direction d, ReadOnlySpan<byte> bytes)
    {
        d.Pending = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(d.Pending);
        d.PendingOffset = 0;
        d.PendingLength = bytes.Length;
    }

    /// <summary>Writes what the destination could not take before (pipe or pending bytes). False: the connection is gone.</summary>
    private bool FlushOut(TcpConnection c, bool up, ref Direction d, ref Readiness source, ref Readiness destination)
    {
        int fd = up ? c.Upstream : c.Client;
        nint written;
        if (d.PipeBytes > 0)
        {
            written = LibC.Splice(d.PipeRead, null, fd, null, d.PipeBytes, LibC.SpliceFMove | LibC.SpliceFNonBlock);
            if (written > 0)
            {
                d.PipeBytes -= (int)written;
                if (d.SourceMaybeBlocked)
                {
                    d.SourceMaybeBlocked = false;
                    source |= Readiness.Readable;
                }
            }
        }
        else
        {
            fixed (byte* pending = d.Pending)
            {
                written = LibC.Send(fd, pending + d.PendingOffset, d.PendingLength, LibC.MsgNoSignal | LibC.MsgDontWait);
            }
            if (written > 0)
            {
                d.PendingOffset += (int)written;
                d.PendingLength -= (int)written;
                if (d.PendingLength == 0)
                {
                    ArrayPool<byte>.Shared.Return(d.Pending!);
                    d.Pending = null;
                }
            }
        }
        if (written < 0 && Marshal.GetLastPInvokeError() != LibC.EAGAIN)
        {
            Failed(c, upstreamFailed: up);
            return false;
        }
        if (d.HasOutput)
        {
            destination &= ~Readiness.Writable;
        }
        return true;
    }

    private void StartSplice(ref Direction d)
    {
        int* fds = stackalloc int[2];
        if (LibC.Pipe2(fds, LibC.ONonBlock | LibC.OCloExec) != 0)
        {
            // Out of pipes (or descriptors): this direction keeps copying; it is not tried again.
            d.Carried = long.MinValue;
            return;
        }

        // A bigger pipe moves more per splice and buffers more while the destination is slow; refused (pipe-max-size,
        // or the user's pipe pages used up), the default 64 KiB stays.
        int capacity = LibC.Fcntl(fds[1], LibC.FSetPipeSz, PipeSize);
        capacity = capacity > 0 ? capacity : LibC.Fcntl(fds[1], LibC.FGetPipeSz, 0);
        if (capacity < ScratchSize)
        {
            // Past fs.pipe-user-pages-soft the kernel gives new pipes a page or two: copying is faster than that.
            LibC.Close(fds[0]);
            LibC.Close(fds[1]);
            d.Carried = long.MinValue;
            return;
        }
        d.PipeCapacity = capacity;
        d.PipeRead = fds[0];
        d.PipeWrite = fds[1];
    }

    /// <summary>A read found EOF (error 0), nothing (EAGAIN) or an error. False: the connection is gone.</summary>
    private bool SourceEnded(TcpConnection c, bool up, ref Readiness source, int error)
    {
        source &= ~Readiness.Readable;
        if (error is LibC.EAGAIN or LibC.EINTR)
        {
            return true;
        }
        if (error != 0)
        {
            Failed(c, upstreamFailed: !up);
            return false;
        }

        // An endpoint's FIN after the client's was passed on is the end of the conversation, not a failure.
        if (!up && !c.Up.Shut && CanReplay(c))
        {
            ReplayElsewhere(c);
            return false;
        }
        (up ? ref c.Up : ref c.Down).SourceEof = true;
        return true;
    }

    /// <summary>A direction whose source ended and whose bytes are all written passes the FIN on; both done: closed. False: closed.</summary>
    private bool FinishDirection(TcpConnection c, bool up)
    {
        (up ? ref c.Up : ref c.Down).Shut = true;
        if ((up ? c.Down : c.Up).Shut)
        {
            // close() sends the FIN itself: both sources are read to the end, nothing unread turns it into a reset.
            Close(c, reset: false);
            return false;
        }
        LibC.Shutdown(up ? c.Upstream : c.Client, LibC.ShutWr);
        return true;
    }

    /// <summary>A socket error (reset, broken pipe) on one side: the other side is reset too, unless the endpoint can be replaced.</summary>
    private void Failed(TcpConnection c, bool upstreamFailed)
    {
        if (upstreamFailed && CanReplay(c))
        {
            ReplayElsewhere(c);
            return;
        }
        Close(c, reset: true);
    }

    private static bool CanReplay(TcpConnection c) => !c.Answered && c.ReplayOpen && c.Replays < MaxReplays;

    /// <summary>The endpoint went away before answering: connect to another and send it what the client sent so far.</summary>
    private void ReplayElsewhere(TcpConnection c)
    {
        c.Replays++;
        CloseUpstream(c);
        if (c.Up.Pending is not null)
        {
            ArrayPool<byte>.Shared.Return(c.Up.Pending);
        }
        bool clientDone = c.Up.SourceEof;
        c.Up = Direction.Idle;
        c.Up.SourceEof = clientDone;
        c.Down = Direction.Idle;
        c.State = ConnectionState.Opening;
        ConnectNext(c, afterFailure: true);
    }

    private void CloseUpstream(TcpConnection c)
    {
        if (c.BalancerConnected)
        {
            c.Program.Balancer.Disconnected(c.Endpoint!);
            c.BalancerConnected = false;
        }
        if (c.Upstream >= 0)
        {
            LibC.Close(c.Upstream);
            c.Upstream = -1;
            c.UpstreamReady = Readiness.None;
        }
    }

    private void Close(TcpConnection c, bool reset)
    {
        if (c.State == ConnectionState.Connecting)
        {
            _connecting--;
        }
        if (c.DrainDeadline != 0)
        {
            _draining--;
        }
        if (reset)
        {
            Reset(c.Client);
            if (c.Upstream >= 0)
            {
                Reset(c.Upstream);
            }
        }
        CloseUpstream(c);
        LibC.Close(c.Client);
        Release(ref c.Up);
        Release(ref c.Down);
        ForgetReplay(c);
        if (c.Established)
        {
            Interlocked.Decrement(ref c.Program.Stats.Active);
        }
        c.State = ConnectionState.Free;
        c.Generation++;
        c.Posted = false;
        c.Program = null!;
        c.Endpoint = null;
        c.Candidates = default;
        _free.Push(c.Slot);
        Interlocked.Decrement(ref _load);
    }

    private static void Release(ref Direction d)
    {
        if (d.Pending is not null)
        {
            ArrayPool<byte>.Shared.Return(d.Pending);
        }
        if (d.PipeRead >= 0)
        {
            LibC.Close(d.PipeRead);
            LibC.Close(d.PipeWrite);
        }
        d = Direction.Idle;
    }

    /// <summary>Continues the connections whose read budget ran out in the last batch.</summary>
    private void RunPosted()
    {
        (_posted, _posting) = (_posting, _posted);
        foreach ((TcpConnection c, uint generation) in _posting)
        {
            if (c.Generation == generation && c.State == ConnectionState.Relaying)
            {
                c.Posted = false;
                Progress(c);
            }
        }
        _posting.Clear();
    }
}
