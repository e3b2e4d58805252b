using System.Text.Json.Nodes;
using Berth.Api.Defaulting;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Api.Tests.Defaulting;

/// <summary>The Service cases of upstream pkg/apis/core/v1/defaults_test.go (SetDefaults_Service).</summary>
public sealed class ServiceDefaultsTests
{
    // TestSetDefaultService
    [Fact]
    public void Apply_EmptyService_GetsAffinityNoneAndClusterIP()
    {
        var service = Defaulted(new Service());
        Assert.Equal("None", service.Spec!.SessionAffinity);
        Assert.Null(service.Spec.SessionAffinityConfig);
        Assert.Equal("ClusterIP", service.Spec.Type);
    }

    // TestSetDefaultServiceSessionAffinityConfig
    [Theory]
    [InlineData("SessionAffinityConfig is empty", """{"sessionAffinity":"ClientIP"}""")]
    [InlineData("ClientIP is empty", """{"sessionAffinity":"ClientIP","sessionAffinityConfig":{}}""")]
    [InlineData("TimeoutSeconds is empty", """{"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{}}}""")]
    public void Apply_ClientIPAffinityWithoutTimeout_DefaultsToThreeHours(string name, string spec)
    {
        var service = Defaulted(spec);
        Assert.True(service.Spec!.SessionAffinityConfig?.ClientIP?.TimeoutSeconds == 10800, name);
    }

    [Fact]
    public void Apply_ClientIPAffinityWithTimeout_KeepsIt() =>
        Assert.Equal(60, Defaulted("""{"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}}}""")
            .Spec!.SessionAffinityConfig!.ClientIP!.TimeoutSeconds);

    [Fact]
    public void Apply_AffinityNone_DropsConfig() =>
        Assert.Null(Defaulted("""{"sessionAffinity":"None","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}}}""").Spec!.SessionAffinityConfig);

    // TestSetDefaultServiceLoadbalancerIPMode (LoadBalancerIPMode is GA in v1.32)
    [Theory]
    [InlineData("Set IP but not set IPMode", """{"ip":"1.2.3.4"}""", "VIP")]
    [InlineData("Both IP and IPMode are set", """{"ip":"1.2.3.4","ipMode":"Proxy"}""", "Proxy")]
    [InlineData("Hostname only", """{"hostname":"lb.example.com"}""", null)]
    public void Apply_LoadBalancerIngress_DefaultsIPModeWhenIPIsSet(string name, string ingress, string? expected)
    {
        var service = KubeJson.Deserialize<Service>(JsonNode.Parse("""{"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[""" + ingress + "]}}}")!);
        Defaults.Apply(service);
        Assert.True(service.Status!.LoadBalancer!.Ingress![0].IpMode == expected, name);
    }

    [Fact]
    public void Apply_IngressOnNonLoadBalancer_IsLeftAlone()
    {
        var service = KubeJson.Deserialize<Service>(JsonNode.Parse("""{"spec":{"type":"ClusterIP"},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}}""")!);
        Defaults.Apply(service);
        Assert.Null(service.Status!.LoadBalancer!.Ingress![0].IpMode);
    }

    // TestSetDefaultServiceTargetPort and TestSetDefaultServicePort
    [Theory]
    [InlineData("""{"port":1234}""", "TCP", 1234, null)]
    [InlineData("""{"port":1234,"targetPort":5678}""", "TCP", 5678, null)]
    [InlineData("""{"protocol":"UDP","port":9376,"targetPort":"p"}""", "UDP", null, "p")]
    [InlineData("""{"protocol":"UDP","port":8675,"targetPort":309}""", "UDP", 309, null)]
    [InlineData("""{"protocol":"","port":9376,"targetPort":""}""", "TCP", 9376, null)]
    [InlineData("""{"protocol":"","port":8675,"targetPort":0}""", "TCP", 8675, null)]
    public void Apply_Port_DefaultsProtocolAndTargetPort(string port, string protocol, int? targetInt, string? targetName)
    {
        var defaulted = Defaulted($$"""{"ports":[{{port}}]}""").Spec!.Ports![0];
        Assert.Equal(protocol, defaulted.Protocol);
        Assert.Equal(targetName is null ? IntOrString.FromInt32(targetInt!.Value) : IntOrString.FromString(targetName), defaulted.TargetPort);
    }

    // TestSetDefaultServiceExternalTraffic
    [Theory]
    [InlineData("{}", null)]
    [InlineData("""{"type":"NodePort"}""", "Cluster")]
    [InlineData("""{"type":"LoadBalancer"}""", "Cluster")]
    [InlineData("""{"type":"ClusterIP","externalIPs":["1.2.3.4"]}""", "Cluster")]
    [InlineData("""{"type":"ClusterIP"}""", null)]
    [InlineData("""{"type":"ExternalName"}""", null)]
    [InlineData("""{"type":"NodePort","externalTrafficPolicy":"Local"}""", "Local")]
    public void Apply_ExternallyAccessible_DefaultsExternalTrafficPolicy(string spec, string? expected) =>
        Assert.Equal(expected, Defaulted(spec).Spec!.ExternalTrafficPolicy);

    // TestSetDefaultServiceInternalTrafficPolicy
    [Theory]
    [InlineData("must set default internalTrafficPolicy", "{}", "Cluster")]
    [InlineData("must not set default internalTrafficPolicy when it's cluster", """{"internalTrafficPolicy":"Cluster"}""", "Cluster")]
    [InlineData("must not set default internalTrafficPolicy when type is ExternalName", """{"type":"ExternalName"}""", null)]
    [InlineData("must not set default internalTrafficPolicy when it's local", """{"internalTrafficPolicy":"Local"}""", "Local")]
    public void Apply_InternalTrafficPolicy_DefaultsToCluster(string name, string spec, string? expected) =>
        Assert.True(Defaulted(spec).Spec!.InternalTrafficPolicy == expected, name);

    [Theory]
    [InlineData("""{"type":"LoadBalancer"}""", true)]
    [InlineData("""{"type":"LoadBalancer","allocateLoadBalancerNodePorts":false}""", false)]
    [InlineData("""{"type":"NodePort"}""", null)]
    public void Apply_LoadBalancer_AllocatesNodePortsByDefault(string spec, bool? expected) =>
        Assert.Equal(expected, Defaulted(spec).Spec!.AllocateLoadBalancerNodePorts);

    [Fact]
    public void Apply_Twice_ChangesNothingMore()
    {
        const string manifest = """
            {"spec":{"type":"LoadBalancer","sessionAffinity":"ClientIP","ports":[{"port":80}]},
             "status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}}
            """;
        var once = Defaulted(KubeJson.Deserialize<Service>(JsonNode.Parse(manifest)!));
        var twice = Defaulted(KubeJson.Deserialize<Service>(JsonNode.Parse(manifest)!));
        Defaults.Apply(twice);
        Assert.Equal(KubeJson.SerializeToUtf8Bytes(once), KubeJson.SerializeToUtf8Bytes(twice));
    }

    private static Service Defaulted(string spec) => Defaulted(KubeJson.Deserialize<Service>(JsonNode.Parse($$"""{"spec":{{spec}}}""")!));

    private static Service Defaulted(Service service)
    {
        Defaults.Apply(service);
        return service;
    }
}
