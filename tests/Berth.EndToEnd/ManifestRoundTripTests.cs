using System.Text.Json.Nodes;
using Berth.Api.Serialization;
using Berth.Tests;

namespace Berth.EndToEnd;

/// <summary>
/// Every real manifest of ../shared/testdata/kia-ch11 applies with kubectl's default (strict) validation, comes back
/// with nothing lost, and re-applies as "unchanged" — except those this single-stack cluster must refuse, which are
/// refused with upstream's message.
/// </summary>
public sealed class ManifestRoundTripTests : IClassFixture<ServerFixture>
{
    private readonly BerthServer _server;

    public ManifestRoundTripTests(ServerFixture fixture) => _server = fixture.Server;

    // Manifests a single-stack IPv4 cluster refuses, with the tail of the message upstream prints.
    private static readonly Dictionary<string, string> s_refused = new(StringComparer.Ordinal)
    {
        ["Chapter11/svc.quote-dualstack.yaml"] = "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services",
    };

    public static TheoryData<string> Manifests()
    {
        var data = new TheoryData<string>();
        var root = SharedTestData.Path("kia-ch11");
        foreach (var file in Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(root, file);
            if (!s_refused.ContainsKey(relative))
            {
                data.Add(relative);
            }
        }
        return data;
    }

    public static TheoryData<string> RefusedManifests() => [.. s_refused.Keys];

    [Theory]
    [MemberData(nameof(RefusedManifests))]
    public async Task Apply_ManifestThisClusterCannotServe_RefusedWithUpstreamMessage(string relativePath)
    {
        var file = SharedTestData.Path("kia-ch11", relativePath);
        var ns = "m-" + Guid.NewGuid().ToString("N")[..10];
        using var kubectl = _server.Kubectl();
        await kubectl.OkAsync($"create namespace {ns}");
        var result = await kubectl.RunAsync($"apply -n {ns} -f {file}");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(s_refused[relativePath], result.Stderr);
        Assert.Equal("", (await kubectl.OkAsync($"get svc -n {ns} -o name")).Trim());
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public async Task Apply_RealManifest_RoundTripsAndReappliesUnchanged(string relativePath)
    {
        var file = SharedTestData.Path("kia-ch11", relativePath);
        var ns = "m-" + Guid.NewGuid().ToString("N")[..10];
        using var kubectl = _server.Kubectl();
        await kubectl.OkAsync($"create namespace {ns}");

        try
        {
            await ApplyAndCompareAsync(kubectl, file, relativePath, ns);
        }
        finally
        {
            // Manifests ask for fixed nodePorts (30080, ...): give them back for the next manifest that asks.
            await kubectl.RunAsync($"delete -n {ns} -f {file} --ignore-not-found");
        }
    }

    private static async Task ApplyAndCompareAsync(Kubectl kubectl, string file, string relativePath, string ns)
    {
        var applied = await kubectl.OkAsync($"apply -n {ns} -f {file}");
        var documents = YamlJson.ParseDocuments(await File.ReadAllTextAsync(file)).OfType<JsonObject>().ToList();
        Assert.Equal(documents.Count, applied.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.EndsWith(" created", StringComparison.Ordinal)));

        foreach (var document in documents)
        {
            var kind = document["kind"]!.GetValue<string>();
            var name = document["metadata"]!["name"]!.GetValue<string>();
            var json = await kubectl.OkAsync($"get {Resource(document)} {name} -n {ns} -o json");
            var returned = JsonNode.Parse(json)!.AsObject();
            var missing = new List<string>();
            CollectDifferences(document, returned, kind, missing);
            Assert.True(missing.Count == 0, $"{relativePath} {kind}/{name} lost or changed: {string.Join("; ", missing)}\nreturned: {json}");
        }

        // Re-applying changes nothing. A manifest that says `creationTimestamp: null` (written by
        // `kubectl create --dry-run -o yaml`) always makes kubectl send {"metadata":{"creationTimestamp":null}},
        // which it reports as "configured" against any apiserver; so does an Endpoints whose ports omit the protocol
        // the server defaults (subsets are a list kubectl replaces whole, so it resends them). The server must still
        // change nothing.
        var before = await SettledSnapshotAsync(kubectl, ns);
        var again = await kubectl.OkAsync($"apply -n {ns} -f {file}");
        var lines = again.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(documents.Count, lines.Length);
        for (var i = 0; i < documents.Count; i++)
        {
            var nullTimestamp = documents[i]["metadata"] is JsonObject meta && meta.ContainsKey("creationTimestamp") && meta["creationTimestamp"] is null;
            var defaultedPorts = documents[i]["kind"]!.GetValue<string>() == "Endpoints" &&
                documents[i]["subsets"]!.AsArray().Any(s => s!["ports"]!.AsArray().Any(p => p!["protocol"] is null));
            Assert.EndsWith(nullTimestamp || defaultedPorts ? " configured" : " unchanged", lines[i]);
        }
        Assert.Equal(before, await SnapshotAsync(kubectl, ns));
    }

