using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tests.Http;

/// <summary>
/// Deletion propagation as upstream's registry Store.Delete and deletionFinalizersForGarbageCollection do it:
/// the delete options (body or query) set the "orphan" or "foregroundDeletion" finalizer for the garbage collector,
/// an object left with finalizers is marked (202) instead of removed, and removing its last finalizer removes it.
/// </summary>
public sealed class DeletePropagationTests : IAsyncLifetime
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";
    private const string Pods = "/api/v1/namespaces/default/pods";

    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, string, string, string?> DeleteCases => new()
    {
        // existing finalizers (comma-separated), query, body, finalizers after the delete (null: removed)
        { "", "", "", null },
        { "", "", """{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}""", null },
        { "", "", """{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}""", "foregroundDeletion" },
        { "", "", """{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","propagationPolicy":"Orphan"}""", "orphan" },
        { "", "?propagationPolicy=Foreground", "", "foregroundDeletion" },
        { "", "?propagationPolicy=Orphan", "", "orphan" },
        { "", "?propagationPolicy=Background", "", null },
        { "", "", """{"orphanDependents":true}""", "orphan" },
        { "", "", """{"orphanDependents":false}""", null },
        { "", "?orphanDependents=true", "", "orphan" },
        { "", "?orphanDependents=false", "", null },
        { "", "?orphanDependents=0", "", null },
        // The body wins over the query, as upstream reads the query only without a body.
        { "", "?propagationPolicy=Orphan", """{"propagationPolicy":"Foreground"}""", "foregroundDeletion" },
        // Finalizers set at creation decide when the options do not.
        { "orphan", "", "", "orphan" },
        { "foregroundDeletion", "", "", "foregroundDeletion" },
        { "orphan", "", """{"propagationPolicy":"Foreground"}""", "foregroundDeletion" },
        { "foregroundDeletion", "", """{"propagationPolicy":"Orphan"}""", "orphan" },
        { "orphan", "", """{"propagationPolicy":"Background"}""", null },
        { "foregroundDeletion", "", """{"orphanDependents":false}""", null },
        // Other finalizers stay, and keep the object marked.
        { "example.com/hold", "", "", "example.com/hold" },
        { "example.com/hold", "", """{"propagationPolicy":"Foreground"}""", "example.com/hold,foregroundDeletion" },
        { "example.com/hold,orphan", "", """{"propagationPolicy":"Background"}""", "example.com/hold" },
    };

    [Theory]
    [MemberData(nameof(DeleteCases))]
    public async Task Delete_SetsTheGarbageCollectorFinalizers_AsTheOptionsSay(string existing, string query, string body, string? expected)
    {
        await CreateConfigMapAsync("cm", existing);

        var (status, deleted) = await SendAsync("DELETE", ConfigMaps + "/cm" + query, body);

        var (getStatus, after) = await SendAsync("GET", ConfigMaps + "/cm", "");
        if (expected is null)
        {
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.NotFound), (status, getStatus));
            return;
        }
        Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.OK), (status, getStatus));
        Assert.Equal(expected, Finalizers(after));
        Assert.Equal(Finalizers(deleted), Finalizers(after));
        Assert.NotNull(after["metadata"]!["deletionTimestamp"]);
        Assert.Equal(0, after["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
    }

    public static TheoryData<string, string?> RedeleteCases => new()
    {
        // A second delete on an object already being deleted updates its finalizers (upstream: only graceful
        // deletions that are pending keep them), and removes the object when none remain.
        { """{"propagationPolicy":"Orphan"}""", "orphan" },
        { """{"propagationPolicy":"Foreground"}""", "foregroundDeletion" },
        { "", "foregroundDeletion" },
        { """{"propagationPolicy":"Background"}""", null },
    };

    [Theory]
    [MemberData(nameof(RedeleteCases))]
    public async Task Delete_OfAnObjectBeingDeleted_UpdatesItsFinalizers(string body, string? expected)
    {
        await CreateConfigMapAsync("cm", "");
        var (_, first) = await SendAsync("DELETE", ConfigMaps + "/cm", """{"propagationPolicy":"Foreground"}""");
        var markedAt = first["metadata"]!["deletionTimestamp"]!.GetValue<string>();

        var (status, _) = await SendAsync("DELETE", ConfigMaps + "/cm", body);

        var (getStatus, after) = await SendAsync("GET", ConfigMaps + "/cm", "");
        if (expected is null)
        {
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.NotFound), (status, getStatus));
            return;
        }
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(expected, Finalizers(after));
        Assert.Equal(markedAt, after["metadata"]!["deletionTimestamp"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"orphanDependents":true,"propagationPolicy":"Foreground"}""",
        "propagationPolicy: Invalid value: \"Foreground\": orphanDependents and deletionPropagation cannot be both set")]
    [InlineData("""{"propagationPolicy":"Sometimes"}""",
        "propagationPolicy: Unsupported value: \"Sometimes\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"")]
    [InlineData("""{"dryRun":["Some"]}""", "dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\"")]
    public async Task Delete_WithInvalidOptions_IsInvalidDeleteOptions_AndDeletesNothing(string body, string cause)
    {
        await CreateConfigMapAsync("cm", "");

        var (status, error) = await SendAsync("DELETE", ConfigMaps + "/cm", body);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("DeleteOptions.meta.k8s.io \"\" is invalid: " + cause, error["message"]!.GetValue<string>());
        Assert.Equal(("DeleteOptions", "meta.k8s.io"), (error["details"]!["kind"]!.GetValue<string>(), error["details"]!["group"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync("GET", ConfigMaps + "/cm", "")).Status);
    }

    [Fact]
    public async Task Delete_BothOrphanOptionsInTheQuery_IsInvalid()
    {
        await CreateConfigMapAsync("cm", "");

        var (status, error) = await SendAsync("DELETE", ConfigMaps + "/cm?orphanDependents=true&propagationPolicy=Background", "");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Background\": orphanDependents and deletionPropagation cannot be both set",
            error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Delete_DryRun_Foreground_AnswersTheMarkedObject_AndChangesNothing()
    {
        await CreateConfigMapAsync("cm", "");

        var (status, marked) = await SendAsync("DELETE", ConfigMaps + "/cm?dryRun=All", """{"propagationPolicy":"Foreground"}""");

        var (_, after) = await SendAsync("GET", ConfigMaps + "/cm", "");
        Assert.Equal((HttpStatusCode.Accepted, "foregroundDeletion"), (status, Finalizers(marked)));
        Assert.Null(after["metadata"]!["deletionTimestamp"]);
        Assert.Null(after["metadata"]!["finalizers"]);
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("merge")]
    [InlineData("strategic")]
    [InlineData("json")]
    public async Task Write_RemovingTheLastFinalizer_OfAnObjectBeingDeleted_RemovesIt(string how)
    {
        await CreateConfigMapAsync("cm", "");
        var (_, marked) = await SendAsync("DELETE", ConfigMaps + "/cm", """{"propagationPolicy":"Orphan"}""");
        var rv = marked["metadata"]!["resourceVersion"]!.GetValue<string>();

        var (status, _) = how switch
        {
            "PUT" => await SendAsync("PUT", ConfigMaps + "/cm", $$$"""{"metadata":{"name":"cm","resourceVersion":"{{{rv}}}"}}"""),
            "merge" => await SendAsync("PATCH", ConfigMaps + "/cm", """{"metadata":{"finalizers":null}}""", "application/merge-patch+json"),
            "strategic" => await SendAsync("PATCH", ConfigMaps + "/cm", """{"metadata":{"$deleteFromPrimitiveList/finalizers":["orphan"]}}""", "application/strategic-merge-patch+json"),
            _ => await SendAsync("PATCH", ConfigMaps + "/cm", """[{"op":"test","path":"/metadata/finalizers/0","value":"orphan"},{"op":"remove","path":"/metadata/finalizers"}]""", "application/json-patch+json"),
        };

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync("GET", ConfigMaps + "/cm", "")).Status);
    }

    [Fact]
    public async Task Write_KeepingAFinalizer_OfAnObjectBeingDeleted_KeepsIt()
    {
        await CreateConfigMapAsync("cm", "example.com/hold,orphan");
        await SendAsync("DELETE", ConfigMaps + "/cm", "");

        var (status, _) = await SendAsync("PATCH", ConfigMaps + "/cm", """[{"op":"remove","path":"/metadata/finalizers/1"}]""", "application/json-patch+json");

        var (_, after) = await SendAsync("GET", ConfigMaps + "/cm", "");
        Assert.Equal((HttpStatusCode.OK, "example.com/hold"), (status, Finalizers(after)));
    }

    [Fact]
    public async Task Delete_ForegroundPodOnANode_KeepsItsGracePeriod_AndGoesWhenTheFinalizerGoesAfterTheKubeletsDelete()
    {
        await CreatePodAsync("p", nodeName: "n1");

        var (status, marked) = await SendAsync("DELETE", Pods + "/p", """{"propagationPolicy":"Foreground"}""");
        Assert.Equal((HttpStatusCode.Accepted, "foregroundDeletion", 30L),
            (status, Finalizers(marked), marked["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>()));

        // The kubelet's final delete (grace 0) leaves the pod to its finalizer.
        var (kubeletStatus, held) = await SendAsync("DELETE", Pods + "/p", """{"gracePeriodSeconds":0}""");
        Assert.Equal((HttpStatusCode.Accepted, "foregroundDeletion", 0L),
            (kubeletStatus, Finalizers(held), held["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>()));

        await SendAsync("PATCH", Pods + "/p", """{"metadata":{"finalizers":null}}""", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync("GET", Pods + "/p", "")).Status);
    }

    [Fact]
    public async Task Delete_OfAPodWhoseGracefulDeletionIsPending_ChangesNoFinalizers()
    {
        await CreatePodAsync("p", nodeName: "n1");
        await SendAsync("DELETE", Pods + "/p", "");

        var (status, after) = await SendAsync("DELETE", Pods + "/p", """{"propagationPolicy":"Orphan"}""");

        Assert.Equal((HttpStatusCode.Accepted, ""), (status, Finalizers(after)));
    }

    [Fact]
    public async Task Delete_ForegroundUnscheduledPod_IsMarkedWithNoGracePeriod()
    {
        await CreatePodAsync("p", nodeName: null);

        var (status, marked) = await SendAsync("DELETE", Pods + "/p", """{"propagationPolicy":"Foreground"}""");

        Assert.Equal((HttpStatusCode.Accepted, "foregroundDeletion", 0L),
            (status, Finalizers(marked), marked["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>()));
    }

    public static TheoryData<string, string> OwnerReferenceCases => new()
    {
        // Upstream objectmeta_test.go TestValidateObjectMetaOwnerReferences / validation_test.go cases.
        { """[{"apiVersion":"","kind":"ConfigMap","name":"a","uid":"u1"}]""", "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty" },
        { """[{"apiVersion":"a/b/c","kind":"ConfigMap","name":"a","uid":"u1"}]""", "metadata.ownerReferences.apiVersion: Invalid value: \"a/b/c\": version must not be empty" },
        { """[{"apiVersion":"v1","kind":"","name":"a","uid":"u1"}]""", "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty" },
        { """[{"apiVersion":"v1","kind":"ConfigMap","name":"","uid":"u1"}]""", "metadata.ownerReferences.name: Invalid value: \"\": must not be empty" },
        { """[{"apiVersion":"v1","kind":"ConfigMap","name":"a","uid":""}]""", "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty" },
        { """[{"apiVersion":"v1","kind":"Event","name":"a","uid":"u1"}]""",
            "metadata.ownerReferences: Invalid value: v1.OwnerReference{APIVersion:\"v1\", Kind:\"Event\", Name:\"a\", UID:\"u1\", Controller:(*bool)(nil), BlockOwnerDeletion:(*bool)(nil)}: /v1, Kind=Event is disallowed from being an owner" },
        { """[{"apiVersion":"v1","kind":"Pod","name":"name1","uid":"u1","controller":true},{"apiVersion":"v1","kind":"Pod","name":"name2","uid":"u2","controller":true}]""",
            "metadata.ownerReferences: Invalid value: []v1.OwnerReference{v1.OwnerReference{APIVersion:\"v1\", Kind:\"Pod\", Name:\"name1\", UID:\"u1\", Controller:(*bool)(true), BlockOwnerDeletion:(*bool)(nil)}, " +
            "v1.OwnerReference{APIVersion:\"v1\", Kind:\"Pod\", Name:\"name2\", UID:\"u2\", Controller:(*bool)(true), BlockOwnerDeletion:(*bool)(nil)}}: " +
            "Only one reference can have Controller set to true. Found \"true\" in references for Pod/name1 and Pod/name2" },
    };

    [Theory]
    [MemberData(nameof(OwnerReferenceCases))]
    public async Task CreateAndUpdate_WithAnInvalidOwnerReference_AreInvalid(string ownerReferences, string cause)
    {
        var (createStatus, createError) = await SendAsync("POST", ConfigMaps, $$$"""{"metadata":{"name":"cm","ownerReferences":{{{ownerReferences}}}}}""");
        await CreateConfigMapAsync("valid", "");
        var (patchStatus, patchError) = await SendAsync("PATCH", ConfigMaps + "/valid", $$$"""{"metadata":{"ownerReferences":{{{ownerReferences}}}}}""", "application/merge-patch+json");

        Assert.Equal((HttpStatusCode.UnprocessableEntity, HttpStatusCode.UnprocessableEntity), (createStatus, patchStatus));
        Assert.Equal("ConfigMap \"cm\" is invalid: " + cause, createError["message"]!.GetValue<string>());
        Assert.Equal("ConfigMap \"valid\" is invalid: " + cause, patchError["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_WithValidOwnerReferences_AndOneController_Succeeds()
    {
        var (status, _) = await SendAsync("POST", ConfigMaps, """
            {"metadata":{"name":"cm","ownerReferences":[
              {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":"u1","controller":true,"blockOwnerDeletion":true},
              {"apiVersion":"v1","kind":"ConfigMap","name":"other","uid":"u2","controller":false},
              {"apiVersion":"customresourceVersion","kind":"customresourceKind","name":"x","uid":"u3"}]}}
            """);

        Assert.Equal(HttpStatusCode.Created, status);
    }

    [Fact]
    public async Task Create_WithBothOrphanAndForegroundFinalizers_IsInvalid()
    {
        var (status, error) = await SendAsync("POST", ConfigMaps, """{"metadata":{"name":"cm","finalizers":["orphan","foregroundDeletion"]}}""");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("ConfigMap \"cm\" is invalid: metadata.finalizers: Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan and foregroundDeletion cannot be both set",
            error["message"]!.GetValue<string>());
    }

    /// <summary>Upstream ValidateObjectMetaUpdate: the uid is immutable, so the garbage collector's patches carry it as a precondition.</summary>
    [Fact]
    public async Task Patch_WithAnotherUid_IsInvalid_AndChangesNothing()
    {
        await CreateConfigMapAsync("cm", "");

        var (status, error) = await SendAsync("PATCH", ConfigMaps + "/cm", """{"metadata":{"uid":"not-this-one","labels":{"a":"b"}}}""", "application/strategic-merge-patch+json");

        var (_, after) = await SendAsync("GET", ConfigMaps + "/cm", "");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("ConfigMap \"cm\" is invalid: metadata.uid: Invalid value: \"not-this-one\": field is immutable", error["message"]!.GetValue<string>());
        Assert.Null(after["metadata"]!["labels"]);
    }

    private async Task CreateConfigMapAsync(string name, string finalizers)
    {
        var meta = new JsonObject { ["name"] = name };
        if (finalizers.Length > 0)
        {
            meta["finalizers"] = new JsonArray([.. finalizers.Split(',').Select(f => (JsonNode)JsonValue.Create(f))]);
        }
        var (status, _) = await SendAsync("POST", ConfigMaps, new JsonObject { ["metadata"] = meta }.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, status);
    }

    private async Task CreatePodAsync(string name, string? nodeName)
    {
        var spec = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox" }) };
        if (nodeName is not null)
        {
            spec["nodeName"] = nodeName;
        }
        var (status, _) = await SendAsync("POST", Pods, new JsonObject { ["metadata"] = new JsonObject { ["name"] = name }, ["spec"] = spec }.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, status);
    }

    private static string Finalizers(JsonNode obj) =>
        string.Join(",", (obj["metadata"]!["finalizers"] as JsonArray ?? []).Select(f => f!.GetValue<string>()));

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(string method, string path, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8, contentType);
        }
        using var response = await _server.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }
}
