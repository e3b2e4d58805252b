using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.OpenApi;

namespace Berth.Api.Tests.Models;

public sealed class OpenApiComponentsTests
{
    [Fact]
    public void Schemas_ServiceSpecPorts_MergeKeyPort()
    {
        var ports = OpenApiComponents.Schemas["io.k8s.api.core.v1.ServiceSpec"]!["properties"]!["ports"]!;

        Assert.Equal("port", (string?)ports["x-kubernetes-patch-merge-key"]);
        Assert.Equal("merge", (string?)ports["x-kubernetes-patch-strategy"]);
        Assert.Equal("#/components/schemas/io.k8s.api.core.v1.ServicePort", (string?)ports["items"]!["$ref"]);
    }

    [Theory]
    [InlineData("io.k8s.api.core.v1.PodSpec", "containers", "name", "merge")]
    [InlineData("io.k8s.api.core.v1.PodSpec", "volumes", "name", "merge,retainKeys")]
    [InlineData("io.k8s.api.core.v1.Container", "ports", "containerPort", "merge")]
    [InlineData("io.k8s.api.core.v1.Container", "volumeMounts", "mountPath", "merge")]
    [InlineData("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "uid", "merge")]
    [InlineData("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", null, "merge")]
    [InlineData("io.k8s.api.apps.v1.DeploymentSpec", "strategy", null, "retainKeys")]
    [InlineData("io.k8s.api.core.v1.NodeStatus", "addresses", "type", "merge")]
    public void Schemas_PatchMetadata_FromUpstreamTags(string definition, string property, string? key, string strategy)
    {
        var schema = OpenApiComponents.Schemas[definition]!["properties"]![property]!;

        Assert.Equal(key, (string?)schema["x-kubernetes-patch-merge-key"]);
        Assert.Equal(strategy, (string?)schema["x-kubernetes-patch-strategy"]);
    }

    [Theory]
    [InlineData("io.k8s.api.core.v1.Service", "", "Service")]
    [InlineData("io.k8s.api.apps.v1.Deployment", "apps", "Deployment")]
    [InlineData("io.k8s.api.discovery.v1.EndpointSlice", "discovery.k8s.io", "EndpointSlice")]
    [InlineData("io.k8s.api.coordination.v1.Lease", "coordination.k8s.io", "Lease")]
    [InlineData("io.k8s.api.autoscaling.v1.Scale", "autoscaling", "Scale")]
    [InlineData("io.k8s.api.core.v1.Event", "", "Event")]
    public void Schemas_TopLevelKind_HasGroupVersionKind(string definition, string group, string kind)
    {
        var gvk = OpenApiComponents.Schemas[definition]!["x-kubernetes-group-version-kind"]!.AsArray();

        var entry = Assert.Single(gvk)!;
        Assert.Equal(group, (string?)entry["group"]);
        Assert.Equal(kind, (string?)entry["kind"]);
        Assert.Equal("v1", (string?)entry["version"]);
    }

    [Fact]
    public void Schemas_EveryReference_Resolves()
    {
        var schemas = OpenApiComponents.Schemas;
        var refs = new List<string>();
        Collect(schemas, refs);

        Assert.NotEmpty(refs);
        Assert.All(refs, r => Assert.True(schemas.ContainsKey(r["#/components/schemas/".Length..]), r));
    }

    [Fact]
    public void Schemas_PodRequiredAndTypes_AsUpstream()
    {
        var container = OpenApiComponents.Schemas["io.k8s.api.core.v1.Container"]!;

        Assert.Contains("name", container["required"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("object", (string?)container["type"]);
        Assert.Equal("int32", (string?)OpenApiComponents.Schemas["io.k8s.api.core.v1.ContainerPort"]!["properties"]!["containerPort"]!["format"]);
        Assert.Equal(
            "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity",
            (string?)OpenApiComponents.Schemas["io.k8s.api.core.v1.ResourceRequirements"]!["properties"]!["limits"]!["additionalProperties"]!["$ref"]);
    }

    [Theory]
    [InlineData(typeof(Service), "io.k8s.api.core.v1.Service")]
    [InlineData(typeof(ServiceSpec), "io.k8s.api.core.v1.ServiceSpec")]
    [InlineData(typeof(Deployment), "io.k8s.api.apps.v1.Deployment")]
    [InlineData(typeof(EndpointSlicePort), "io.k8s.api.discovery.v1.EndpointPort")]
    [InlineData(typeof(EndpointPort), "io.k8s.api.core.v1.EndpointPort")]
    [InlineData(typeof(ObjectMeta), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")]
    [InlineData(typeof(Eviction), "io.k8s.api.policy.v1.Eviction")]
    public void DefinitionName_ModelType_UpstreamName(Type type, string expected)
    {
        Assert.Equal(expected, OpenApiComponents.DefinitionName(type));
        Assert.True(OpenApiComponents.Schemas.ContainsKey(expected));
    }

    [Fact]
    public void DefinitionName_NotAModel_Throws()
    {
        Assert.Throws<ArgumentException>(() => OpenApiComponents.DefinitionName(typeof(string)));
    }

    private static void Collect(JsonNode? node, List<string> refs)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "$ref")
                    {
                        refs.Add((string)value!);
                    }
                    else
                    {
                        Collect(value, refs);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Collect(item, refs);
                }

                break;
        }
    }
}
