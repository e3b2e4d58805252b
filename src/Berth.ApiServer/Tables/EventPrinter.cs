using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// printEvent and formatEventSource from pkg/printers/internalversion/printers.go (wide layout:
/// Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen, Count, Name).
internal static class EventPrinter
{
    public static JsonArray Cells(JsonObject ev, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(ev, "metadata");
        var involved = JsonRead.Obj(ev, "involvedObject");
        var series = JsonRead.Obj(ev, "series");

        var firstTimestamp = JsonRead.Time(ev, "firstTimestamp") is { } first
            ? HumanDuration.Since(first, now)
            : HumanDuration.Since(JsonRead.Time(ev, "eventTime"), now);
        var lastTimestamp = JsonRead.Time(ev, "lastTimestamp") is { } last
            ? HumanDuration.Since(last, now)
            : firstTimestamp;

        long count = JsonRead.Int(ev, "count");
        if (series is not null)
        {
            lastTimestamp = HumanDuration.Since(JsonRead.Time(series, "lastObservedTime"), now);
            count = JsonRead.Int(series, "count");
        }
        else if (count == 0)
        {
            // Singleton events don't have a count set in the new API.
            count = 1;
        }

        var kind = JsonRead.Str(involved, "kind").ToLowerInvariant();
        var involvedName = JsonRead.Str(involved, "name");
        var target = involvedName.Length > 0 ? kind + "/" + involvedName : kind;

        var source = JsonRead.Obj(ev, "source");
        var component = FirstNonEmpty(JsonRead.Str(source, "component"), JsonRead.Str(ev, "reportingComponent"));
        var instance = FirstNonEmpty(JsonRead.Str(source, "host"), JsonRead.Str(ev, "reportingInstance"));

        return
        [
            lastTimestamp,
            JsonRead.Str(ev, "type"),
            JsonRead.Str(ev, "reason"),
            target,
            JsonRead.Str(involved, "fieldPath"),
            instance.Length == 0 ? component : component + ", " + instance,
            JsonRead.Str(ev, "message").Trim(),
            firstTimestamp,
            count,
            JsonRead.Str(metadata, "name"),
        ];
    }

    private static string FirstNonEmpty(string a, string b) => a.Length > 0 ? a : b;
}
