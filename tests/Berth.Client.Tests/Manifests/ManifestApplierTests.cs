using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Client.Manifests;

namespace Berth.Client.Tests.Manifests;

/// <summary>Against the real API server in this process: discovery, dry run and server-side apply as berth up does them.</summary>
public sealed class ManifestApplierTests
{
    private const string Manifest = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings, namespace: shop}
        data: {color: blue}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          selector: {app: web}
          ports: [{port: 80}]
        """;

    [Fact]
    public async Task DryRunThenApply_CreatesInOrder_ThenUnchanged_ThenConfigured()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var applier = new ManifestApplier(client, "berth-up");

        // The ConfigMap's namespace does not exist yet, but the set creates it: not a dry-run failure.
        var (plan, failures) = await applier.DryRunAsync(ManifestLoader.Parse("app.yaml", Manifest), CancellationToken.None);
        Assert.Empty(failures);
        Assert.Equal(["namespace/shop", "configmap/settings -n shop", "service/web"], plan.Select(p => p.Key));
        Assert.Null(await client.TryGetAsync<Namespace>(null, "shop"));

        var results = await applier.ApplyAsync(plan, _ => { }, CancellationToken.None);
        Assert.All(results, r => Assert.Equal(ApplyOutcome.Created, r.Outcome));
        Assert.Equal("blue", (await client.GetAsync<ConfigMap>("shop", "settings")).Data!["color"]);
        Assert.Equal("default", plan[2].Namespace);

        (plan, _) = await applier.DryRunAsync(ManifestLoader.Parse("app.yaml", Manifest), CancellationToken.None);
        results = await applier.ApplyAsync(plan, _ => { }, CancellationToken.None);
        Assert.All(results, r => Assert.Equal(ApplyOutcome.Unchanged, r.Outcome));

        (plan, _) = await applier.DryRunAsync(ManifestLoader.Parse("app.yaml", Manifest.Replace("blue", "green", StringComparison.Ordinal)), CancellationToken.None);
        results = await applier.ApplyAsync(plan, _ => { }, CancellationToken.None);
        Assert.Equal([ApplyOutcome.Unchanged, ApplyOutcome.Configured, ApplyOutcome.Unchanged], results.Select(r => r.Outcome!.Value));
        Assert.Equal("green", (await client.GetAsync<ConfigMap>("shop", "settings")).Data!["color"]);
    }

    [Fact]
    public async Task DryRun_InvalidAndUnknownObjects_AreEveryFailureAndNothingIsStored()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var applier = new ManifestApplier(client, "berth-up");
        var objects = ManifestLoader.Parse("app.yaml", """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: good}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: bad}
            spec:
              ports: [{port: 0, targetPort: 80}]
            ---
            apiVersion: example.com/v1
            kind: Widget
            metadata: {name: w}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: missing}
            spec:
              containers: [{name: c, image: x}]
            """);

        var (plan, failures) = await applier.DryRunAsync(objects, CancellationToken.None);

        Assert.Equal(["configmap/good"], plan.Select(p => p.Key));
        Assert.Equal(
        [
            "app.yaml: document 2: Service default/bad: Service \"bad\" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "app.yaml: document 4: Pod missing/p: namespaces \"missing\" not found",
            "app.yaml: document 3: Widget w: no matches for kind \"Widget\" in version \"example.com/v1\" (the server does not serve it)",
        ], failures.Select(f => f.ToString()));
        Assert.Null(await client.TryGetAsync<ConfigMap>("default", "good"));
    }

    [Fact]
    public void Describe_AddsCausesTheMessageDoesNotSpellOut()
    {
        var status = new Status
        {
            Message = "Service \"x\" is invalid",
            Details = new StatusDetails { Causes = [new StatusCause { Field = "spec.ports", Message = "Required value" }, new StatusCause { Message = "invalid" }] },
        };

        Assert.Equal("Service \"x\" is invalid (spec.ports: Required value)", ManifestApplier.Describe(new KubeApiException(422, status)));
        Assert.Equal("boom", ManifestApplier.Describe(new HttpRequestException("boom")));
    }

    [Fact]
    public void Outcome_StatusAndBookkeepingRewrittenMeanwhile_Unchanged_ContentChanged_Configured()
    {
        // Between the dry run and the apply the controllers rewrote status (and so resourceVersion and managedFields).
        static JsonObject Deployment(string rv, int replicas, string? label, string observed) => new()
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = "web",
                ["namespace"] = "default",
                ["resourceVersion"] = rv,
                ["generation"] = 1,
                ["labels"] = label is null ? null : new JsonObject { ["tier"] = label },
                ["managedFields"] = new JsonArray(new JsonObject { ["manager"] = "berth-up", ["time"] = $"2026-01-01T00:00:0{rv}Z" }),
            },
            ["spec"] = new JsonObject { ["replicas"] = replicas },
            ["status"] = new JsonObject { ["observedGeneration"] = observed },
        };
        var obj = new ManifestObject("app.yaml", 1, Deployment("1", 2, null, "1"));
        var planned = new PlannedApply(obj, new ResourceMapping("apps/v1", "Deployment", "deployments", Namespaced: true), Deployment("1", 2, null, "0"));

        Assert.Equal(ApplyOutcome.Unchanged, ManifestApplier.Outcome(200, planned, Deployment("2", 2, null, "1")));
        Assert.Equal(ApplyOutcome.Configured, ManifestApplier.Outcome(200, planned, Deployment("2", 3, null, "1")));
        Assert.Equal(ApplyOutcome.Configured, ManifestApplier.Outcome(200, planned, Deployment("2", 2, "fe", "1")));
        Assert.Equal(ApplyOutcome.Created, ManifestApplier.Outcome(201, planned, Deployment("2", 2, null, "1")));
        Assert.Equal(ApplyOutcome.Created, ManifestApplier.Outcome(200, planned with { Stored = null }, Deployment("2", 2, null, "1")));
    }
}
