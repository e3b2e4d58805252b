using Berth.Api.Models;
using Berth.Client.ClusterStatus;

namespace Berth.Client.Tests.ClusterStatus;

public sealed class ReadinessRulesTests
{
    // kubectl's TestDeploymentStatusViewerStatus cases (staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status_test.go),
    // plus a progress deadline and a never-observed deployment.
    [Theory]
    [InlineData(0, 1, 1, 1, 0, 1, false, "0 out of 1 new replicas have been updated")]
    [InlineData(1, 1, 1, 2, 1, 2, false, "1 old replicas are pending termination")]
    [InlineData(1, 2, 1, 2, 2, 1, false, "1 of 2 updated replicas are available")]
    [InlineData(1, 2, 1, 2, 2, 2, true, null)]
    [InlineData(2, 2, 1, 2, 2, 2, false, "waiting for the deployment spec update to be observed")]
    [InlineData(1, 3, null, null, null, null, false, "waiting for the deployment spec update to be observed")]
    public void Deployment_AsKubectlRolloutStatus(long generation, int specReplicas, int? observed, int? replicas, int? updated, int? available, bool ready, string? why)
    {
        var deployment = new Deployment
        {
            Metadata = new ObjectMeta { Name = "foo", Generation = generation },
            Spec = new DeploymentSpec { Replicas = specReplicas },
            Status = new DeploymentStatus { ObservedGeneration = observed, Replicas = replicas, UpdatedReplicas = updated, AvailableReplicas = available, ReadyReplicas = available },
        };

        var result = ReadinessRules.Deployment(deployment, []);

        Assert.Equal((ready, why), (result.Ready, result.Why));
        Assert.Equal($"{available ?? 0}/{specReplicas} ready", result.Summary);
    }

    [Fact]
    public void Deployment_ProgressDeadlineExceeded_SaysSo()
    {
        var deployment = new Deployment
        {
            Metadata = new ObjectMeta { Name = "foo", Generation = 1 },
            Spec = new DeploymentSpec { Replicas = 1 },
            Status = new DeploymentStatus
            {
                ObservedGeneration = 1,
                Conditions = [new DeploymentCondition { Type = "Progressing", Status = "False", Reason = "ProgressDeadlineExceeded", Message = "ReplicaSet \"foo-1\" has timed out progressing." }],
            },
        };

        Assert.Equal("exceeded its progress deadline: ReplicaSet \"foo-1\" has timed out progressing.", ReadinessRules.Deployment(deployment, []).Why);
    }

    [Fact]
    public void Deployment_NotReady_NamesAStuckPodsWaitingReasonFirst()
    {
        var deployment = new Deployment
        {
            Metadata = new ObjectMeta { Name = "foo", Generation = 1 },
            Spec = new DeploymentSpec { Replicas = 2 },
            Status = new DeploymentStatus { ObservedGeneration = 1, Replicas = 2, UpdatedReplicas = 2, AvailableReplicas = 0 },
        };
        Pod[] pods = [Waiting("a", "ContainerCreating", null), Waiting("b", "CrashLoopBackOff", "back-off 10s restarting failed container")];

        var result = ReadinessRules.Deployment(deployment, pods);

        Assert.Equal("0 of 2 updated replicas are available; pod b: container app: CrashLoopBackOff: back-off 10s restarting failed container", result.Why);
    }

    [Theory]
    [InlineData(1, 1, 3, 3, 3, true)]
    [InlineData(1, 1, 3, 3, 2, false)]
    [InlineData(2, 1, 3, 3, 3, false)]
    [InlineData(1, 1, 2, 3, 2, false)]
    public void ReplicaSet_AllWantedReplicasReady(long generation, long observed, int want, int replicas, int ready, bool expected)
    {
        var rs = new ReplicaSet
        {
            Metadata = new ObjectMeta { Name = "rs", Generation = generation },
            Spec = new ReplicaSetSpec { Replicas = want },
            Status = new ReplicaSetStatus { ObservedGeneration = observed, Replicas = replicas, ReadyReplicas = ready },
        };

        Assert.Equal(expected, ReadinessRules.ReplicaSet(rs, []).Ready);
    }

