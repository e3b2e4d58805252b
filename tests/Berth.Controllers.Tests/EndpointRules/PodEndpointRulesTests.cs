using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Controllers.ServiceEndpoints;
using static Berth.Controllers.Tests.EndpointRules.EndpointObjects;

namespace Berth.Controllers.Tests.EndpointRules;

// Ported from kubernetes staging/src/k8s.io/endpointslice/util/controller_utils_test.go: TestShouldPodBeInEndpoints,
// TestShouldSetHostname, Test_podChanged; plus FindPort, IsPodReady and Zone.
public sealed class PodEndpointRulesTests
{
    private static Pod PodWith(string? restartPolicy, string phase, string? podIP, List<PodIP>? podIPs = null, bool deleting = false) => new()
    {
        Metadata = new ObjectMeta { DeletionTimestamp = deleting ? DateTimeOffset.UtcNow : null },
        Spec = new PodSpec { RestartPolicy = restartPolicy },
        Status = new PodStatus { Phase = phase, PodIP = podIP, PodIPs = podIPs },
    };

    // Upstream's "Hermetic pod" case is left out: that field is not in the v1.32 API.
    public static TheoryData<string, Pod, bool, bool> ShouldBeInEndpointsCases => new()
    {
        { "Failed pod with Never RestartPolicy", PodWith("Never", "Failed", "1.2.3.4"), false, false },
        { "Succeeded pod with Never RestartPolicy", PodWith("Never", "Succeeded", "1.2.3.4"), false, false },
        { "Succeeded pod with OnFailure RestartPolicy", PodWith("OnFailure", "Succeeded", "1.2.3.4"), false, false },
        { "Empty Pod IPs, Running pod with OnFailure RestartPolicy", PodWith("Never", "Running", "", []), false, false },
        { "Terminating Pod with includeTerminating=false", PodWith(null, "Running", "1.2.3.4", deleting: true), false, false },
        { "Failed pod with Always RestartPolicy", PodWith("Always", "Failed", "1.2.3.4"), false, false },
        { "Pending pod with Never RestartPolicy", PodWith("Never", "Pending", "1.2.3.4"), false, true },
        { "Unknown pod with OnFailure RestartPolicy", PodWith("OnFailure", "Unknown", "1.2.3.4"), false, true },
        { "Running pod with Never RestartPolicy", PodWith("Never", "Running", "1.2.3.4"), false, true },
        { "Multiple Pod IPs, Running pod with OnFailure RestartPolicy", PodWith("Never", "Running", null, [new PodIP { Ip = "1.2.3.4" }, new PodIP { Ip = "1234::5678:0000:0000:9abc:def0" }]), false, true },
        { "Terminating Pod with includeTerminating=true", PodWith(null, "Running", "1.2.3.4", deleting: true), true, true },
        { "Terminal pod with includeTerminating=true", PodWith(null, "Succeeded", "1.2.3.4", deleting: true), true, false },
    };

    [Theory]
    [MemberData(nameof(ShouldBeInEndpointsCases))]
    public void ShouldPodBeInEndpoints_Table(string name, Pod pod, bool includeTerminating, bool expected)
    {
        Assert.True(expected == PodEndpointRules.ShouldPodBeInEndpoints(pod, includeTerminating), name);
    }

    [Theory]
    [InlineData("all matching", "ns", "foo", "svc-name", "ns", "svc-name", true)]
    [InlineData("all matching, hostname not set", "ns", "", "svc-name", "ns", "svc-name", false)]
    [InlineData("all set, different name/subdomain", "ns", "hostname", "subdomain", "ns", "name", false)]
    [InlineData("all set, different namespace", "ns1", "hostname", "svc-name", "ns2", "svc-name", false)]
    public void ShouldSetHostname_Table(string name, string podNamespace, string hostname, string subdomain, string serviceNamespace, string serviceName, bool expected)
    {
        var pod = new Pod { Metadata = new ObjectMeta { Namespace = podNamespace }, Spec = new PodSpec { Hostname = hostname, Subdomain = subdomain } };
        var service = new Service { Metadata = new ObjectMeta { Name = serviceName, Namespace = serviceNamespace } };

        Assert.True(expected == PodEndpointRules.ShouldSetHostname(pod, service), name);
    }

    public static TheoryData<string, Action<Pod, Pod>, bool, bool> PodChangedCases => new()
    {
        { "no changes", (_, _) => { }, false, false },
        // NodeName can only change before the pod has an IP, when it is no endpoint yet.
        { "change NodeName", (_, current) => current.Spec!.NodeName = "changed", false, false },
        { "change ResourceVersion", (_, current) => current.Metadata!.ResourceVersion = "changed", false, false },
        { "add primary IPv4", (_, current) => SetIPs(current, "1.2.3.4"), true, false },
        { "modify primary IPv4", (old, current) => { SetIPs(old, "1.2.3.4"); SetIPs(current, "2.3.4.5"); }, true, false },
        { "add primary IPv6", (_, current) => SetIPs(current, "fd00:10:96::1"), true, false },
        { "modify primary IPv6", (old, current) => { SetIPs(old, "fd00:10:96::1"); SetIPs(current, "fd00:10:96::2"); }, true, false },
        { "add secondary IP", (old, current) => { SetIPs(old, "1.2.3.4"); SetIPs(current, "1.2.3.4", "fd00:10:96::1"); }, true, false },
        { "modify secondary IP", (old, current) => { SetIPs(old, "1.2.3.4", "fd00:10:96::1"); SetIPs(current, "1.2.3.4", "fd00:10:96::2"); }, true, false },
        { "remove secondary IP", (old, current) => { SetIPs(old, "1.2.3.4", "fd00:10:96::1"); SetIPs(current, "1.2.3.4"); }, true, false },
        { "change readiness", (_, current) => current.Status!.Conditions![0].Status = "True", true, false },
        { "mark for deletion", (_, current) => current.Metadata!.DeletionTimestamp = DateTimeOffset.UtcNow, true, false },
        { "add label", (_, current) => current.Metadata!.Labels!["label"] = "new", false, true },
        { "modify label", (old, current) => { old.Metadata!.Labels!["label"] = "old"; current.Metadata!.Labels!["label"] = "new"; }, false, true },
        { "remove label", (old, _) => old.Metadata!.Labels!["label"] = "old", false, true },
        // hostNameAndDomainAreEqual: hostname and subdomain decide which Service gives the pod a DNS name.
        { "change hostname", (_, current) => current.Spec!.Hostname = "web-0", false, true },
        { "change subdomain", (_, current) => current.Spec!.Subdomain = "web", false, true },
        { "readiness and labels", (_, current) => { current.Status!.Conditions![0].Status = "True"; current.Metadata!.Labels!["label"] = "new"; }, true, true },
    };

