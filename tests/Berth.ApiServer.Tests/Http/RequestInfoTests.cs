using Berth.ApiServer.Http;

namespace Berth.ApiServer.Tests.Http;

/// <summary>Cases from upstream's requestinfo_test.go that apply to the resources we serve.</summary>
public sealed class RequestInfoTests
{
    [Theory]
    [InlineData("GET", "/api/v1/namespaces", false, "list", "", "namespaces", null, null, null)]
    [InlineData("GET", "/api/v1/namespaces/default", false, "get", "", "namespaces", null, "default", null)]
    [InlineData("PUT", "/api/v1/namespaces/ns1/finalize", false, "update", "", "namespaces", null, "ns1", "finalize")]
    [InlineData("GET", "/api/v1/namespaces/ns1/status", false, "get", "", "namespaces", null, "ns1", "status")]
    [InlineData("GET", "/api/v1/namespaces/default/pods", false, "list", "", "pods", "default", null, null)]
    [InlineData("GET", "/api/v1/namespaces/default/pods", true, "watch", "", "pods", "default", null, null)]
    [InlineData("GET", "/api/v1/watch/namespaces/default/pods", false, "watch", "", "pods", "default", null, null)]
    [InlineData("GET", "/api/v1/pods", false, "list", "", "pods", null, null, null)]
    [InlineData("POST", "/api/v1/namespaces/default/pods/p1/binding", false, "create", "", "pods", "default", "p1", "binding")]
    [InlineData("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", false, "patch", "apps", "deployments", "default", "web", "scale")]
    [InlineData("DELETE", "/api/v1/namespaces/default/services", false, "deletecollection", "", "services", "default", null, null)]
    [InlineData("DELETE", "/api/v1/namespaces/default/services/web", false, "delete", "", "services", "default", "web", null)]
    [InlineData("GET", "/api/v1/nodes/n1/status", false, "get", "", "nodes", null, "n1", "status")]
    [InlineData("GET", "/apis/discovery.k8s.io/v1/endpointslices", false, "list", "discovery.k8s.io", "endpointslices", null, null, null)]
    public void Parse_ResourcePaths_AsUpstream(string method, string path, bool watch, string verb, string group, string resource,
        string? ns, string? name, string? sub)
    {
        var info = RequestInfo.Parse(method, path, watch);
        Assert.NotNull(info);
        Assert.Equal(verb, info.Verb);
        Assert.Equal(group, info.Group);
        Assert.Equal(resource, info.Resource);
        Assert.Equal(ns, info.Namespace);
        Assert.Equal(name, info.Name);
        Assert.Equal(sub, info.Subresource);
    }

    [Theory]
    [InlineData("/api")]
    [InlineData("/apis/apps")]
    [InlineData("/healthz")]
    [InlineData("/api/v1/namespaces/default/pods/p1/status/extra")]
    [InlineData("/api/v1/namespaces/default/pods//status")]
    public void Parse_NonResourcePaths_ReturnsNull(string path) => Assert.Null(RequestInfo.Parse("GET", path, watchQuery: false));
}
