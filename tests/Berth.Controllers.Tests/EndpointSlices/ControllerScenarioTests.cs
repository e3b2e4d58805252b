using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.EndpointSlices;
using static Berth.Controllers.Tests.EndpointSlices.ControllerHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.EndpointSlices;

// The running controller against the real API server: what a user sees in the slices as pods come, go, flip
// readiness, fail and change labels, as users edit our slices, and as Services are deleted.
public sealed class ControllerScenarioTests(SliceControllerApiFixture fixture) : IClassFixture<SliceControllerApiFixture>
{
    private static readonly Dictionary<string, string> s_web = new() { ["app"] = "web" };

    [Fact]
    public async Task ServiceWithoutPods_ExactlyOneEmptySliceOwnedByTheService()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true);

        var service = await h.CreateServiceAsync(NewService(ns, "web", s_web));

        var slice = await h.OneSliceWithAsync(ns, "web");
        Assert.Empty(slice.Endpoints ?? []);
        var owner = Assert.Single(slice.Metadata!.OwnerReferences!);
        Assert.Equal(("v1", "Service", "web", service.Metadata!.Uid, true, true),
            (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        // The slice carries the Service's labels: relabelling the Service rewrites that one slice, it does not replace it.
        var writes = h.Writes.Count;
        var labelled = await h.Client.PatchAsync<Service>(ns, "web", PatchType.Merge, """{"metadata":{"labels":{"tier":"front"}}}""");
        await h.SeenAsync(labelled);
        await UntilAsync(() => h.SlicesAsync(ns, "web"), s => s.Count == 1 && s[0].Metadata!.Labels!.GetValueOrDefault("tier") == "front",
            "the Service's label on its slice");
        Assert.Equal(writes + 1, h.Writes.Count);
        Assert.Equal(slice.Metadata.Name, Assert.Single(await h.SlicesAsync(ns, "web")).Metadata!.Name);
    }

    // Pods 0 → 1 → 3 → 1 → 0, with one slice throughout: its endpoints change, it is never replaced.
    [Fact]
    public async Task PodsScaleUpAndDown_OneSliceFollows()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "web", s_web));
        var placeholder = await h.OneSliceWithAsync(ns, "web");

        await h.RunPodAsync(NewPod(ns, "web-1", s_web, node), "127.244.0.1");
        var one = await h.OneSliceWithAsync(ns, "web", "web-1");
        await h.RunPodAsync(NewPod(ns, "web-2", s_web, node), "127.244.0.2");
        await h.RunPodAsync(NewPod(ns, "web-3", s_web, node), "127.244.0.3");
        var three = await h.OneSliceWithAsync(ns, "web", "web-1", "web-2", "web-3");
        await DeletePodAsync(h, ns, "web-1");
        await DeletePodAsync(h, ns, "web-3");
        var oneAgain = await h.OneSliceWithAsync(ns, "web", "web-2");
        await DeletePodAsync(h, ns, "web-2");
        var none = await h.OneSliceWithAsync(ns, "web");

        Assert.Equal(["127.244.0.2"], oneAgain.Endpoints!.Single().Addresses!);
        Assert.All(new[] { one, three, oneAgain, none }, s => Assert.Equal(placeholder.Metadata!.Uid, s.Metadata!.Uid));
        Assert.Equal(("create", placeholder.Metadata!.Name!), h.Writes.All[0]);
        Assert.All(h.Writes.All.Skip(1), w => Assert.Equal(("update", placeholder.Metadata.Name!), w));
    }

    // A readiness probe flipping changes the endpoint's conditions in place: same slice, same endpoint.
    [Fact]
    public async Task ReadinessFlips_ConditionsChangeInPlace()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "web", s_web));
        await h.RunPodAsync(NewPod(ns, "web-1", s_web, node), "127.244.0.1");
        var ready = await h.OneSliceWithAsync(ns, "web", "web-1");
        Assert.Equal((true, true, false), Conditions(ready));

        await h.SetStatusAsync(ns, "web-1", ready: false, "Running", "127.244.0.1");
        var notReady = await UntilAsync(() => h.SlicesAsync(ns, "web"),
            s => s.Count == 1 && s[0].Endpoints?.Count == 1 && s[0].Endpoints![0].Conditions!.Ready == false, "the endpoint not ready");
        await h.SetStatusAsync(ns, "web-1", ready: true, "Running", "127.244.0.1");
        var readyAgain = await UntilAsync(() => h.SlicesAsync(ns, "web"),
            s => s.Count == 1 && s[0].Endpoints?.Count == 1 && s[0].Endpoints![0].Conditions!.Ready == true, "the endpoint ready again");

        Assert.Equal((false, false, false), Conditions(notReady[0]));
        Assert.Equal((true, true, false), Conditions(readyAgain[0]));
        Assert.Equal(ready.Metadata!.Uid, notReady[0].Metadata!.Uid);
        Assert.Equal(ready.Metadata.Uid, readyAgain[0].Metadata!.Uid);
        Assert.All(new[] { notReady[0], readyAgain[0] }, s => Assert.Equal(["127.244.0.1"], s.Endpoints![0].Addresses!));
    }

    // An evicted or crashed-for-good pod (phase Failed) keeps its IP in its status but serves nothing.
    [Fact]
    public async Task PodFails_LeavesTheSlice()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "web", s_web));
        await h.RunPodAsync(NewPod(ns, "web-1", s_web, node), "127.244.0.1");
        await h.RunPodAsync(NewPod(ns, "web-2", s_web, node), "127.244.0.2");
        await h.OneSliceWithAsync(ns, "web", "web-1", "web-2");

        await h.SetStatusAsync(ns, "web-1", ready: false, "Failed", "127.244.0.1");

        var slice = await h.OneSliceWithAsync(ns, "web", "web-2");
        Assert.Equal(["127.244.0.2"], slice.Endpoints!.Single().Addresses!);
    }

    // A pod relabelled from app=a to app=b leaves a's slice and joins b's.
    [Fact]
    public async Task PodLabelChanges_MovesBetweenServices()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "svc-a", new() { ["app"] = "a" }));
        await h.CreateServiceAsync(NewService(ns, "svc-b", new() { ["app"] = "b" }));
        await h.RunPodAsync(NewPod(ns, "pod", new() { ["app"] = "a" }, node), "127.244.0.1");
        await h.OneSliceWithAsync(ns, "svc-a", "pod");
        await h.OneSliceWithAsync(ns, "svc-b");

        await h.Client.PatchAsync<Pod>(ns, "pod", PatchType.Merge, """{"metadata":{"labels":{"app":"b"}}}""");

        await h.OneSliceWithAsync(ns, "svc-a");
        await h.OneSliceWithAsync(ns, "svc-b", "pod");
    }

    public static TheoryData<string> UserEdits => new() { "endpoints replaced", "slice deleted" };

    // Someone else's change to one of our slices (a newer generation than our last write, or a deletion we did not
    // make) wakes the Service, and the slice is put back.
    [Theory]
    [MemberData(nameof(UserEdits))]
    public async Task UserEditsSlice_PutBack(string edit)
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "web", s_web));
        await h.RunPodAsync(NewPod(ns, "web-1", s_web, node), "127.244.0.1");
        var slice = await h.OneSliceWithAsync(ns, "web", "web-1");

        if (edit == "slice deleted")
        {
            await h.Client.DeleteAsync<EndpointSlice>(ns, slice.Metadata!.Name!);
        }
        else
        {
            slice.Endpoints = [new Endpoint { Addresses = ["127.244.9.9"], Conditions = new EndpointConditions { Ready = true } }];
            var edited = await h.Client.UpdateAsync(slice);
            Assert.True(edited.Metadata!.Generation > slice.Metadata!.Generation, "a user's change bumps the slice's generation");
        }

        var restored = await h.OneSliceWithAsync(ns, "web", "web-1");
        Assert.Equal(["127.244.0.1"], restored.Endpoints!.Single().Addresses!);
    }

    // Deleting a Service is the garbage collector's business: the controller deletes no slice, the owner reference
    // takes them away.
    [Fact]
    public async Task ServiceDeleted_SlicesLeftToTheGarbageCollector()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true, collectGarbage: true);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        var service = await h.CreateServiceAsync(NewService(ns, "web", s_web));
        await h.RunPodAsync(NewPod(ns, "web-1", s_web, node), "127.244.0.1");
        var slice = await h.OneSliceWithAsync(ns, "web", "web-1");
        Assert.Equal(service.Metadata!.Uid, Assert.Single(slice.Metadata!.OwnerReferences!).Uid);

        await h.Client.DeleteAsync<Service>(ns, "web");

        await UntilAsync(() => h.SlicesAsync(ns, "web"), s => s.Count == 0, "the garbage collector to delete the slice");
        Assert.DoesNotContain(h.Writes.All, w => w.Verb == "delete");
    }

    // A node's zone label added after its pods run (a cloud provider labels nodes late) reaches their endpoints.
    [Fact]
    public async Task NodeZoneLabelled_EndpointsGetTheZone()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: true);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "web", s_web));
        await h.RunPodAsync(NewPod(ns, "web-1", s_web, node), "127.244.0.1");
        var before = await h.OneSliceWithAsync(ns, "web", "web-1");
        Assert.Null(before.Endpoints!.Single().Zone);

        await h.Client.PatchAsync<Node>(null, node, PatchType.Merge, "{\"metadata\":{\"labels\":{\"" + ZoneLabel + "\":\"zone-a\"}}}");

        var after = await UntilAsync(() => h.SlicesAsync(ns, "web"), s => s.Count == 1 && s[0].Endpoints?.SingleOrDefault()?.Zone == "zone-a",
            "the endpoint in zone-a");
        Assert.Equal(before.Metadata!.Uid, after[0].Metadata!.Uid);
    }

    private static (bool?, bool?, bool?) Conditions(EndpointSlice slice)
    {
        var c = slice.Endpoints!.Single().Conditions!;
        return (c.Ready, c.Serving, c.Terminating);
    }

    private static async Task DeletePodAsync(ControllerHarness h, string ns, string name)
    {
        var pod = await h.Client.GetAsync<Pod>(ns, name);
        await h.Client.DeleteAsync<Pod>(ns, name, new DeleteOptions { GracePeriodSeconds = 0 });
        await h.GoneAsync(pod);
    }
}
