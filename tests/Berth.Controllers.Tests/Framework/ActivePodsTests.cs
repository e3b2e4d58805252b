using Berth.Api.Models;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Tests.Framework;

// Ported from kubernetes pkg/controller/controller_utils_test.go (TestActivePodFiltering, TestSortingActivePods,
// TestSortingActivePodsWithRanks) and pkg/api/v1/pod/util_test.go (TestIsPodAvailable).
public sealed class ActivePodsTests
{
    private static readonly DateTimeOffset s_now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_then1Month = s_now.AddMonths(-1);
    private static readonly DateTimeOffset s_then2Hours = s_now.AddHours(-2);
    private static readonly DateTimeOffset s_then5Hours = s_now.AddHours(-5);
    private static readonly DateTimeOffset s_then8Hours = s_now.AddHours(-8);

    [Fact]
    public void FilterActivePods_DropsSucceededFailedAndDeleting()
    {
        var pods = new[]
        {
            Pod("pod-1", phase: "Succeeded"),
            Pod("pod-2", phase: "Failed"),
            Pod("pod-3", phase: "Running"),
            Pod("pod-4", phase: "Running"),
            Pod("pod-5", phase: "Running"),
            Pod("pod-6", phase: "Running", deleting: true),
        };

        Assert.Equal(["pod-3", "pod-4", "pod-5"], ActivePods.FilterActivePods(pods).Select(p => p.Metadata!.Name));
    }

    public static TheoryData<string, bool, int, int, bool> AvailableCases => new()
    {
        // name, ready, ready since (seconds before now), minReadySeconds, available
        { "not ready", false, 0, 0, false },
        { "ready now, minReadySeconds 1", true, 0, 1, false },
        { "ready now, minReadySeconds 0", true, 0, 0, true },
        { "ready 51 s, minReadySeconds 50", true, 51, 50, true },
        { "ready exactly minReadySeconds", true, 50, 50, false },
    };

    [Theory]
    [MemberData(nameof(AvailableCases))]
    public void IsPodAvailable_ReadyLongerThanMinReadySeconds(string name, bool ready, int readySecondsAgo, int minReadySeconds, bool expected)
    {
        var pod = Pod(name, phase: "Running", ready: ready, readySince: s_now.AddSeconds(-readySecondsAgo));

        Assert.Equal(expected, ActivePods.IsPodAvailable(pod, minReadySeconds, s_now));
    }

    [Fact]
    public void SortForDeletion_ActivePodsOrder_AnyInputOrder()
    {
        // TestSortingActivePods: no ranks, no deletion costs, plain time comparison.
        Pod[] pods =
        [
            Pod("unscheduled", node: "", phase: "Pending"),
            Pod("scheduledButPending", node: "bar", phase: "Pending"),
            Pod("unknownPhase", node: "foo", phase: "Unknown"),
            Pod("runningButNotReady", node: "foo", phase: "Running"),
            Pod("runningNoLastTransitionTime", node: "foo", phase: "Running", ready: true, restarts: [3, 0]),
            Pod("runningWithLastTransitionTime", node: "foo", phase: "Running", ready: true, readySince: s_now, restarts: [3, 0]),
            Pod("runningLongerTime", node: "foo", phase: "Running", ready: true, readySince: s_then1Month, restarts: [3, 0]),
            Pod("lowerContainerRestartCount", node: "foo", phase: "Running", ready: true, readySince: s_then1Month, restarts: [2, 1], created: s_now),
            Pod("oldest", node: "foo", phase: "Running", ready: true, readySince: s_then1Month, restarts: [2, 1], created: s_then1Month),
        ];
        var want = pods.Select(p => p.Metadata!.Name).ToList();
        var random = new Random(42);

        for (var i = 0; i < 20; i++)
        {
            var shuffled = pods.OrderBy(_ => random.Next()).ToList();
            var ranks = shuffled.Select(_ => 0).ToList();

            ActivePods.SortForDeletion(shuffled, ranks, now: null);

            Assert.Equal(want, shuffled.Select(p => p.Metadata!.Name));
        }
    }