    [Theory]
    [MemberData(nameof(PodChangedCases))]
    public void PodChanged_Table(string name, Action<Pod, Pod> modify, bool endpointsChanged, bool labelsChanged)
    {
        var orig = new Pod
        {
            Metadata = new ObjectMeta { Namespace = "test", Name = "pod", Labels = new() { ["foo"] = "bar" } },
            Spec = new PodSpec(),
            Status = new PodStatus { Conditions = [new PodCondition { Type = "Ready", Status = "False" }] },
        };
        var old = KubeJson.DeepClone(orig);
        var current = KubeJson.DeepClone(orig);
        modify(old, current);

        Assert.True((endpointsChanged, labelsChanged) == PodEndpointRules.PodChanged(old, current), name);
    }

    [Fact]
    public void PodChanged_AbsentAndEmptyLabels_NoChange()
    {
        var old = new Pod { Metadata = new ObjectMeta { Labels = null } };
        var current = new Pod { Metadata = new ObjectMeta { Labels = [] } };

        Assert.Equal((false, false), PodEndpointRules.PodChanged(old, current));
    }

    public static TheoryData<string, ServicePort, int?> FindPortCases => new()
    {
        { "number used as is", new ServicePort { Port = 80, TargetPort = 8080, Protocol = "TCP" }, 8080 },
        { "targetPort absent is the port", new ServicePort { Port = 80, Protocol = "TCP" }, 80 },
        { "targetPort 0 is the port", new ServicePort { Port = 80, TargetPort = 0, Protocol = "TCP" }, 80 },
        { "name found", new ServicePort { Port = 80, TargetPort = "http", Protocol = "TCP" }, 8080 },
        { "name found, protocols defaulted", new ServicePort { Port = 80, TargetPort = "http" }, 8080 },
        { "name found under its protocol", new ServicePort { Port = 53, TargetPort = "dns", Protocol = "UDP" }, 5353 },
        { "name not found", new ServicePort { Port = 80, TargetPort = "nope", Protocol = "TCP" }, null },
        { "name found, other protocol", new ServicePort { Port = 80, TargetPort = "http", Protocol = "UDP" }, null },
    };

    [Theory]
    [MemberData(nameof(FindPortCases))]
    public void FindPort_Table(string name, ServicePort servicePort, int? expected)
    {
        var pod = new Pod
        {
            Spec = new PodSpec
            {
                Containers =
                [
                    new Container { Name = "web", Ports = [new ContainerPort { Name = "http", ContainerPortNumber = 8080 }] },
                    new Container { Name = "dns", Ports = [new ContainerPort { Name = "dns", ContainerPortNumber = 5353, Protocol = "UDP" }] },
                ],
            },
        };

        Assert.True(expected == PodEndpointRules.FindPort(pod, servicePort), name);
    }

    [Theory]
    [InlineData("True", true)]
    [InlineData("False", false)]
    [InlineData("Unknown", false)]
    [InlineData(null, false)]
    public void IsPodReady_OnlyReadyConditionTrue(string? status, bool expected)
    {
        var pod = new Pod
        {
            Status = new PodStatus
            {
                Conditions = status is null
                    ? [new PodCondition { Type = "ContainersReady", Status = "True" }]
                    : [new PodCondition { Type = "ContainersReady", Status = "True" }, new PodCondition { Type = "Ready", Status = status }],
            },
        };

        Assert.Equal(expected, PodEndpointRules.IsPodReady(pod));
    }

    [Fact]
    public void Zone_FromTheTopologyLabel_NullWhenMissingOrEmpty()
    {
        static Node Labelled(string? zone) => new() { Metadata = new ObjectMeta { Labels = zone is null ? [] : new() { ["topology.kubernetes.io/zone"] = zone } } };

        Assert.Equal("z1", PodEndpointRules.Zone(Labelled("z1")));
        Assert.Null(PodEndpointRules.Zone(Labelled("")));
        Assert.Null(PodEndpointRules.Zone(Labelled(null)));
        Assert.Null(PodEndpointRules.Zone(null));
    }

    private static void SetIPs(Pod pod, params string[] ips)
    {
        pod.Status!.PodIP = ips[0];
        pod.Status.PodIPs = [.. ips.Select(ip => new PodIP { Ip = ip })];
    }
}
