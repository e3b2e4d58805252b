using System.Text.Json.Nodes;
using Berth.Api.Defaulting;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Api.Tests.Defaulting;

public sealed class DefaultsTests
{
    [Theory]
    [InlineData("nginx", "Always")]
    [InlineData("nginx:latest", "Always")]
    [InlineData("nginx:1.25", "IfNotPresent")]
    [InlineData("registry.local:5000/team/nginx", "Always")]
    [InlineData("registry.local:5000/team/nginx:1.25", "IfNotPresent")]
    [InlineData("nginx@sha256:0123456789abcdef", "IfNotPresent")]
    public void PullPolicyFor_Image_AsUpstream(string image, string expected) => Assert.Equal(expected, Defaults.PullPolicyFor(image));

    [Fact]
    public void Apply_Deployment_FillsUpstreamDefaults()
    {
        var deployment = KubeJson.Deserialize<Deployment>(JsonNode.Parse("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
               "spec":{"containers":[{"name":"web","image":"nginx:1.25","ports":[{"containerPort":80}],
                 "readinessProbe":{"httpGet":{"path":"/","port":80}}}]}}}}
            """)!);
        Defaults.Apply(deployment);
        var spec = deployment.Spec!;
        Assert.Equal(1, spec.Replicas);
        Assert.Equal("RollingUpdate", spec.Strategy!.Type);
        Assert.Equal("25%", spec.Strategy.RollingUpdate!.MaxSurge!.Value.StringValue);
        Assert.Equal(10, spec.RevisionHistoryLimit);
        Assert.Equal(600, spec.ProgressDeadlineSeconds);
        var pod = spec.Template!.Spec!;
        Assert.Equal("ClusterFirst", pod.DnsPolicy);
        Assert.Equal("Always", pod.RestartPolicy);
        Assert.Equal(30, pod.TerminationGracePeriodSeconds);
        Assert.Equal("default-scheduler", pod.SchedulerName);
        var container = pod.Containers![0];
        Assert.Equal("IfNotPresent", container.ImagePullPolicy);
        Assert.Equal("TCP", container.Ports![0].Protocol);
        Assert.Equal("/dev/termination-log", container.TerminationMessagePath);
        Assert.Equal((1, 10, 1, 3), (container.ReadinessProbe!.TimeoutSeconds, container.ReadinessProbe.PeriodSeconds,
            container.ReadinessProbe.SuccessThreshold, container.ReadinessProbe.FailureThreshold));
        Assert.Equal("HTTP", container.ReadinessProbe.HttpGet!.Scheme);
    }

    [Fact]
    public void Apply_RecreateDeployment_HasNoRollingUpdate()
    {
        var deployment = new Deployment { Spec = new DeploymentSpec { Strategy = new DeploymentStrategy { Type = "Recreate" } } };
        Defaults.Apply(deployment);
        Assert.Null(deployment.Spec.Strategy.RollingUpdate);
    }

    [Fact]
    public void Apply_Twice_ChangesNothingMore()
    {
        var pod = KubeJson.Deserialize<Pod>(JsonNode.Parse("""{"spec":{"containers":[{"name":"a","image":"busybox","restartPolicy":"Always"}],"restartPolicy":"Never"}}""")!);
        Defaults.Apply(pod);
        var once = KubeJson.ToNode(pod);
        Defaults.Apply(pod);
        Assert.True(JsonNode.DeepEquals(once, KubeJson.ToNode(pod)));
        Assert.Equal("Never", pod.Spec!.RestartPolicy);
    }

    [Fact]
    public void Apply_EndpointsAndSlicePorts_GetUpstreamV1Defaults()
    {
        // SetDefaults_EndpointPort (core/v1 and discovery/v1): protocol TCP; a slice port's nil name becomes "".
        var endpoints = KubeJson.Deserialize<Endpoints>(JsonNode.Parse("""
            {"subsets":[{"addresses":[{"ip":"1.1.1.1"}],"ports":[{"port":88},{"name":"dns","port":53,"protocol":"UDP"}]}]}
            """)!);
        var slice = KubeJson.Deserialize<EndpointSlice>(JsonNode.Parse("""
            {"addressType":"IPv4","ports":[{"port":88},{"name":"dns","port":53,"protocol":"UDP"}]}
            """)!);

        Defaults.Apply(endpoints);
        Defaults.Apply(slice);

        Assert.Equal(["TCP", "UDP"], endpoints.Subsets![0].Ports!.Select(p => p.Protocol));
        Assert.Equal(["", "dns"], slice.Ports!.Select(p => p.Name));
        Assert.Equal(["TCP", "UDP"], slice.Ports!.Select(p => p.Protocol));
    }
}
