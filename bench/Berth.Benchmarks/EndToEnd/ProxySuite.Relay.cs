using System.Diagnostics;
using System.Net;
using Berth.Node.Proxy;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.LoadBalancing;
using Berth.Node.Proxy.Metrics;
using Berth.Node.Proxy.Model;
using Berth.Node.Proxy.Routing;
using Berth.Node.Proxy.Userspace.Tcp;

namespace Berth.Benchmarks.EndToEnd;

internal sealed partial class ProxySuite
{
    private ServicePortStats? _relayStats;

    /// <summary>
    /// Relay mode: nginx as a plain process, and Berth's TCP relay in this process programmed with one ClusterIP route
    /// to it, as the node agent would program it for a Service with one ready endpoint. Returns nginx's address.
    /// </summary>
    private async Task<IPEndPoint> SetUpRelayAsync(string content)
    {
        var relayNginx = Address(2, 8080);
        var relayBerth = Address(3, 80);
        var nginx = await Nginx.StartAsync(_nginxPrefix, relayNginx, content, _ct).ConfigureAwait(false);
        _owned.Add(nginx);
        _setup.Add($"nginx ({Nginx.Program}, 1 worker, access log off, sendfile on) as a plain process on {relayNginx}");
        if (_options.Targets.Contains("direct"))
        {
            _targets.Add(new Target("direct", "direct", relayNginx, null));
        }
        if (_options.Targets.Contains("berth"))
        {
            var proxy = new TcpProxy(new ProxyOptions { Workers = _options.Workers, MetricsAddress = null, Log = line => Log($"berth relay: {line}") });
            _owned.Add(proxy);
            var name = new ServicePortName("bench", "nginx", "http", TransportProtocol.Tcp);
            var service = new ServicePortInfo { Name = name, ClusterIPs = [relayBerth.Address], Port = relayBerth.Port };
            var endpoint = new EndpointInfo(relayNginx.Address, relayNginx.Port) { Ready = true, Serving = true, IsLocal = true };
            var route = new ServiceRoute
            {
                Service = service,
                Frontends = [new Frontend(relayBerth.Address, relayBerth.Port, TransportProtocol.Tcp, FrontendKind.ClusterIP)],
                ClusterEndpoints = [endpoint],
                ExternalEndpoints = [endpoint],
                AllEndpoints = [endpoint],
                LocalReadyEndpoints = 1,
            };
            var balancer = new ServiceBalancer(TimeProvider.System);
            balancer.Configure(service);
            _relayStats = new ServicePortStats();
            var failures = proxy.Apply([new RouteProgram(route, balancer, _relayStats)]);
            if (failures.Count > 0)
            {
                throw new InvalidOperationException($"Berth's relay could not listen: {string.Join("; ", failures.Select(f => $"{f.Frontend}: {f.Reason}"))}");
            }
            _targets.Add(new Target("berth", "Berth", relayBerth, ProcessCpu));
            _setup.Add($"Berth: its TCP relay (`TcpProxy`, {_options.Workers} workers, splice past {new ProxyOptions().SpliceThreshold / 1024} KiB) in the benchmark process on {relayBerth}, one ClusterIP route with nginx as its one ready endpoint");
        }
        return relayNginx;
    }

    private static TimeSpan ProcessCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    // The relay's own counters: every wrk request reached nginx through it, none was refused or retried.
    private void AddRelayCounters()
    {
        if (_relayStats is { } s)
        {
            _observations.Add($"Berth relay counters after the run: {s.Connections:N0} connections, {s.BytesIn:N0} B in, {s.BytesOut:N0} B out, {s.Refused} refused, {s.Retried} retried, {s.Active} still open");
        }
    }
}
