using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Storage;

namespace Berth.ApiServer.Tests.Http;

public sealed class WatchTests
{
    [Fact]
    public async Task Watch_FromCompactedRevision_EndsWithExpiredErrorEvent()
    {
        await using var server = await InProcessServer.StartAsync();
        var first = await CreateConfigMapAsync(server.Client, "a");
        await CreateConfigMapAsync(server.Client, "b");
        var store = server.Service<IStore>();
        await store.CompactAsync(store.CurrentRevision);

        var stream = await server.Client.GetStringAsync(
            $"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={first - 1}&timeoutSeconds=5");

        var events = stream.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var error = Assert.Single(events);
        Assert.Equal("ERROR", error["type"]!.GetValue<string>());
        Assert.Equal(410, error["object"]!["code"]!.GetValue<int>());
        Assert.Equal("Expired", error["object"]!["reason"]!.GetValue<string>());
        Assert.StartsWith("too old resource version: ", error["object"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_LabelSelector_ObjectLeavingSelectorIsDeleted()
    {
        await using var server = await InProcessServer.StartAsync();
        var rv = await CreateConfigMapAsync(server.Client, "sel", labels: """{"app":"web"}""");
        var watch = server.Client.GetStringAsync(
            $"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&labelSelector=app%3Dweb&timeoutSeconds=2");
        using (var patch = await server.Client.PatchAsync("/api/v1/namespaces/default/configmaps/sel",
            new StringContent("""{"metadata":{"labels":{"app":"db"}}}""", Encoding.UTF8, "application/merge-patch+json")))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }
        var events = (await watch).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var deleted = Assert.Single(events);
        Assert.Equal("DELETED", deleted["type"]!.GetValue<string>());
        // As upstream's cacheWatcher: the object as the watcher last saw it, at the event's resourceVersion.
        Assert.Equal("web", deleted["object"]!["metadata"]!["labels"]!["app"]!.GetValue<string>());
        Assert.True(long.Parse(deleted["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>(), CultureInfo.InvariantCulture) > rv);
    }

    private static async Task<long> CreateConfigMapAsync(HttpClient client, string name, string labels = "{}")
    {
        using var response = await client.PostAsync("/api/v1/namespaces/default/configmaps",
            new StringContent($$$"""{"metadata":{"name":"{{{name}}}","labels":{{{labels}}}}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return long.Parse(body["metadata"]!["resourceVersion"]!.GetValue<string>(), CultureInfo.InvariantCulture);
    }
}
