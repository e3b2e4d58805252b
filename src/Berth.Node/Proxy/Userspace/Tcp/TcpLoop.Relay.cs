using System.Buffers;
using System.Runtime.InteropServices;
using Berth.Node.Native;

namespace Berth.Node.Proxy.Userspace.Tcp;

// Connecting, relaying and closing. Every read goes to the loop's one scratch buffer and is written on at once;
// only what a write leaves behind is copied to a pooled array, and then the source is not read until it is written
// (backpressure is the kernel's socket buffers, not ours). Past SpliceThreshold a direction moves through a pipe
// with splice(2) instead, never entering user memory. Expected socket errors are return codes, never exceptions.
internal sealed unsafe partial class TcpLoop
{
    private const int ScratchSize = 64 * 1024;

    // Early-failure replay: what the client sent is kept until the endpoint answers, up to this much, and replayed
    // to another endpoint at most this many times if the endpoint ends the connection without a byte back.
    private const int ReplayLimit = 16 * 1024;
    private const int MaxReplays = 2;

    private const int PipeSize = 1024 * 1024;

    private readonly byte* _scratch;
    private readonly int _spliceThreshold;

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
                    UpdateInterest(c);
                    return;
            }
        }
    }

    /// <summary>0: connected; 1: in progress; -1: failed at once (the next endpoint is tried).</summary>
    private int StartConnect(TcpConnection c)
    {
        LibC.SockAddr target = SocketAddresses.From(c.Endpoint!.EndPoint);

        // The pod sees the real client when the client is local: the upstream socket takes the client's address
        // (any port) before connecting. If the address cannot be used, the connection goes out unbound.
        bool bind = c.ClientAddress.Family == target.Family && SocketAddresses.IsLoopback(c.ClientAddress);
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
                c.Upstream = fd;
                c.UpstreamEvents = 0;
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
            Flush(c, up: true);
            return;
        }
        if (c.Up.SourceEof)
        {
            // The client had already finished sending before a replay.
            FinishIfDone(c, up: true);
            return;
        }
        UpdateInterest(c);
    }

    private void OnEvent(TcpConnection c, bool upstream, uint events)
    {
        if (c.State == ConnectionState.Connecting)
        {
            // Writable without error or hang-up is a completed connect (no SO_ERROR needed to tell).
            if (upstream)
            {
                if ((events & (LibC.EpollErr | LibC.EpollHup)) != 0)
                {
                    ConnectFailed(c);
                }
                else
                {
                    Connected(c);
                }
            }
            return;
        }
        uint generation = c.Generation;
        if ((events & LibC.EpollErr) != 0)
        {
            Failed(c, upstreamFailed: upstream);
            return;
        }

        // Readable (or hung up: the read sees the EOF) source of one direction, writable destination of the other.
        ref Direction from = ref upstream ? ref c.Down : ref c.Up;
        if ((events & (LibC.EpollIn | LibC.EpollHup)) != 0 && !from.SourceEof && !from.Full)
        {
            Pump(c, up: !upstream);
            if (c.Generation != generation || c.State != ConnectionState.Relaying)
            {
                return;
            }
        }
        ref Direction to = ref upstream ? ref c.Up : ref c.Down;
        if ((events & LibC.EpollOut) != 0 && to.HasOutput)
        {
            Flush(c, up: upstream);
        }
    }

    /// <summary>Moves what the source has to the destination: one read, one write.</summary>
    private void Pump(TcpConnection c, bool up)
    {
        ref Direction d = ref up ? ref c.Up : ref c.Down;
        int source = up ? c.Client : c.Upstream;
        int destination = up ? c.Upstream : c.Client;
        if (d.PipeWrite >= 0)
        {
            PumpSplice(c, up);
            return;
        }
        nint read = LibC.Read(source, _scratch, ScratchSize);
        if (read <= 0)
        {
            SourceEnded(c, up, read == 0 ? 0 : Marshal.GetLastPInvokeError());
            return;
        }
        Count(c, up, read);
        d.Carried += read;
        nint written = LibC.Send(destination, _scratch, read, LibC.MsgNoSignal | LibC.MsgDontWait);
        if (written < 0)
        {
            if (Marshal.GetLastPInvokeError() != LibC.EAGAIN)
            {
                Failed(c, upstreamFailed: up);
                return;
            }
            written = 0;
        }
        if (written < read)
        {
            Keep(ref d, new ReadOnlySpan<byte>(_scratch + written, (int)(read - written)));
            UpdateInterest(c);
        }
        else if (read == ScratchSize && _spliceThreshold > 0 && d.Carried >= _spliceThreshold && !(up && c.ReplayOpen))
        {
            // Only a read that filled the whole buffer says bulk (as HAProxy's splice-auto): request/response traffic
            // past the threshold keeps copying, which costs fewer syscalls per small message than two splices.
            StartSplice(ref d);
        }
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

    /// <summary>Writes what the destination could not take before; once all is written the source is read again.</summary>
    private void Flush(TcpConnection c, bool up)
    {
        ref Direction d = ref up ? ref c.Up : ref c.Down;
        int destination = up ? c.Upstream : c.Client;
        if (d.PipeBytes > 0)
        {
            if (!SpliceOut(c, up, ref d, destination))
            {
                return;
            }
        }
        else if (d.PendingLength > 0)
        {
            nint written;
            fixed (byte* pending = d.Pending)
            {
                written = LibC.Send(destination, pending + d.PendingOffset, d.PendingLength, LibC.MsgNoSignal | LibC.MsgDontWait);
            }
            if (written < 0 && Marshal.GetLastPInvokeError() != LibC.EAGAIN)
            {
                Failed(c, upstreamFailed: up);
                return;
            }
            written = Math.Max(written, 0);
            d.PendingOffset += (int)written;
            d.PendingLength -= (int)written;
            if (d.PendingLength == 0)
            {
                ArrayPool<byte>.Shared.Return(d.Pending!);
                d.Pending = null;
            }
        }
        if (!d.HasOutput && d.SourceEof)
        {
            FinishIfDone(c, up);
            return;
        }
        UpdateInterest(c);
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

    private void PumpSplice(TcpConnection c, bool up)
    {
        ref Direction d = ref up ? ref c.Up : ref c.Down;
        int source = up ? c.Client : c.Upstream;
        int destination = up ? c.Upstream : c.Client;
        nint read = LibC.Splice(source, null, d.PipeWrite, null, d.PipeCapacity - d.PipeBytes, LibC.SpliceFMove | LibC.SpliceFNonBlock);
        if (read <= 0)
        {
            SourceEnded(c, up, read == 0 ? 0 : Marshal.GetLastPInvokeError());
            return;
        }
        Count(c, up, read);
        d.PipeBytes += (int)read;
        if (!d.DestinationFull && !SpliceOut(c, up, ref d, destination))
        {
            return;
        }
        UpdateInterest(c);
    }

    /// <summary>Moves the pipe's bytes to the destination; false when the connection failed (and is gone).</summary>
    private bool SpliceOut(TcpConnection c, bool up, ref Direction d, int destination)
    {
        nint moved = LibC.Splice(d.PipeRead, null, destination, null, d.PipeBytes, LibC.SpliceFMove | LibC.SpliceFNonBlock);
        if (moved < 0 && Marshal.GetLastPInvokeError() != LibC.EAGAIN)
        {
            Failed(c, upstreamFailed: up);
            return false;
        }
        d.PipeBytes -= (int)Math.Max(moved, 0);
        d.DestinationFull = d.PipeBytes > 0;
        return true;
    }

    /// <summary>The source's read gave EOF (error 0) or failed.</summary>
    private void SourceEnded(TcpConnection c, bool up, int error)
    {
        if (error is LibC.EAGAIN or LibC.EINTR)
        {
            return;
        }
        if (error != 0)
        {
            Failed(c, upstreamFailed: !up);
            return;
        }
        // An endpoint's FIN after the client's was passed on is the end of the conversation, not a failure.
        if (!up && !c.Up.Shut && CanReplay(c))
        {
            ReplayElsewhere(c);
            return;
        }
        ref Direction d = ref up ? ref c.Up : ref c.Down;
        d.SourceEof = true;
        if (d.HasOutput)
        {
            UpdateInterest(c);
            return;
        }
        FinishIfDone(c, up);
    }

    /// <summary>A direction whose source ended and whose bytes are all written passes the FIN on; both done: closed.</summary>
    private void FinishIfDone(TcpConnection c, bool up)
    {
        ref Direction d = ref up ? ref c.Up : ref c.Down;
        if (!d.Shut)
        {
            LibC.Shutdown(up ? c.Upstream : c.Client, LibC.ShutWr);
            d.Shut = true;
        }
        if (c.Up.Shut && c.Down.Shut)
        {
            Close(c, reset: false);
            return;
        }
        UpdateInterest(c);
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
        UpdateInterest(c);
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
            c.UpstreamEvents = 0;
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
        c.Program = null!;
        c.Endpoint = null;
        c.Candidates = default;
        _free.Push(c.Slot);
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

    /// <summary>Registers each socket for what its directions need now; a socket needing nothing leaves the set, so a hang-up cannot spin the loop.</summary>
    private void UpdateInterest(TcpConnection c)
    {
        uint client = 0;
        uint upstream = 0;
        if (c.State == ConnectionState.Relaying)
        {
            if (!c.Up.SourceEof && !c.Up.Full)
            {
                client |= LibC.EpollIn;
            }
            if (c.Down.HasOutput)
            {
                client |= LibC.EpollOut;
            }
            if (!c.Down.SourceEof && !c.Down.Full)
            {
                upstream |= LibC.EpollIn;
            }
            if (c.Up.HasOutput)
            {
                upstream |= LibC.EpollOut;
            }
        }
        else if (c.State == ConnectionState.Connecting)
        {
            upstream = LibC.EpollOut;
        }
        ulong data = ((ulong)c.Generation << 32) | ((ulong)c.Slot << 2);
        SetInterest(c.Client, ref c.ClientEvents, client, data | TagClient);
        if (c.Upstream >= 0)
        {
            SetInterest(c.Upstream, ref c.UpstreamEvents, upstream, data | TagUpstream);
        }
    }

    private void SetInterest(int fd, ref uint current, uint wanted, ulong data)
    {
        if (current == wanted)
        {
            return;
        }
        int op = current == 0 ? LibC.EpollCtlAdd : wanted == 0 ? LibC.EpollCtlDel : LibC.EpollCtlMod;
        LibC.EpollEvent ev = new() { Events = wanted, Data = data };
        LibC.EpollCtl(_epoll, op, fd, &ev);
        current = wanted;
    }
}
