using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Berth.Node.Dns.Forwarding;
using Berth.Node.Dns.Server;

namespace Berth.Node.Dns;

/// <summary>
/// The serve loop: finds the cluster DNS address (the flag, else kube-dns's ClusterIP, followed when it changes),
/// binds UDP and TCP there, and keeps this node's EndpointSlice in step. A bind that fails is logged and recorded
/// once per distinct error (Warning <see cref="ReasonBindFailed"/> on kube-dns, as the proxy reports its listeners)
/// and retried every <see cref="s_bindRetry"/>; success is a Normal <see cref="ReasonListening"/>.
/// </summary>
public sealed partial class ClusterDns
{
    private static readonly TimeSpan s_bindRetry = TimeSpan.FromSeconds(5);

    // Our EndpointSlice is checked this often even without a watch event about it (the informer may be relisting).
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(30);

    // One pending wake-up is enough: a pass reads the current state of everything.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // The serve loop's alone (and DisposeAsync's, once the loop has ended).
    private IPAddress? _address;
    private DnsServer? _server;
    private DnsForwarder? _forwarder;
    private string? _bindError;
    // Read by anyone.
    private IPEndPoint? _listening;

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task ServeAsync(CancellationToken ct)
    {
        try
        {
            // The kube-dns Service (address, event target, slice owner) and our slice are read from these caches.
            await Task.WhenAll(_services.WaitForSyncAsync(ct), _slices.WaitForSyncAsync(ct)).ConfigureAwait(false);
            while (!ct.IsCancellationRequested)
            {
                var next = await ServeOnceAsync(ct).ConfigureAwait(false);
                using var timer = new CancellationTokenSource(next, _options.Time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
                try
                {
                    await _wake.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Time for the periodic pass or the bind retry.
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One pass: (re)bind if needed, then the EndpointSlice; returns when the next pass is due without a wake-up.</summary>
    private async Task<TimeSpan> ServeOnceAsync(CancellationToken ct)
    {
        var address = DesiredAddress();
        if (!Equals(address, _address))
        {
            await StopServerAsync().ConfigureAwait(false);
            if (address is not null)
            {
                Log(_address is null ? $"cluster DNS address {address}" : $"cluster DNS address changed from {_address} to {address}");
            }
            _address = address;
            _bindError = null;
        }
        var next = s_recheck;
        if (_address is not null && _server is null && !TryListen(_address))
        {
            next = s_bindRetry;
        }
        if (!await PublishSliceAsync(ct).ConfigureAwait(false))
        {
            next = s_bindRetry;
        }
        return next;
    }

    private IPAddress? DesiredAddress()
    {
        if (_options.ClusterDnsIP is { } configured)
        {
            return configured;
        }
        var clusterIP = _services.Get(DnsNamespace, DnsServiceName)?.Spec?.ClusterIP;
        return IPAddress.TryParse(clusterIP, out var address) ? address : null;
    }

    private bool TryListen(IPAddress address)
    {
        var endPoint = new IPEndPoint(address, _options.Port);
        var (upstreams, searches) = Resolvers(address);
        var forwarder = new DnsForwarder(upstreams, new DnsForwarderOptions { Time = _options.Time, Log = line => Log(line) });
        try
        {
            var handler = new DnsQueryHandler(() => Volatile.Read(ref _snapshot), forwarder, _options.ClusterDomain, searches);
            _server = DnsServer.Start(endPoint, handler, line => Log(line));
        }
        catch (SocketException e)
        {
            forwarder.Dispose();
            var message = $"cannot listen on {endPoint} (UDP and TCP): {e.Message}{Hint(e.SocketErrorCode, endPoint.Port)}";
            if (message != _bindError)
            {
                _bindError = message;
                Log(message + $"; retrying every {s_bindRetry.TotalSeconds:0} s");
                RecordEvent("Warning", ReasonBindFailed, $"node {_nodeName}: {message}");
            }
            return false;
        }
        _forwarder = forwarder;
        _bindError = null;
        Volatile.Write(ref _listening, endPoint);
        var forwarding = upstreams.Count == 0
            ? $"no upstream nameservers ({(_options.Upstreams is null ? _options.HostResolvConf + " lists none but the cluster DNS" : "none given")}): other names get SERVFAIL"
            : "forwarding other names to " + string.Join(", ", upstreams);
        Log($"listening on {endPoint} (UDP and TCP); {forwarding}");
        RecordEvent("Normal", ReasonListening, $"node {_nodeName}: answering cluster DNS on {endPoint} (UDP and TCP)");
        return true;
    }

    /// <summary>Upstream resolvers and the host search path (autopath walks it), read at each bind.</summary>
    private (IReadOnlyList<IPEndPoint> Upstreams, IReadOnlyList<string> Searches) Resolvers(IPAddress address)
    {
        var host = ResolvConf.Read(_options.HostResolvConf);
        return (Upstreams(_options.Upstreams, host, new IPEndPoint(address, _options.Port)), host.Searches);
    }

    /// <summary>
    /// The flag's upstreams, else the host resolv.conf's nameservers on port 53. Either way one that is this server
    /// itself would loop, so it is left out: a flag entry that is exactly <paramref name="self"/>, a nameserver with
    /// its address (a host that already points at the cluster DNS; on any port that is a Berth DNS, never a resolver
    /// that knows the outside).
    /// </summary>
    internal static IReadOnlyList<IPEndPoint> Upstreams(IReadOnlyList<IPEndPoint>? given, ResolvConf host, IPEndPoint self) =>
        given is not null
            ? [.. given.Where(u => !u.Equals(self))]
            : [.. host.Nameservers
                .Select(n => IPAddress.TryParse(n, out var ip) ? ip : null)
                .OfType<IPAddress>()
                .Where(ip => !ip.Equals(self.Address))
                .Select(ip => new IPEndPoint(ip, 53))];

    private static string Hint(SocketError error, int port) => error switch
    {
        SocketError.AccessDenied when port < 1024 => " (ports below 1024 need root or net.ipv4.ip_unprivileged_port_start=0)",
        SocketError.AddressAlreadyInUse => " (another process serves this address and port)",
        SocketError.AddressNotAvailable => " (no interface of this host has this address)",
        _ => "",
    };

    private void RecordEvent(string type, string reason, string message)
    {
        if (_services.Get(DnsNamespace, DnsServiceName) is { } service)
        {
            _events.Record(service, type, reason, message);
        }
    }

    private async Task StopServerAsync()
    {
        if (_server is null)
        {
            return;
        }
        Volatile.Write(ref _listening, null);
        await _server.DisposeAsync().ConfigureAwait(false);
        _server = null;
        _forwarder?.Dispose();
        _forwarder = null;
        Log($"stopped listening on {_address}:{_options.Port}");
    }
}
