using System.Threading.Channels;
using Berth.Api.Models;
using Berth.Node.Dns.Cluster;

namespace Berth.Node.Dns;

/// <summary>
/// Informer events → <see cref="ClusterZone"/> → a published <see cref="ZoneSnapshot"/>. The three informers'
/// handlers only queue; one loop applies what is queued and rebuilds at once when the last build is older than
/// <see cref="s_minRebuild"/>, else when it is (a burst of changes costs one build per interval, a lone change none
/// of the wait: pkg/util/async/bounded_frequency_runner.go's minInterval without its periodic run, as nothing here
/// drifts). Until every informer has synced nothing is published and queries get SERVFAIL (coredns
/// plugin/kubernetes handler.go answers SERVFAIL while !HasSynced).
/// </summary>
public sealed partial class ClusterDns
{
    private static readonly TimeSpan s_minRebuild = TimeSpan.FromMilliseconds(5);

    // Not SingleReader: that channel cannot count, and ApplyQueued takes what is queued by count.
    private readonly Channel<Change> _changes = Channel.CreateUnbounded<Change>();
    // The zone loop's alone.
    private readonly ClusterZone _zone;
    private long _lastBuild;
    // Read by every query; null until synced.
    private ZoneSnapshot? _snapshot;

    private readonly record struct Change(IKubernetesObject Object, bool Deleted);

    /// <summary>The snapshot queries answer from; null until the informers have synced.</summary>
    internal ZoneSnapshot? Snapshot => Volatile.Read(ref _snapshot);

    private void Queue(IKubernetesObject obj, bool deleted) => _changes.Writer.TryWrite(new Change(obj, deleted));

    private async Task RunZoneAsync(CancellationToken ct)
    {
        try
        {
            // The handlers have queued every listed object by the time the informers say synced, so the first build
            // below sees them all.
            await Task.WhenAll(_services.WaitForSyncAsync(ct), _slices.WaitForSyncAsync(ct), _pods.WaitForSyncAsync(ct)).ConfigureAwait(false);
            ApplyQueued();
            Publish();
            Log($"synced: answering {_options.ClusterDomain} ({Snapshot?.ServiceCount ?? 0} services)");

            var reader = _changes.Reader;
            while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                if (!ApplyQueued())
                {
                    continue;
                }
                var wait = s_minRebuild - _options.Time.GetElapsedTime(_lastBuild);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _options.Time, ct).ConfigureAwait(false);
                    ApplyQueued();
                }
                Publish();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Applies what is queued now (not what arrives meanwhile, so a flood cannot hold off a build); true when the zone changed.</summary>
    private bool ApplyQueued()
    {
        var reader = _changes.Reader;
        var changed = false;
        for (var n = reader.Count; n > 0 && reader.TryRead(out var change); n--)
        {
            try
            {
                changed |= Apply(change);
            }
            catch (Exception e)
            {
                // A projection bug must cost one object's records, not the DNS.
                Log($"zone: applying {change.Object.GetType().Name} {change.Object.Metadata?.Namespace}/{change.Object.Metadata?.Name} failed: {e}");
            }
        }
        return changed;
    }

    private bool Apply(Change change) => change.Object switch
    {
        Service s => change.Deleted ? _zone.DeleteService(s) : _zone.ApplyService(s),
        EndpointSlice s => change.Deleted ? _zone.DeleteSlice(s) : _zone.ApplySlice(s),
        Pod p => change.Deleted ? _zone.DeletePod(p) : _zone.ApplyPod(p),
        _ => false,
    };

    private void Publish()
    {
        _lastBuild = _options.Time.GetTimestamp();
        try
        {
            Volatile.Write(ref _snapshot, _zone.Snapshot());
        }
        catch (Exception e)
        {
            // The previous snapshot keeps answering; the next change tries again.
            Log($"zone: building a snapshot failed: {e}");
        }
    }
}
