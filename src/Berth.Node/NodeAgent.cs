using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Node.Dns;
using Berth.Node.Kubelet;
using Berth.Node.Kubelet.Probes;
using Berth.Node.Kubelet.Runtime;
using Berth.Node.Proxy;
using KubeNode = Berth.Api.Models.Node;

namespace Berth.Node;

/// <summary>
/// Berth's kubelet: registers the Node, heartbeats its Lease in kube-node-lease, runs the pods bound to it as
/// supervised local processes, and serves their logs and exec to the API server. The same code runs in-process
/// with <c>berth server</c> and alone as <c>berth agent</c>; it only talks to the API through <see cref="KubeClient"/>.
/// </summary>
public sealed class NodeAgent : IAsyncDisposable
{
    // Node status is rewritten when it changes or, as a heartbeat of its conditions, at least this often.
    private static readonly TimeSpan s_statusReport = TimeSpan.FromMinutes(1);

    private readonly NodeAgentOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly List<Task> _loops = [];
    private EventRecorder? _events;
    private Informer<Pod>? _pods;
    private Informer<Service>? _services;
    private KubeletServer? _server;
    private KubeletContext? _context;
    private Prober? _prober;
    private ServiceProxy? _proxy;
    private ClusterDns? _dns;

    private NodeAgent(NodeAgentOptions options)
    {
        _options = options;
    }

    public string NodeName => _options.NodeName;

    /// <summary>The port the kubelet API listens on.</summary>
    public int KubeletPort => _server?.Port ?? 0;

    /// <summary>This node's service proxy, unless it runs none.</summary>
    public ServiceProxy? Proxy => _proxy;

    /// <summary>This node's cluster DNS server, unless it runs none.</summary>
    public ClusterDns? Dns => _dns;

