using Berth.Api.Models;
using Berth.Api.Validation;
using static Berth.Api.Tests.Validation.ServiceFixtures;

namespace Berth.Api.Tests.Validation;

/// <summary>
/// ValidateServiceStatusUpdate (upstream ValidateLoadBalancerStatus) with the v1.32 gates: LoadBalancerIPMode on,
/// AllowServiceLBStatusOnNonLB off. One case per branch of the upstream function.
/// </summary>
public sealed class ServiceStatusValidationTests
{
    [Theory]
    [InlineData("1.2.3.4", "VIP", null)]
    [InlineData("1.2.3.4", "Proxy", null)]
    [InlineData(null, null, "lb.example.com")]
    [InlineData("1.2.3.4", "VIP", "lb.example.com")]
    public void ValidateStatusUpdate_ValidIngress_HasNoErrors(string? ip, string? ipMode, string? hostname) =>
        Assert.Empty(Validate("LoadBalancer", new LoadBalancerIngress { Ip = ip, IpMode = ipMode, Hostname = hostname }));

    [Theory]
    [InlineData("1.2.3.4", null, null, "status.loadBalancer.ingress[0].ipMode: Required value: must be specified when `ip` is set")]
    [InlineData(null, "VIP", null, "status.loadBalancer.ingress[0].ipMode: Forbidden: may not be specified when `ip` is not set")]
    [InlineData("1.2.3.4", "Direct", null, "status.loadBalancer.ingress[0].ipMode: Unsupported value: \"Direct\": supported values: \"Proxy\", \"VIP\"")]
    [InlineData("1.2.3", "VIP", null, "status.loadBalancer.ingress[0].ip: Invalid value: \"1.2.3\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    [InlineData(null, null, "1.2.3.4", "status.loadBalancer.ingress[0].hostname: Invalid value: \"1.2.3.4\": must be a DNS name, not an IP address")]
    [InlineData(null, null, "LB.example.com",
        "status.loadBalancer.ingress[0].hostname: Invalid value: \"LB.example.com\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]
    public void ValidateStatusUpdate_BadIngress_ReportsUpstreamText(string? ip, string? ipMode, string? hostname, string expected) =>
        Assert.Equal([expected], Validate("LoadBalancer", new LoadBalancerIngress { Ip = ip, IpMode = ipMode, Hostname = hostname }).Select(Render));

    [Fact]
    public void ValidateStatusUpdate_IngressOnNonLoadBalancer_IsForbidden() =>
        Assert.Equal(["status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"],
            Validate("ClusterIP", new LoadBalancerIngress { Ip = "1.2.3.4", IpMode = "VIP" }).Select(Render));

    [Fact]
    public void ValidateStatusUpdate_NoIngressOnNonLoadBalancer_IsValid() => Assert.Empty(Validate("ClusterIP"));

    private static List<FieldError> Validate(string type, params LoadBalancerIngress[] ingress)
    {
        var service = MakeValidService();
        service.Spec!.Type = type;
        service.Status = new ServiceStatus { LoadBalancer = new LoadBalancerStatus { Ingress = [.. ingress] } };
        return ServiceValidation.ValidateStatusUpdate(service, MakeValidService());
    }
}
