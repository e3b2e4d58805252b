using Berth.Api.Models;
using Berth.Controllers.Framework;
using Berth.Controllers.ReplicaSets;

namespace Berth.Controllers.Tests.ReplicaSets;

// Ported from kubernetes pkg/controller/replicaset/replica_set_utils_test.go (TestCalculateStatus,
// TestCalculateStatusConditions) and replica_set_test.go (TestSlowStartBatch, TestGetPodsToDelete).
public sealed class ReplicaSetUtilsTests
{
    private static readonly DateTimeOffset s_now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Dictionary<string, string> s_labels = new() { ["name"] = "foo" };
    private static readonly Dictionary<string, string> s_fullLabels = new() { ["name"] = "foo", ["type"] = "production" };

    public static TheoryData<string, string, string[], string[], int, int, int, int> StatusCases => new()
    {
        // name, replica set, the replica set each pod was made from (its labels are that selector), pod phases,
        // then replicas, fully labeled, ready, available
        { "1 fully labelled pod", "fully", ["fully"], ["Running"], 1, 1, 1, 1 },
        { "1 not fully labelled pod", "notFully", ["notFully"], ["Running"], 1, 0, 1, 1 },
        { "2 fully labelled pods", "fully", ["fully", "fully"], ["Running", "Running"], 2, 2, 2, 2 },
        { "2 not fully labelled pods", "notFully", ["notFully", "notFully"], ["Running", "Running"], 2, 0, 2, 2 },
        { "1 fully labelled pod, 1 not fully labelled pod", "notFully", ["notFully", "fully"], ["Running", "Running"], 2, 1, 2, 2 },
        { "1 non-ready pod", "fully", ["fully"], ["Pending"], 1, 1, 0, 0 },
        { "1 ready but non-available pod", "longMinReadySeconds", ["longMinReadySeconds"], ["Running"], 1, 1, 1, 0 },
    };

    [Theory]
    [MemberData(nameof(StatusCases))]
    public void CalculateStatus_CountsPods(string name, string rsName, string[] podsFrom, string[] phases,
        int replicas, int fullyLabeled, int ready, int available)
    {
        _ = name; // the case's label
        var sets = new Dictionary<string, ReplicaSet>
        {
            ["notFully"] = NewReplicaSet(1, s_labels),
            // 2 replicas, so the condition cases below can have too few and too many pods.
            ["fully"] = NewReplicaSet(2, s_fullLabels),
            ["longMinReadySeconds"] = NewReplicaSet(1, s_fullLabels, minReadySeconds: 3600),
        };
        var pods = podsFrom.Select((from, i) => NewPod($"pod{i + 1}", sets[from].Spec!.Selector!.MatchLabels!, phases[i])).ToList();

        var status = ReplicaSetUtils.CalculateStatus(sets[rsName], pods, null, s_now);

        Assert.Equal((replicas, fullyLabeled, ready, available),
            (status.Replicas ?? 0, status.FullyLabeledReplicas ?? 0, status.ReadyReplicas ?? 0, status.AvailableReplicas ?? 0));
        Assert.Null(status.Conditions);
    }

    public static TheoryData<string, int, int, bool, bool, string?> ConditionCases => new()
    {
        // name, replicas, pods, manageReplicas error, existing ReplicaFailure condition, expected reason (null = no condition)
        { "manageReplicasErr != nil && failureCond == nil, diff < 0", 2, 1, true, false, "FailedCreate" },
        { "manageReplicasErr != nil && failureCond == nil, diff > 0", 2, 3, true, false, "FailedDelete" },
        { "manageReplicasErr == nil && failureCond != nil", 10, 1, false, true, null },
        // The existing condition (no reason) is kept as it was.
        { "manageReplicasErr != nil && failureCond != nil", 10, 1, true, true, "" },
        { "manageReplicasErr == nil && failureCond == nil", 2, 1, false, false, null },
    };