    private static Pod RankPod(string name, string node, string phase, bool ready, int restarts, DateTimeOffset? readySince, DateTimeOffset? created, string? deletionCost = null) =>
        Pod(name, node: node, phase: phase, ready: ready, readySince: readySince, restarts: ready ? [restarts] : [], created: created,
            annotations: deletionCost is null ? null : new() { [ActivePods.PodDeletionCostAnnotation] = deletionCost });

    private static readonly Dictionary<string, Pod> s_rankPods = new[]
    {
        RankPod("unscheduled", "", "Pending", false, 0, null, null),
        RankPod("pending", "node", "Pending", false, 0, null, null),
        RankPod("unknown-phase", "node", "Unknown", false, 0, null, null),
        RankPod("not-ready", "node", "Running", false, 0, null, null),
        RankPod("ready-no-last-transition-time", "node", "Running", true, 0, null, null),
        RankPod("ready-now", "node", "Running", true, 0, s_now, s_now),
        RankPod("ready-then", "node", "Running", true, 0, s_then1Month, s_then1Month),
        RankPod("ready-high-restarts", "node", "Running", true, 9001, s_now, s_now),
        RankPod("ready-now-created-then", "node", "Running", true, 0, s_now, s_then1Month),
        RankPod("low-deletion-cost", "node", "Running", true, 0, s_now, s_then1Month, "10"),
        RankPod("high-deletion-cost", "node", "Running", true, 0, s_now, s_then1Month, "100"),
        RankPod("unscheduled-5-hours", "", "Pending", false, 0, s_then5Hours, s_then5Hours),
        RankPod("unscheduled-10-hours", "", "Pending", false, 0, s_then8Hours, s_then8Hours),
        RankPod("ready-2-hours", "", "Running", true, 0, s_then2Hours, s_then1Month),
        RankPod("ready-5-hours", "", "Running", true, 0, s_then5Hours, s_then1Month),
        RankPod("ready-10-hours", "", "Running", true, 0, s_then8Hours, s_then1Month),
    }.ToDictionary(p => p.Metadata!.Name!);

    public static TheoryData<string, string> EqualityCases => new()
    {
        { "unscheduled", "unscheduled" },
        { "pending", "pending" },
        { "unknown-phase", "unknown-phase" },
        { "not-ready", "not-ready" },
        { "ready-now-created-then", "ready-now-created-then" },
        { "ready-now", "ready-now" },
        { "ready-then", "ready-then" },
        { "ready-high-restarts", "ready-high-restarts" },
        // Same log2 bucket of age, same (empty) UID.
        { "unscheduled-5-hours", "unscheduled-10-hours" },
        { "ready-5-hours", "ready-10-hours" },
    };

    [Theory]
    [MemberData(nameof(EqualityCases))]
    public void Less_EquivalentPods_NeitherFirst(string p1, string p2)
    {
        var (a, b) = (s_rankPods[p1], s_rankPods[p2]);

        Assert.False(ActivePods.Less(a, 1, b, 1, s_now));
        Assert.False(ActivePods.Less(b, 1, a, 1, s_now));
    }

    public static TheoryData<string, int, string, int> InequalityCases => new()
    {
        { "unscheduled", 1, "pending", 2 },
        { "unscheduled", 2, "pending", 1 },
        { "pending", 1, "unknown-phase", 2 },
        { "unknown-phase", 1, "not-ready", 2 },
        { "not-ready", 1, "ready-no-last-transition-time", 1 },
        { "ready-no-last-transition-time", 1, "ready-now", 1 },
        { "ready-now", 2, "ready-no-last-transition-time", 1 },
        { "ready-now", 1, "ready-then", 1 },
        { "ready-now", 2, "ready-then", 1 },
        { "ready-high-restarts", 1, "ready-now", 1 },
        { "ready-now", 2, "ready-high-restarts", 1 },
        { "ready-now", 1, "ready-now-created-then", 1 },
        { "ready-now-created-then", 2, "ready-now", 1 },
        { "low-deletion-cost", 2, "high-deletion-cost", 1 },
        { "ready-2-hours", 1, "ready-5-hours", 1 },
    };

