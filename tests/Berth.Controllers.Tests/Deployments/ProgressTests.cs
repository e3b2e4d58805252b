using Berth.Api.Models;
using Berth.Controllers.Deployments;
using Microsoft.Extensions.Time.Testing;
using static Berth.Controllers.Tests.Deployments.DeploymentFixtures;

namespace Berth.Controllers.Tests.Deployments;

/// <summary>Upstream pkg/controller/deployment/progress_test.go, with a fake clock for nowFn.</summary>
public sealed class ProgressTests
{
    private static readonly DateTimeOffset s_testTime = new(2017, 2, 15, 18, 49, 0, TimeSpan.Zero);

    private static DeploymentStatus NewStatus(int replicas, int updated, int available) =>
        new() { Replicas = replicas, UpdatedReplicas = updated, AvailableReplicas = available };

    /// <summary>currentDeployment: a Recreate Deployment named progress-test.</summary>
    private static Deployment Current(int? pds, int replicas, int statusReplicas, int updated, int available, List<DeploymentCondition>? conditions)
    {
        var status = NewStatus(statusReplicas, updated, available);
        status.Conditions = conditions;
        return new Deployment
        {
            Metadata = new ObjectMeta { Name = "progress-test" },
            Spec = new DeploymentSpec { ProgressDeadlineSeconds = pds, Replicas = replicas, Strategy = new DeploymentStrategy { Type = DeploymentUtil.RecreateStrategy } },
            Status = status,
        };
    }

    private static ReplicaSet WithAvailable(string name, int spec, int status, int available)
    {
        var rs = Rs(name, spec);
        rs.Status = new ReplicaSetStatus { Replicas = status, AvailableReplicas = available };
        return rs;
    }

    private static List<DeploymentCondition> Failed() => [new() { Type = "Progressing", Status = "False", Reason = DeploymentUtil.TimedOutReason }];

    private static List<DeploymentCondition> Stuck() => [new() { Type = "Progressing", Status = "True", LastUpdateTime = s_testTime }];

    public static TheoryData<string, Deployment, DeploymentStatus, DateTimeOffset, TimeSpan?> RequeueCases => new()
    {
        { "nil progressDeadlineSeconds specified", Current(null, 4, 3, 3, 2, null), NewStatus(3, 3, 2), s_testTime, null },
        { "infinite progressDeadlineSeconds specified", Current(int.MaxValue, 4, 3, 3, 2, null), NewStatus(3, 3, 2), s_testTime, null },
        { "no progressing condition found", Current(60, 4, 3, 3, 2, null), NewStatus(3, 3, 2), s_testTime, null },
        { "complete deployment does not need to be requeued", Current(60, 3, 3, 3, 3, null), NewStatus(3, 3, 3), s_testTime, null },
        { "already failed deployment does not need to be requeued", Current(60, 3, 3, 3, 0, Failed()), NewStatus(3, 3, 0), s_testTime, null },
        { "stuck deployment - 30s", Current(60, 3, 3, 3, 1, Stuck()), NewStatus(3, 3, 1), s_testTime.AddSeconds(30), TimeSpan.FromSeconds(30) },
        { "stuck deployment - 1s", Current(60, 3, 3, 3, 1, Stuck()), NewStatus(3, 3, 1), s_testTime.AddSeconds(59), TimeSpan.FromSeconds(1) },
        // Upstream adds 1 ns; a tick (100 ns) is the clock's smallest step here.
        { "failed deployment - less than a second => now", Current(60, 3, 3, 3, 1, Stuck()), NewStatus(3, 3, 1), s_testTime.AddSeconds(59).AddTicks(1), TimeSpan.Zero },
        { "failed deployment - now", Current(60, 3, 3, 3, 1, Stuck()), NewStatus(3, 3, 1), s_testTime.AddSeconds(60), TimeSpan.Zero },
        { "failed deployment - 1s after deadline", Current(60, 3, 3, 3, 1, Stuck()), NewStatus(3, 3, 1), s_testTime.AddSeconds(61), TimeSpan.Zero },
        { "failed deployment - 60s after deadline", Current(60, 3, 3, 3, 1, Stuck()), NewStatus(3, 3, 1), s_testTime.AddSeconds(120), TimeSpan.Zero },
    };

