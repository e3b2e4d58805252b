using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

public class OpenApiPatchSchemaTests
{
    [Theory]
    [InlineData("ports", PatchStrategy.Merge, "port")]
    [InlineData("selector", PatchStrategy.None, null)]
    [InlineData("clusterIPs", PatchStrategy.None, null)]
    [InlineData("unknown", PatchStrategy.None, null)]
    public void FieldInfo_ServiceSpecProperty_ReadsExtensions(string field, PatchStrategy strategy, string? mergeKey)
    {
        var spec = KubernetesSchema.For("io.k8s.api.core.v1.Service").Field("spec")!;
        Assert.Equal(new PatchFieldInfo(strategy, mergeKey), spec.FieldInfo(field));
    }

    [Fact]
    public void Field_ThroughRefsAndAllOf_ReachesNestedTypes()
    {
        var containers = KubernetesSchema.For("io.k8s.api.apps.v1.Deployment").Field("spec")!.Field("template")!.Field("spec")!;
        Assert.Equal(PatchStrategy.Merge | PatchStrategy.RetainKeys, containers.FieldInfo("volumes").Strategy);
        var container = containers.Field("containers")!.Items()!;
        Assert.Equal(new PatchFieldInfo(PatchStrategy.Merge, "containerPort"), container.FieldInfo("ports"));
    }

    [Fact]
    public void Field_MapValue_UsesAdditionalProperties()
    {
        var components = JsonNode.Parse("""{"schemas":{"T":{"type":"object","properties":{"m":{"type":"object","additionalProperties":{"$ref":"#/components/schemas/V"}}}},"V":{"type":"object","properties":{"l":{"type":"array","items":{"type":"object"},"x-kubernetes-patch-strategy":"merge","x-kubernetes-patch-merge-key":"k"}}}}}""")!.AsObject();
        var value = OpenApiPatchSchema.ForDefinition(components, "T").Field("m")!.Field("anything")!;
        Assert.Equal(new PatchFieldInfo(PatchStrategy.Merge, "k"), value.FieldInfo("l"));
    }

    [Fact]
    public void ForDefinition_AcceptsBareSchemasMap()
    {
        var schemas = JsonNode.Parse("""{"T":{"type":"object","properties":{"l":{"type":"array","x-kubernetes-patch-strategy":"replace"}}}}""")!.AsObject();
        Assert.Equal(PatchStrategy.Replace, OpenApiPatchSchema.ForDefinition(schemas, "T").FieldInfo("l").Strategy);
    }

    [Fact]
    public void ForDefinition_UnknownDefinition_Throws()
    {
        Assert.Throws<ArgumentException>(() => OpenApiPatchSchema.ForDefinition(new JsonObject(), "nope"));
    }
}
