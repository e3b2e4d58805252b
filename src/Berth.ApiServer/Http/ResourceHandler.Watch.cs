using System.Globalization;
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
        var timeout = long.TryParse(query["timeoutSeconds"].ToString(), CultureInfo.InvariantCulture, out var seconds) && seconds > 0
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
        async Task SendAsync(string type, JsonObject obj, long revision)
        {
            JsonNode payload = obj;
            if (asTable && type != "ERROR" && type != "BOOKMARK")
            {
                payload = Table(http.Request, def, [obj], revision, withColumns: !columnsSent);
                columnsSent = true;
            }
            var bytes = JsonBytes.Of(new JsonObject { ["type"] = type, ["object"] = payload });
            await response.Body.WriteAsync(bytes, token).ConfigureAwait(false);
            await response.Body.WriteAsync(s_newline, token).ConfigureAwait(false);
            await response.Body.FlushAsync(token).ConfigureAwait(false);
        }

        bool Selected(JsonObject obj) => (name is null || Meta.Name(obj) == name) && filter.Matches(obj);

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
                    var (type, obj) = Classify(e, Selected);
                    if (type is not null)
                    {
                        await SendAsync(type, obj!, e.ModRevision).ConfigureAwait(false);
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

    private static (string? Type, JsonObject? Object) Classify(WatchEvent e, Func<JsonObject, bool> selected)
    {
        JsonObject? previous = e.PrevValue.IsEmpty ? null : ObjectStore.Decode(e.PrevValue, e.ModRevision).Object;
        if (e.Type == WatchEventType.Delete)
        {
            return previous is not null && selected(previous) ? ("DELETED", previous) : (null, null);
        }
        var current = ObjectStore.Decode(e.Value, e.ModRevision).Object;
        var now = selected(current);
        var before = previous is not null && selected(previous);
        return (now, before) switch
        {
            (true, true) => ("MODIFIED", current),
            (true, false) => ("ADDED", current),
            (false, true) => ("DELETED", current),
            _ => (null, null),
        };
    }

    private static JsonObject Bookmark(ResourceDefinition def, long revision) => new()
    {
        ["kind"] = def.Kind,
        ["apiVersion"] = def.ApiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) },
    };
}
