using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using Berth.Api.Models;
using Berth.Client;
using Berth.Client.ClusterStatus;
using Berth.Client.Manifests;

namespace Berth.Up;

/// <summary>
/// Watches what <c>berth up</c> applied until it is ready (<see cref="ReadinessRules"/>), showing progress, then
/// prints where every Service answers and keeps a compact live status. Informers over the five kinds readiness
/// depends on; every change re-evaluates at once, and a one-second tick redraws the clock.
/// </summary>
internal sealed class UpProgress : IAsyncDisposable
{
    private static readonly TimeSpan s_tick = TimeSpan.FromSeconds(1);

    private readonly Informer<Deployment> _deployments;
    private readonly Informer<ReplicaSet> _replicaSets;
    private readonly Informer<Pod> _pods;
    private readonly Informer<Service> _services;
    private readonly Informer<EndpointSlice> _slices;
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // Readiness from before this start is a previous run's (see ReadinessRules.Pod).
    private readonly DateTimeOffset _since;

    public UpProgress(KubeClient client, DateTimeOffset started)
    {
        _since = started;
        _deployments = Watch(new Informer<Deployment>(client));
        _replicaSets = Watch(new Informer<ReplicaSet>(client));
        _pods = Watch(new Informer<Pod>(client));
        _services = Watch(new Informer<Service>(client));
        _slices = Watch(new Informer<EndpointSlice>(client));
    }

    /// <summary>One applied object whose readiness is waited for.</summary>
    public sealed record Tracked(string Kind, string? Namespace, string Name, string Key);

