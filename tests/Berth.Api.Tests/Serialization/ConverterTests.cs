using System.Text;
using System.Text.Json;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Api.Tests.Serialization;

public sealed class ConverterTests
{
    [Theory]
    [InlineData("""{"port":80,"targetPort":8080}""", true, 8080, null)]
    [InlineData("""{"port":80,"targetPort":"http"}""", false, 0, "http")]
    [InlineData("""{"port":80,"targetPort":"8080"}""", false, 0, "8080")]
    public void IntOrString_IntOrString_ReadsAndWritesSameKind(string json, bool isInt, int intValue, string? stringValue)
    {
        var port = KubeJson.Deserialize<ServicePort>(Encoding.UTF8.GetBytes(json));

        Assert.Equal(isInt, port.TargetPort!.Value.IsInt);
        Assert.Equal(intValue, port.TargetPort.Value.IntValue);
        Assert.Equal(stringValue, port.TargetPort.Value.StringValue);
        Assert.Equal(json, Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(port)));
    }

    [Theory]
    [InlineData("""{"targetPort":1.5}""")]
    [InlineData("""{"targetPort":true}""")]
    [InlineData("""{"targetPort":{}}""")]
    [InlineData("""{"targetPort":4294967296}""")]
    public void IntOrString_NotIntOrString_Throws(string json)
    {
        Assert.Throws<JsonException>(() => KubeJson.Deserialize<ServicePort>(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void IntOrString_Default_IsIntZero()
    {
        IntOrString value = default;

        Assert.True(value.IsInt);
        Assert.Equal("0", value.ToString());
        Assert.Equal(new IntOrString(0), value);
        Assert.NotEqual(new IntOrString("0"), value);
    }

    [Theory]
    [InlineData("""{"limits":{"cpu":1,"memory":"128Mi"}}""", """{"limits":{"cpu":"1","memory":"128Mi"}}""")]
    [InlineData("""{"requests":{"cpu":0.5}}""", """{"requests":{"cpu":"0.5"}}""")]
    [InlineData("""{"requests":{"cpu":null}}""", """{"requests":{"cpu":"0"}}""")]
    [InlineData("""{"requests":{}}""", """{"requests":{}}""")]
    public void Quantity_NumberOrString_WritesString(string json, string expected)
    {
        var resources = KubeJson.Deserialize<ResourceRequirements>(Encoding.UTF8.GetBytes(json));

        Assert.Equal(expected, Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(resources)));
    }

    [Theory]
    [InlineData("""{"sizeLimit":1024}""", """{"sizeLimit":"1024"}""")]
    [InlineData("""{"sizeLimit":"1Gi"}""", """{"sizeLimit":"1Gi"}""")]
    public void Quantity_ScalarField_WritesString(string json, string expected)
    {
        var emptyDir = KubeJson.Deserialize<EmptyDirVolumeSource>(Encoding.UTF8.GetBytes(json));

        Assert.Equal(expected, Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(emptyDir)));
    }

    [Theory]
    [InlineData("""{"requests":{"cpu":true}}""")]
    [InlineData("""{"requests":[]}""")]
    public void Quantity_NotNumberOrString_Throws(string json)
    {
        Assert.Throws<JsonException>(() => KubeJson.Deserialize<ResourceRequirements>(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("2024-03-04T05:06:07Z", "2024-03-04T05:06:07Z")]
    [InlineData("2024-03-04T05:06:07.123456Z", "2024-03-04T05:06:07Z")]
    [InlineData("2024-03-04T07:06:07+02:00", "2024-03-04T05:06:07Z")]
    public void Time_Rfc3339_WritesUtcSeconds(string input, string expected)
    {
        var meta = KubeJson.Deserialize<ObjectMeta>(Encoding.UTF8.GetBytes($$"""{"creationTimestamp":"{{input}}"}"""));

        Assert.Equal($$"""{"creationTimestamp":"{{expected}}"}""", Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(meta)));
    }

    [Theory]
    [InlineData("2024-03-04T05:06:07Z", "2024-03-04T05:06:07.000000Z")]
    [InlineData("2024-03-04T05:06:07.1234567Z", "2024-03-04T05:06:07.123456Z")]
    [InlineData("2024-03-04T07:06:07.5+02:00", "2024-03-04T05:06:07.500000Z")]
    public void MicroTime_LeaseRenewTime_WritesMicroseconds(string input, string expected)
    {
        var spec = KubeJson.Deserialize<LeaseSpec>(Encoding.UTF8.GetBytes($$"""{"renewTime":"{{input}}"}"""));

        Assert.Equal($$"""{"renewTime":"{{expected}}"}""", Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(spec)));
    }

    [Fact]
    public void MicroTime_EventTime_WritesMicroseconds()
    {
        var ev = new Event { EventTime = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(10), FirstTimestamp = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero) };

        var json = Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(ev));

        Assert.Contains("\"eventTime\":\"2024-01-02T03:04:05.000001Z\"", json, StringComparison.Ordinal);
        Assert.Contains("\"firstTimestamp\":\"2024-01-02T03:04:05Z\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"creationTimestamp":""}""")]
    [InlineData("""{"creationTimestamp":"yesterday"}""")]
    [InlineData("""{"creationTimestamp":12}""")]
    public void Time_NotRfc3339_Throws(string json)
    {
        Assert.Throws<JsonException>(() => KubeJson.Deserialize<ObjectMeta>(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Serialize_NullProperties_LeftOut()
    {
        var pod = new Pod { ApiVersion = "v1", Kind = "Pod", Metadata = new ObjectMeta { Name = "p" } };

        Assert.Equal("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}""", Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(pod)));
    }

    [Fact]
    public void Deserialize_CaseDiffers_FieldNotBound()
    {
        var pod = KubeJson.Deserialize<Pod>("""{"Kind":"Pod","metadata":{"Name":"x"}}"""u8);

        Assert.Null(pod.Kind);
        Assert.Null(pod.Metadata!.Name);
    }

    [Fact]
    public void Deserialize_JsonNull_Throws()
    {
        Assert.Throws<JsonException>(() => KubeJson.Deserialize<Pod>("null"u8));
    }

    [Fact]
    public void DeepClone_Pod_IndependentCopy()
    {
        var pod = new Pod { Metadata = new ObjectMeta { Name = "a", Labels = new() { ["k"] = "v" } } };

        var copy = KubeJson.DeepClone(pod);
        copy.Metadata!.Labels!["k"] = "changed";

        Assert.Equal("v", pod.Metadata.Labels["k"]);
        Assert.Equal("a", copy.Metadata.Name);
    }

    [Fact]
    public void ToNode_Service_MatchesBytes()
    {
        var service = new Service { Spec = new ServiceSpec { Ports = [new ServicePort { Port = 80, TargetPort = "http" }] } };

        var node = KubeJson.ToNode(service);

        Assert.Equal("http", (string?)node["spec"]!["ports"]![0]!["targetPort"]);
        Assert.Equal(Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(service)), node.ToJsonString());
        Assert.Equal(80, KubeJson.Deserialize<Service>(node).Spec!.Ports![0].Port);
    }
}
