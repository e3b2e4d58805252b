using System.Net.Sockets;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy.Userspace.Udp;

/// <summary>
/// The UDP half of the userspace backend: one socket per UDP frontend, and per client (address:port) of a frontend a
/// flow, a connected socket to the endpoint picked for that client. Flows die after <see cref="ProxyOptions.UdpIdleTimeout"/>
/// without traffic, at once when their endpoint leaves the frontend's candidates, and when the endpoint answers with
/// ICMP port unreachable (the client's next datagram picks another endpoint).
/// </summary>
internal sealed class UdpProxy : IAsyncDisposable
{
    private readonly ProxyOptions _options;
    private readonly RunningLoops _loops = new();
    private readonly ITimer _expiry;

    // Touched by the one sync thread only; the expiry timer reads _published instead.
    private readonly Dictionary<Frontend, UdpFrontend> _frontends = [];
    private UdpFrontend[] _published = [];
    private Task? _disposed;

    public UdpProxy(ProxyOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.UdpIdleTimeout, TimeSpan.Zero);
        _options = options;
        // Half the timeout: a flow lives between one and one and a half idle timeouts without traffic, like conntrack's
        // timeout which is also only checked by a periodic sweep (gc_worker).
        TimeSpan sweep = options.UdpIdleTimeout / 2;
        _expiry = options.Time.CreateTimer(static state => ((UdpProxy)state!).ExpireIdleFlows(), this, sweep, sweep);
    }

    /// <summary>Programs every UDP frontend of <paramref name="routes"/> (others are ignored); returns those that could not be bound.</summary>
    public IReadOnlyList<BindFailure> Apply(IReadOnlyList<RouteProgram> routes)
    {
        ObjectDisposedException.ThrowIf(_disposed is not null, this);
        var failures = new List<BindFailure>();
        var desired = new Dictionary<Frontend, RouteProgram>();
        foreach (RouteProgram program in routes)
        {
            if (program.Route.Name.Protocol != TransportProtocol.Udp)
            {
                continue;
            }
            foreach (Frontend frontend in program.Route.Frontends)
            {
                if (frontend.Protocol == TransportProtocol.Udp && !desired.TryAdd(frontend, program))
                {
                    // Two service ports claiming one address:port: the second could never bind it either.
                    failures.Add(new BindFailure(frontend, program.Route.Name, new SocketException((int)SocketError.AddressAlreadyInUse).Message));
                }
            }
        }

        // Gone frontends first, so an address:port that moves to another frontend kind is free again below.
        foreach ((Frontend frontend, UdpFrontend gone) in _frontends)
        {
            if (!desired.ContainsKey(frontend))
            {
                gone.Close();
                _frontends.Remove(frontend);
            }
        }

        foreach ((Frontend frontend, RouteProgram program) in desired)
        {
            if (_frontends.TryGetValue(frontend, out UdpFrontend? existing))
            {
                existing.Update(program);
                continue;
            }
            // Not kept on failure: every Apply (the periodic resync included) tries the bind again.
            if (UdpFrontend.TryOpen(frontend, program, _options, _loops, out UdpFrontend? opened, out string? error))
            {
                _frontends.Add(frontend, opened);
            }
            else
            {
                failures.Add(new BindFailure(frontend, program.Route.Name, error));
            }
        }

        Volatile.Write(ref _published, [.. _frontends.Values]);
        return failures;
    }

    private void ExpireIdleFlows()
    {
        long now = _options.Time.GetTimestamp();
        foreach (UdpFrontend frontend in Volatile.Read(ref _published))
        {
            frontend.ExpireIdleFlows(now);
        }
    }

    public ValueTask DisposeAsync()
    {
        // Apply and DisposeAsync both run on the owner's thread, never concurrently.
        _disposed ??= DisposeCoreAsync();
        return new ValueTask(_disposed);
    }

    private async Task DisposeCoreAsync()
    {
        await _expiry.DisposeAsync();
        foreach (UdpFrontend frontend in _frontends.Values)
        {
            frontend.Close();
        }
        _frontends.Clear();
        Volatile.Write(ref _published, []);
        await _loops.StopAsync();
    }
}
