using System.Net.Sockets;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;

namespace Berth.Node.Dns;

/// <summary>
/// This node's EndpointSlice of kube-dns (kube-dns has no selector, so the EndpointSlice controller writes none):
/// one endpoint, the cluster DNS address on this node, ready while it listens. managed-by keeps the controllers'
/// hands off it (staging/src/k8s.io/endpointslice/utils.go managedByController); the ownerReference lets the
/// garbage collector take it with kube-dns. Written from the serve loop, compared against the informer's copy so an
/// unchanged slice costs no request; put back when someone edits or deletes it.
/// </summary>
public sealed partial class ClusterDns
{
    public const string ManagedBy = "berth-node-dns";

    private const string ServiceNameLabel = "kubernetes.io/service-name";
    private const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";

    private static readonly TimeSpan s_sliceWriteTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_sliceDeleteTimeout = TimeSpan.FromSeconds(2);

    private readonly string _sliceName;
    // The serve loop's alone: the last write failure logged, so an API outage is said once.
    private string? _sliceError;

    /// <summary>The slice as it should be now; null while there is no address or no kube-dns Service to own it.</summary>
    private EndpointSlice? DesiredSlice()
    {
        if (_address is not { } address || _services.Get(DnsNamespace, DnsServiceName) is not { Metadata.Uid: { } uid })
        {
            return null;
        }
        return new EndpointSlice
        {
            Metadata = new ObjectMeta
            {
                Name = _sliceName,
                Namespace = DnsNamespace,
                Labels = new() { [ServiceNameLabel] = DnsServiceName, [ManagedByLabel] = ManagedBy },
                OwnerReferences = [new OwnerReference { ApiVersion = "v1", Kind = "Service", Name = DnsServiceName, Uid = uid }],
            },
            AddressType = address.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4",
            Endpoints =
            [
                new Endpoint
                {
                    Addresses = [address.ToString()],
                    NodeName = _nodeName,
                    Conditions = new EndpointConditions { Ready = _server is not null },
                },
            ],
            Ports =
            [
                new EndpointSlicePort { Name = "dns", Protocol = "UDP", Port = _options.Port },
                new EndpointSlicePort { Name = "dns-tcp", Protocol = "TCP", Port = _options.Port },
            ],
        };
    }

    /// <summary>Creates or updates the slice when it differs; false when the API refused or did not answer (retried soon).</summary>
    private async Task<bool> PublishSliceAsync(CancellationToken ct)
    {
        var desired = DesiredSlice();
        var current = _slices.Get(DnsNamespace, _sliceName);
        if (desired is null || (current is not null && Matches(current, desired)))
        {
            return true;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(s_sliceWriteTimeout);
        try
        {
            // The cache may be behind: a conflict means read the live object and try again, a few times.
            for (var attempt = 0; attempt < 3; attempt++)
            {
                try
                {
                    await WriteSliceAsync(current, desired, timeout.Token).ConfigureAwait(false);
                    _sliceError = null;
                    return true;
                }
                catch (KubeApiException e) when (e.StatusCode is 404 or 409)
                {
                    current = await _client.TryGetAsync<EndpointSlice>(DnsNamespace, _sliceName, timeout.Token).ConfigureAwait(false);
                    if (current is not null && Matches(current, desired))
                    {
                        return true;
                    }
                }
            }
            SliceFailed("kept conflicting with other writers");
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or TimeoutException
            || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            SliceFailed(e.Message);
        }
        return false;
    }

    private async Task WriteSliceAsync(EndpointSlice? current, EndpointSlice desired, CancellationToken ct)
    {
        if (current is not null && current.AddressType != desired.AddressType)
        {
            // addressType is immutable: a cluster DNS address of the other family means a new slice.
            await _client.DeleteAsync<EndpointSlice>(DnsNamespace, _sliceName, ct: ct).ConfigureAwait(false);
            current = null;
        }
        if (current is null)
        {
            await _client.CreateAsync(desired, ct).ConfigureAwait(false);
            Log($"published EndpointSlice {DnsNamespace}/{_sliceName}");
            return;
        }
        // Labels and owners others added stay; ours are set.
        var updated = KubeJson.DeepClone(current);
        var metadata = updated.Metadata!;
        metadata.Labels ??= [];
        foreach (var (key, value) in desired.Metadata!.Labels!)
        {
            metadata.Labels[key] = value;
        }
        var owner = desired.Metadata.OwnerReferences![0];
        metadata.OwnerReferences = [.. (metadata.OwnerReferences ?? []).Where(o => !(o.Kind == "Service" && o.Name == DnsServiceName)), owner];
        updated.Endpoints = desired.Endpoints;
        updated.Ports = desired.Ports;
        await _client.UpdateAsync(updated, ct).ConfigureAwait(false);
    }

    private void SliceFailed(string reason)
    {
        var message = $"cannot write EndpointSlice {DnsNamespace}/{_sliceName}: {reason}";
        if (message != _sliceError)
        {
            _sliceError = message;
            Log(message + $"; retrying every {s_bindRetry.TotalSeconds:0} s");
        }
    }

    /// <summary>True when <paramref name="current"/> says everything <paramref name="desired"/> says (defaults the API server added are fine).</summary>
    private static bool Matches(EndpointSlice current, EndpointSlice desired)
    {
        var labels = current.Metadata?.Labels;
        var uid = desired.Metadata!.OwnerReferences![0].Uid;
        return current.AddressType == desired.AddressType
            && desired.Metadata.Labels!.All(l => labels?.GetValueOrDefault(l.Key) == l.Value)
            && current.Metadata?.OwnerReferences?.Any(o => o.Kind == "Service" && o.Uid == uid) == true
            && current.Endpoints is [var endpoint]
            && desired.Endpoints![0] is var wanted
            && endpoint.Addresses is { } addresses && addresses.SequenceEqual(wanted.Addresses!)
            && endpoint.NodeName == wanted.NodeName
            && endpoint.Conditions?.Ready == wanted.Conditions!.Ready
            && current.Ports is { } ports
            && ports.Count == desired.Ports!.Count
            && ports.Zip(desired.Ports).All(p => p.First.Name == p.Second.Name && p.First.Protocol == p.Second.Protocol && p.First.Port == p.Second.Port);
    }

    /// <summary>Best effort within <see cref="s_sliceDeleteTimeout"/>: a node going away stops being a kube-dns endpoint.</summary>
    private async Task DeleteSliceAsync()
    {
        using var timeout = new CancellationTokenSource(s_sliceDeleteTimeout);
        try
        {
            await _client.DeleteAsync<EndpointSlice>(DnsNamespace, _sliceName, ct: timeout.Token).ConfigureAwait(false);
            Log($"deleted EndpointSlice {DnsNamespace}/{_sliceName}");
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            // Never published, or already gone with kube-dns.
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            Log($"could not delete EndpointSlice {DnsNamespace}/{_sliceName}: {e.Message}");
        }
    }
}