    [Theory]
    [InlineData("Running", "True", true, "ready")]
    [InlineData("Running", "False", false, "running")]
    [InlineData("Succeeded", "False", true, "succeeded")]
    [InlineData("Pending", null, false, "pending")]
    public void Pod_ReadyConditionOrSucceeded(string phase, string? readyCondition, bool ready, string summary)
    {
        var pod = new Pod
        {
            Metadata = new ObjectMeta { Name = "p" },
            Status = new PodStatus { Phase = phase, Conditions = readyCondition is null ? null : [new PodCondition { Type = "Ready", Status = readyCondition }] },
        };

        var result = ReadinessRules.Pod(pod);

        Assert.Equal((ready, summary), (result.Ready, result.Summary));
    }

    [Fact]
    public void Since_ReadinessFromBeforeThisStart_DoesNotCount()
    {
        var since = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        Pod stale = ReadyPod("stale", since.AddSeconds(-30)), fresh = ReadyPod("fresh", since);
        var deployment = new Deployment
        {
            Metadata = new ObjectMeta { Name = "foo", Generation = 1 },
            Spec = new DeploymentSpec { Replicas = 2 },
            Status = new DeploymentStatus { ObservedGeneration = 1, Replicas = 2, UpdatedReplicas = 2, AvailableReplicas = 2, ReadyReplicas = 2 },
        };

        Assert.Equal((false, "restarting"), (ReadinessRules.Pod(stale, since).Ready, ReadinessRules.Pod(stale, since).Summary));
        Assert.True(ReadinessRules.Pod(stale).Ready);
        Assert.True(ReadinessRules.Pod(fresh, since).Ready);
        var result = ReadinessRules.Deployment(deployment, [stale, fresh], since);
        Assert.Equal((false, "1/2 ready"), (result.Ready, result.Summary));
        Assert.True(ReadinessRules.Deployment(deployment, [stale, fresh]).Ready);
        Assert.True(ReadinessRules.Deployment(deployment, [ReadyPod("a", since), ReadyPod("b", since.AddSeconds(3))], since).Ready);
    }

    [Fact]
    public void Since_ReadySinceBeforeButEveryContainerRestartedReadyAfter_Counts()
    {
        // No readiness probe: the agent restarted the container, which was ready at once, so Ready never turned False.
        var since = new DateTimeOffset(2026, 1, 1, 12, 0, 0, 500, TimeSpan.Zero);
        Pod Restarted(DateTimeOffset startedAt, bool ready) => new()
        {
            Metadata = new ObjectMeta { Name = "sleeper" },
            Status = new PodStatus
            {
                Phase = "Running",
                Conditions = [new PodCondition { Type = "Ready", Status = "True", LastTransitionTime = since.AddSeconds(-40) }],
                ContainerStatuses = [new ContainerStatus { Name = "app", Ready = ready, State = new ContainerState { Running = new ContainerStateRunning { StartedAt = startedAt } } }],
            },
        };

        // The API keeps whole seconds: a container started in the second of the start (12:00:00.8 → 12:00:00) counts.
        Assert.True(ReadinessRules.Pod(Restarted(since.AddMilliseconds(-500), ready: true), since).Ready);
        Assert.True(ReadinessRules.Pod(Restarted(since.AddSeconds(2), ready: true), since).Ready);
        Assert.False(ReadinessRules.Pod(Restarted(since.AddSeconds(-40), ready: true), since).Ready);
        Assert.False(ReadinessRules.Pod(Restarted(since.AddSeconds(2), ready: false), since).Ready);
        // The same for a Ready condition that turned True in the second of the start.
        Assert.True(ReadinessRules.Pod(ReadyPod("same-second", since.AddMilliseconds(-500)), since).Ready);
    }