    [Theory]
    [MemberData(nameof(ConditionCases))]
    public void CalculateStatus_ReplicaFailureCondition(string name, int replicas, int podCount, bool failed, bool existing, string? reason)
    {
        _ = name; // the case's label
        var rs = NewReplicaSet(replicas, s_labels);
        if (existing)
        {
            rs.Status = new ReplicaSetStatus { Conditions = [new ReplicaSetCondition { Type = "ReplicaFailure", Status = "True" }] };
        }
        var pods = Enumerable.Range(1, podCount).Select(i => NewPod($"pod{i}", s_labels, "Running")).ToList();

        var status = ReplicaSetUtils.CalculateStatus(rs, pods, failed ? new InvalidOperationException("fake manageReplicasErr") : null, s_now);

        if (reason is null)
        {
            Assert.Null(status.Conditions);
            return;
        }
        var condition = Assert.Single(status.Conditions!);
        Assert.Equal(("ReplicaFailure", "True"), (condition.Type, condition.Status));
        if (existing)
        {
            Assert.Null(condition.Reason);
            Assert.Null(condition.Message);
        }
        else
        {
            Assert.Equal(reason, condition.Reason);
            Assert.Equal("fake manageReplicasErr", condition.Message);
            Assert.Equal(s_now, condition.LastTransitionTime);
        }
    }

    [Fact]
    public void CalculateStatus_LeavesTheInputAlone()
    {
        var rs = NewReplicaSet(2, s_labels);
        rs.Status = new ReplicaSetStatus { Replicas = 7, Conditions = [new ReplicaSetCondition { Type = "ReplicaFailure", Status = "True" }] };

        var status = ReplicaSetUtils.CalculateStatus(rs, [NewPod("pod1", s_labels, "Running")], null, s_now);

        Assert.Equal(1, status.Replicas);
        Assert.Equal(7, rs.Status.Replicas);
        Assert.Single(rs.Status.Conditions);
    }

    [Theory]
    [InlineData(0, 0, 0, 0, 0)]
    [InlineData(3, 3, 3, 1, 0)]
    [InlineData(3, 3, 3, 0, 1)]
    [InlineData(3, 2, 3, 1, 1)]
    public void StatusUnchanged_OnlyWhenCountsGenerationAndConditionsAgree(int replicas, int ready, int newReady, long generation, long observed)
    {
        var rs = NewReplicaSet(3, s_labels);
        rs.Metadata!.Generation = generation;
        rs.Status = new ReplicaSetStatus { Replicas = replicas, ReadyReplicas = ready, ObservedGeneration = observed };
        var status = new ReplicaSetStatus { Replicas = replicas, ReadyReplicas = newReady };

        Assert.Equal(ready == newReady && generation == observed, ReplicaSetUtils.StatusUnchanged(rs, status));
    }

    public static TheoryData<string, int, int, int, bool, int> SlowStartCases => new()
    {
        // name, count, call limit, expected successes, expected error, expected calls
        { "callLimit = 0 (all fail)", 10, 0, 0, true, 1 },
        // 1 + 2 + 4 + 3
        { "callLimit = count (all succeed)", 10, 10, 10, false, 10 },
        // 1 + 2 + 4, then the batch of 3 after the failing batch is never started
        { "callLimit < count (some succeed)", 10, 5, 5, true, 7 },
    };

    [Theory]
    [MemberData(nameof(SlowStartCases))]
    public async Task SlowStartBatch_StopsAfterTheFirstFailingBatch(string name, int count, int callLimit, int successes, bool failed, int calls)
    {
        _ = name; // the case's label
        var fakeError = new InvalidOperationException("fake error");
        var callCount = 0;

        var (gotSuccesses, error) = await ReplicaSetUtils.SlowStartBatchAsync(count, ReplicaSetController.SlowStartInitialBatchSize, () =>
            Interlocked.Increment(ref callCount) > callLimit ? Task.FromException(fakeError) : Task.CompletedTask);

        Assert.Equal(successes, gotSuccesses);
        Assert.Equal(failed ? fakeError : null, error);
        Assert.Equal(calls, callCount);
    }