    [Theory]
    [MemberData(nameof(RequeueCases))]
    public void RequeueStuckDeployment_UpstreamCases(string name, Deployment d, DeploymentStatus status, DateTimeOffset now, TimeSpan? expected)
    {
        var control = new FakeDeploymentControl();

        var got = new DeploymentSync(control, new FakeTimeProvider(now)).RequeueStuckDeployment(d, status);

        Assert.True(expected == got, $"{name}: got {got}");
        // Requeued a second after the deadline, or at once (rate-limited) when less than a second is left.
        Assert.Equal(got is { } after && after > TimeSpan.Zero ? [after + TimeSpan.FromSeconds(1)] : [], control.EnqueuedAfter);
        Assert.Equal(got == TimeSpan.Zero ? 1 : 0, control.EnqueuedRateLimited);
    }

    /// <summary>What a time field of the resulting Progressing condition must be: unchecked, the test time, the sync's now, or unset.</summary>
    public enum Expect
    {
        Any,
        TestTime,
        Now,
        Unset,
    }

    public sealed record RolloutCase(string Name, Deployment D, ReplicaSet[] AllRSs, ReplicaSet? NewRS,
        string? Status, string? Reason, Expect LastUpdate, Expect LastTransition, string? Message = null)
    {
        public override string ToString() => Name;
    }

    private static DeploymentCondition NewRSAvailable() => new()
    {
        Type = "Progressing", Status = "True", Reason = DeploymentUtil.NewRSAvailableReason, LastUpdateTime = s_testTime, LastTransitionTime = s_testTime,
    };

    private static DeploymentCondition ReplicaSetUpdated() => new()
    {
        Type = "Progressing", Status = "True", Reason = DeploymentUtil.ReplicaSetUpdatedReason, LastUpdateTime = s_testTime, LastTransitionTime = s_testTime,
    };

    public static TheoryData<RolloutCase> RolloutCases => new()
    {
        new("General: remove Progressing condition and do not estimate progress if deployment has no Progress Deadline",
            Current(null, 3, 2, 2, 2, [ReplicaSetUpdated()]), [WithAvailable("bar", 0, 1, 1)], WithAvailable("foo", 3, 2, 2), null, null, Expect.Any, Expect.Any),
        new("General: do not estimate progress of deployment with only one active ReplicaSet",
            Current(60, 3, 3, 3, 3, [NewRSAvailable()]), [WithAvailable("bar", 3, 3, 3)], null, "True", DeploymentUtil.NewRSAvailableReason, Expect.TestTime, Expect.TestTime),
        new("DeploymentProgressing: dont update lastTransitionTime if deployment already has Progressing=True",
            Current(60, 3, 2, 2, 2, [ReplicaSetUpdated()]), [WithAvailable("bar", 0, 1, 1)], WithAvailable("foo", 3, 2, 2), "True", DeploymentUtil.ReplicaSetUpdatedReason, Expect.Now, Expect.TestTime,
            "ReplicaSet \"foo\" is progressing."),
        new("DeploymentProgressing: update everything if deployment has Progressing=False",
            Current(60, 3, 2, 2, 2, Failed()), [WithAvailable("bar", 0, 1, 1)], WithAvailable("foo", 3, 2, 2), "True", DeploymentUtil.ReplicaSetUpdatedReason, Expect.Now, Expect.Now),
        new("DeploymentProgressing: create Progressing condition if it does not exist",
            Current(60, 3, 2, 2, 2, []), [WithAvailable("bar", 0, 1, 1)], WithAvailable("foo", 3, 2, 2), "True", DeploymentUtil.ReplicaSetUpdatedReason, Expect.Now, Expect.Now),
        new("DeploymentComplete: dont update lastTransitionTime if deployment already has Progressing=True",
            Current(60, 3, 3, 3, 3, [ReplicaSetUpdated()]), [], WithAvailable("foo", 3, 3, 3), "True", DeploymentUtil.NewRSAvailableReason, Expect.Now, Expect.TestTime,
            "ReplicaSet \"foo\" has successfully progressed."),
        new("DeploymentComplete: update everything if deployment has Progressing=False",
            Current(60, 3, 3, 3, 3, Failed()), [], WithAvailable("foo", 3, 3, 3), "True", DeploymentUtil.NewRSAvailableReason, Expect.Now, Expect.Now),
        new("DeploymentComplete: create Progressing condition if it does not exist",
            Current(60, 3, 3, 3, 3, []), [], WithAvailable("foo", 3, 3, 3), "True", DeploymentUtil.NewRSAvailableReason, Expect.Now, Expect.Now),
        new("DeploymentComplete: defend against NPE when newRS=nil",
            Current(60, 0, 3, 3, 3, [ReplicaSetUpdated()]), [WithAvailable("foo", 0, 0, 0)], null, "True", DeploymentUtil.NewRSAvailableReason, Expect.Now, Expect.TestTime,
            "Deployment \"progress-test\" has successfully progressed."),
        new("DeploymentTimedOut: update status if rollout exceeds Progress Deadline",
            Current(60, 3, 2, 2, 2, [ReplicaSetUpdated()]), [], WithAvailable("foo", 3, 2, 2), "False", DeploymentUtil.TimedOutReason, Expect.Now, Expect.Now,
            "ReplicaSet \"foo\" has timed out progressing."),
        new("DeploymentTimedOut: do not update status if deployment has existing timedOut condition",
            Current(60, 3, 2, 2, 2, Failed()), [], WithAvailable("foo", 3, 2, 2), "False", DeploymentUtil.TimedOutReason, Expect.Unset, Expect.Unset),
    };