    [Fact]
    public void PodReason_UnscheduledAndProbing()
    {
        var unscheduled = new Pod { Status = new PodStatus { Conditions = [new PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/1 nodes are available" }] } };
        var probing = new Pod
        {
            Status = new PodStatus
            {
                ContainerStatuses = [new ContainerStatus { Name = "app", Ready = false, State = new ContainerState { Running = new ContainerStateRunning() } }],
            },
        };

        Assert.Equal("not scheduled: 0/1 nodes are available", ReadinessRules.PodReason(unscheduled));
        Assert.Equal("container app: running, not ready (readiness probe)", ReadinessRules.PodReason(probing));
    }

    [Theory]
    // type, selector?, LB ingress?, slice endpoints' ready conditions (null = unset), ready, summary
    [InlineData("ClusterIP", true, false, new[] { "true", "false", "null" }, true, "2 ready endpoints")]
    [InlineData("ClusterIP", true, false, new[] { "false" }, false, "0 ready endpoints")]
    [InlineData("ClusterIP", true, false, new string[0], false, "0 ready endpoints")]
    [InlineData("LoadBalancer", true, false, new[] { "true" }, false, "1 ready endpoint")]
    [InlineData("LoadBalancer", true, true, new[] { "true" }, true, "1 ready endpoint")]
    [InlineData("ClusterIP", false, false, new string[0], true, "applied")]
    [InlineData("ExternalName", false, false, new string[0], true, "applied")]
    public void Service_NeedsReadyEndpointsAndALoadBalancerAddress(string type, bool selector, bool ingress, string[] endpoints, bool ready, string summary)
    {
        var service = new Service
        {
            Metadata = new ObjectMeta { Name = "web", Namespace = "default" },
            Spec = new ServiceSpec { Type = type, Selector = selector ? new Dictionary<string, string> { ["app"] = "web" } : null },
            Status = new ServiceStatus { LoadBalancer = new LoadBalancerStatus { Ingress = ingress ? [new LoadBalancerIngress { Ip = "127.100.0.1" }] : null } },
        };
        EndpointSlice[] slices =
        [
            Slice("web", "default", endpoints),
            // Another Service's slice, and one of a same-named Service in another namespace: neither counts.
            Slice("other", "default", ["true"]),
            Slice("web", "elsewhere", ["true"]),
        ];

        var result = ReadinessRules.Service(service, slices);

        Assert.Equal((ready, summary), (result.Ready, result.Summary));
    }

    [Fact]
    public void Service_CountsOnlyTheEndpointsTheCallerCounts()
    {
        var service = new Service
        {
            Metadata = new ObjectMeta { Name = "web", Namespace = "default" },
            Spec = new ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "web" } },
        };
        EndpointSlice[] slices = [Slice("web", "default", ["true", "true"])];

        Assert.Equal(1, ReadinessRules.ReadyEndpoints(service, slices, e => e.Addresses![0] == "127.244.0.2"));
        Assert.False(ReadinessRules.Service(service, slices, _ => false).Ready);
    }

    [Fact]
    public void Service_WithoutEndpoints_ExplainsWithTheEndpointsReadyCondition()
    {
        var service = new Service
        {
            Metadata = new ObjectMeta { Name = "web", Namespace = "default" },
            Spec = new ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "web" } },
            Status = new ServiceStatus { Conditions = [new Condition { Type = "EndpointsReady", Status = "False", Message = "no pod matches the selector app=web" }] },
        };

        Assert.Equal("no pod matches the selector app=web", ReadinessRules.Service(service, []).Why);
    }

    private static Pod ReadyPod(string name, DateTimeOffset readySince) => new()
    {
        Metadata = new ObjectMeta { Name = name },
        Status = new PodStatus { Phase = "Running", Conditions = [new PodCondition { Type = "Ready", Status = "True", LastTransitionTime = readySince }] },
    };

    private static Pod Waiting(string name, string reason, string? message) => new()
    {
        Metadata = new ObjectMeta { Name = name },
        Status = new PodStatus
        {
            Phase = "Pending",
            ContainerStatuses = [new ContainerStatus { Name = "app", State = new ContainerState { Waiting = new ContainerStateWaiting { Reason = reason, Message = message } } }],
        },
    };

    private static EndpointSlice Slice(string service, string ns, string[] ready) => new()
    {
        Metadata = new ObjectMeta { Name = service + "-abc", Namespace = ns, Labels = new Dictionary<string, string> { [ReadinessRules.ServiceNameLabel] = service } },
        Endpoints = [.. ready.Select((r, i) => new Endpoint
        {
            Addresses = [$"127.244.0.{i + 1}"],
            Conditions = new EndpointConditions { Ready = r == "null" ? null : r == "true" },
        })],
    };
}
