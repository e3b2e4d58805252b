using System.Diagnostics;
using System.Globalization;
using System.Net;
using DnsClient;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>
/// One node-agent cluster shared by the DNS tests, whose cluster DNS forwards to a <see cref="TestUpstreamDns"/> of
/// the fixture's own (never to the machine's resolver) and whose node resolv.conf is a file of the fixture's, so
/// what pods inherit from the host is known. Ready once the cluster DNS answers for the kubernetes Service.
/// </summary>
public sealed class DnsFixture : IAsyncLifetime
{
    public const string Zone = "cluster.local";

    /// <summary>The search domain of the node's resolv.conf (pods with ClusterFirst get it after the cluster's).</summary>
    public const string HostSearch = "e2e-host.test";

    /// <summary>The nameserver of the node's resolv.conf: a TEST-NET-1 address, only ever written into files, never queried.</summary>
    public const string HostNameserver = "192.0.2.53";

    public const string HostOption = "timeout:1";

    private string? _dir;

    public NodeAgentCluster Cluster { get; private set; } = null!;

    public TestUpstreamDns Upstream { get; private set; } = null!;

    /// <summary>The cluster DNS address: the tenth of the server's service CIDR (kube-system/kube-dns's ClusterIP).</summary>
    public IPAddress ClusterDns { get; private set; } = IPAddress.None;

    /// <summary>The first address of the service CIDR, the kubernetes Service's.</summary>
    public IPAddress KubernetesIP { get; private set; } = IPAddress.None;

    public async Task InitializeAsync()
    {
        try
        {
            _dir = TestDirectories.Create("berth-dns-e2e");
            var resolvConf = Path.Combine(_dir, "resolv.conf");
            await File.WriteAllTextAsync(resolvConf, $"nameserver {HostNameserver}\nsearch {HostSearch}\noptions {HostOption}\n");
            Upstream = TestUpstreamDns.Start();
            Cluster = await NodeAgentCluster.StartAsync("--dns-upstream", Upstream.EndPoint.ToString(), "--resolv-conf", resolvConf);
            var cidr = AddressBlocks.ServiceCidr(AddressBlocks.For(Cluster.Server.DataDir));
            var network = IPAddress.Parse(cidr[..cidr.IndexOf('/', StringComparison.Ordinal)]).GetAddressBytes();
            KubernetesIP = new IPAddress([network[0], network[1], network[2], (byte)(network[3] + 1)]);
            ClusterDns = new IPAddress([network[0], network[1], network[2], (byte)(network[3] + 10)]);
            // SERVFAIL until the zone has synced, nothing at all until kube-dns has its address and the bind worked.
            var client = DnsLookup.Client(ClusterDns);
            var name = $"kubernetes.default.svc.{Zone}";
            string last = "";
            await WaitForAsync(async () =>
            {
                var response = await DnsLookup.TryQueryAsync(client, name, QueryType.A);
                last = response is null ? "no answer" : $"{response.Header.ResponseCode}, {response.Answers.Count} answers";
                return response is { HasError: false } && response.Answers.ARecords().Any();
            }, () => $"the cluster DNS {ClusterDns}:53 to answer {name} A (binding port 53 needs root or net.ipv4.ip_unprivileged_port_start=0); last: {last}\nserver log tail:\n{Tail(Cluster.Server.Output, 40)}", 60);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
            Cluster = null!;
        }
        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
            Upstream = null!;
        }
        if (_dir is not null)
        {
            TestDirectories.Delete(_dir);
            _dir = null;
        }
    }
}

/// <summary>Runs only as root, else skipped saying why (by default: pods get their own resolv.conf and hosts file in a private mount namespace).</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute(string why = "a pod's own /etc/resolv.conf and /etc/hosts are bind mounts in a mount namespace of its own")
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = $"needs root: {why}; running as {Environment.UserName}";
        }
    }
}

/// <summary>One resource record as dig prints it: owner (with the trailing dot), TTL, type and the RDATA text.</summary>
public sealed record DigRecord(string Name, uint Ttl, string Type, string Data)
{
    public override string ToString() => $"{Name} {Ttl} {Type} {Data}";
}