    [Theory]
    [MemberData(nameof(RolloutCases))]
    public async Task SyncRolloutStatus_UpstreamCases(RolloutCase test)
    {
        // Ten minutes after the conditions' time: past the 60 s deadline, and distinguishable from it.
        var now = s_testTime.AddMinutes(10);
        var sync = new DeploymentSync(new FakeDeploymentControl(), new FakeTimeProvider(now));
        List<ReplicaSet?> allRSs = [.. test.AllRSs];
        if (test.NewRS is not null)
        {
            allRSs.Add(test.NewRS);
        }

        await sync.SyncRolloutStatusAsync(allRSs, test.NewRS, test.D, CancellationToken.None);

        var condition = DeploymentUtil.GetCondition(test.D.Status, "Progressing");
        if (test.Status is null)
        {
            Assert.Null(condition);
            return;
        }
        Assert.NotNull(condition);
        Assert.Equal((test.Status, test.Reason), (condition.Status, condition.Reason));
        if (test.Message is not null)
        {
            Assert.Equal(test.Message, condition.Message);
        }
        AssertTime(test.LastUpdate, condition.LastUpdateTime, now);
        AssertTime(test.LastTransition, condition.LastTransitionTime, now);
    }

    private static void AssertTime(Expect expect, DateTimeOffset? actual, DateTimeOffset now)
    {
        switch (expect)
        {
            case Expect.TestTime:
                Assert.Equal(s_testTime, actual);
                break;
            case Expect.Now:
                Assert.Equal(now, actual);
                break;
            case Expect.Unset:
                Assert.Null(actual);
                break;
        }
    }

    [Fact]
    public async Task SyncRolloutStatus_UnchangedStuckRollout_RequeuedForItsDeadline()
    {
        var now = s_testTime.AddSeconds(45);
        var control = new FakeDeploymentControl();
        var d = Current(60, 3, 3, 3, 1, Stuck());
        var rs = WithAvailable("foo", 3, 3, 1);
        d.Status!.Conditions!.Add(DeploymentUtil.NewCondition("Available", "False", DeploymentUtil.MinimumReplicasUnavailable, "Deployment does not have minimum availability.", s_testTime));
        d.Status.UnavailableReplicas = 2;

        await new DeploymentSync(control, new FakeTimeProvider(now)).SyncRolloutStatusAsync([rs], rs, d, CancellationToken.None);

        Assert.DoesNotContain(control.Actions, a => a.Verb == "status");
        Assert.Equal([TimeSpan.FromSeconds(16)], control.EnqueuedAfter);
    }
}
