using System.Collections.Immutable;
using System.Net;
using Berth.Node.Native;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Userspace.Tcp;

internal enum ConnectionState
{
    Free,

    /// <summary>Accepted, or between two endpoints: choosing one, in no epoll set.</summary>
    Opening,

    /// <summary>Waiting for the upstream connect to complete; the client is not read meanwhile.</summary>
    Connecting,

    Relaying,
}

/// <summary>
/// One relayed connection, in a loop's slab: only that loop's thread touches it. Slots are reused; the generation
/// (in every epoll registration's data) tells a reused slot from the connection an old event was for.
/// </summary>
internal sealed class TcpConnection(int slot)
{
    public readonly int Slot = slot;
    public uint Generation;
    public ConnectionState State;
    public int Client = -1;
    public int Upstream = -1;

    /// <summary>What epoll last said of each socket and is not yet used up (edge-triggered: no new event until it changes).</summary>
    public Readiness ClientReady;
    public Readiness UpstreamReady;

    /// <summary>In the loop's list of connections to continue after the batch (their read budget ran out).</summary>
    public bool Posted;

    public RouteProgram Program = null!;
    public ImmutableArray<EndpointInfo> Candidates;
    public IPAddress ClientIp = IPAddress.None;
    public LibC.SockAddr ClientAddress;
    public EndpointInfo? Endpoint;
    public ulong Tried;
    public int Attempts;
    public bool AffinityHit;

    /// <summary>Counted in Connections and Active (once, however many endpoints it went through).</summary>
    public bool Established;

    /// <summary>The balancer has been told of the current endpoint (Connected) and must hear Disconnected.</summary>
    public bool BalancerConnected;

    public long ConnectDeadline;

    /// <summary>Timestamp after which the connection is closed because its endpoint left; 0 = not draining.</summary>
    public long DrainDeadline;

    /// <summary>The endpoint has sent a byte: from then on a failure is the client's to see, never replayed.</summary>
    public bool Answered;

    /// <summary>Everything the client sent is still in <see cref="Replay"/> (none of it past the replay limit).</summary>
    public bool ReplayOpen;
    public byte[]? Replay;
    public int ReplayLength;
    public int Replays;

    /// <summary>Client to endpoint.</summary>
    public Direction Up;

    /// <summary>Endpoint to client.</summary>
    public Direction Down;

    public void Reset(int client, in LibC.SockAddr clientAddress, IPAddress clientIp, RouteProgram program, ImmutableArray<EndpointInfo> candidates)
    {
        State = ConnectionState.Opening;
        Client = client;
        Upstream = -1;
        ClientReady = Readiness.Writable;
        UpstreamReady = Readiness.None;
        Posted = false;
        ClientAddress = clientAddress;
        ClientIp = clientIp;
        Program = program;
        Candidates = candidates;
        Endpoint = null;
        Tried = 0;
        Attempts = 0;
        AffinityHit = false;
        Established = false;
        BalancerConnected = false;
        ConnectDeadline = 0;
        DrainDeadline = 0;
        Answered = false;
        ReplayOpen = true;
        ReplayLength = 0;
        Replays = 0;
        Up = Direction.Idle;
        Down = Direction.Idle;
    }
}

/// <summary>A socket's state as epoll reported it; a flag is cleared when a call finds it used up (EAGAIN, a short read, a partial write).</summary>
[Flags]
internal enum Readiness : byte
{
    None = 0,
    Readable = 1,
    Writable = 2,

    /// <summary>The peer's FIN has arrived: a read that leaves the socket empty has reached the end.</summary>
    PeerClosed = 4,
}

/// <summary>One direction of a connection: what is read from its source and not yet written to its destination.</summary>
internal struct Direction
{
    public static Direction Idle => new() { PipeRead = -1, PipeWrite = -1 };

    /// <summary>Bytes a partial write left, in a pooled array; the source is not read until they are written.</summary>
    public byte[]? Pending;
    public int PendingOffset;
    public int PendingLength;

    /// <summary>The splice(2) pipe once the direction carried SpliceThreshold bytes; -1 before.</summary>
    public int PipeRead;
    public int PipeWrite;

    /// <summary>Bytes in the pipe not yet spliced to the destination.</summary>
    public int PipeBytes;

    /// <summary>The last splice into the pipe found no room for another segment, maybe with bytes left in the source.</summary>
    public bool SourceMaybeBlocked;

    /// <summary>What the pipe holds at most: the source is read while there is room, so the pipe is a buffer.</summary>
    public int PipeCapacity;

    public long Carried;

    /// <summary>The source sent FIN.</summary>
    public bool SourceEof;

    /// <summary>The FIN was passed on: shutdown(destination, SHUT_WR) done.</summary>
    public bool Shut;

    /// <summary>Bytes read and not yet written: the destination must take them before the source is read again (copying), or before the pipe fills (splicing).</summary>
    public readonly bool HasOutput => PendingLength > 0 || PipeBytes > 0;
}
