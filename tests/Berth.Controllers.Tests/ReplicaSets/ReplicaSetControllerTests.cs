using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using Microsoft.Extensions.Time.Testing;
using static Berth.Controllers.Tests.ReplicaSets.ReplicaSetHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.ReplicaSets;

// The controller running against the real API server, no node agent: the tests play the node agent by writing pod
// status (and the scheduler by binding pods).
public sealed class ReplicaSetControllerTests(ReplicaSetApiFixture fixture) : IClassFixture<ReplicaSetApiFixture>
{
    private static readonly Dictionary<string, string> s_labels = new() { ["app"] = "web" };

    [Fact]
    public async Task Create_ThreeReplicas_ThreeOwnedPodsEventsAndStatus()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);

        var rs = await harness.Client.CreateAsync(NewReplicaSet(ns, "web", 3, s_labels));

        var pods = await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 3, "3 pods");
        foreach (var pod in pods)
        {
            Assert.StartsWith("web-", pod.Metadata!.Name, StringComparison.Ordinal);
            Assert.Equal("web-", pod.Metadata.GenerateName);
            Assert.Equal(s_labels, pod.Metadata.Labels);
            var owner = Assert.Single(pod.Metadata.OwnerReferences!);
            Assert.Equal(("apps/v1", "ReplicaSet", "web", rs.Metadata!.Uid, true, true),
                (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        }
        var status = (await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.Replicas == 3, "status.replicas 3")).Status!;
        Assert.Equal((3, 0, 0, rs.Metadata!.Generation), (status.FullyLabeledReplicas, status.ReadyReplicas ?? 0, status.AvailableReplicas ?? 0, status.ObservedGeneration));
        Assert.Null(status.Conditions);
        var created = await UntilAsync(() => harness.EventsAsync(ns, "SuccessfulCreate"), e => e.Count == 3, "3 SuccessfulCreate events");
        Assert.Equal(pods.Select(p => $"Created pod: {p.Metadata!.Name}").Order(), created.Select(e => e.Message).Order());
        Assert.All(created, e => Assert.Equal(("Normal", "replicaset-controller", "ReplicaSet", "web"),
            (e.Type, e.Source!.Component, e.InvolvedObject!.Kind, e.InvolvedObject.Name)));
    }

    [Fact]
    public async Task PodDeleted_IsReplaced()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await harness.Client.CreateAsync(NewReplicaSet(ns, "web", 3, s_labels));
        var pods = await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 3, "3 pods");
        var victim = pods[0].Metadata!.Name!;

        await harness.Client.DeleteAsync<Pod>(ns, victim, new DeleteOptions { GracePeriodSeconds = 0 });

        var replaced = await UntilAsync(() => harness.LivePodsAsync(ns),
            p => p.Count == 3 && p.All(x => x.Metadata!.Name != victim), "a replacement pod");
        Assert.Equal(2, replaced.Count(p => pods.Any(o => o.Metadata!.Name == p.Metadata!.Name)));
    }

    [Fact]
    public async Task ScaleDown_DeletesUnassignedThenNotReady_KeepsReadyPod()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await CreateNodeAsync(harness.Client, "rs-node-" + ns);
        await harness.Client.CreateAsync(NewReplicaSet(ns, "web", 3, s_labels));
        var pods = await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 3, "3 pods");
        var (ready, notReady, unassigned) = (pods[0].Metadata!.Name!, pods[1].Metadata!.Name!, pods[2].Metadata!.Name!);
        await BindAsync(harness.Client, ns, ready, "rs-node-" + ns);
        await BindAsync(harness.Client, ns, notReady, "rs-node-" + ns);
        await harness.SetRunningAsync(ns, ready, ready: true, DateTimeOffset.UtcNow);
        await harness.SetRunningAsync(ns, notReady, ready: false, DateTimeOffset.UtcNow);
        await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.ReadyReplicas == 1, "status.readyReplicas 1");

        await harness.Client.PatchAsync<ReplicaSet>(ns, "web", PatchType.Merge, """{"spec":{"replicas":1}}""");

        // Bound pods wait for their (absent) node agent with a deletionTimestamp; either way they no longer count.
        var left = await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 1, "1 live pod");
        Assert.Equal(ready, left[0].Metadata!.Name);
        var deleted = await UntilAsync(() => harness.EventsAsync(ns, "SuccessfulDelete"), e => e.Count == 2, "2 SuccessfulDelete events");
        Assert.Equal(new[] { unassigned, notReady }.Select(n => $"Deleted pod: {n}").Order(), deleted.Select(e => e.Message).Order());
        var status = (await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.Replicas == 1, "status.replicas 1")).Status!;
        Assert.Equal((1, 1, 1), (status.FullyLabeledReplicas, status.ReadyReplicas, status.AvailableReplicas));
    }

    [Fact]
    public async Task OrphanWithMatchingLabels_IsAdoptedInsteadOfCreatingAPod()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await harness.Client.CreateAsync(NewPod(ns, "orphan", s_labels));

        var rs = await harness.Client.CreateAsync(NewReplicaSet(ns, "web", 1, s_labels));

        var adopted = await UntilAsync(() => harness.Client.GetAsync<Pod>(ns, "orphan"), p => p.Metadata!.OwnerReferences is not null, "the adoption");
        var owner = Assert.Single(adopted.Metadata!.OwnerReferences!);
        Assert.Equal(("ReplicaSet", rs.Metadata!.Uid, true, true), (owner.Kind, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.Replicas == 1, "status.replicas 1");
        Assert.Equal(["orphan"], (await harness.LivePodsAsync(ns)).Select(p => p.Metadata!.Name));
        Assert.Empty(await harness.EventsAsync(ns, "SuccessfulCreate"));
    }

    [Fact]
    public async Task PodLabelChanged_IsReleasedAndReplaced()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await harness.Client.CreateAsync(NewReplicaSet(ns, "web", 2, s_labels));
        var pods = await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 2, "2 pods");
        var leaving = pods[0].Metadata!.Name!;

        await harness.Client.PatchAsync<Pod>(ns, leaving, PatchType.Merge, """{"metadata":{"labels":{"app":"debug"}}}""");

        await UntilAsync(() => harness.Client.GetAsync<Pod>(ns, leaving), p => p.Metadata!.OwnerReferences is not { Count: > 0 }, "the release");
        var all = await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 3, "a replacement pod");
        Assert.Equal(2, all.Count(p => OwnerRefs.ControllerOf(p) is not null));
        await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.Replicas == 2, "status.replicas 2");
    }

    [Fact]
    public async Task PodsReady_StatusCountsReadyAndAvailable()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await harness.Client.CreateAsync(NewReplicaSet(ns, "web", 2, s_labels));
        var pods = await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 2, "2 pods");

        foreach (var pod in pods)
        {
            await harness.SetRunningAsync(ns, pod.Metadata!.Name!, ready: true, DateTimeOffset.UtcNow);
        }

        var status = (await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.AvailableReplicas == 2, "2 available")).Status!;
        Assert.Equal((2, 2, 2), (status.Replicas, status.FullyLabeledReplicas, status.ReadyReplicas));
    }

    [Fact]
    public async Task MinReadySeconds_ReadyPodBecomesAvailableOnlyAfterward()
    {
        var ns = await fixture.NamespaceAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var harness = await StartAsync(fixture.Client, run: true, time: clock);
        await harness.Client.CreateAsync(NewReplicaSet(ns, "web", 1, s_labels, minReadySeconds: 10));
        var pod = (await UntilAsync(() => harness.LivePodsAsync(ns), p => p.Count == 1, "1 pod"))[0];

        await harness.SetRunningAsync(ns, pod.Metadata!.Name!, ready: true, clock.GetUtcNow());

        var status = (await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.ReadyReplicas == 1, "1 ready")).Status!;
        Assert.Equal(0, status.AvailableReplicas ?? 0);

        // Nothing about the pod changes: only the requeue after minReadySeconds (a delayed add on the clock) counts it.
        clock.Advance(TimeSpan.FromSeconds(12));

        await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"), r => r.Status?.AvailableReplicas == 1, "1 available");
    }

    [Fact]
    public async Task CreateRefused_FailedCreateEventAndCondition_ClearedOnceCreatesWork()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        // The API server validates pod labels, not a ReplicaSet's template labels: every pod create is refused.
        var rs = NewReplicaSet(ns, "web", 2, s_labels, templateLabels: new() { ["app"] = "web", ["bad key"] = "x" });
        await harness.Client.CreateAsync(rs);

        var failed = await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"),
            r => r.Status?.Conditions?.Any(c => c.Type == "ReplicaFailure") == true, "the ReplicaFailure condition");
        var condition = Assert.Single(failed.Status!.Conditions!);
        Assert.Equal(("True", "FailedCreate"), (condition.Status, condition.Reason));
        Assert.Contains("metadata.labels: Invalid value: \"bad key\"", condition.Message, StringComparison.Ordinal);
        var events = await UntilAsync(() => harness.EventsAsync(ns, "FailedCreate"), e => e.Count > 0, "a FailedCreate event");
        Assert.Equal(("Warning", "Error creating: " + condition.Message), (events[0].Type, events[0].Message));

        await harness.Client.PatchAsync<ReplicaSet>(ns, "web", PatchType.Merge, """{"spec":{"template":{"metadata":{"labels":{"bad key":null}}}}}""");

        var healed = await UntilAsync(() => harness.Client.GetAsync<ReplicaSet>(ns, "web"),
            r => r.Status?.Replicas == 2 && r.Status.Conditions is null, "2 replicas and no condition");
        Assert.Equal(2, healed.Status!.FullyLabeledReplicas);
    }

    private static async Task CreateNodeAsync(KubeClient client, string name)
    {
        var node = await client.CreateAsync(new Node { Metadata = new ObjectMeta { Name = name } });
        node.Status = new NodeStatus { Conditions = [new NodeCondition { Type = "Ready", Status = "True" }] };
        await client.UpdateStatusAsync(node);
    }

    private static Task BindAsync(KubeClient client, string ns, string pod, string node) =>
        client.CreateSubresourceAsync(ns, pod, "pods", "binding", new Binding
        {
            ApiVersion = "v1",
            Kind = "Binding",
            Metadata = new ObjectMeta { Name = pod, Namespace = ns },
            Target = new ObjectReference { ApiVersion = "v1", Kind = "Node", Name = node },
        });
}
