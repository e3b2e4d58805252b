using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Controllers.Scheduler;
using static Berth.Controllers.Tests.Scheduler.SchedulerObjects;

namespace Berth.Controllers.Tests.Scheduler;

public sealed class SchedulingEventsTests
{
    // eventhandlers_test.go TestNodeSchedulingPropertiesChange: each change kind, and the heartbeat that is none.
    public static TheoryData<string, Action<Node>, bool> NodeChanges => new()
    {
        { "no specific change applied", _ => { }, false },
        { "only the heartbeat time changed", n => n.Status!.Conditions![0].LastHeartbeatTime = DateTimeOffset.UnixEpoch, false },
        { "only node spec unavailable changed", n => n.Spec!.Unschedulable = null, true },
        { "only node allocatable changed", n => n.Status!.Allocatable!["cpu"] = "8", true },
        { "only node label changed", n => n.Metadata!.Labels = new() { ["zone"] = "b" }, true },
        { "only node taint changed", n => n.Spec!.Taints = [Taint("k", "v", "NoSchedule")], true },
        { "only node annotation changed", n => n.Metadata!.Annotations = new() { ["a"] = "b" }, true },
        { "only node condition status changed", n => n.Status!.Conditions![0].Status = "False", true },
    };

    [Theory]
    [MemberData(nameof(NodeChanges))]
    public void NodeSchedulingPropertiesChanged_Table(string name, Action<Node> change, bool expected)
    {
        var old = Node("n", unschedulable: true, labels: new() { ["zone"] = "a" });
        var updated = KubeJson.DeepClone(old);
        change(updated);

        Assert.True(expected == SchedulingEvents.NodeSchedulingPropertiesChanged(old, updated), name);
    }

    [Fact]
    public void NodeSchedulingPropertiesChanged_BecomingUnschedulable_MovesNothing()
    {
        var old = Node("n");
        var updated = KubeJson.DeepClone(old);
        updated.Spec!.Unschedulable = true;

        Assert.False(SchedulingEvents.NodeSchedulingPropertiesChanged(old, updated));
    }

    // isPodUpdated: status, resourceVersion, generation, managedFields and finalizers do not count.
    public static TheoryData<string, Action<Pod>, bool> PendingPodChanges => new()
    {
        { "status only (the scheduler's own condition)", p => p.Status = new PodStatus { Conditions = [new PodCondition { Type = "PodScheduled", Status = "False" }] }, false },
        { "resourceVersion and generation", p => { p.Metadata!.ResourceVersion = "9"; p.Metadata.Generation = 2; }, false },
        { "finalizers", p => p.Metadata!.Finalizers = ["x"], false },
        { "a toleration added", p => p.Spec!.Tolerations = [Tol("k", "Exists", null, null)], true },
        { "labels", p => p.Metadata!.Labels = new() { ["a"] = "b" }, true },
    };

    [Theory]
    [MemberData(nameof(PendingPodChanges))]
    public void PodUpdated_Table(string name, Action<Pod> change, bool expected)
    {
        var old = Pod();
        var updated = KubeJson.DeepClone(old);
        change(updated);

        Assert.True(expected == SchedulingEvents.PodUpdated(old, updated), name);
    }

    // The cheap check for bound pods: only what the cache holds.
    public static TheoryData<string, Action<Pod>, bool> BoundPodChanges => new()
    {
        { "status churn", p => p.Status = new PodStatus { Phase = "Running", PodIP = "10.0.0.1" }, false },
        { "annotations", p => p.Metadata!.Annotations = new() { ["a"] = "b" }, false },
        { "labels", p => p.Metadata!.Labels = new() { ["a"] = "b" }, true },
        { "deletion started", p => p.Metadata!.DeletionTimestamp = DateTimeOffset.UnixEpoch, true },
        { "adopted by a controller", p => p.Metadata!.OwnerReferences = [new OwnerReference { Uid = "u", Controller = true }], true },
    };

    [Theory]
    [MemberData(nameof(BoundPodChanges))]
    public void AssignedPodChanged_Table(string name, Action<Pod> change, bool expected)
    {
        var old = Pod(node: "n1");
        var updated = KubeJson.DeepClone(old);
        change(updated);

        Assert.True(expected == SchedulingEvents.AssignedPodChanged(old, updated), name);
    }
}
