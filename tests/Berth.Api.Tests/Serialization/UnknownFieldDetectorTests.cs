using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Api.Tests.Serialization;

public sealed class UnknownFieldDetectorTests
{
    public static TheoryData<string, string, string[]> Cases() => new()
    {
        { "Service", """{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80}]}}""", [] },
        { "Service", """{"apiVersion":"v1","kind":"Service","bogus":1}""", ["bogus"] },
        { "Service", """{"spec":{"foo":"x","type":"ClusterIP"}}""", ["spec.foo"] },
        { "Service", """{"spec":{"ports":[{"port":80},{"port":81,"bar":true}]}}""", ["spec.ports[1].bar"] },
        { "Service", """{"metadata":{"labels":{"any-key":"v"},"annotations":{"x/y":"z"},"nmae":"typo"}}""", ["metadata.nmae"] },
        { "Service", """{"spec":{"selector":{"app":"a"},"Ports":[]}}""", ["spec.Ports"] },
        { "Pod", """{"spec":{"containers":[{"name":"c","env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"x","extra":1}}}]}]}}""", ["spec.containers[0].env[0].valueFrom.fieldRef.extra"] },
        { "Pod", """{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":1,"memory":"1Gi"}}}]}}""", [] },
        { "Pod", """{"spec":{"volumes":[{"name":"v","emptyDir":{"sizeLimit":"1Gi","medium":"","x":1}}]}}""", ["spec.volumes[0].emptyDir.x"] },
        { "Pod", """{"metadata":{"managedFields":[{"fieldsV1":{"f:anything":{}}}]}}""", [] },
        { "Pod", """{"spec":{"containers":[{"ports":[{"containerPort":80,"hostPort":1,"x":2}],"y":3}]}}""", ["spec.containers[0].ports[0].x", "spec.containers[0].y"] },
        { "Pod", """{"spec":null,"status":{"conditions":[null,{"type":"Ready","z":0}]}}""", ["status.conditions[1].z"] },
        { "Pod", """{"spec":"not an object","metadata":[1,2]}""", [] },
        { "Deployment", """{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","imagePullPolicy":"Always","q":1}]}}}}""", ["spec.template.spec.containers[0].q"] },
        { "EndpointSlice", """{"endpoints":[{"addresses":["1.2.3.4"],"conditions":{"ready":true,"r":1}}],"ports":[{"port":80,"p":1}]}""", ["endpoints[0].conditions.r", "ports[0].p"] },
        { "Lease", """{"spec":{"renewTime":"2024-01-01T00:00:00.000000Z","holder":"x"}}""", ["spec.holder"] },
    };

    private static readonly Dictionary<string, Type> s_types = new()
    {
        ["Service"] = typeof(Service),
        ["Pod"] = typeof(Pod),
        ["Deployment"] = typeof(Deployment),
        ["EndpointSlice"] = typeof(EndpointSlice),
        ["Lease"] = typeof(Lease),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FindUnknownFields_Node_ReportsUpstreamPaths(string type, string json, string[] expected)
    {
        var found = UnknownFieldDetector.FindUnknownFields(JsonNode.Parse(json), s_types[type]);

        Assert.Equal(expected, found);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FindStrictErrors_Utf8_ReportsUpstreamMessages(string type, string json, string[] expected)
    {
        var found = UnknownFieldDetector.FindStrictErrors(Encoding.UTF8.GetBytes(json), s_types[type]);

        Assert.Equal(expected.Select(p => $"unknown field \"{p}\""), found);
    }

    [Theory]
    [InlineData("""{"metadata":{"name":"a","name":"b"}}""", "duplicate field \"metadata.name\"")]
    [InlineData("""{"metadata":{"labels":{"a":"1","b":"2","a":"3"}}}""", "duplicate field \"metadata.labels.a\"")]
    [InlineData("""{"spec":{"ports":[{"port":1,"port":2}]}}""", "duplicate field \"spec.ports[0].port\"")]
    public void FindStrictErrors_DuplicateField_Reported(string json, string expected)
    {
        var found = UnknownFieldDetector.FindStrictErrors(Encoding.UTF8.GetBytes(json), typeof(Service));

        Assert.Equal([expected], found);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[1,2")]
    [InlineData("null")]
    [InlineData("42")]
    [InlineData("""{"spec":{"ports":[{"port":80,"x":1}""")]
    [InlineData("""{"a":1}garbage""")]
    public void FindStrictErrors_MalformedJson_NeverThrows(string json)
    {
        var found = UnknownFieldDetector.FindStrictErrors(Encoding.UTF8.GetBytes(json), typeof(Service));

        Assert.NotNull(found);
    }

    [Fact]
    public void FindUnknownFields_NodeWithDuplicateKeys_DoesNotThrow()
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse("""{"spec":{"x":1,"x":2}}""");
        }
        catch (JsonException)
        {
            return; // this runtime refuses duplicate keys while parsing: nothing reaches the detector
        }

        var found = UnknownFieldDetector.FindUnknownFields(node, typeof(Service));

        Assert.NotNull(found);
    }

    [Fact]
    public void FindUnknownFields_NotAModelType_ReportsNothing()
    {
        Assert.Empty(UnknownFieldDetector.FindUnknownFields(JsonNode.Parse("""{"a":1}"""), typeof(Uri)));
        Assert.Empty(UnknownFieldDetector.FindUnknownFields(null, typeof(Service)));
    }

    [Fact]
    public void FindUnknownFields_DeepNesting_DoesNotThrow()
    {
        var json = new StringBuilder();
        for (var i = 0; i < 60; i++)
        {
            json.Append("""{"metadata":{"managedFields":[{"fieldsV1":""");
        }

        json.Append('1');
        for (var i = 0; i < 60; i++)
        {
            json.Append("}]}}");
        }

        var found = UnknownFieldDetector.FindStrictErrors(Encoding.UTF8.GetBytes(json.ToString()), typeof(Service));

        Assert.NotNull(found);
    }
}
