using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Deployments;
using Berth.Controllers.Framework;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Controllers.Tests.Deployments;

/// <summary>The Deployment and ReplicaSet controllers together against the real API server, pods made Ready by the test.</summary>
public sealed class DeploymentControllerTests(DeploymentApiFixture api) : IClassFixture<DeploymentApiFixture>
{
    [Fact]
    public async Task NewDeployment_CreatesHashNamedReplicaSetRevision1_AndReportsTheRolloutComplete()
    {
        var ns = await api.NamespaceAsync();
        await using var cluster = await DeploymentCluster.StartAsync(api.Client);
        var created = await api.Client.CreateAsync(DeploymentCluster.NewDeployment(ns, "web", 3));

        var d = await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the rollout to complete",
            () => cluster.MarkPodsReadyAsync(ns));

        // The hash of the template as the API stores it (defaulted), as the controller read it.
        var hash = PodTemplateHash.Compute(created.Spec!.Template!, null);
        var rs = Assert.Single(await cluster.ReplicaSetsAsync(ns));
        Assert.Equal("web-" + hash, rs.Metadata!.Name);
        Assert.Equal(new Dictionary<string, string> { ["app"] = "web", ["pod-template-hash"] = hash }, rs.Metadata.Labels);
        Assert.Equal(rs.Metadata.Labels, rs.Spec!.Selector!.MatchLabels);
        Assert.Equal(rs.Metadata.Labels, rs.Spec.Template!.Metadata!.Labels);
        Assert.Equal(3, rs.Spec.Replicas);
        Assert.Equal("1", rs.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
        // 25% surge of 3 rounds up to 1.
        Assert.Equal(("3", "4"), (rs.Metadata.Annotations[DeploymentUtil.DesiredReplicasAnnotation], rs.Metadata.Annotations[DeploymentUtil.MaxReplicasAnnotation]));
        var owner = Assert.Single(rs.Metadata.OwnerReferences!);
        Assert.Equal(("apps/v1", "Deployment", "web", created.Metadata!.Uid, true, true),
            (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        Assert.All(await cluster.LivePodsAsync(ns), p => Assert.Equal(hash, p.Metadata!.Labels!["pod-template-hash"]));

        Assert.Equal("3/3/3/3/", $"{d.Status!.Replicas}/{d.Status.UpdatedReplicas}/{d.Status.ReadyReplicas}/{d.Status.AvailableReplicas}/{d.Status.UnavailableReplicas}");
        var progressing = DeploymentUtil.GetCondition(d.Status, "Progressing")!;
        Assert.Equal(("True", $"ReplicaSet \"web-{hash}\" has successfully progressed."), (progressing.Status, progressing.Message));
        var available = DeploymentUtil.GetCondition(d.Status, "Available")!;
        Assert.Equal(("True", "MinimumReplicasAvailable", "Deployment has minimum availability."), (available.Status, available.Reason, available.Message));
        var scaled = Assert.Single(await cluster.EventsAsync(ns));
        Assert.Equal(("Normal", "ScalingReplicaSet", $"Scaled up replica set web-{hash} from 0 to 3"), (scaled.Type, scaled.Reason, scaled.Message));
        Assert.Equal(("Deployment", "web"), (scaled.InvolvedObject!.Kind, scaled.InvolvedObject.Name));
    }

    [Fact]
    public async Task TemplateChange_RollsToRevision2WithinMaxSurgeAndMaxUnavailable_OldReplicaSetEndsAtZero()
    {
        var ns = await api.NamespaceAsync();
        await using var cluster = await DeploymentCluster.StartAsync(api.Client);
        var spec = DeploymentCluster.NewDeployment(ns, "web", 3);
        spec.Metadata!.Annotations = new() { ["kubernetes.io/change-cause"] = "v1" };
        spec.Spec!.Strategy = new DeploymentStrategy
        {
            Type = "RollingUpdate",
            RollingUpdate = new RollingUpdateDeployment { MaxSurge = 1, MaxUnavailable = 0 },
        };
        await api.Client.CreateAsync(spec);
        await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the first rollout", () => cluster.MarkPodsReadyAsync(ns));
        var oldRS = Assert.Single(await cluster.ReplicaSetsAsync(ns));

        await api.Client.PatchAsync<Deployment>(ns, "web", PatchType.Merge,
            """{"metadata":{"annotations":{"kubernetes.io/change-cause":"v2"}},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}}}""");

        var observedSteps = new HashSet<string>(StringComparer.Ordinal);
        async Task CheckInvariantsThenActAsKubelet()
        {
            var replicaSets = await cluster.ReplicaSetsAsync(ns);
            var desired = replicaSets.Sum(rs => rs.Spec!.Replicas ?? 0);
            Assert.True(desired <= 3 + 1, $"ReplicaSets want {desired} pods, more than replicas + maxSurge");
            var ready = (await cluster.LivePodsAsync(ns)).Count(ActivePods.IsPodReady);
            Assert.True(ready >= 3 - 0, $"only {ready} pods ready, fewer than replicas - maxUnavailable");
            observedSteps.Add(string.Join('/', replicaSets.Select(rs => rs.Spec!.Replicas)));
            await cluster.MarkPodsReadyAsync(ns);
        }
        var d = await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the second rollout", CheckInvariantsThenActAsKubelet);
        var replicaSets = await cluster.UntilAsync(() => cluster.ReplicaSetsAsync(ns),
            l => l.Count == 2 && l.Single(rs => rs.Metadata!.Uid == oldRS.Metadata!.Uid).Status?.Replicas is null or 0, "the old ReplicaSet's pods to be gone");

        Assert.True(observedSteps.Count > 1, "no intermediate step was observed");
        var old = Assert.Single(replicaSets, rs => rs.Metadata!.Uid == oldRS.Metadata!.Uid);
        Assert.Equal(0, old.Spec!.Replicas);
        var newRS = Assert.Single(replicaSets, rs => rs != old);
        Assert.Equal(3, newRS.Spec!.Replicas);
        Assert.Equal("2", newRS.Metadata!.Annotations![DeploymentUtil.RevisionAnnotation]);
        Assert.Equal("v2", newRS.Metadata.Annotations["kubernetes.io/change-cause"]);
        Assert.Equal("1", old.Metadata!.Annotations![DeploymentUtil.RevisionAnnotation]);
        Assert.Equal("v1", old.Metadata.Annotations["kubernetes.io/change-cause"]);
        Assert.True(d.Status!.ObservedGeneration >= d.Metadata!.Generation);
        Assert.Equal("3/3/3", $"{d.Status.UpdatedReplicas}/{d.Status.Replicas}/{d.Status.AvailableReplicas}");
        Assert.Equal($"ReplicaSet \"{newRS.Metadata.Name}\" has successfully progressed.", DeploymentUtil.GetCondition(d.Status, "Progressing")!.Message);

        // Surge first (maxUnavailable 0): the new ReplicaSet grows before the old one shrinks, a pod at a time.
        var events = (await cluster.EventsAsync(ns)).Select(e => e.Message).ToList();
        Assert.Equal($"Scaled up replica set {newRS.Metadata.Name} from 0 to 1", events[1]);
        Assert.Contains($"Scaled down replica set {oldRS.Metadata!.Name} to 2 from 3", events);
        Assert.Equal($"Scaled down replica set {oldRS.Metadata.Name} to 0 from 1", events[^1]);
    }

    [Fact]
    public async Task RevisionHistoryLimit1_OlderReplicaSetsDeleted()
    {
        var ns = await api.NamespaceAsync();
        await using var cluster = await DeploymentCluster.StartAsync(api.Client);
        var spec = DeploymentCluster.NewDeployment(ns, "web", 1);
        spec.Spec!.RevisionHistoryLimit = 1;
        await api.Client.CreateAsync(spec);
        await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the first rollout", () => cluster.MarkPodsReadyAsync(ns));

        foreach (var image in new[] { "busybox:2", "busybox:3" })
        {
            await api.Client.PatchAsync<Deployment>(ns, "web", PatchType.Merge,
                ImagePatch(image));
            await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, $"the rollout of {image}", () => cluster.MarkPodsReadyAsync(ns));
        }

        var replicaSets = await cluster.UntilAsync(() => cluster.ReplicaSetsAsync(ns), l => l.Count == 2, "revision 1 to be deleted");
        Assert.Equal(["2", "3"], replicaSets.Select(rs => rs.Metadata!.Annotations![DeploymentUtil.RevisionAnnotation]).Order());
        Assert.Equal(["busybox:2", "busybox:3"], replicaSets.Select(rs => rs.Spec!.Template!.Spec!.Containers![0].Image).Order());
    }

    [Fact]
    public async Task Paused_TemplateChangeWaits_ThenRollsOutOnResume()
    {
        var ns = await api.NamespaceAsync();
        await using var cluster = await DeploymentCluster.StartAsync(api.Client);
        await api.Client.CreateAsync(DeploymentCluster.NewDeployment(ns, "web", 2));
        await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the first rollout", () => cluster.MarkPodsReadyAsync(ns));

        await api.Client.PatchAsync<Deployment>(ns, "web", PatchType.Merge, """{"spec":{"paused":true}}""");
        var changed = await api.Client.PatchAsync<Deployment>(ns, "web", PatchType.Merge,
            ImagePatch("busybox:2"));
        var paused = await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"),
            d => d.Status?.ObservedGeneration >= changed.Metadata!.Generation && DeploymentUtil.GetCondition(d.Status, "Progressing")?.Reason == "DeploymentPaused",
            "the paused Deployment to be observed");

        var progressing = DeploymentUtil.GetCondition(paused.Status, "Progressing")!;
        Assert.Equal(("Unknown", "Deployment is paused"), (progressing.Status, progressing.Message));
        await Task.Delay(500);
        Assert.Single(await cluster.ReplicaSetsAsync(ns));

        await api.Client.PatchAsync<Deployment>(ns, "web", PatchType.Merge, """{"spec":{"paused":null}}""");
        var d = await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the rollout after resuming",
            () => cluster.MarkPodsReadyAsync(ns));
        Assert.Equal(2, (await cluster.ReplicaSetsAsync(ns)).Count);
        Assert.Equal("busybox:2", d.Spec!.Template!.Spec!.Containers![0].Image);
    }

    [Fact]
    public async Task Recreate_OldScaledToZeroAndGoneBeforeNewReplicaSetRuns()
    {
        var ns = await api.NamespaceAsync();
        await using var cluster = await DeploymentCluster.StartAsync(api.Client);
        var spec = DeploymentCluster.NewDeployment(ns, "web", 3);
        spec.Spec!.Strategy = new DeploymentStrategy { Type = "Recreate" };
        await api.Client.CreateAsync(spec);
        await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the first rollout", () => cluster.MarkPodsReadyAsync(ns));
        var oldRS = Assert.Single(await cluster.ReplicaSetsAsync(ns));

        await api.Client.PatchAsync<Deployment>(ns, "web", PatchType.Merge,
            ImagePatch("busybox:2"));

        async Task CheckNoOverlapThenActAsKubelet()
        {
            var pods = await cluster.LivePodsAsync(ns);
            var hashes = pods.Select(p => p.Metadata!.Labels!["pod-template-hash"]).Distinct().ToList();
            Assert.True(hashes.Count <= 1, $"old and new pods at once: {string.Join(", ", pods.Select(p => p.Metadata!.Name))}");
            await cluster.MarkPodsReadyAsync(ns);
        }
        await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"), DeploymentCluster.RolloutComplete, "the recreate rollout", CheckNoOverlapThenActAsKubelet);

        var newRS = Assert.Single(await cluster.ReplicaSetsAsync(ns), rs => rs.Metadata!.Uid != oldRS.Metadata!.Uid);
        var events = (await cluster.EventsAsync(ns)).Select(e => e.Message).ToList();
        Assert.Equal(
            [$"Scaled up replica set {oldRS.Metadata!.Name} from 0 to 3", $"Scaled down replica set {oldRS.Metadata.Name} to 0 from 3", $"Scaled up replica set {newRS.Metadata!.Name} from 0 to 3"],
            events);
    }

    [Fact]
    public async Task ProgressDeadlineExceeded_WhenPodsNeverBecomeReady()
    {
        var ns = await api.NamespaceAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await DeploymentCluster.StartAsync(api.Client, time);
        var spec = DeploymentCluster.NewDeployment(ns, "web", 1);
        spec.Spec!.ProgressDeadlineSeconds = 10;
        await api.Client.CreateAsync(spec);
        var rs = await cluster.UntilAsync(() => cluster.ReplicaSetsAsync(ns), l => l.Count == 1, "the ReplicaSet");

        // The deployment controller's clock runs a second per round; its deadline requeue fires on that clock.
        var d = await cluster.UntilAsync(() => cluster.GetAsync(ns, "web"),
            d => DeploymentUtil.GetCondition(d.Status, "Progressing")?.Reason == "ProgressDeadlineExceeded", "the progress deadline",
            () =>
            {
                time.Advance(TimeSpan.FromSeconds(1));
                return Task.CompletedTask;
            });

        var progressing = DeploymentUtil.GetCondition(d.Status, "Progressing")!;
        Assert.Equal(("False", $"ReplicaSet \"{rs[0].Metadata!.Name}\" has timed out progressing."), (progressing.Status, progressing.Message));
        Assert.Equal(("False", "MinimumReplicasUnavailable"), (DeploymentUtil.GetCondition(d.Status, "Available")!.Status, DeploymentUtil.GetCondition(d.Status, "Available")!.Reason));
    }

    private static string ImagePatch(string image) =>
        """{"spec":{"template":{"spec":{"containers":[{"name":"c","image":""" + "\"" + image + "\"" + "}]}}}}";
}
