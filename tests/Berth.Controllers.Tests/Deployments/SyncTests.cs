using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Deployments;
using static Berth.Controllers.Tests.Deployments.DeploymentFixtures;

namespace Berth.Controllers.Tests.Deployments;

/// <summary>Upstream pkg/controller/deployment/sync_test.go, and getNewReplicaSet's creation path.</summary>
public sealed class SyncTests
{
    private static readonly DateTimeOffset s_new = new(2016, 5, 20, 2, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_old = new(2016, 5, 20, 1, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_older = new(2016, 5, 20, 0, 0, 0, TimeSpan.Zero);

    public sealed record ScaleCase(string Name, Deployment Deployment, Deployment OldDeployment, ReplicaSet? NewRS, ReplicaSet[] OldRSs,
        int? ExpectedNew, int[] ExpectedOld, string[]? WasntUpdated = null, Dictionary<string, int>? DesiredReplicasAnnotations = null)
    {
        public override string ToString() => Name;
    }

    private static Deployment UpdatedTemplate(int replicas)
    {
        var d = NewDeployment("foo", replicas, selector: new() { ["foo"] = "bar" });
        d.Spec!.Template!.Metadata!.Labels!["another"] = "label";
        return d;
    }

    private static ReplicaSet Unavailable(ReplicaSet rs)
    {
        rs.Status!.AvailableReplicas = 0;
        return rs;
    }

    public static TheoryData<ScaleCase> ScaleCases => new()
    {
        new("normal scaling event: 10 -> 12", NewDeployment("foo", 12), NewDeployment("foo", 10), Rs("foo-v1", 10, null, s_new), [], 12, []),
        new("normal scaling event: 10 -> 5", NewDeployment("foo", 5), NewDeployment("foo", 10), Rs("foo-v1", 10, null, s_new), [], 5, []),
        new("proportional scaling: 5 -> 10", NewDeployment("foo", 10), NewDeployment("foo", 5), Rs("foo-v2", 2, null, s_new), [Rs("foo-v1", 3, null, s_old)], 4, [6]),
        new("proportional scaling: 5 -> 3", NewDeployment("foo", 3), NewDeployment("foo", 5), Rs("foo-v2", 2, null, s_new), [Rs("foo-v1", 3, null, s_old)], 1, [2]),
        new("proportional scaling: 9 -> 4", NewDeployment("foo", 4), NewDeployment("foo", 9), Rs("foo-v2", 8, null, s_new), [Rs("foo-v1", 1, null, s_old)], 4, [0]),
        new("proportional scaling: 7 -> 10", NewDeployment("foo", 10), NewDeployment("foo", 7), Rs("foo-v3", 2, null, s_new), [Rs("foo-v2", 3, null, s_old), Rs("foo-v1", 2, null, s_older)], 3, [4, 3]),
        new("proportional scaling: 13 -> 8", NewDeployment("foo", 8), NewDeployment("foo", 13), Rs("foo-v3", 2, null, s_new), [Rs("foo-v2", 8, null, s_old), Rs("foo-v1", 3, null, s_older)], 1, [5, 2]),
        // Scales up the new replica set.
        new("leftover distribution: 3 -> 4", NewDeployment("foo", 4), NewDeployment("foo", 3), Rs("foo-v3", 1, null, s_new), [Rs("foo-v2", 1, null, s_old), Rs("foo-v1", 1, null, s_older)], 2, [1, 1]),
        // Scales down the older replica set.
        new("leftover distribution: 3 -> 2", NewDeployment("foo", 2), NewDeployment("foo", 3), Rs("foo-v3", 1, null, s_new), [Rs("foo-v2", 1, null, s_old), Rs("foo-v1", 1, null, s_older)], 1, [1, 0]),
        // Scales up the latest replica set first.
        new("proportional scaling (no new rs): 4 -> 5", NewDeployment("foo", 5), NewDeployment("foo", 4), null, [Rs("foo-v2", 2, null, s_old), Rs("foo-v1", 2, null, s_older)], null, [3, 2]),
        // Scales down to zero.
        new("proportional scaling: 6 -> 0", NewDeployment("foo", 0), NewDeployment("foo", 6), Rs("foo-v3", 3, null, s_new), [Rs("foo-v2", 2, null, s_old), Rs("foo-v1", 1, null, s_older)], 0, [0, 0]),
        // Scales up from zero.
        new("proportional scaling: 0 -> 6", NewDeployment("foo", 6), NewDeployment("foo", 6), Rs("foo-v3", 0, null, s_new), [Rs("foo-v2", 0, null, s_old), Rs("foo-v1", 0, null, s_older)], 6, [0, 0], ["foo-v2", "foo-v1"]),
        // foo-v2 failed to take the last scale (its desired-replicas annotation says 3 while the others say 5).
        new("failed rs update", NewDeployment("foo", 5), NewDeployment("foo", 5), Rs("foo-v3", 2, null, s_new), [Rs("foo-v2", 1, null, s_old), Rs("foo-v1", 1, null, s_older)], 2, [2, 1], ["foo-v3", "foo-v1"], new() { ["foo-v2"] = 3 }),
        new("deployment with surge pods", NewDeployment("foo", 20, null, 2), NewDeployment("foo", 10, null, 2), Rs("foo-v2", 6, null, s_new), [Rs("foo-v1", 6, null, s_old)], 11, [11]),
        new("change both surge and size", NewDeployment("foo", 50, null, 6), NewDeployment("foo", 10, null, 3), Rs("foo-v2", 5, null, s_new), [Rs("foo-v1", 8, null, s_old)], 22, [34]),
        new("change both size and template", UpdatedTemplate(14), NewDeployment("foo", 10, selector: new() { ["foo"] = "bar" }), null, [Rs("foo-v2", 7, null, s_new), Rs("foo-v1", 3, null, s_old)], null, [10, 4]),
        new("saturated but broken new replica set does not affect old pods", NewDeployment("foo", 2, null, 1, 1), NewDeployment("foo", 2, null, 1, 1), Unavailable(Rs("foo-v2", 2, null, s_new)), [Rs("foo-v1", 1, null, s_old)], 2, [1]),
    };

    [Theory]
    [MemberData(nameof(ScaleCases))]
    public async Task Scale_ProportionalAsUpstream(ScaleCase test)
    {
        foreach (var rs in test.OldRSs.Prepend(test.NewRS).OfType<ReplicaSet>())
        {
            var desired = test.DesiredReplicasAnnotations?.GetValueOrDefault(rs.Metadata!.Name!) ?? test.OldDeployment.Spec!.Replicas!.Value;
            DeploymentUtil.SetReplicasAnnotations(rs, desired, desired + DeploymentUtil.MaxSurge(test.OldDeployment));
        }
        var control = new FakeDeploymentControl();

        await new DeploymentSync(control, TimeProvider.System).ScaleAsync(test.Deployment, test.NewRS, [.. test.OldRSs], CancellationToken.None);

        var nameToSize = test.OldRSs.Prepend(test.NewRS).OfType<ReplicaSet>().ToDictionary(rs => rs.Metadata!.Name!, rs => rs.Spec!.Replicas!.Value);
        foreach (var rs in control.Updates.Where(rs => test.WasntUpdated?.Contains(rs.Metadata!.Name) != true))
        {
            nameToSize[rs.Metadata!.Name!] = rs.Spec!.Replicas!.Value;
        }
        if (test.ExpectedNew is { } expectedNew)
        {
            Assert.Equal(expectedNew, nameToSize[test.NewRS!.Metadata!.Name!]);
        }
        Assert.Equal(test.ExpectedOld, test.OldRSs.Select(rs => nameToSize[rs.Metadata!.Name!]));
    }

    [Fact]
    public async Task Scale_ProportionalEvents_FromTo()
    {
        var d = NewDeployment("foo", 10);
        var oldD = NewDeployment("foo", 5);
        var newRS = Rs("foo-v2", 2, null, s_new);
        var oldRS = Rs("foo-v1", 3, null, s_old);
        DeploymentUtil.SetReplicasAnnotations(newRS, 5, 5 + DeploymentUtil.MaxSurge(oldD));
        DeploymentUtil.SetReplicasAnnotations(oldRS, 5, 5 + DeploymentUtil.MaxSurge(oldD));
        var control = new FakeDeploymentControl();

        await new DeploymentSync(control, TimeProvider.System).ScaleAsync(d, newRS, [oldRS], CancellationToken.None);

        Assert.Equal(
            ["Normal ScalingReplicaSet Scaled up replica set foo-v1 to 6 from 3", "Normal ScalingReplicaSet Scaled up replica set foo-v2 to 4 from 2"],
            control.Events);
    }

    [Theory]
    [InlineData(new[] { 0, 0, 0 }, new[] { 0, 0, 0 }, 1, 2)]
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 0, 1, 0, 1 }, 0, 1)] // Only delete the replica set with Spec.Replicas = Status.Replicas = 0.
    [InlineData(new[] { 0, 0 }, new[] { 0, 0 }, 0, 2)]
    [InlineData(new[] { 1, 1 }, new[] { 1, 1 }, 0, 0)]
    [InlineData(new[] { 0, 0, 0 }, new[] { 0, 0, 0 }, int.MaxValue, 0)] // with unlimited revisionHistoryLimit
    public async Task CleanupDeployment_UpstreamCases(int[] specReplicas, int[] statusReplicas, int revisionHistoryLimit, int expectedDeletions)
    {
        var selector = new Dictionary<string, string> { ["foo"] = "bar" };
        var oldRSs = specReplicas.Select((spec, i) => NewRSWithStatus($"foo-{i + 1}", spec, statusReplicas[i], selector)).ToList();
        var d = NewDeployment("foo", 1, revisionHistoryLimit, selector: selector);
        var control = new FakeDeploymentControl();

        await new DeploymentSync(control, TimeProvider.System).CleanupDeploymentAsync(oldRSs, d, CancellationToken.None);

        Assert.Equal(expectedDeletions, control.Deletes.Count());
    }

    [Fact]
    public async Task CleanupDeployment_AlreadyDeleted_NotDeletedAgain()
    {
        var alreadyDeleted = NewRSWithStatus("foo-1", 0, 0, new() { ["foo"] = "bar" });
        alreadyDeleted.Metadata!.DeletionTimestamp = DateTimeOffset.UtcNow;
        var control = new FakeDeploymentControl();

        await new DeploymentSync(control, TimeProvider.System).CleanupDeploymentAsync([alreadyDeleted], NewDeployment("foo", 1, 0), CancellationToken.None);

        Assert.Empty(control.Deletes);
    }

    [Theory]
    [InlineData(new[] { 0, 0 }, new[] { "1", "2" }, 1, new[] { "foo-1" })] // revision order: rs1 < rs2, delete rs1
    [InlineData(new[] { 0, 0 }, new[] { "2", "1" }, 1, new[] { "foo-2" })] // revision order: rs2 < rs1, delete rs2
    [InlineData(new[] { 0, 0 }, new[] { "1", "" }, 1, new[] { "foo-2" })] // rs1 has revision but rs2 doesn't have revision, delete rs2
    [InlineData(new[] { 0, 0 }, new[] { "", "2" }, 1, new[] { "foo-1" })] // rs1 doesn't have revision while rs2 has revision, delete rs1
    [InlineData(new[] { 1, 0, 0 }, new[] { "1", "2", "3" }, 1, new[] { "foo-2" })] // rs1 has replicas, delete rs2
    [InlineData(new[] { 1, 1, 0 }, new[] { "1", "2", "3" }, 1, new string[0])] // both rs1 && rs2 have replicas, don't delete
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { "3", "1", "4", "2" }, 2, new[] { "foo-2", "foo-4" })] // rs2 < rs4 < rs1 < rs3, delete rs2 && rs4
    public async Task CleanupDeployment_OldestRevisionsFirst(int[] replicas, string[] revisions, int revisionHistoryLimit, string[] expectedDeleted)
    {
        var now = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var selector = new Dictionary<string, string> { ["foo"] = "bar" };
        var oldRSs = replicas.Select((n, i) =>
        {
            // creationTimestamp order: rs1 < rs2 < rs3 < rs4
            var rs = Rs($"foo-{i + 1}", n, selector, now.AddMinutes(i - 1));
            rs.Metadata!.Annotations = revisions[i].Length == 0 ? null : new() { [DeploymentUtil.RevisionAnnotation] = revisions[i] };
            rs.Status = new ReplicaSetStatus { Replicas = n };
            return rs;
        }).ToList();
        var control = new FakeDeploymentControl();

        await new DeploymentSync(control, TimeProvider.System).CleanupDeploymentAsync(oldRSs, NewDeployment("foo", 1, revisionHistoryLimit, selector: selector), CancellationToken.None);

        Assert.Equal(expectedDeleted.Order(), control.Deletes.Order());
    }

    [Fact]
    public async Task RolloutRolling_NoNewReplicaSet_CreatesItNamedByHashWithRevisionAndCondition()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2024, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var selector = new Dictionary<string, string> { ["app"] = "web" };
        var d = NewDeployment("web", 3, 10, "25%", "25%", selector);
        d.Spec!.ProgressDeadlineSeconds = 600;
        d.Metadata!.Annotations!["kubernetes.io/change-cause"] = "first";
        var control = new FakeDeploymentControl();

        await new DeploymentSync(control, time).RolloutRollingAsync(d, [], CancellationToken.None);

        var hash = PodTemplateHash.Compute(d.Spec.Template!, null);
        var created = (ReplicaSet)Assert.Single(control.Actions, a => a.Verb == "create").Object;
        Assert.Equal("web-" + hash, created.Metadata!.Name);
        Assert.Equal(new Dictionary<string, string> { ["app"] = "web", [DeploymentUtil.UniqueLabelKey] = hash }, created.Metadata.Labels);
        Assert.Equal(created.Metadata.Labels, created.Spec!.Selector!.MatchLabels);
        Assert.Equal(created.Metadata.Labels, created.Spec.Template!.Metadata!.Labels);
        Assert.Null(d.Spec.Template!.Metadata!.Labels!.GetValueOrDefault(DeploymentUtil.UniqueLabelKey));
        var owner = Assert.Single(created.Metadata.OwnerReferences!);
        Assert.Equal(("apps/v1", "Deployment", "web", d.Metadata.Uid, true, true), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        // 3 replicas + 1 surge (25% rounded up), all of it for the new ReplicaSet.
        Assert.Equal(3, created.Spec.Replicas);
        Assert.Equal(new Dictionary<string, string>
        {
            ["kubernetes.io/change-cause"] = "first",
            [DeploymentUtil.RevisionAnnotation] = "1",
            [DeploymentUtil.DesiredReplicasAnnotation] = "3",
            [DeploymentUtil.MaxReplicasAnnotation] = "4",
        }, created.Metadata.Annotations);
        Assert.Equal($"Normal ScalingReplicaSet Scaled up replica set web-{hash} from 0 to 3", Assert.Single(control.Events));

        var status = (Deployment)control.Actions.First(a => a.Verb == "status").Object;
        Assert.Equal("1", status.Metadata!.Annotations![DeploymentUtil.RevisionAnnotation]);
        var progressing = DeploymentUtil.GetCondition(status.Status, "Progressing")!;
        Assert.Equal(("True", "NewReplicaSetCreated", $"Created new replica set \"web-{hash}\""), (progressing.Status, progressing.Reason, progressing.Message));
        Assert.Equal(time.GetUtcNow(), progressing.LastUpdateTime);
    }

    [Fact]
    public async Task RolloutRolling_HashTakenByAnotherTemplate_BumpsCollisionCountAndFails()
    {
        var selector = new Dictionary<string, string> { ["app"] = "web" };
        var d = NewDeployment("web", 3, 10, "25%", "25%", selector);
        var hash = PodTemplateHash.Compute(d.Spec!.Template!, null);
        var squatter = Rs("web-" + hash, 1, selector);
        squatter.Spec!.Template = new PodTemplateSpec { Spec = new PodSpec { Containers = [new Container { Image = "other" }] } };
        var control = new FakeDeploymentControl { CreateError = new KubeApiException(409, new Status { Reason = "AlreadyExists", Message = "exists" }) };
        control.Cache[squatter.Metadata!.Name!] = squatter;

        await Assert.ThrowsAsync<KubeApiException>(() => new DeploymentSync(control, TimeProvider.System).RolloutRollingAsync(d, [], CancellationToken.None));

        var status = (Deployment)Assert.Single(control.Actions, a => a.Verb == "status").Object;
        Assert.Equal(1, status.Status!.CollisionCount);
        Assert.NotEqual(hash, PodTemplateHash.Compute(d.Spec.Template!, status.Status.CollisionCount));
        Assert.Empty(control.Events);
    }

    [Fact]
    public async Task RolloutRolling_CreateFails_FailedCreateConditionAndWarningEvent()
    {
        var d = NewDeployment("web", 3, 10, "25%", "25%", new() { ["app"] = "web" });
        d.Spec!.ProgressDeadlineSeconds = 600;
        var control = new FakeDeploymentControl { CreateError = new KubeApiException(403, new Status { Reason = "Forbidden", Message = "exceeded quota: q" }) };
        var name = "web-" + PodTemplateHash.Compute(d.Spec.Template!, null);

        await Assert.ThrowsAsync<KubeApiException>(() => new DeploymentSync(control, TimeProvider.System).RolloutRollingAsync(d, [], CancellationToken.None));

        var expected = $"Failed to create new replica set \"{name}\": exceeded quota: q";
        Assert.Equal($"Warning ReplicaSetCreateError {expected}", Assert.Single(control.Events));
        var status = (Deployment)Assert.Single(control.Actions, a => a.Verb == "status").Object;
        var progressing = DeploymentUtil.GetCondition(status.Status, "Progressing")!;
        Assert.Equal(("False", "ReplicaSetCreateError", expected), (progressing.Status, progressing.Reason, progressing.Message));
    }

    [Fact]
    public void CalculateStatus_CountsAndAvailableCondition()
    {
        var now = new DateTimeOffset(2024, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var d = NewDeployment("web", 4, null, 1, 1);
        d.Metadata!.Generation = 3;
        var newRS = Rs("web-new", 2);
        newRS.Status = new ReplicaSetStatus { Replicas = 2, ReadyReplicas = 1, AvailableReplicas = 1 };
        var oldRS = Rs("web-old", 3);
        oldRS.Status = new ReplicaSetStatus { Replicas = 3, ReadyReplicas = 3, AvailableReplicas = 3 };

        var status = DeploymentSync.CalculateStatus([oldRS, newRS], newRS, d, now);

        Assert.Equal((3L, 5, 2, 4, 4, 1), (status.ObservedGeneration, status.Replicas, status.UpdatedReplicas, status.ReadyReplicas, status.AvailableReplicas, status.UnavailableReplicas));
        var available = Assert.Single(status.Conditions!);
        Assert.Equal(("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."), (available.Type, available.Status, available.Reason, available.Message));

        oldRS.Status.AvailableReplicas = 1;
        var unavailable = Assert.Single(DeploymentSync.CalculateStatus([oldRS, newRS], newRS, d, now).Conditions!);
        Assert.Equal(("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."), (unavailable.Status, unavailable.Reason, unavailable.Message));
    }
}