    /// <summary>
    /// What a re-apply must not change: every object's resourceVersion, except that a pod is compared without its
    /// status and resourceVersion, which the node agent keeps writing as the pod starts (or fails to).
    /// </summary>
    private static async Task<string> SnapshotAsync(Kubectl kubectl, string ns)
    {
        var list = JsonNode.Parse(await kubectl.OkAsync($"get all,cm,secret,pvc,ep -n {ns} -o json"))!;
        return string.Join("\n", list["items"]!.AsArray().Select(item =>
        {
            if (item!["kind"]!.GetValue<string>() != "Pod")
            {
                return item["metadata"]!["resourceVersion"]!.GetValue<string>();
            }
            var pod = item.DeepClone().AsObject();
            pod.Remove("status");
            pod["metadata"]!.AsObject().Remove("resourceVersion");
            return pod.ToJsonString();
        }));
    }

    /// <summary>The snapshot once the scheduler has bound the pods it can (spec.nodeName): two reads a second apart agree.</summary>
    // Settled: unchanged for a second, and every Service without ready endpoints already explained by the diagnosis
    // controller (its EndpointsReady=False comes a settle period after the Service's last change, later under load).
    private static async Task<string> SettledSnapshotAsync(Kubectl kubectl, string ns)
    {
        var last = await SnapshotAsync(kubectl, ns);
        for (var i = 0; i < 15; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var now = await SnapshotAsync(kubectl, ns);
            if (now == last && await EmptyServicesDiagnosedAsync(kubectl, ns))
            {
                return now;
            }
            last = now;
        }
        return last;
    }

    private static async Task<bool> EmptyServicesDiagnosedAsync(Kubectl kubectl, string ns)
    {
        var items = JsonNode.Parse(await kubectl.OkAsync($"get svc,ep -n {ns} -o json"))!["items"]!.AsArray();
        var ready = items.Where(i => i!["kind"]!.GetValue<string>() == "Endpoints" &&
                i["subsets"]?.AsArray().Any(s => s?["addresses"]?.AsArray().Count > 0) == true)
            .Select(i => i!["metadata"]!["name"]!.GetValue<string>())
            .ToHashSet();
        return items.Where(i => i!["kind"]!.GetValue<string>() == "Service" && i["spec"]?["type"]?.GetValue<string>() != "ExternalName")
            .All(s => ready.Contains(s!["metadata"]!["name"]!.GetValue<string>()) ||
                s["status"]?["conditions"]?.AsArray().Any(c => c?["type"]?.GetValue<string>() == "EndpointsReady") == true);
    }

    private static string Resource(JsonObject document)
    {
        var apiVersion = document["apiVersion"]!.GetValue<string>();
        var kind = document["kind"]!.GetValue<string>().ToLowerInvariant();
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? kind : $"{kind}.{apiVersion[..slash]}";
    }

    // Every value the manifest sets must be in the returned object, unchanged. (The server adds fields: uid,
    // timestamps, defaults, status; those are not losses.) Quantities may be canonicalised as strings.
    private static void CollectDifferences(JsonNode? expected, JsonNode? actual, string path, List<string> problems)
    {
        switch (expected)
        {
            case JsonObject obj:
                if (actual is not JsonObject actualObj)
                {
                    problems.Add($"{path}: expected an object, got {actual?.ToJsonString() ?? "nothing"}");
                    return;
                }
                foreach (var (key, value) in obj)
                {
                    if (value is null)
                    {
                        continue;
                    }
                    CollectDifferences(value, actualObj[key], $"{path}.{key}", problems);
                }
                break;
            case JsonArray array:
                if (actual is not JsonArray actualArray || actualArray.Count != array.Count)
                {
                    problems.Add($"{path}: expected {array.ToJsonString()}, got {actual?.ToJsonString() ?? "nothing"}");
                    return;
                }
                for (var i = 0; i < array.Count; i++)
                {
                    CollectDifferences(array[i], actualArray[i], $"{path}[{i}]", problems);
                }
                break;
            case JsonValue value:
                var same = JsonNode.DeepEquals(value, actual) ||
                    (actual is JsonValue a && a.TryGetValue<string>(out var s) && s == value.ToJsonString().Trim('"'));
                if (!same)
                {
                    problems.Add($"{path}: expected {value.ToJsonString()}, got {actual?.ToJsonString() ?? "nothing"}");
                }
                break;
        }
    }
}
