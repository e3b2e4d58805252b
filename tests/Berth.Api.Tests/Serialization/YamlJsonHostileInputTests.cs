using Berth.Api.Serialization;
using YamlDotNet.Core;

namespace Berth.Api.Tests.Serialization;

/// <summary>Request bodies are YAML from anyone with a token: hostile documents fail cleanly.</summary>
public sealed class YamlJsonHostileInputTests
{
    [Fact]
    public void ParseDocuments_NestingDeeperThanLimit_ThrowsYamlException()
    {
        var yaml = "a: " + new string('[', 100_000) + new string(']', 100_000);
        var error = Assert.Throws<YamlException>(() => YamlJson.ParseDocuments(yaml));
        Assert.Contains("nested deeper than", error.Message);
    }

    [Fact]
    public void ParseDocuments_NestingWithinLimit_Parses()
    {
        var yaml = "a: " + new string('[', 200) + new string(']', 200);
        Assert.Single(YamlJson.ParseDocuments(yaml));
    }

    [Fact]
    public void ParseDocuments_BillionLaughs_ThrowsYamlException()
    {
        var yaml = """
            a: &a ["x","x","x","x","x","x","x","x","x","x"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
            g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
            """;
        var error = Assert.Throws<YamlException>(() => YamlJson.ParseDocuments(yaml));
        Assert.Contains("excessive aliasing", error.Message);
    }
}
