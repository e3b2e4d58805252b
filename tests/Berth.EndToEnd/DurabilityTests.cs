using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.EndToEnd;

/// <summary>An acknowledged write survives SIGKILL of the server; revisions and watches carry on after restart.</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task SigkillDuringWrites_AcknowledgedWritesSurviveAndRevisionContinues()
    {
        var dataDir = TestDirectories.Create("berth-durable");
        try
        {
            var acknowledged = new ConcurrentDictionary<string, long>();
            long maxRevision;
            await using (var server = await BerthServer.StartAsync(dataDir))
            {
                using var http = server.CreateHttpClient();
                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
                {
                    for (var i = 0; i < 2000 && !stop.IsCancellationRequested; i++)
                    {
                        var name = $"w{w}-{i}";
                        try
                        {
                            var body = $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}"},"data":{"i":"{{{i}}}"}}""";
                            using var response = await http.PostAsync("/api/v1/namespaces/default/configmaps",
                                new StringContent(body, Encoding.UTF8, "application/json"));
                            if (response.StatusCode == HttpStatusCode.Created)
                            {
                                var created = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                                acknowledged[name] = long.Parse(created["metadata"]!["resourceVersion"]!.GetValue<string>(), CultureInfo.InvariantCulture);
                            }
                        }
                        catch (HttpRequestException)
                        {
                            return; // the server was killed
                        }
                        catch (TaskCanceledException)
                        {
                            return;
                        }
                    }
                })).ToArray();
                while (acknowledged.Count < 400)
                {
                    await Task.Delay(10);
                }
                await server.KillAsync();
                await stop.CancelAsync();
                await Task.WhenAll(writers);
                maxRevision = acknowledged.Values.Max();
            }

            await using var restarted = await BerthServer.StartAsync(dataDir);
            using var client = restarted.CreateHttpClient();
            var list = JsonNode.Parse(await client.GetStringAsync("/api/v1/namespaces/default/configmaps"))!;
            var present = list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToHashSet();
            var lost = acknowledged.Keys.Where(k => !present.Contains(k)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} acknowledged writes lost, e.g. {string.Join(", ", lost.Take(5))}");

            // Watch from a revision before the crash: the history is still there.
            var watchFrom = maxRevision - 5;
            using var watch = await client.GetAsync($"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={watchFrom}&timeoutSeconds=2",
                HttpCompletionOption.ResponseHeadersRead);
            var stream = await watch.Content.ReadAsStringAsync();
            var events = stream.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.True(events.Count >= 5, stream);
            Assert.All(events, e => Assert.True(long.Parse(e["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>(), CultureInfo.InvariantCulture) > watchFrom));

            // The revision carries on from where it was.
            using var post = await client.PostAsync("/api/v1/namespaces/default/configmaps",
                new StringContent("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after-restart"}}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, post.StatusCode);
            var after = JsonNode.Parse(await post.Content.ReadAsStringAsync())!;
            Assert.True(long.Parse(after["metadata"]!["resourceVersion"]!.GetValue<string>(), CultureInfo.InvariantCulture) > maxRevision);
        }
        finally
        {
            TestDirectories.Delete(dataDir);
        }
    }
}