    /// <summary>Starts the agent; returns once the Node is registered and pods are being run.</summary>
    public static async Task<NodeAgent> StartAsync(NodeAgentOptions options, CancellationToken ct = default)
    {
        var agent = new NodeAgent(options);
        try
        {
            await agent.StartCoreAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await agent.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return agent;
    }

    private async Task StartCoreAsync(CancellationToken ct)
    {
        var o = _options;
        var log = o.Log;
        Directory.CreateDirectory(o.DataDir);

        // Whatever a predecessor (killed, or crashed) left running is ended before anything new starts.
        var records = new ProcessRecords(Path.Combine(o.DataDir, "processes"));
        var leftovers = records.EndLeftovers(TimeSpan.FromSeconds(2), line => log("agent: " + line));
        if (leftovers.Count == 0)
        {
            log("agent: no processes left running by a previous agent");
        }

        _events = new EventRecorder(o.Client, "kubelet", o.NodeName);
        _server = new KubeletServer(o.Token, o.NodeIP, o.KubeletPort, FindWorker, log);
        await _server.StartAsync(ct).ConfigureAwait(false);

        var node = await RegisterAsync(ct).ConfigureAwait(false);
        var podCidr = await WaitForPodCidrAsync(node, ct).ConfigureAwait(false);
        log($"agent: node {o.NodeName} registered (pod CIDR {podCidr}, kubelet port {_server.Port})");
        if (o.Proxy is { } proxyOptions)
        {
            _proxy = await ServiceProxy.StartAsync(o.Client, o.NodeName, o.NodeIP, proxyOptions, ct).ConfigureAwait(false);
        }

        if (o.ServeDns)
        {
            _dns = await ClusterDns.StartAsync(o.Client, o.NodeName, o.Dns, ct).ConfigureAwait(false);
        }

        _services = new Informer<Service>(o.Client, log: line => log("agent: services: " + line));
        await _services.StartAsync(_stop.Token).ConfigureAwait(false);
        _prober = new Prober();
        _context = new KubeletContext
        {
            Client = o.Client,
            Events = _events,
            NodeName = o.NodeName,
            NodeIP = o.NodeIP,
            LogRoot = Path.Combine(o.DataDir, "pods"),
            Processes = records,
            Prober = _prober,
            Addresses = new PodAddresses(Path.Combine(o.DataDir, "pod-ips"), podCidr),
            Services = () => [.. _services.List()],
            WaitUntilUnrouted = _proxy is null ? null : _proxy.WaitUntilUnroutedAsync,
            Dns = o.Dns,
            Allocatable = node.Status?.Allocatable ?? NodeInfo.Capacity(),
            Time = o.Time,
            Log = log,
        };

        _pods = new Informer<Pod>(o.Client, selectors: new ListOptions(FieldSelector: "spec.nodeName=" + o.NodeName),
            log: line => log("agent: pods: " + line));
        _pods.OnAdd(PodSeen);
        _pods.OnUpdate((_, pod) => PodSeen(pod));
        _pods.OnDelete(PodGone);
        // Service env vars are fixed at container start, so pods wait for the Service list before they start.
        await _services.WaitForSyncAsync(ct).ConfigureAwait(false);
        await _pods.StartAsync(_stop.Token).ConfigureAwait(false);
        await _pods.WaitForSyncAsync(ct).ConfigureAwait(false);
        _context.Addresses.ReleaseAllExcept(_pods.List().Select(p => p.Metadata!.Uid!).ToHashSet(StringComparer.Ordinal));

        _loops.Add(Task.Run(() => HeartbeatAsync(_stop.Token)));
    }

    private PodWorker? FindWorker(string ns, string name) =>
        _workers.Values.FirstOrDefault(w => w.Namespace == ns && w.Name == name && !w.Completion.IsCompleted);

    private void PodSeen(Pod pod)
    {
        var uid = pod.Metadata!.Uid!;
        if (_workers.TryGetValue(uid, out var worker))
        {
            worker.Update(pod);
            return;
        }
        worker = new PodWorker(_context!, pod);
        if (_workers.TryAdd(uid, worker))
        {
            worker.Start();
            _ = worker.Completion.ContinueWith(_ => _workers.TryRemove(new KeyValuePair<string, PodWorker>(uid, worker)), TaskScheduler.Default);
        }
    }

    private void PodGone(Pod pod)
    {
        if (_workers.TryGetValue(pod.Metadata!.Uid!, out var worker))
        {
            worker.Removed();
        }
    }

    /// <summary>Creates the Node, or takes over the existing one of this name, and reports its status.</summary>
    private async Task<KubeNode> RegisterAsync(CancellationToken ct)
    {
        var o = _options;
        var desired = NodeInfo.Describe(o.NodeName, o.NodeIP, _server!.Port);
        while (true)
        {
            try
            {
                var node = await o.Client.TryGetAsync<KubeNode>(null, o.NodeName, ct).ConfigureAwait(false);
                if (node is null)
                {
                    node = await o.Client.CreateAsync(KubeJson.DeepClone(desired), ct).ConfigureAwait(false);
                }
                else
                {
                    // Labels the kubelet owns are refreshed; everything users set stays.
                    node.Metadata!.Labels ??= [];
                    foreach (var (k, v) in desired.Metadata!.Labels!)
                    {
                        node.Metadata.Labels[k] = v;
                    }
                    node = await o.Client.UpdateAsync(node, ct).ConfigureAwait(false);
                }
                return await WriteNodeStatusAsync(node, ct).ConfigureAwait(false);
            }
            catch (KubeApiException e) when (e.StatusCode == 409 && !ct.IsCancellationRequested)
            {
                // The node IPAM controller wrote the Node in between (spec.podCIDR): read it again.
            }
            catch (Exception e) when (e is HttpRequestException or KubeApiException { StatusCode: >= 500 } && !ct.IsCancellationRequested)
            {
                o.Log($"agent: registering node {o.NodeName} failed, retrying: {e.Message}");
                await Task.Delay(TimeSpan.FromSeconds(1), o.Time, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<KubeNode> WriteNodeStatusAsync(KubeNode node, CancellationToken ct)
    {
        var desired = NodeInfo.Describe(_options.NodeName, _options.NodeIP, _server!.Port).Status!;
        desired.Conditions = NodeInfo.Conditions(_options.Time.GetUtcNow(), node.Status?.Conditions);
        node.Status = desired;
        return await _options.Client.UpdateStatusAsync(node, ct).ConfigureAwait(false);
    }

    /// <summary>Waits for the node IPAM controller to give this node its share of the pod CIDR.</summary>
    private async Task<string> WaitForPodCidrAsync(KubeNode node, CancellationToken ct)
    {
        var waited = TimeSpan.Zero;
        while (string.IsNullOrEmpty(node.Spec?.PodCIDR))
        {
            if (waited.TotalSeconds % 10 == 0)
            {
                _options.Log($"agent: waiting for node {_options.NodeName} to be given a pod CIDR (spec.podCIDR) by the node IPAM controller");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), _options.Time, ct).ConfigureAwait(false);
            waited += TimeSpan.FromMilliseconds(100);
            node = await _options.Client.GetAsync<KubeNode>(null, _options.NodeName, ct).ConfigureAwait(false);
        }
        return node.Spec!.PodCIDR!;
    }

    /// <summary>
    /// Renews the node's Lease every quarter of its duration (upstream's renewInterval) and reads the Node: its status
    /// is rewritten every minute, and at once when the API's Ready condition is not True — the node lifecycle
    /// controller set it Unknown while this agent was away or cut off, and the node stays tainted until the agent
    /// says otherwise. The kubelet reads its Node every nodeStatusUpdateFrequency (10 s) for the same comparison.
    /// </summary>
    private async Task HeartbeatAsync(CancellationToken ct)
    {
        var o = _options;
        var renew = o.LeaseDuration / 4;
        var lastStatus = o.Time.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RenewLeaseAsync(ct).ConfigureAwait(false);
                var node = await o.Client.GetAsync<KubeNode>(null, o.NodeName, ct).ConfigureAwait(false);
                var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
                if (ready?.Status != "True")
                {
                    o.Log($"agent: node {o.NodeName} is Ready={ready?.Status ?? "<none>"} in the API ({ready?.Reason}); posting its status");
                }
                if (ready?.Status != "True" || o.Time.GetElapsedTime(lastStatus) >= s_statusReport)
                {
                    node = await WriteNodeStatusAsync(node, ct).ConfigureAwait(false);
                    lastStatus = o.Time.GetTimestamp();
                    if (ready is not null && ready.Status != "True")
                    {
                        // The kubelet's ReadyCondition setter records the transition back to Ready the same way.
                        _events!.Record(node, "Normal", "NodeReady", $"Node {o.NodeName} status is now: NodeReady");
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (KubeApiException e) when (e.StatusCode == 404)
            {
                // Someone deleted the Node: register it again, as the kubelet does.
                o.Log($"agent: node {o.NodeName} is gone from the API ({e.Message}); registering it again");
                try
                {
                    await RegisterAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or KubeApiException or IOException or TimeoutException)
            {
                o.Log($"agent: node heartbeat failed: {e.Message}");
            }
            try
            {
                await Task.Delay(renew, o.Time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // The Lease as last written: renewing it is one write, not a read and a write (upstream's lease controller
    // keeps it too). Read again only when someone else changed or removed it.
    private Lease? _lease;

    private int LeaseDurationSeconds => (int)Math.Ceiling(_options.LeaseDuration.TotalSeconds);

    private async Task RenewLeaseAsync(CancellationToken ct)
    {
        var o = _options;
        for (var attempt = 0; ; attempt++)
        {
            var now = o.Time.GetUtcNow();
            _lease ??= await o.Client.TryGetAsync<Lease>("kube-node-lease", o.NodeName, ct).ConfigureAwait(false);
            try
            {
                if (_lease is null)
                {
                    var node = await o.Client.GetAsync<KubeNode>(null, o.NodeName, ct).ConfigureAwait(false);
                    _lease = await o.Client.CreateAsync(new Lease
                    {
                        ApiVersion = "coordination.k8s.io/v1",
                        Kind = "Lease",
                        Metadata = new ObjectMeta
                        {
                            Name = o.NodeName,
                            Namespace = "kube-node-lease",
                            // As upstream: the Lease goes when its Node goes.
                            OwnerReferences = [new OwnerReference { ApiVersion = "v1", Kind = "Node", Name = o.NodeName, Uid = node.Metadata!.Uid! }],
                        },
                        Spec = new LeaseSpec { HolderIdentity = o.NodeName, LeaseDurationSeconds = LeaseDurationSeconds, RenewTime = now },
                    }, ct).ConfigureAwait(false);
                    return;
                }
                _lease.Spec ??= new LeaseSpec();
                _lease.Spec.HolderIdentity = o.NodeName;
                _lease.Spec.LeaseDurationSeconds = LeaseDurationSeconds;
                _lease.Spec.RenewTime = now;
                _lease = await o.Client.UpdateAsync(_lease, ct).ConfigureAwait(false);
                return;
            }
            catch (KubeApiException e) when (e.StatusCode is 404 or 409 && attempt == 0)
            {
                // Changed, created or deleted by someone else: start over from what the API has.
                _lease = null;
            }
        }
    }

    /// <summary>Stops every pod's processes gracefully (the pod objects stay), then the agent's loops.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers.Values.Select(w => w.DisposeAsync().AsTask())).ConfigureAwait(false);
        // The proxy goes after the pods: their connections drain while they stop.
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync().ConfigureAwait(false);
        }
        if (_dns is not null)
        {
            await _dns.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var loop in _loops)
        {
            await loop.ConfigureAwait(false);
        }
        if (_pods is not null)
        {
            await _pods.DisposeAsync().ConfigureAwait(false);
        }
        if (_services is not null)
        {
            await _services.DisposeAsync().ConfigureAwait(false);
        }
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        if (_events is not null)
        {
            await _events.DisposeAsync().ConfigureAwait(false);
        }
        _prober?.Dispose();
        _stop.Dispose();
    }
}
