using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

public class JsonMergePatchTests
{
    // RFC 7386 appendix A, plus kubectl scale's body.
    public static TheoryData<string, string, string> Rfc7386AppendixA => new()
    {
        { """{"a":"b"}""", """{"a":"c"}""", """{"a":"c"}""" },
        { """{"a":"b"}""", """{"b":"c"}""", """{"a":"b","b":"c"}""" },
        { """{"a":"b"}""", """{"a":null}""", """{}""" },
        { """{"a":"b","b":"c"}""", """{"a":null}""", """{"b":"c"}""" },
        { """{"a":["b"]}""", """{"a":"c"}""", """{"a":"c"}""" },
        { """{"a":"c"}""", """{"a":["b"]}""", """{"a":["b"]}""" },
        { """{"a":{"b":"c"}}""", """{"a":{"b":"d","c":null}}""", """{"a":{"b":"d"}}""" },
        { """{"a":[{"b":"c"}]}""", """{"a":[1]}""", """{"a":[1]}""" },
        { """["a","b"]""", """["c","d"]""", """["c","d"]""" },
        { """{"a":"b"}""", """["c"]""", """["c"]""" },
        { """{"a":"foo"}""", "null", "null" },
        { """{"a":"foo"}""", "\"bar\"", "\"bar\"" },
        { """{"e":null}""", """{"a":1}""", """{"e":null,"a":1}""" },
        { "[1,2]", """{"a":"b","c":null}""", """{"a":"b"}""" },
        { "{}", """{"a":{"bb":{"ccc":null}}}""", """{"a":{"bb":{}}}""" },
        { """{"spec":{"replicas":1,"selector":{"app":"web"}}}""", """{"spec":{"replicas":3}}""", """{"spec":{"replicas":3,"selector":{"app":"web"}}}""" },
    };

    [Theory]
    [MemberData(nameof(Rfc7386AppendixA))]
    public void Apply_Rfc7386Example_ProducesExpected(string target, string patch, string expected)
    {
        var targetNode = JsonNode.Parse(target);
        var before = targetNode?.ToJsonString();

        var result = JsonMergePatch.Apply(targetNode, JsonNode.Parse(patch));

        JsonAssert.Equal(expected, result);
        Assert.Equal(before, targetNode?.ToJsonString());
    }
}
