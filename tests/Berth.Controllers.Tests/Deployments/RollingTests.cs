using Berth.Api.Models;
using Berth.Controllers.Deployments;
using static Berth.Controllers.Tests.Deployments.DeploymentFixtures;

namespace Berth.Controllers.Tests.Deployments;

/// <summary>Upstream pkg/controller/deployment/rolling_test.go.</summary>
public sealed class RollingTests
{
    private static readonly Dictionary<string, string> s_fooBar = new() { ["foo"] = "bar" };

    [Theory]
    [InlineData(10, 0, 10, 0, false, 0)] // Should not scale up.
    [InlineData(10, 2, 10, 0, true, 2)]
    [InlineData(10, 2, 5, 0, true, 7)]
    [InlineData(10, 2, 10, 2, false, 0)]
    [InlineData(10, 2, 2, 11, true, 10)] // Should scale down.
    public async Task ReconcileNewReplicaSet_UpstreamCases(int deploymentReplicas, int maxSurge, int oldReplicas, int newReplicas, bool scaleExpected, int expectedNewReplicas)
    {
        var newRS = Rs("foo-v2", newReplicas);
        var oldRS = Rs("foo-v2", oldReplicas);
        var d = NewDeployment("foo", deploymentReplicas, null, maxSurge, 0, s_fooBar);
        var control = new FakeDeploymentControl();

        var scaled = await new DeploymentSync(control, TimeProvider.System).ReconcileNewReplicaSetAsync([newRS, oldRS], newRS, d, CancellationToken.None);

        Assert.Equal(scaleExpected, scaled);
        if (!scaleExpected)
        {
            Assert.Empty(control.Actions);
            return;
        }
        var (verb, obj) = Assert.Single(control.Actions);
        Assert.Equal("update", verb);
        Assert.Equal(expectedNewReplicas, ((ReplicaSet)obj).Spec!.Replicas);
    }

    [Theory]
    [InlineData(10, 0, 10, 0, 10, 0, true, 9)]
    [InlineData(10, 2, 10, 0, 10, 0, true, 8)]
    [InlineData(10, 2, 10, 0, 8, 0, true, 8)] // expect unhealthy replicas from old replica sets been cleaned up
    [InlineData(10, 2, 10, 0, 9, 0, true, 8)] // expect 1 unhealthy replica from old replica sets been cleaned up, and 1 ready pod been scaled down
    [InlineData(10, 2, 8, 2, 8, 0, false, 8)] // the unavailable pods from the newRS would not make us scale down old RSs in a further step
    public async Task ReconcileOldReplicaSets_UpstreamCases(int deploymentReplicas, int maxUnavailable, int oldReplicas, int newReplicas,
        int readyPodsFromOldRS, int readyPodsFromNewRS, bool scaleExpected, int expectedOldReplicas)
    {
        var newSelector = new Dictionary<string, string> { ["foo"] = "new" };
        var newRS = Rs("foo-new", newReplicas, newSelector);
        newRS.Status!.AvailableReplicas = readyPodsFromNewRS;
        var oldRS = Rs("foo-old", oldReplicas, new() { ["foo"] = "old" });
        oldRS.Status!.AvailableReplicas = readyPodsFromOldRS;
        var d = NewDeployment("foo", deploymentReplicas, null, 0, maxUnavailable, newSelector);
        var control = new FakeDeploymentControl();

        var scaled = await new DeploymentSync(control, TimeProvider.System).ReconcileOldReplicaSetsAsync([oldRS, newRS], [oldRS], newRS, d, CancellationToken.None);

        Assert.Equal(scaleExpected, scaled);
        Assert.Equal(expectedOldReplicas, control.Updates.LastOrDefault()?.Spec!.Replicas ?? oldReplicas);
    }

    [Theory]
    [InlineData(10, 8, 1, 1)]
    [InlineData(10, 8, 3, 2)]
    [InlineData(10, 8, 0, 0)]
    [InlineData(10, 10, 3, 0)]
    public async Task CleanupUnhealthyReplicas_UpstreamCases(int oldReplicas, int readyPods, int maxCleanupCount, int cleanupCountExpected)
    {
        var oldRS = Rs("foo-v2", oldReplicas);
        oldRS.Status!.AvailableReplicas = readyPods;
        var d = NewDeployment("foo", 10, null, 2, 2);
        var control = new FakeDeploymentControl();

        var (_, cleanupCount) = await new DeploymentSync(control, TimeProvider.System).CleanupUnhealthyReplicasAsync([oldRS], d, maxCleanupCount, CancellationToken.None);

        Assert.Equal(cleanupCountExpected, cleanupCount);
        Assert.Equal(oldReplicas - cleanupCountExpected, control.Updates.LastOrDefault()?.Spec!.Replicas ?? oldReplicas);
    }

    [Theory]
    [InlineData(10, 0, 10, 10, true, 9)]
    [InlineData(10, 2, 10, 10, true, 8)]
    [InlineData(10, 2, 8, 10, false, 0)]
    [InlineData(10, 2, 10, 0, false, 0)]
    [InlineData(10, 2, 1, 10, false, 0)]
    public async Task ScaleDownOldReplicaSetsForRollingUpdate_UpstreamCases(int deploymentReplicas, int maxUnavailable, int readyPods, int oldReplicas, bool scaleExpected, int expectedOldReplicas)
    {
        var oldRS = Rs("foo-v2", oldReplicas);
        oldRS.Status!.AvailableReplicas = readyPods;
        var d = NewDeployment("foo", deploymentReplicas, null, 0, maxUnavailable, s_fooBar);
        var control = new FakeDeploymentControl();

        var scaled = await new DeploymentSync(control, TimeProvider.System).ScaleDownOldReplicaSetsForRollingUpdateAsync([oldRS], [oldRS], d, CancellationToken.None);

        if (!scaleExpected)
        {
            Assert.Equal(0, scaled);
            return;
        }
        Assert.NotEqual(0, scaled);
        Assert.Equal(expectedOldReplicas, Assert.Single(control.Updates).Spec!.Replicas);
        Assert.Equal($"Normal ScalingReplicaSet Scaled down replica set foo-v2 to {expectedOldReplicas} from {oldReplicas}", Assert.Single(control.Events));
    }

    [Fact]
    public async Task ScaleReplicaSet_SetsReplicasAnnotationsWithTheSize()
    {
        var oldRS = Rs("foo-v2", 10);
        oldRS.Status!.AvailableReplicas = 10;
        var d = NewDeployment("foo", 10, null, "25%", "25%", s_fooBar);
        var control = new FakeDeploymentControl();

        await new DeploymentSync(control, TimeProvider.System).ScaleDownOldReplicaSetsForRollingUpdateAsync([oldRS], [oldRS], d, CancellationToken.None);

        // 25% of 10: surge rounds up to 3, unavailable down to 2.
        var updated = Assert.Single(control.Updates);
        Assert.Equal(8, updated.Spec!.Replicas);
        Assert.Equal("10", updated.Metadata!.Annotations![DeploymentUtil.DesiredReplicasAnnotation]);
        Assert.Equal("13", updated.Metadata.Annotations[DeploymentUtil.MaxReplicasAnnotation]);
        // The cached ReplicaSet is left alone.
        Assert.Equal(10, oldRS.Spec!.Replicas);
        Assert.Null(oldRS.Metadata!.Annotations);
    }
}