    private static readonly Dictionary<string, Pod> s_deletionPods = new[]
    {
        NewPod("unscheduled-pending-pod", s_labels, "Pending"),
        WithNode(NewPod("scheduled-pending-pod", s_labels, "Pending"), "fake-node"),
        WithNode(NewPod("scheduled-running-not-ready-pod", s_labels, "Running", ready: false), "fake-node"),
        WithNode(NewPod("scheduled-running-ready-pod-on-node-1", s_labels, "Running"), "fake-node-1"),
        WithNode(NewPod("scheduled-running-ready-pod-on-node-2", s_labels, "Running"), "fake-node-2"),
    }.ToDictionary(p => p.Metadata!.Name!);

    public static TheoryData<string, string[], string[]?, int, string[]> DeletionCases => new()
    {
        // name, pods, related pods (null = the pods), diff, expected pods to delete
        { "len(pods) = 0 (i.e., diff = 0 too)", [], null, 0, [] },
        {
            "diff = len(pods)",
            ["scheduled-running-not-ready-pod", "scheduled-running-ready-pod-on-node-1"], null, 2,
            ["scheduled-running-not-ready-pod", "scheduled-running-ready-pod-on-node-1"]
        },
        {
            "diff < len(pods)",
            ["scheduled-running-ready-pod-on-node-1", "scheduled-running-not-ready-pod"], null, 1,
            ["scheduled-running-not-ready-pod"]
        },
        {
            "various pod phases and conditions, diff = len(pods)",
            ["scheduled-running-ready-pod-on-node-1", "scheduled-running-ready-pod-on-node-1", "scheduled-running-ready-pod-on-node-2",
                "scheduled-running-not-ready-pod", "scheduled-pending-pod", "unscheduled-pending-pod"], null, 6,
            ["scheduled-running-ready-pod-on-node-1", "scheduled-running-ready-pod-on-node-1", "scheduled-running-ready-pod-on-node-2",
                "scheduled-running-not-ready-pod", "scheduled-pending-pod", "unscheduled-pending-pod"]
        },
        {
            "scheduled vs unscheduled, diff < len(pods)",
            ["scheduled-pending-pod", "unscheduled-pending-pod"], null, 1,
            ["unscheduled-pending-pod"]
        },
        {
            "ready vs not-ready, diff < len(pods)",
            ["scheduled-running-ready-pod-on-node-1", "scheduled-running-not-ready-pod", "scheduled-running-not-ready-pod"], null, 2,
            ["scheduled-running-not-ready-pod", "scheduled-running-not-ready-pod"]
        },
        {
            "ready and colocated with another ready pod vs not colocated, diff < len(pods)",
            ["scheduled-running-ready-pod-on-node-1", "scheduled-running-ready-pod-on-node-2"],
            ["scheduled-running-ready-pod-on-node-1", "scheduled-running-ready-pod-on-node-2", "scheduled-running-ready-pod-on-node-2"], 1,
            ["scheduled-running-ready-pod-on-node-2"]
        },
        {
            "pending vs running, diff < len(pods)",
            ["scheduled-pending-pod", "scheduled-running-not-ready-pod"], null, 1,
            ["scheduled-pending-pod"]
        },
        {
            "various pod phases and conditions, diff < len(pods)",
            ["scheduled-running-ready-pod-on-node-1", "scheduled-running-ready-pod-on-node-2", "scheduled-running-not-ready-pod",
                "scheduled-pending-pod", "unscheduled-pending-pod"], null, 3,
            ["unscheduled-pending-pod", "scheduled-pending-pod", "scheduled-running-not-ready-pod"]
        },
    };

