using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Berth.Storage.Watch;

namespace Berth.Storage.Sqlite;

// Watch: replay from the log table, then attach to the broadcaster exactly where the replay ended.
internal sealed partial class SqliteKvStore
{
    private const int CatchUpPageSize = 512;

    public IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevisionExclusive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(fromRevisionExclusive);
        ThrowIfDisposed();
        return WatchCoreAsync(prefix, fromRevisionExclusive, cancellationToken);
    }

    private async IAsyncEnumerable<WatchEvent> WatchCoreAsync(string prefix, long fromRevisionExclusive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        WatchSubscription subscription = new(prefix, _options.WatchBufferSize);
        // Every revision up to `delivered` has been delivered or skipped as not matching the prefix.
        long delivered = fromRevisionExclusive;
        try
        {
            while (true)
            {
                // Attaching succeeds only when nothing published is missing; until then read history. Events
                // committed but not yet published when we attach arrive live and are also in the snapshot we
                // read, so duplicates are dropped by revision below, never gaps.
                while (!_broadcaster.TryAttach(subscription, delivered))
                {
                    LogPage page = await ReadLogAsync(prefix, delivered, cancellationToken).ConfigureAwait(false);
                    foreach (WatchEvent e in page.Events)
                    {
                        delivered = e.ModRevision;
                        yield return e;
                    }

                    delivered = Math.Max(delivered, page.ScannedUpTo);
                }

                ChannelReader<WatchEvent> reader = subscription.Reader;
                while (true)
                {
                    while (reader.TryRead(out WatchEvent? e))
                    {
                        if (e.ModRevision > delivered)
                        {
                            delivered = e.ModRevision;
                            yield return e;
                        }
                    }

                    // Detached for falling behind: everything buffered has been delivered; resume from history.
                    if (subscription.Lagged)
                    {
                        break;
                    }

                    if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
            }
        }
        finally
        {
            _broadcaster.Detach(subscription);
        }
    }

    private async ValueTask<LogPage> ReadLogAsync(string prefix, long after, CancellationToken cancellationToken)
    {
        SqliteReader reader = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return reader.ReadLog(prefix, after, CatchUpPageSize);
        }
        finally
        {
            _readers.Return(reader);
        }
    }
}
