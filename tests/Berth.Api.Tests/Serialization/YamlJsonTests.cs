using System.Text.Json.Nodes;
using Berth.Api.Serialization;
using YamlDotNet.Core;

namespace Berth.Api.Tests.Serialization;

public sealed class YamlJsonTests
{
    [Theory]
    [InlineData("a: true", """{"a":true}""")]
    [InlineData("a: yes", """{"a":true}""")]
    [InlineData("a: Off", """{"a":false}""")]
    [InlineData("a: ~", """{"a":null}""")]
    [InlineData("a: null", """{"a":null}""")]
    [InlineData("a:", """{"a":null}""")]
    [InlineData("a: 42", """{"a":42}""")]
    [InlineData("a: -7", """{"a":-7}""")]
    [InlineData("a: 0600", """{"a":384}""")]
    [InlineData("a: 0x1F", """{"a":31}""")]
    [InlineData("a: 1_000", """{"a":1000}""")]
    [InlineData("a: 1.5", """{"a":1.5}""")]
    [InlineData("a: 1e3", """{"a":1000}""")]
    [InlineData("a: \"true\"", """{"a":"true"}""")]
    [InlineData("a: '42'", """{"a":"42"}""")]
    [InlineData("a: !!str 42", """{"a":"42"}""")]
    [InlineData("a: 1.2.3", """{"a":"1.2.3"}""")]
    [InlineData("a: 2024-01-01", """{"a":"2024-01-01"}""")]
    [InlineData("a: 500m", """{"a":"500m"}""")]
    [InlineData("a: .inf", """{"a":".inf"}""")]
    [InlineData("a: |\n  x\n  y\n", """{"a":"x\ny\n"}""")]
    [InlineData("true: 1", """{"true":1}""")]
    [InlineData("a: [1, \"2\", x]", """{"a":[1,"2","x"]}""")]
    [InlineData("base: &b {x: 1}\nc:\n  <<: *b\n  z: 2", """{"base":{"x":1},"c":{"z":2,"x":1}}""")]
    [InlineData("y: 1", """{"true":1}""")]
    public void ParseDocuments_Scalars_ResolvedAsSigsYaml(string yaml, string expectedJson)
    {
        var docs = YamlJson.ParseDocuments(yaml);

        Assert.Equal(expectedJson, Assert.Single(docs).ToJsonString());
    }

    [Fact]
    public void ParseDocuments_MultiDocument_SkipsEmpty()
    {
        var docs = YamlJson.ParseDocuments("---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n...\n");

        Assert.Equal(["""{"a":1}""", """{"b":2}"""], docs.Select(d => d.ToJsonString()));
    }

    [Fact]
    public void ParseDocuments_Empty_NoDocuments()
    {
        Assert.Empty(YamlJson.ParseDocuments(""));
        Assert.Empty(YamlJson.ParseDocuments("# nothing\n"));
    }

    [Theory]
    [InlineData("a: 1\na: 2\n")]
    [InlineData("a: [1\n")]
    [InlineData("a: *missing\n")]
    public void ParseDocuments_Invalid_ThrowsYamlException(string yaml)
    {
        Assert.ThrowsAny<YamlException>(() => YamlJson.ParseDocuments(yaml));
    }

    [Fact]
    public void ToYaml_AmbiguousStrings_QuotedAndRoundTrip()
    {
        var node = JsonNode.Parse("""{"s":"true","n":"42","o":"0600","e":"","plain":"hello","num":42,"b":false,"nil":null,"multi":"a\nb\n","list":[],"map":{},"nested":{"l":["x",1]}}""");

        var yaml = YamlJson.ToYaml(node);
        var back = Assert.Single(YamlJson.ParseDocuments(yaml));

        Assert.Equal(node!.ToJsonString(), back.ToJsonString());
        Assert.Contains("plain: hello", yaml, StringComparison.Ordinal);
    }
}
