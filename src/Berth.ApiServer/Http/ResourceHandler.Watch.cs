using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.Storage;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public sealed partial class ResourceHandler
{
    private static readonly TimeSpan s_bookmarkInterval = TimeSpan.FromSeconds(60);
    private static readonly byte[] s_newline = "\n"u8.ToArray();

    /// <summary>
    /// A chunked stream of newline-delimited watch events from a resourceVersion. It stays open until the client
    /// goes or timeoutSeconds passes: kubectl get -w exits silently when the server ends the stream (kubectl-wire.md).
    /// Objects entering or leaving the selectors are ADDED or DELETED, as upstream's watch cache filters them.
    /// </summary>
    private async Task WatchAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var query = http.Request.Query;
        var filter = ListFilter.FromQuery(def, query);
        var name = info.Name ?? filter.Name;
        var rvText = query["resourceVersion"].ToString();
        long from = 0;
        if (rvText is not ("" or "0") && !long.TryParse(rvText, NumberStyles.None, CultureInfo.InvariantCulture, out from))
        {
            throw ApiException.BadRequest($"invalid resource version: {rvText}");
        }
        // Timers take at most int.MaxValue milliseconds (about 24.8 days); longer is as good as forever.
        var timeout = long.TryParse(query["timeoutSeconds"].ToString(), CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds < int.MaxValue / 1000
            ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan;
        var bookmarks = query["allowWatchBookmarks"].ToString() == "true";
        var asTable = WantsTable(http.Request);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            stop.CancelAfter(timeout);
        }
        var token = stop.Token;
        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = asTable ? MediaTypes.Table : MediaTypes.Json;
        response.Headers.CacheControl = "no-cache, private";
        await response.StartAsync(token).ConfigureAwait(false);
        // Send the headers now: clients (client-go's Watch, HttpClient) wait for them before reading events.
        await response.Body.FlushAsync(token).ConfigureAwait(false);

        var columnsSent = false;
        var include = asTable ? IncludeObject(http.Request) : "Metadata";
        async Task SendAsync(string type, JsonObject obj, long revision)
        {
            if (asTable && type != "ERROR" && type != "BOOKMARK")
            {
                // One-row Tables; the columns go with the first event only, as upstream.
                var buffer = new ArrayBufferWriter<byte>(1024);
                using (var writer = new Utf8JsonWriter(buffer, JsonBytes.WriterOptions))
                {
                    writer.WriteStartObject();
                    writer.WriteString("type", type);
                    writer.WritePropertyName("object");
                    WriteTable(writer, def, include, [obj], revision, withColumns: !columnsSent);
                    writer.WriteEndObject();
                }
                buffer.Write(s_newline);
                columnsSent = true;
                await SendLineAsync(buffer.WrittenMemory).ConfigureAwait(false);
                return;
            }
            await SendLineAsync(EventLine(type, obj)).ConfigureAwait(false);
        }

        async Task SendLineAsync(ReadOnlyMemory<byte> line)
        {
            await response.Body.WriteAsync(line, token).ConfigureAwait(false);
            await response.Body.FlushAsync(token).ConfigureAwait(false);
        }

        bool Selected(JsonObject obj) => (name is null || Meta.Name(obj) == name) && filter.Matches(obj);
        var unfiltered = name is null && filter.IsEmpty;

        try
        {
            if (from == 0)
            {
                // No resourceVersion: the current state as ADDED events, then changes (upstream "Get State and Start at Most Recent").
                var (items, revision) = await _objects.ListAsync(def, info.Namespace, token).ConfigureAwait(false);
                foreach (var item in items.Where(i => Selected(i.Object)))
                {
                    await SendAsync("ADDED", item.Object, item.ModRevision).ConfigureAwait(false);
                }
                from = revision;
            }

            var events = Channel.CreateBounded<WatchEvent>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
            var lastRevision = from;
            var pump = PumpAsync(_objects.Store.WatchAsync(def.StoragePrefix(info.Namespace), from, token), events.Writer, token);
            var reader = events.Reader;
            Task<bool>? ready = null;
            var bookmarkDue = bookmarks ? Task.Delay(s_bookmarkInterval, token) : null;
            while (true)
            {
                ready ??= reader.WaitToReadAsync(token).AsTask();
                if (bookmarkDue is not null && await Task.WhenAny(ready, bookmarkDue).ConfigureAwait(false) == bookmarkDue)
                {
                    await SendAsync("BOOKMARK", Bookmark(def, lastRevision), lastRevision).ConfigureAwait(false);
                    bookmarkDue = Task.Delay(s_bookmarkInterval, token);
                    continue;
                }
                var more = await ready.ConfigureAwait(false);
                ready = null;
                if (!more)
                {
                    await pump.ConfigureAwait(false);
                    break;
                }
                while (reader.TryRead(out var e))
                {
                    lastRevision = e.ModRevision;
                    var view = EventView.Of(e);
                    var type = unfiltered ? view.UnfilteredType : view.Classify(Selected);
                    if (type is null)
                    {
                        continue;
                    }
                    if (asTable)
                    {
                        await SendAsync(type, view.Shown(type), e.ModRevision).ConfigureAwait(false);
                    }
                    else
                    {
                        // Every JSON watcher of this event shares one serialized line.
                        await SendLineAsync(view.JsonLine(type)).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (CompactedException e)
        {
            var gone = ApiException.Gone($"too old resource version: {e.RequestedRevision} ({e.CompactedRevision})");
            await SendAsync("ERROR", gone.ToStatus(), 0).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // timeoutSeconds passed or the client went away: end the stream normally.
        }
    }

    private static async Task PumpAsync(IAsyncEnumerable<WatchEvent> source, ChannelWriter<WatchEvent> writer, CancellationToken ct)
    {
        try
        {
            await foreach (var e in source.WithCancellation(ct).ConfigureAwait(false))
            {
                await writer.WriteAsync(e, ct).ConfigureAwait(false);
            }
            writer.TryComplete();
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
        }
    }

    private static byte[] EventLine(string type, JsonNode payload)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonBytes.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            writer.WritePropertyName("object");
            payload.WriteTo(writer);
            writer.WriteEndObject();
        }
        buffer.Write(s_newline);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// One store event as every watcher of it sees it: decoded once, serialized once per event type. The store hands
    /// the same event instance to all subscribers, so a hundred watchers cost one parse, not a hundred.
    /// </summary>
    private sealed class EventView
    {
        private static readonly ConditionalWeakTable<WatchEvent, EventView> s_views = [];

        private readonly WatchEvent _event;
        private readonly Lock _lock = new();
        private JsonObject? _current;
        private JsonObject? _previous;
        private bool _decoded;
        private byte[]? _addedLine;
        private byte[]? _modifiedLine;
        private byte[]? _deletedLine;

        private EventView(WatchEvent e) => _event = e;

        public static EventView Of(WatchEvent e) => s_views.GetValue(e, static e => new EventView(e));

        /// <summary>The event's type for a watcher without selectors.</summary>
        public string UnfilteredType => _event.Type == WatchEventType.Delete ? "DELETED" : _event.PrevValue.IsEmpty ? "ADDED" : "MODIFIED";

        /// <summary>
        /// The event's type for a watcher with selectors: objects entering the selection are ADDED and leaving it
        /// DELETED, as upstream's watch cache filters; null when the watcher does not see it.
        /// </summary>
        public string? Classify(Func<JsonObject, bool> selected)
        {
            Decode();
            if (_event.Type == WatchEventType.Delete)
            {
                return _previous is not null && selected(_previous) ? "DELETED" : null;
            }
            var now = selected(_current!);
            var before = _previous is not null && selected(_previous);
            return (now, before) switch
            {
                (true, true) => "MODIFIED",
                (true, false) => "ADDED",
                (false, true) => "DELETED",
                _ => null,
            };
        }

        /// <summary>
        /// The object an event of this type shows: the new state, except for DELETED, which shows the object as it
        /// was last seen (a deleted object, or one that left the selection: upstream's cacheWatcher sends the
        /// previous object with the event's resourceVersion). Shared between watchers: read only.
        /// </summary>
        public JsonObject Shown(string type)
        {
            Decode();
            return type == "DELETED" ? _previous! : _current!;
        }

        public byte[] JsonLine(string type)
        {
            lock (_lock)
            {
                ref var line = ref type == "ADDED" ? ref _addedLine : ref type == "MODIFIED" ? ref _modifiedLine : ref _deletedLine;
                if (line is null)
                {
                    var buffer = new ArrayBufferWriter<byte>(Math.Max(_event.Value.Length, _event.PrevValue.Length) + 64);
                    buffer.Write("{\"type\":\""u8);
                    buffer.Write(Encoding.UTF8.GetBytes(type));
                    buffer.Write("\",\"object\":"u8);
                    // A Delete's Value is the deleted object; a Put leaving the selection shows its previous state.
                    var shown = type == "DELETED" && _event.Type == WatchEventType.Put ? _event.PrevValue : _event.Value;
                    ResourceVersionSplice.Write(buffer, shown.Span, _event.ModRevision);
                    buffer.Write("}\n"u8);
                    line = buffer.WrittenSpan.ToArray();
                }
                return line;
            }
        }

        private void Decode()
        {
            lock (_lock)
            {
                if (_decoded)
                {
                    return;
                }
                // A Delete's Value is the object as it was when deleted; a Put's PrevValue is its state before.
                if (_event.Type == WatchEventType.Delete)
                {
                    _previous = ObjectStore.Decode(_event.Value, _event.ModRevision).Object;
                }
                else
                {
                    _current = ObjectStore.Decode(_event.Value, _event.ModRevision).Object;
                    _previous = _event.PrevValue.IsEmpty ? null : ObjectStore.Decode(_event.PrevValue, _event.ModRevision).Object;
                }
                _decoded = true;
            }
        }
    }

    private static JsonObject Bookmark(ResourceDefinition def, long revision) => new()
    {
        ["kind"] = def.Kind,
        ["apiVersion"] = def.ApiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) },
    };
}
