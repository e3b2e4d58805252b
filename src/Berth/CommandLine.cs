using System.Diagnostics;
using System.Globalization;
using System.Net;
using Berth.Api.Validation;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Berth.ApiServer.Allocation;
using Berth.Client;
using Berth.Node;
using Berth.Node.Dns;
using Berth.Node.Proxy;

namespace Berth;

/// <summary>The `berth` command line: parsing and dispatch only; the components live in the libraries.</summary>
internal static class CommandLine
{
    private const string Usage = """
        Usage:
          berth server [--data-dir DIR] [--api-port N] [--bind-address IP] [--datastore sqlite]
                       [--service-cidr CIDR] [--service-node-port-range RANGE] [--load-balancer-pool CIDR]
                       [--cluster-cidr CIDR] [--node-name NAME] [--kubelet-port N] [--event-ttl DURATION]
                       [--node-monitor-grace-period DURATION] [--node-monitor-period DURATION]
                       [--default-not-ready-toleration-seconds N]
                       [--default-unreachable-toleration-seconds N] [--node-lease-duration DURATION]
                       [--endpoint-updates-batch-period DURATION] [PROXY FLAGS]
              Runs the Kubernetes API server, the controllers (scheduler, ReplicaSet, Deployment, garbage collector,
              node IPAM, node lifecycle, taint eviction, pod GC, EndpointSlice, Endpoints, EndpointSlice mirroring,
              Service diagnosis), and a node agent that runs the pods bound to this
              node as local processes. Writes DIR/kubeconfig (TLS + bearer token) and
              DIR/node-token (for berth agent) once it listens.
          berth up [-f PATH]... [--wait-timeout DURATION] [every berth server flag]
              Reads every PATH (a file; a directory, recursively: .yaml, .yml, .json; - for stdin; multi-document YAML
              and kind: List), starts a server as berth server does, applies the objects with server-side apply (all
              dry-run first: one refused object and nothing is applied, exit code 1), waits until they are ready (as
              kubectl rollout status; a Service with a selector needs a ready endpoint, a LoadBalancer its address),
              prints where every Service answers, then shows a live status. Ctrl+C / SIGTERM stops the pods
              gracefully, then everything; exit code 0.
          berth agent --server URL --token TOKEN --node-name NAME [--data-dir DIR] [--node-ip IP] [--kubelet-port N]
                      [--certificate-authority FILE] [--node-lease-duration DURATION] [PROXY FLAGS]
              Runs a node agent alone against a remote API server. TOKEN is the server's DIR/node-token
              (K10<CA hash>::secret, which also pins the server's CA) or its plain token with --certificate-authority.
          PROXY FLAGS (the node's service proxy, both commands):
                      [--proxy-mode userspace|none] [--nodeport-addresses IP|CIDR,...] [--metrics-bind-address IP:PORT]
                      [--proxy-drain-timeout DURATION] [--udp-idle-timeout DURATION]
                      [--proxy-min-sync-period DURATION] [--proxy-sync-period DURATION]
          DNS FLAGS (the node's cluster DNS and its pods' resolv.conf, both commands):
                      [--dns-mode node|none] [--cluster-domain DOMAIN] [--cluster-dns IP]
                      [--dns-upstream IP[:PORT],...] [--dns-ttl DURATION] [--resolv-conf FILE]
          berth version
          berth help

        Defaults: --data-dir ./.berth (agent: ./.berth-agent), --wait-timeout 5m (then berth up says what is not
          ready and why, and keeps running), --api-port 6443, --bind-address 127.0.0.1,
          --datastore sqlite, --service-cidr 127.96.0.0/16 (kubernetes = .1, cluster DNS = .10),
          --service-node-port-range 30000-32767, --load-balancer-pool 127.100.0.0/16, --cluster-cidr 127.244.0.0/16
          (a /24 per node), --node-name the host name, --node-ip 127.0.0.1, --kubelet-port 10250 (0 = any free port),
          --event-ttl 1h, --node-lease-duration 40s (renewed every quarter of it), --node-monitor-grace-period 40s
          (a node silent that long is Unknown and tainted unreachable), --node-monitor-period 5s (how often nodes
          are checked), --default-not-ready-toleration-seconds 30 and
          --default-unreachable-toleration-seconds 30 (upstream: 300; then its pods are evicted and replaced),
          --endpoint-updates-batch-period 0 (as upstream; e.g. 10ms makes pod changes within it one write per Service),
          --proxy-mode userspace (none: this node proxies nothing, e.g. a second agent on the same host),
          --nodeport-addresses the node IP, --metrics-bind-address 127.0.0.1:10249 (port 0 = any free port),
          --proxy-drain-timeout 1h (connections to a removed endpoint are closed after it; 0 = never),
          --udp-idle-timeout 30s, --proxy-min-sync-period 0, --proxy-sync-period 30s,
          --dns-mode node (none: this node answers no DNS, e.g. a second agent on the same host; its pods still use
          the cluster DNS), --cluster-domain cluster.local, --cluster-dns the ClusterIP of kube-system/kube-dns,
          --dns-upstream the nameservers of --resolv-conf (default /etc/resolv.conf), --dns-ttl 5s.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "server" => await ServerAsync(args[1..]).ConfigureAwait(false),
                "up" => await Up.UpCommand.RunAsync(args[1..]).ConfigureAwait(false),
                "agent" => await AgentAsync(args[1..]).ConfigureAwait(false),
                "version" or "--version" => Version(),
                _ => Fail($"unknown command \"{args[0]}\""),
            };
        }
        catch (UsageException e)
        {
            return Fail(e.Message);
        }
    }

    private static async Task<int> ServerAsync(string[] args)
    {
        var started = Stopwatch.GetTimestamp();
        var flags = new ServerFlags();
        for (var i = 0; i < args.Length; i++)
        {
            if (!flags.TryParse(args, ref i))
            {
                throw new UsageException($"unknown flag \"{args[i]}\"");
            }
        }
        return await WithLocalServerAsync(flags, started, async server =>
        {
            await server.WaitForShutdownAsync().ConfigureAwait(false);
            return 0;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts the local server (API, controllers, node) and runs <paramref name="body"/> with it, disposing it after:
    /// a failed start is exit code 2 with the reason, Ctrl+C while starting a clean exit 0.
    /// </summary>
    internal static async Task<int> WithLocalServerAsync(ServerFlags flags, long started, Func<LocalServer, Task<int>> body)
    {
        LocalServer server;
        try
        {
            server = await LocalServer.StartAsync(flags, started).ConfigureAwait(false);
        }
        catch (LocalServer.StartException e)
        {
            return Fail(e.Message);
        }
        catch (LocalServer.StoppedException)
        {
            return 0;
        }
        await using (server.ConfigureAwait(false))
        {
            return await body(server).ConfigureAwait(false);
        }
    }

    private static async Task<int> AgentAsync(string[] args)
    {
        var node = new NodeFlags();
        string? server = null, token = null, caFile = null;
        var dataDir = ".berth-agent";
        for (var i = 0; i < args.Length; i++)
        {
            if (node.TryParse(args, ref i))
            {
                continue;
            }
            switch (args[i])
            {
                case "--server":
                    server = Value(args, ref i);
                    break;
                case "--token":
                    token = Value(args, ref i);
                    break;
                case "--certificate-authority":
                    caFile = Value(args, ref i);
                    break;
                case "--data-dir":
                    dataDir = Value(args, ref i);
                    break;
                default:
                    throw new UsageException($"unknown flag \"{args[i]}\"");
            }
        }
        if (server is null || token is null || node.Name is null)
        {
            throw new UsageException("berth agent needs --server URL, --token TOKEN and --node-name NAME");
        }
        if (!Uri.TryCreate(server, UriKind.Absolute, out var serverUri) || serverUri.Scheme != "https")
        {
            throw new UsageException($"--server must be an https URL such as https://127.0.0.1:6443, not \"{server}\"");
        }
        if (!JoinToken.TryParse(token, out var secret, out var pin) && caFile is null)
        {
            throw new UsageException("--token is neither a join token (K10<CA hash>::secret, from the server's node-token file) nor usable without --certificate-authority");
        }
        using var ca = caFile is null ? null : X509CertificateLoader.LoadCertificateFromFile(caFile);
        using var client = new KubeClient(new KubeClientOptions { Server = serverUri, Token = token, CertificateAuthority = ca, UserAgent = "berth-agent" });
        using var stopping = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopping.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        NodeAgent agent;
        try
        {
            agent = await NodeAgent.StartAsync(node.Options(client, pin is null ? token : secret, Path.GetFullPath(dataDir)), stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or KubeApiException)
        {
            return Fail($"agent could not start: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            return 1;
        }
        await using (agent.ConfigureAwait(false))
        {
            Console.WriteLine($"berth: node {agent.NodeName} joined {serverUri} (kubelet port {agent.KubeletPort})");
            try
            {
                await Task.Delay(Timeout.Infinite, stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("berth: stopping the node agent's pods");
            }
        }
        return 0;
    }

    internal static void Log(string line) => ConsoleView.Line("berth: " + line);

    /// <summary>The node agent's flags, shared by <c>berth server</c> (and so <c>berth up</c>) and <c>berth agent</c>.</summary>
    internal sealed class NodeFlags
    {
        public string? Name { get; private set; }

        public string NodeIP => _ip;

        /// <summary>--nodeport-addresses as given (IPs and CIDRs), empty when left out (NodePorts then bind the node IP).</summary>
        public IReadOnlyList<string> NodePortAddresses => _nodePortAddresses ?? [];

        public string ClusterDomain => _clusterDomain ?? _dnsDefaults.ClusterDomain;

        private string _ip = "127.0.0.1";
        private int _kubeletPort = 10250;
        private TimeSpan _leaseDuration = TimeSpan.FromSeconds(40);
        private bool _proxy = true;
        private readonly ProxyOptions _proxyDefaults = new();
        private IReadOnlyList<string>? _nodePortAddresses;
        private IPEndPoint? _metricsAddress;
        private TimeSpan? _drainTimeout;
        private TimeSpan? _udpIdleTimeout;
        private TimeSpan? _minSyncPeriod;
        private TimeSpan? _syncPeriod;
        private bool _serveDns = true;
        private readonly DnsOptions _dnsDefaults = new();
        private string? _clusterDomain;
        private IPAddress? _clusterDns;
        private IReadOnlyList<IPEndPoint>? _dnsUpstreams;
        private TimeSpan? _dnsTtl;
        private string? _resolvConf;

        public bool TryParse(string[] args, ref int i)
        {
            switch (args[i])
            {
                case "--node-name":
                    Name = Value(args, ref i).ToLowerInvariant();
                    return true;
                case "--node-ip":
                    _ip = IPAddress.TryParse(Value(args, ref i), out var ip) ? ip.ToString() : throw new UsageException("--node-ip must be an IP address");
                    return true;
                case "--kubelet-port":
                    _kubeletPort = int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
                        ? port : throw new UsageException("--kubelet-port must be a port number (0-65535)");
                    return true;
                case "--node-lease-duration":
                    _leaseDuration = Duration(args, ref i);
                    return true;
                case "--proxy-mode":
                    _proxy = Value(args, ref i) switch
                    {
                        "userspace" => true,
                        "none" => false,
                        var other => throw new UsageException($"--proxy-mode must be userspace or none, not \"{other}\""),
                    };
                    return true;
                case "--nodeport-addresses":
                    _nodePortAddresses = NodePortAddresses(args, ref i);
                    return true;
                case "--metrics-bind-address":
                    _metricsAddress = IPEndPoint.TryParse(Value(args, ref i), out var metrics) && args[i].Contains(':', StringComparison.Ordinal)
                        ? metrics : throw new UsageException($"--metrics-bind-address must be IP:PORT such as 127.0.0.1:10249, not \"{args[i]}\"");
                    return true;
                case "--proxy-drain-timeout":
                    _drainTimeout = Duration(args, ref i, allowZero: true);
                    return true;
                case "--udp-idle-timeout":
                    _udpIdleTimeout = Duration(args, ref i);
                    return true;
                case "--proxy-min-sync-period":
                    _minSyncPeriod = Duration(args, ref i, allowZero: true);
                    return true;
                case "--proxy-sync-period":
                    _syncPeriod = Duration(args, ref i);
                    return true;
                case "--dns-mode":
                    _serveDns = Value(args, ref i) switch
                    {
                        "node" => true,
                        "none" => false,
                        var other => throw new UsageException($"--dns-mode must be node or none, not \"{other}\""),
                    };
                    return true;
                case "--cluster-domain":
                    _clusterDomain = ClusterDomain(args, ref i);
                    return true;
                case "--cluster-dns":
                    _clusterDns = IPAddress.TryParse(Value(args, ref i), out var dns) ? dns : throw new UsageException($"--cluster-dns must be an IP address, not \"{args[i]}\"");
                    return true;
                case "--dns-upstream":
                    _dnsUpstreams = DnsUpstreams(args, ref i);
                    return true;
                case "--dns-ttl":
                    _dnsTtl = Duration(args, ref i, allowZero: true);
                    if (_dnsTtl.Value.Milliseconds != 0)
                    {
                        throw new UsageException("--dns-ttl must be whole seconds, such as 5s or 30s");
                    }
                    return true;
                case "--resolv-conf":
                    _resolvConf = Value(args, ref i);
                    return true;
                default:
                    return false;
            }
        }

        public NodeAgentOptions Options(KubeClient client, string token, string dataDir) => new()
        {
            Client = client,
            // As the kubelet: the host name, lower-cased, unless told otherwise.
            NodeName = Name ?? Environment.MachineName.ToLowerInvariant(),
            NodeIP = _ip,
            KubeletPort = _kubeletPort,
            LeaseDuration = _leaseDuration,
            Proxy = !_proxy ? null : new ProxyOptions
            {
                NodePortAddresses = _nodePortAddresses ?? [],
                MetricsAddress = _metricsAddress ?? _proxyDefaults.MetricsAddress,
                DrainTimeout = _drainTimeout ?? _proxyDefaults.DrainTimeout,
                UdpIdleTimeout = _udpIdleTimeout ?? _proxyDefaults.UdpIdleTimeout,
                MinSyncPeriod = _minSyncPeriod ?? _proxyDefaults.MinSyncPeriod,
                SyncPeriod = _syncPeriod ?? _proxyDefaults.SyncPeriod,
                Log = line => Log("proxy: " + line),
            },
            Dns = new DnsOptions
            {
                ClusterDomain = _clusterDomain ?? _dnsDefaults.ClusterDomain,
                ClusterDnsIP = _clusterDns,
                Upstreams = _dnsUpstreams,
                HostResolvConf = _resolvConf ?? _dnsDefaults.HostResolvConf,
                Ttl = _dnsTtl ?? _dnsDefaults.Ttl,
                Log = Log,
            },
            ServeDns = _serveDns,
            Token = token,
            DataDir = dataDir,
            Log = Log,
        };
    }

    /// <summary>--cluster-domain: a DNS subdomain such as cluster.local (a trailing dot is dropped).</summary>
    internal static string ClusterDomain(string[] args, ref int i)
    {
        var value = Value(args, ref i).TrimEnd('.').ToLowerInvariant();
        return value.Length > 0 && NameValidation.IsDns1123Subdomain(value).Count == 0
            ? value : throw new UsageException($"--cluster-domain must be a DNS name such as cluster.local, not \"{args[i]}\"");
    }

    /// <summary>--dns-upstream: comma-separated IP or IP:PORT (port 53 when left out), e.g. 127.0.0.1:5353,[::1]:53.</summary>
    internal static IReadOnlyList<IPEndPoint> DnsUpstreams(string[] args, ref int i)
    {
        var value = Value(args, ref i);
        var upstreams = new List<IPEndPoint>();
        foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (IPAddress.TryParse(entry, out var address) && !entry.StartsWith('['))
            {
                upstreams.Add(new IPEndPoint(address, 53));
            }
            else if (IPEndPoint.TryParse(entry, out var endpoint) && endpoint.Port != 0)
            {
                upstreams.Add(endpoint);
            }
            else
            {
                throw new UsageException($"--dns-upstream takes IP or IP:PORT entries separated by commas; \"{entry}\" is neither");
            }
        }
        return upstreams.Count > 0 ? upstreams : throw new UsageException("--dns-upstream needs at least one IP address");
    }

    /// <summary>--nodeport-addresses: a comma-separated list of IP addresses and CIDRs.</summary>
    internal static IReadOnlyList<string> NodePortAddresses(string[] args, ref int i)
    {
        var value = Value(args, ref i);
        var entries = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var entry in entries)
        {
            if (!IPAddress.TryParse(entry, out _) && !IPNetwork.TryParse(entry, out _))
            {
                throw new UsageException($"--nodeport-addresses takes IP addresses and CIDRs separated by commas; \"{entry}\" is neither");
            }
        }
        return entries.Length > 0 ? entries : throw new UsageException("--nodeport-addresses needs at least one IP address or CIDR");
    }

    private static int Version()
    {
        Console.WriteLine($"berth {typeof(CommandLine).Assembly.GetName().Version} (Kubernetes API v1.32)");
        return 0;
    }

    internal static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new UsageException($"flag {args[i]} needs a value");
        }
        return args[++i];
    }

    /// <summary>A Go-style duration such as 1h, 30m, 90s, 1m30s or 10ms; zero only where <paramref name="allowZero"/>.</summary>
    internal static TimeSpan Duration(string[] args, ref int i, bool allowZero = false)
    {
        var flag = args[i];
        var value = Value(args, ref i);
        var match = System.Text.RegularExpressions.Regex.Match(value, @"^(?:0|(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?)$");
        if (value.Length == 0 || !match.Success)
        {
            throw new UsageException($"{flag} must be a duration such as 1h, 30m, 90s or 10ms, not \"{value}\"");
        }
        int Part(int group) => match.Groups[group].Success ? int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        var duration = new TimeSpan(0, Part(1), Part(2), Part(3), Part(4));
        return duration > TimeSpan.Zero || allowZero
            ? duration
            : throw new UsageException($"{flag} must be longer than 0s");
    }

    internal static long Seconds(string[] args, ref int i)
    {
        var flag = args[i];
        var value = Value(args, ref i);
        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? seconds : throw new UsageException($"{flag} must be a whole number of seconds, not \"{value}\"");
    }

    internal static string Cidr(string[] args, ref int i)
    {
        var flag = args[i];
        var value = Value(args, ref i);
        return IPRange.TryParse(value, out _) ? value : throw new UsageException($"{flag} must be a CIDR such as 127.96.0.0/16, not \"{value}\"");
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"berth: {message}");
        return 2;
    }

    internal sealed class UsageException(string message) : Exception(message);
}
