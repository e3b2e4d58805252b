using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;

namespace Berth.ApiServer.Tests.Registry;

public sealed class ResourceVersionSpliceTests
{
    [Theory]
    [InlineData("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}""", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"resourceVersion":"42","name":"a"}}""")]
    [InlineData("""{"metadata":{}}""", """{"metadata":{"resourceVersion":"42"}}""")]
    [InlineData("""{"kind":"X","spec":{"metadata":{"x":1}},"metadata":{"name":"b"}}""", """{"kind":"X","spec":{"metadata":{"x":1}},"metadata":{"resourceVersion":"42","name":"b"}}""")]
    [InlineData("""{"data":{"metadata":"s"},"metadata":{"labels":{"a":"b"}}}""", """{"data":{"metadata":"s"},"metadata":{"resourceVersion":"42","labels":{"a":"b"}}}""")]
    [InlineData("""{"kind":"X"}""", """{"kind":"X","metadata":{"resourceVersion":"42"}}""")]
    [InlineData("""{}""", """{"metadata":{"resourceVersion":"42"}}""")]
    public void Write_StoredObject_AddsResourceVersionToTopLevelMetadata(string stored, string expected)
    {
        var output = new ArrayBufferWriter<byte>();
        ResourceVersionSplice.Write(output, Encoding.UTF8.GetBytes(stored), 42);
        var actual = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), actual);
    }
}
