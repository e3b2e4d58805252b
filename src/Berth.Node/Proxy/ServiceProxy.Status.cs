using System.Text.Json.Nodes;
using System.Threading.Channels;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Node.Proxy.Backend;
using Berth.Node.Proxy.Routing;

namespace Berth.Node.Proxy;

/// <summary>
/// Listeners that cannot bind are said on their Service, never silently (the LoadBalancer-stuck-pending problem of
/// k3s ServiceLB): a Warning event <see cref="ReasonBindFailed"/> and the status condition
/// <see cref="ConditionType"/> False naming this node, the addresses and the OS error; once every listener of the
/// Service binds again, the condition turns True and a Normal <see cref="ReasonListening"/> event says so.
/// </summary>
public sealed partial class ServiceProxy
{
    public const string ConditionType = "ProxyListening";
    public const string ReasonBindFailed = "BindFailed";
    public const string ReasonListening = "Listening";

    // What was last reported per Service (namespace/name → message of the failure); the sync loop's alone.
    private readonly Dictionary<(string Namespace, string Name), string> _reported = [];
    private readonly Channel<(string Namespace, string Name, string? Failure)> _statusQueue =
        Channel.CreateUnbounded<(string, string, string?)>(new UnboundedChannelOptions { SingleReader = true });
    private Task _statusWriter = Task.CompletedTask;

    private void ReportBindFailures(RoutingSnapshot snapshot, IReadOnlyList<BindFailure> failures)
    {
        var now = failures
            .GroupBy(f => (f.Service.Namespace, f.Service.Name))
            .ToDictionary(g => g.Key, g => $"node {_nodeName}: cannot listen on " + string.Join("; ", g.Select(f => $"{f.Frontend}: {f.Reason}").Distinct()));
        foreach (var (service, message) in now)
        {
            if (!_reported.TryGetValue(service, out var previous) || previous != message)
            {
                _reported[service] = message;
                _options.Log($"service {service.Namespace}/{service.Name}: {message}");
                _statusQueue.Writer.TryWrite((service.Namespace, service.Name, message));
            }
        }
        foreach (var service in _reported.Keys.Where(s => !now.ContainsKey(s)).ToList())
        {
            _reported.Remove(service);
            // A Service that is gone needs no condition; one still here is told it is served again.
            if (snapshot.Routes.Keys.Any(k => k.Namespace == service.Namespace && k.Name == service.Name))
            {
                _options.Log($"service {service.Namespace}/{service.Name}: listening on every address again");
                _statusQueue.Writer.TryWrite((service.Namespace, service.Name, null));
            }
        }
    }

    /// <summary>Writes the reports off the sync loop: the API may be slow, the proxy must not be.</summary>
    private async Task WriteStatusAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var (ns, name, failure) in _statusQueue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                await WriteStatusAsync(ns, name, failure, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task WriteStatusAsync(string ns, string name, string? failure, CancellationToken ct)
    {
        var service = _services.Get(ns, name);
        if (service is null)
        {
            return;
        }
        var existing = service.Status?.Conditions?.FirstOrDefault(c => c.Type == ConditionType);
        if (failure is null && existing is null)
        {
            return;
        }
        var status = failure is null ? "True" : "False";
        var condition = new Condition
        {
            Type = ConditionType,
            Status = status,
            Reason = failure is null ? ReasonListening : ReasonBindFailed,
            Message = failure ?? $"node {_nodeName}: listening on every address of this Service",
            LastTransitionTime = existing?.Status == status && existing.LastTransitionTime is { } since ? since : _options.Time.GetUtcNow(),
            ObservedGeneration = service.Metadata?.Generation,
        };
        // A strategic merge of the one condition (conditions merge by type) leaves status.loadBalancer and other
        // conditions alone.
        var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = new JsonArray(KubeJson.ToNode(condition)) } };
        try
        {
            await _client.PatchAsync<Service>(ns, name, PatchType.StrategicMerge, patch.ToJsonString(), "status", ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException && !ct.IsCancellationRequested)
        {
            _options.Log($"service {ns}/{name}: could not write condition {ConditionType}: {e.Message}");
        }
        _events.Record(service, failure is null ? "Normal" : "Warning", condition.Reason, condition.Message);
    }
}
