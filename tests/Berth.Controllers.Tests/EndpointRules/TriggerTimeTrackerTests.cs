using Berth.Api.Models;
using Berth.Controllers.ServiceEndpoints;

namespace Berth.Controllers.Tests.EndpointRules;

// Ported from kubernetes staging/src/k8s.io/endpointslice/util/trigger_time_tracker_test.go.
public sealed class TriggerTimeTrackerTests
{
    private const string Ns = "ttNamespace1";
    private const string ServiceName = "my-service";

    private static readonly DateTimeOffset s_t0 = new(2019, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_t1 = s_t0.AddSeconds(1);
    private static readonly DateTimeOffset s_t2 = s_t1.AddSeconds(1);
    private static readonly DateTimeOffset s_t3 = s_t2.AddSeconds(1);
    private static readonly DateTimeOffset s_t4 = s_t3.AddSeconds(1);
    private static readonly DateTimeOffset s_t5 = s_t4.AddSeconds(1);

    private readonly TriggerTimeTracker _tracker = new();

    [Fact]
    public void NewServiceNoPods_ServiceCreation()
    {
        Assert.Equal(s_t2, Compute(CreateService(s_t2)));
    }

    [Fact]
    public void NewServiceExistingPods_ServiceCreation()
    {
        // Pods were created before the Service, but the trigger is the Service's creation.
        Assert.Equal(s_t3, Compute(CreateService(s_t3), CreatePod("pod1", s_t0), CreatePod("pod2", s_t1), CreatePod("pod3", s_t5)));
    }

    [Fact]
    public void PodsAdded_EarliestNewPod()
    {
        var service = CreateService(s_t0);
        Assert.Equal(s_t0, Compute(service));

        Assert.Equal(s_t1, Compute(service, CreatePod("pod1", s_t2), CreatePod("pod2", s_t1)));
    }

    [Fact]
    public void PodsUpdated_EarliestChangedPod()
    {
        var service = CreateService(s_t0);
        var pod3 = CreatePod("pod3", s_t3);
        Assert.Equal(s_t0, Compute(service, CreatePod("pod1", s_t1), CreatePod("pod2", s_t2), pod3));

        // pod3 doesn't change.
        Assert.Equal(s_t4, Compute(service, CreatePod("pod1", s_t5), CreatePod("pod2", s_t4), pod3));
    }

    [Fact]
    public void PodsUpdatedNoOp_Null()
    {
        var service = CreateService(s_t0);
        Pod[] pods = [CreatePod("pod1", s_t1), CreatePod("pod2", s_t2), CreatePod("pod3", s_t3)];
        Assert.Equal(s_t0, Compute(service, pods));

        Assert.Null(Compute(service, pods));
    }

    [Fact]
    public void PodDeletedThenAdded_TheReaddedPod()
    {
        var service = CreateService(s_t0);
        var pod1 = CreatePod("pod1", s_t1);
        Assert.Equal(s_t0, Compute(service, pod1, CreatePod("pod2", s_t2)));

        Assert.Null(Compute(service, pod1));

        Assert.Equal(s_t4, Compute(service, pod1, CreatePod("pod2", s_t4)));
    }

    [Fact]
    public void ServiceDeletedThenAdded_NewServiceCreation()
    {
        Pod[] pods = [CreatePod("pod1", s_t1), CreatePod("pod2", s_t2)];
        Assert.Equal(s_t0, Compute(CreateService(s_t0), pods));

        _tracker.DeleteService(Ns, ServiceName);

        Assert.Equal(s_t3, Compute(CreateService(s_t3), pods));
    }

    [Fact]
    public void ServiceUpdatedNoPodChange_Null()
    {
        var service = CreateService(s_t0);
        Pod[] pods = [CreatePod("pod1", s_t1), CreatePod("pod2", s_t2)];
        Assert.Equal(s_t0, Compute(service, pods));

        // The ports changed; upstream cannot compute a trigger time for Service updates, so there is none.
        service.Spec = new ServiceSpec { Selector = [], Ports = [new ServicePort { Port = 80, TargetPort = 8080, Protocol = "TCP" }] };

        Assert.Null(Compute(service, pods));
    }

    [Fact]
    public void PodWithoutReadyCondition_NoTrigger()
    {
        var service = CreateService(s_t0);
        Assert.Equal(s_t0, Compute(service));

        Assert.Null(Compute(service, new Pod { Metadata = new ObjectMeta { Namespace = Ns, Name = "pending" }, Status = new PodStatus() }));
    }

    [Fact]
    public void OtherNamespace_TrackedSeparately()
    {
        var service = CreateService(s_t0);
        Assert.Equal(s_t0, Compute(service));

        Assert.Equal(s_t0, _tracker.ComputeEndpointLastChangeTriggerTime("other", service, []));
    }

    private DateTimeOffset? Compute(Service service, params Pod[] pods) => _tracker.ComputeEndpointLastChangeTriggerTime(Ns, service, pods);

    private static Pod CreatePod(string name, DateTimeOffset readyTime) => new()
    {
        Metadata = new ObjectMeta { Namespace = Ns, Name = name },
        Status = new PodStatus { Conditions = [new PodCondition { Type = "Ready", Status = "True", LastTransitionTime = readyTime }] },
    };

    private static Service CreateService(DateTimeOffset creationTime) => new()
    {
        Metadata = new ObjectMeta { Namespace = Ns, Name = ServiceName, CreationTimestamp = creationTime },
    };
}
