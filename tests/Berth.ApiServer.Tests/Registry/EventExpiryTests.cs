using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Tests.Allocation;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.ApiServer.Tests.Registry;

/// <summary>Events go once they were last seen longer ago than the event TTL (upstream --event-ttl).</summary>
public sealed class EventExpiryTests
{
    private static readonly ResourceDefinition s_events = ResourceCatalog.Default.Get("", "events");

    public static TheoryData<string, string, bool> Cases => new()
    {
        // Which time says when the event was last seen, how old it is, and whether it is kept under a 1 h TTL.
        { "lastTimestamp", "-2h", false },
        { "lastTimestamp", "-10m", true },
        { "series.lastObservedTime", "-2h", false },
        { "eventTime", "-61m", false },
        { "eventTime", "-59m", true },
        { "creationTimestamp", "-3h", false },
        { "creationTimestamp", "-1m", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Sweep_RemovesEventsLastSeenBeforeTheTtl(string field, string age, bool kept)
    {
        await using var temp = await TempStore.OpenAsync();
        var objects = new ObjectStore(temp.Store);
        var now = DateTimeOffset.UtcNow;
        var seen = now + TimeSpan.FromMinutes(age[^1] == 'h' ? 60 * int.Parse(age[..^1], System.Globalization.CultureInfo.InvariantCulture)
            : int.Parse(age[..^1], System.Globalization.CultureInfo.InvariantCulture));
        await objects.CreateAsync(s_events, Event("e1", field, seen), CancellationToken.None);
        var expiry = new EventExpiry(objects, ResourceCatalog.Default, new ApiServerOptions { EventTtl = TimeSpan.FromHours(1) },
            TimeProvider.System, NullLogger<EventExpiry>.Instance);

        var removed = await expiry.SweepAsync(CancellationToken.None);

        Assert.Equal(kept ? 0 : 1, removed);
        Assert.Equal(kept, await objects.GetAsync(s_events, "default", "e1", CancellationToken.None) is not null);
    }

    [Fact]
    public async Task Sweep_RemovesOnlyTheExpired()
    {
        await using var temp = await TempStore.OpenAsync();
        var objects = new ObjectStore(temp.Store);
        var now = DateTimeOffset.UtcNow;
        await objects.CreateAsync(s_events, Event("old", "lastTimestamp", now.AddHours(-5)), CancellationToken.None);
        await objects.CreateAsync(s_events, Event("new", "lastTimestamp", now.AddMinutes(-5)), CancellationToken.None);
        var expiry = new EventExpiry(objects, ResourceCatalog.Default, new ApiServerOptions(), TimeProvider.System, NullLogger<EventExpiry>.Instance);

        Assert.Equal(1, await expiry.SweepAsync(CancellationToken.None));

        var (items, _) = await objects.ListAsync(s_events, "default", CancellationToken.None);
        Assert.Equal(["new"], items.Select(i => Meta.Name(i.Object)));
    }

    private static JsonObject Event(string name, string field, DateTimeOffset seen)
    {
        var text = seen.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var evt = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = "default",
                // Recent unless the case says otherwise, so only the field under test decides.
                ["creationTimestamp"] = field == "creationTimestamp" ? text : null,
            },
            ["reason"] = "Unhealthy",
        };
        switch (field)
        {
            case "lastTimestamp":
                evt["lastTimestamp"] = text;
                break;
            case "series.lastObservedTime":
                evt["series"] = new JsonObject { ["count"] = 2, ["lastObservedTime"] = text };
                break;
            case "eventTime":
                evt["eventTime"] = seen.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
                break;
        }
        if (evt["metadata"]!["creationTimestamp"] is null)
        {
            ((JsonObject)evt["metadata"]!).Remove("creationTimestamp");
        }
        return evt;
    }
}