    [Theory]
    [MemberData(nameof(DeletionCases))]
    public void GetPodsToDelete_PrefersEarlierStagesAndCrowdedNodes(string name, string[] pods, string[]? related, int diff, string[] expected)
    {
        _ = name; // the case's label
        var filtered = pods.Select(p => s_deletionPods[p]).ToList();
        var relatedPods = (related ?? pods).Select(p => s_deletionPods[p]).ToList();

        var toDelete = ReplicaSetUtils.GetPodsToDelete(filtered, relatedPods, diff, s_now);

        Assert.Equal(expected, toDelete.Select(p => p.Metadata!.Name));
    }

    [Fact]
    public void GetPodFromTemplate_CopiesTemplateAndSetsOwner()
    {
        var rs = NewReplicaSet(1, s_labels);
        rs.Spec!.Template!.Metadata!.Annotations = new() { ["a"] = "b" };
        rs.Spec.Template.Metadata.Finalizers = ["example.com/f"];
        var controllerRef = OwnerRefs.NewControllerRef(rs, "apps/v1", "ReplicaSet");

        var pod = PodControl.GetPodFromTemplate(rs.Spec.Template, rs, controllerRef);

        Assert.Equal("foo-", pod.Metadata!.GenerateName);
        Assert.Null(pod.Metadata.Name);
        Assert.Equal(s_fullLabels, pod.Metadata.Labels);
        Assert.NotSame(rs.Spec.Template.Metadata.Labels, pod.Metadata.Labels);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "b" }, pod.Metadata.Annotations);
        Assert.Equal(["example.com/f"], pod.Metadata.Finalizers!);
        Assert.Same(controllerRef, Assert.Single(pod.Metadata.OwnerReferences!));
        Assert.Equal((true, true, "foo", "rs-uid"), (controllerRef.Controller, controllerRef.BlockOwnerDeletion, controllerRef.Name, controllerRef.Uid));
        Assert.Equal("busybox", Assert.Single(pod.Spec!.Containers!).Image);
        Assert.NotSame(rs.Spec.Template.Spec, pod.Spec);
    }

    [Theory]
    [InlineData("foo", "foo-")]
    [InlineData("a.b", "a.b-")]
    // A name whose "name-" would not be a valid generateName keeps the bare name (upstream getPodsPrefix).
    [InlineData("Foo", "Foo")]
    public void PodsPrefix_DashUnlessInvalid(string controllerName, string expected) =>
        Assert.Equal(expected, PodControl.PodsPrefix(controllerName));

    // upstream newReplicaSet: the selector is the given labels, the template always carries name=foo,type=production.
    internal static ReplicaSet NewReplicaSet(int replicas, Dictionary<string, string> selector, int minReadySeconds = 0) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "ReplicaSet",
        Metadata = new ObjectMeta { Name = "foo", Namespace = "default", Uid = "rs-uid" },
        Spec = new ReplicaSetSpec
        {
            Replicas = replicas,
            MinReadySeconds = minReadySeconds,
            Selector = new LabelSelector { MatchLabels = new(selector) },
            Template = new PodTemplateSpec
            {
                Metadata = new ObjectMeta { Labels = new(s_fullLabels) },
                Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
            },
        },
    };

    private static Pod NewPod(string name, Dictionary<string, string> labels, string phase, bool? ready = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default", Labels = new(labels) },
        Spec = new PodSpec(),
        Status = new PodStatus
        {
            Phase = phase,
            // upstream newPod: Running pods are Ready (since "now"), others carry no Ready condition.
            Conditions = (ready ?? phase == "Running")
                ? [new PodCondition { Type = "Ready", Status = "True", LastTransitionTime = s_now }]
                : ready == false ? [new PodCondition { Type = "Ready", Status = "False" }] : null,
        },
    };

    private static Pod WithNode(Pod pod, string node)
    {
        pod.Spec!.NodeName = node;
        return pod;
    }
}