    [Theory]
    [MemberData(nameof(InequalityCases))]
    public void Less_LesserPodComesFirst(string lesser, int lesserRank, string greater, int greaterRank)
    {
        var (a, b) = (s_rankPods[lesser], s_rankPods[greater]);

        Assert.True(ActivePods.Less(a, lesserRank, b, greaterRank, s_now));
        Assert.False(ActivePods.Less(b, greaterRank, a, lesserRank, s_now));
    }

    [Fact]
    public void Less_SameLogBucket_BrokenByUid()
    {
        var a = RankPod("a", "node", "Running", true, 0, s_then5Hours, s_then1Month);
        var b = RankPod("b", "node", "Running", true, 0, s_then8Hours, s_then1Month);
        a.Metadata!.Uid = "uid-2";
        b.Metadata!.Uid = "uid-1";

        Assert.True(ActivePods.Less(b, 0, a, 0, s_now));
        Assert.False(ActivePods.Less(a, 0, b, 0, s_now));
        // Without a reference time the more recently ready pod goes first.
        Assert.True(ActivePods.Less(a, 0, b, 0, now: null));
    }

    [Fact]
    public void Less_SidecarRestarts_CountAfterRegularContainers()
    {
        var quiet = RankPod("quiet", "node", "Running", true, 1, s_now, s_now);
        var restarting = RankPod("restarting-sidecar", "node", "Running", true, 1, s_now, s_now);
        restarting.Spec!.InitContainers = [new Container { Name = "proxy", RestartPolicy = "Always" }, new Container { Name = "init" }];
        restarting.Status!.InitContainerStatuses = [new ContainerStatus { Name = "proxy", RestartCount = 4 }, new ContainerStatus { Name = "init", RestartCount = 9 }];
        quiet.Spec!.InitContainers = [new Container { Name = "proxy", RestartPolicy = "Always" }];
        quiet.Status!.InitContainerStatuses = [new ContainerStatus { Name = "proxy", RestartCount = 2 }];

        Assert.True(ActivePods.Less(restarting, 0, quiet, 0, s_now));
        Assert.False(ActivePods.Less(quiet, 0, restarting, 0, s_now));
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("10", 10)]
    [InlineData("-5", -5)]
    [InlineData("0", 0)]
    [InlineData("+10", 0)]
    [InlineData("007", 0)]
    [InlineData("", 0)]
    [InlineData("2147483648", 0)]
    [InlineData("abc", 0)]
    public void DeletionCost_ParsesAsUpstream(string? annotation, int expected)
    {
        var pod = RankPod("p", "node", "Running", true, 0, s_now, s_now, annotation);

        Assert.Equal(expected, ActivePods.DeletionCost(pod));
    }

    [Fact]
    public void RanksByRelatedPodsOnSameNode_CountsActiveRelatedPods()
    {
        var onA = Pod("a1", node: "a", phase: "Running");
        var onB = Pod("b1", node: "b", phase: "Running");
        Pod[] related = [onA, Pod("a2", node: "a", phase: "Running"), Pod("a3", node: "a", phase: "Succeeded"), onB];

        Assert.Equal([2, 1, 0], ActivePods.RanksByRelatedPodsOnSameNode([onA, onB, Pod("c1", node: "c", phase: "Running")], related));
    }

    internal static Pod Pod(string name, string node = "", string phase = "Pending", bool ready = false, DateTimeOffset? readySince = null,
        int[]? restarts = null, DateTimeOffset? created = null, bool deleting = false, Dictionary<string, string>? annotations = null) => new()
        {
            Metadata = new ObjectMeta
            {
                Name = name,
                Namespace = "default",
                CreationTimestamp = created,
                DeletionTimestamp = deleting ? s_now : null,
                Annotations = annotations,
            },
            Spec = new PodSpec { NodeName = node },
            Status = new PodStatus
            {
                Phase = phase,
                Conditions = ready ? [new PodCondition { Type = "Ready", Status = "True", LastTransitionTime = readySince }] : null,
                ContainerStatuses = restarts?.Select(r => new ContainerStatus { RestartCount = r }).ToList(),
            },
        };
}
