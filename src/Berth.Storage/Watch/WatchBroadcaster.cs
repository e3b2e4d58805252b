using System.Threading.Channels;

namespace Berth.Storage.Watch;

/// <summary>
/// Fans committed events out to live watchers. A backend publishes every committed batch, in revision
/// order, after the commit; watchers attach once their catch-up from history has reached the published
/// revision, so between history and live delivery there is never a gap.
/// </summary>
/// <remarks>
/// Publishing never blocks: each subscription has a bounded buffer, and a full buffer detaches the
/// subscription (it is marked lagged and resumes from history once its reader has drained it). This is
/// etcd's synced/unsynced watcher split (server/storage/mvcc/watchable_store.go).
/// </remarks>
internal sealed class WatchBroadcaster
{
    private readonly Lock _lock = new();
    private WatchSubscription[] _subscriptions = [];
    private long _publishedRevision;
    private Exception? _completion;

    public WatchBroadcaster(long publishedRevision)
    {
        _publishedRevision = publishedRevision;
    }

    public long PublishedRevision => Volatile.Read(ref _publishedRevision);

    public int Count => Volatile.Read(ref _subscriptions).Length;

    /// <summary>Delivers <paramref name="events"/> (ascending revisions, all ≤ <paramref name="revision"/>)
    /// and advances the published revision to <paramref name="revision"/>.</summary>
    public void Publish(List<WatchEvent> events, long revision)
    {
        lock (_lock)
        {
            WatchSubscription[] subscriptions = _subscriptions;
            List<WatchSubscription>? lagged = null;
            foreach (WatchSubscription subscription in subscriptions)
            {
                foreach (WatchEvent e in events)
                {
                    if (!KeyRange.Matches(e.Key, subscription.Prefix))
                    {
                        continue;
                    }

                    if (!subscription.Writer.TryWrite(e))
                    {
                        // The reader sees the flag after draining what it has, then re-reads history from
                        // the last event it delivered.
                        subscription.Lagged = true;
                        (lagged ??= []).Add(subscription);
                        break;
                    }
                }
            }

            if (lagged is not null)
            {
                _subscriptions = Array.FindAll(subscriptions, s => !lagged.Contains(s));
            }

            Volatile.Write(ref _publishedRevision, revision);
        }
    }

    /// <summary>Attaches <paramref name="subscription"/> if its catch-up has covered every published
    /// revision; otherwise the caller must read more history and try again.</summary>
    public bool TryAttach(WatchSubscription subscription, long caughtUpTo)
    {
        lock (_lock)
        {
            if (_completion is not null)
            {
                throw _completion;
            }

            if (caughtUpTo < _publishedRevision)
            {
                return false;
            }

            subscription.Lagged = false;
            _subscriptions = [.. _subscriptions, subscription];
            return true;
        }
    }

    public void Detach(WatchSubscription subscription)
    {
        lock (_lock)
        {
            int index = Array.IndexOf(_subscriptions, subscription);
            if (index >= 0)
            {
                WatchSubscription[] next = new WatchSubscription[_subscriptions.Length - 1];
                Array.Copy(_subscriptions, 0, next, 0, index);
                Array.Copy(_subscriptions, index + 1, next, index, next.Length - index);
                _subscriptions = next;
            }
        }
    }

    /// <summary>Ends every subscription with <paramref name="error"/> and refuses new ones.</summary>
    public void Complete(Exception error)
    {
        lock (_lock)
        {
            _completion = error;
            foreach (WatchSubscription subscription in _subscriptions)
            {
                subscription.Writer.TryComplete(error);
            }

            _subscriptions = [];
        }
    }
}

/// <summary>One watcher's live buffer.</summary>
internal sealed class WatchSubscription
{
    private readonly Channel<WatchEvent> _channel;

    public WatchSubscription(string prefix, int capacity)
    {
        Prefix = prefix;
        _channel = Channel.CreateBounded<WatchEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            // Watchers' code must never run on the writer's thread.
            AllowSynchronousContinuations = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string Prefix { get; }

    public ChannelReader<WatchEvent> Reader => _channel.Reader;

    public ChannelWriter<WatchEvent> Writer => _channel.Writer;

    /// <summary>Set (under the broadcaster lock) when the buffer overflowed and the subscription was detached.</summary>
    public volatile bool Lagged;
}
