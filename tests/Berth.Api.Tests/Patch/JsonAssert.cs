using System.Text.Json.Nodes;

namespace Berth.Api.Tests.Patch;

internal static class JsonAssert
{
    // Object key order is irrelevant, list order is significant (as in upstream's comparisons).
    public static void Equal(string expected, JsonNode? actual)
    {
        var expectedNode = JsonNode.Parse(expected);
        Assert.True(
            JsonNode.DeepEquals(expectedNode, actual),
            $"expected {expectedNode?.ToJsonString()}\n     got {actual?.ToJsonString() ?? "null"}");
    }

    public static JsonObject Object(string json) => JsonNode.Parse(json)!.AsObject();
}