/// <summary>What one dig run printed: the rcode, header flags, sections and the reply's size in bytes, and the whole output for messages.</summary>
public sealed record DigResult(int ExitCode, string Status, IReadOnlySet<string> Flags, IReadOnlyList<DigRecord> Answer,
    IReadOnlyList<DigRecord> Authority, IReadOnlyList<DigRecord> Additional, int Size, string Output)
{
    /// <summary>The RDATA of the answers of this type, in order.</summary>
    public List<string> Data(string type) => [.. Answer.Where(r => r.Type == type).Select(r => r.Data)];

    public override string ToString() => $"dig exit {ExitCode}:\n{Output}";
}

/// <summary>The real dig (bind9-dnsutils), always with an explicit server: nothing goes to the host's resolver.</summary>
public static class Dig
{
    /// <summary>
    /// Queries <paramref name="server"/>:53 with <paramref name="args"/> (name, type, -x ADDRESS, +tcp, ...); one
    /// try, 2 s. The sections are read from dig's comment lines (";; ANSWER SECTION:").
    /// </summary>
    public static async Task<DigResult> RunAsync(IPAddress server, params string[] args)
    {
        var psi = new ProcessStartInfo("dig")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { $"@{server}", "-p", "53", "+noall", "+comments", "+answer", "+authority", "+additional", "+stats", "+tries=1", "+time=2" }.Concat(args))
        {
            psi.ArgumentList.Add(arg);
        }
        // No ~/.digrc of the machine's user changes the query.
        psi.Environment["HOME"] = Path.GetTempPath();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("dig did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        return Parse(process.ExitCode, output);
    }

    /// <summary>The answers' RDATA of the queried type, as `dig +short` would list them (no CNAMEs).</summary>
    public static async Task<List<string>> ShortAsync(IPAddress server, string name, string type, params string[] options)
    {
        var result = await RunAsync(server, [name, type, .. options]);
        Assert.True(result.Status == "NOERROR", $"{name} {type} {string.Join(' ', options)}: {result}");
        return result.Data(type);
    }