    /// <summary>The objects of an applied plan that have a readiness of their own (the rest are ready once applied).</summary>
    public static IReadOnlyList<Tracked> Track(IEnumerable<PlannedApply> applied) =>
        [.. applied
            .Where(p => (p.Object.ApiVersion, p.Object.Kind) is ("apps/v1", "Deployment") or ("apps/v1", "ReplicaSet") or ("v1", "Pod") or ("v1", "Service"))
            .Select(p => new Tracked(p.Object.Kind, p.Namespace, p.Object.Name, p.Key))];

    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var start in new Func<CancellationToken, Task>[] { _deployments.StartAsync, _replicaSets.StartAsync, _pods.StartAsync, _services.StartAsync, _slices.StartAsync })
        {
            await start(ct).ConfigureAwait(false);
        }
        await Task.WhenAll(_deployments.WaitForSyncAsync(ct), _replicaSets.WaitForSyncAsync(ct), _pods.WaitForSyncAsync(ct),
            _services.WaitForSyncAsync(ct), _slices.WaitForSyncAsync(ct)).ConfigureAwait(false);
    }

    /// <summary>
    /// Shows progress until every tracked object is ready or <paramref name="timeout"/> passes; returns whether all
    /// became ready. At the deadline it says what is not ready and why.
    /// </summary>
    public async Task<bool> WaitReadyAsync(IReadOnlyList<Tracked> tracked, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var printed = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            var states = tracked.Select(t => (t.Key, State: Evaluate(t))).ToList();
            if (ConsoleView.IsTerminal)
            {
                ConsoleView.Live([.. states.Select(s => $"  {(s.State.Ready ? "ready  " : "waiting")}  {s.Key}  {s.State.Summary}")]);
            }
            else
            {
                // Without a terminal: one plain line per change.
                foreach (var (key, state) in states)
                {
                    if (!printed.TryGetValue(key, out var last) || last != state.Summary)
                    {
                        printed[key] = state.Summary;
                        ConsoleView.Line($"berth: {key} {state.Summary}");
                    }
                }
            }
            if (states.All(s => s.State.Ready))
            {
                ConsoleView.Live([]);
                return true;
            }
            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (left <= TimeSpan.Zero)
            {
                ConsoleView.Live([]);
                foreach (var (key, state) in states.Where(s => !s.State.Ready))
                {
                    ConsoleView.Line($"berth: not ready after {timeout.TotalSeconds:0} s: {key} {state.Summary}: {state.Why}");
                }
                return false;
            }
            await NextChangeAsync(left < s_tick ? left : s_tick, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Every Service's row (see <see cref="ServiceTable"/>), the Service informer's cache being current.</summary>
    public string Table(IReadOnlyList<string> nodeAddresses, string clusterDomain) =>
        ServiceTable.Render(ServiceTable.Rows(_services.List(), nodeAddresses, clusterDomain));

    /// <summary>
    /// Keeps a compact status until <paramref name="ct"/> is cancelled: in a terminal one line redrawn every second
    /// with the time, otherwise a <c>berth: status: ...</c> line whenever it changes.
    /// </summary>
    public async Task ShowStatusAsync(CancellationToken ct)
    {
        string? last = null;
        try
        {
            while (true)
            {
                var status = StatusLine();
                if (ConsoleView.IsTerminal)
                {
                    ConsoleView.Live([$"{status} · {DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}"]);
                }
                else if (status != last)
                {
                    ConsoleView.Line($"berth: status: {status}");
                }
                last = status;
                await NextChangeAsync(s_tick, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            ConsoleView.Live([]);
        }
    }

    /// <summary>NodePorts answer on the --nodeport-addresses IPs (and the node IP when a CIDR there holds it), else on the node IP.</summary>
    public static IReadOnlyList<string> NodePortAddresses(IReadOnlyList<string> flag, string nodeIP)
    {
        var node = IPAddress.Parse(nodeIP);
        var addresses = flag
            .Select(entry => IPAddress.TryParse(entry, out var ip) ? ip.ToString()
                : IPNetwork.TryParse(entry, out var net) && net.Contains(node) ? nodeIP : null)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return addresses.Count > 0 ? addresses : [nodeIP];
    }

    public async ValueTask DisposeAsync()
    {
        await _deployments.DisposeAsync().ConfigureAwait(false);
        await _replicaSets.DisposeAsync().ConfigureAwait(false);
        await _pods.DisposeAsync().ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
        await _slices.DisposeAsync().ConfigureAwait(false);
    }

    private string StatusLine()
    {
        var pods = _pods.List().Where(p => p.Metadata?.DeletionTimestamp is null && p.Status?.Phase is not ("Succeeded" or "Failed")).ToList();
        var selecting = _services.List().Where(s => s.Spec?.Type != "ExternalName" && s.Spec?.Selector is { Count: > 0 }).ToList();
        var slices = _slices.List();
        var withEndpoints = selecting.Count(s => ReadinessRules.ReadyEndpoints(s, slices, FreshEndpoint) > 0);
        return $"pods {pods.Count(p => ReadinessRules.Pod(p, _since).Ready)}/{pods.Count} ready · services {withEndpoints}/{selecting.Count} with endpoints";
    }

    private Readiness Evaluate(Tracked t)
    {
        switch (t.Kind)
        {
            case "Deployment":
                var deployment = _deployments.Get(t.Namespace, t.Name);
                if (deployment is null)
                {
                    return new Readiness(false, "not found", "the deployment is not in the API (deleted?)");
                }
                var sets = _replicaSets.List(t.Namespace).Where(rs => OwnedBy(rs, deployment.Metadata?.Uid)).Select(rs => rs.Metadata?.Uid).ToHashSet();
                return ReadinessRules.Deployment(deployment, _pods.List(t.Namespace).Where(p => p.Metadata?.OwnerReferences?.Any(o => o.Controller == true && sets.Contains(o.Uid)) == true), _since);
            case "ReplicaSet":
                var replicaSet = _replicaSets.Get(t.Namespace, t.Name);
                return replicaSet is null
                    ? new Readiness(false, "not found", "the replica set is not in the API (deleted?)")
                    : ReadinessRules.ReplicaSet(replicaSet, _pods.List(t.Namespace).Where(p => OwnedBy(p, replicaSet.Metadata?.Uid)), _since);
            case "Pod":
                var pod = _pods.Get(t.Namespace, t.Name);
                return pod is null ? new Readiness(false, "not found", "the pod is not in the API (deleted?)") : ReadinessRules.Pod(pod, _since);
            default:
                var service = _services.Get(t.Namespace, t.Name);
                return service is null ? new Readiness(false, "not found", "the service is not in the API (deleted?)") : ReadinessRules.Service(service, _slices.List(t.Namespace), FreshEndpoint);
        }
    }

    // An endpoint of a pod counts once that pod is ready since this start; other endpoints (no pod behind) count.
    private bool FreshEndpoint(Endpoint endpoint) =>
        endpoint.TargetRef is not { Kind: "Pod" } pod
        || (_pods.Get(pod.Namespace, pod.Name ?? "") is { } found && ReadinessRules.Pod(found, _since).Ready);

    private static bool OwnedBy(IKubernetesObject obj, string? uid) =>
        uid is not null && obj.Metadata?.OwnerReferences?.Any(o => o.Controller == true && o.Uid == uid) == true;

    private async Task NextChangeAsync(TimeSpan atMost, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(atMost);
        try
        {
            await _changed.Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The tick: nothing changed.
        }
    }

    private Informer<T> Watch<T>(Informer<T> informer)
        where T : class, IKubernetesObject
    {
        informer.OnAdd(_ => _changed.Writer.TryWrite(true));
        informer.OnUpdate((_, _) => _changed.Writer.TryWrite(true));
        informer.OnDelete(_ => _changed.Writer.TryWrite(true));
        return informer;
    }
}