    private static DigResult Parse(int exitCode, string output)
    {
        var status = "";
        var size = 0;
        var flags = new HashSet<string>(StringComparer.Ordinal);
        List<DigRecord> answer = [], authority = [], additional = [];
        List<DigRecord>? section = null;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith(";; ->>HEADER<<-", StringComparison.Ordinal))
            {
                var at = line.IndexOf("status: ", StringComparison.Ordinal) + "status: ".Length;
                status = line[at..line.IndexOf(',', at)];
            }
            else if (line.StartsWith(";; flags:", StringComparison.Ordinal))
            {
                var text = line[";; flags:".Length..line.IndexOf(';', ";; flags:".Length)];
                flags.UnionWith(text.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
            else if (line.StartsWith(";; MSG SIZE  rcvd: ", StringComparison.Ordinal))
            {
                size = int.Parse(line[";; MSG SIZE  rcvd: ".Length..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith(";; ", StringComparison.Ordinal) && line.EndsWith(" SECTION:", StringComparison.Ordinal))
            {
                section = line switch
                {
                    ";; ANSWER SECTION:" => answer,
                    ";; AUTHORITY SECTION:" => authority,
                    ";; ADDITIONAL SECTION:" => additional,
                    _ => null,
                };
            }
            else if (line.Length == 0 || line.StartsWith(';'))
            {
                if (line.Length == 0)
                {
                    section = null;
                }
            }
            else if (section is not null)
            {
                var fields = line.Split([' ', '\t'], 5, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length == 5)
                {
                    section.Add(new DigRecord(fields[0], uint.Parse(fields[1], CultureInfo.InvariantCulture), fields[3], fields[4].Trim()));
                }
            }
        }
        return new DigResult(exitCode, status, flags, answer, authority, additional, size, output);
    }
}

/// <summary>DnsClient's LookupClient against one server, without its cache, so every query reaches the server.</summary>
public static class DnsLookup
{
    public static LookupClient Client(IPAddress server, bool tcp = false, int timeoutMs = 2000) =>
        new(new LookupClientOptions(new NameServer(server, 53))
        {
            UseCache = false,
            UseTcpOnly = tcp,
            Retries = 0,
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            ThrowDnsErrors = false,
        });

    /// <summary>The response, or null when none came in time (the server not listening yet, or a lost datagram).</summary>
    public static async Task<IDnsQueryResponse?> TryQueryAsync(LookupClient client, string name, QueryType type)
    {
        try
        {
            return await client.QueryAsync(name, type);
        }
        catch (Exception e) when (e is DnsResponseException or System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Queries every 20 ms until the response satisfies the condition or <paramref name="limit"/> has passed since
    /// <paramref name="since"/>; returns how long after <paramref name="since"/> the first satisfying answer came, or
    /// null with the last response seen.
    /// </summary>
    public static async Task<(TimeSpan? After, string Last)> WithinAsync(LookupClient client, string name, QueryType type,
        Func<IDnsQueryResponse, bool> condition, Stopwatch since, TimeSpan limit)
    {
        var last = "none";
        while (since.Elapsed <= limit)
        {
            var response = await TryQueryAsync(client, name, type);
            if (response is not null && condition(response))
            {
                return (since.Elapsed, Describe(response));
            }
            last = response is null ? "no response" : Describe(response);
            await Task.Delay(20);
        }
        return (null, last);
    }

    public static string Describe(IDnsQueryResponse response) =>
        $"{response.Header.ResponseCode}: [{string.Join("; ", response.Answers)}] authority [{string.Join("; ", response.Authorities)}]";
}

/// <summary>The workloads of the DNS tests: testpod Deployments, Services of each kind, pods with DNS settings.</summary>
public static class DnsManifests
{
    /// <summary>A Service selecting app=<paramref name="app"/>; <paramref name="ports"/> are flow-style items, <paramref name="spec"/> more spec lines.</summary>
    public static string Service(string name, string app, string[] ports, string spec = "") =>
        $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}}
        spec:
          selector: {app: {{app}}}
          {{spec}}
          ports:
        {{string.Join('\n', ports.Select(p => "  - " + p))}}
        """;

    public static string ExternalName(string name, string target) =>
        $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}}
        spec:
          type: ExternalName
          externalName: {{target}}
          ports:
          - {name: http, port: 80}
        """;

    /// <summary>A testpod serving HTTP on $(POD_IP):8080 (Ready once it answers), with spec.hostname and spec.subdomain.</summary>
    public static string HostnamePod(string name, string app, string hostname, string subdomain, string marker) =>
        $$$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{{name}}}, labels: {app: {{{app}}}}}
        spec:
          hostname: {{{hostname}}}
          subdomain: {{{subdomain}}}
          terminationGracePeriodSeconds: 5
          containers:
          - name: app
            image: berth-testpod
            command: ["{{{TestPod}}}", "serve", "--address", "$(POD_IP)", "--port", "8080"]
            readinessProbe:
              httpGet: {path: /ready, port: 8080}
              periodSeconds: 1
            env:
            - name: POD_IP
              valueFrom: {fieldRef: {fieldPath: status.podIP}}
        {{{MarkerEnv(marker, 4).TrimEnd('\n')}}}
        """;

    /// <summary>
    /// A pod that only sleeps (something to exec into), labelled app=<paramref name="app"/>, with extra pod spec lines
    /// (2-space indent) and container lines (4-space indent).
    /// </summary>
    public static string SleepPod(string name, string marker, string podSpec = "", string app = "sleeper", string container = "") =>
        $$$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{{name}}}, labels: {app: {{{app}}}}}
        spec:
          terminationGracePeriodSeconds: 1
        {{{podSpec}}}
          containers:
          - name: app
            image: busybox
            command: [sleep, "3600"]
        {{{container}}}
            env:
        {{{MarkerEnv(marker, 4).TrimEnd('\n')}}}
        """;

    /// <summary>The address as a DNS label, a.b.c.d → a-b-c-d (pod and headless endpoint names).</summary>
    public static string Dashed(string ip) => ip.Replace('.', '-');
}

/// <summary>A resolv.conf as a resolver reads it: nameserver lines, the last search line, the options.</summary>
public sealed record ResolvConfFile(List<string> Nameservers, List<string> Searches, List<string> Options)
{
    public static ResolvConfFile Parse(string text)
    {
        List<string> nameservers = [], searches = [], options = [];
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0].StartsWith('#') || fields[0].StartsWith(';'))
            {
                continue;
            }
            switch (fields[0])
            {
                case "nameserver":
                    nameservers.AddRange(fields.Skip(1).Take(1));
                    break;
                case "search":
                    searches = [.. fields.Skip(1)];
                    break;
                case "options":
                    options.AddRange(fields.Skip(1));
                    break;
            }
        }
        return new ResolvConfFile(nameservers, searches, options);
    }
}
