using Berth.Api.Selectors;

namespace Berth.Api.Tests.Selectors;

public class FieldSelectorTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("metadata.name=web", "metadata.name=web")]
    [InlineData("a==b", "a=b")]
    [InlineData("x=a,", "x=a")]
    [InlineData("status.phase!=Running,spec.nodeName=", "spec.nodeName=,status.phase!=Running")]
    [InlineData(@"a=b\,c", @"a=b\,c")]
    [InlineData(@"a=b\=c\\d", @"a=b\=c\\d")]
    [InlineData(
        "involvedObject.name=NAME,involvedObject.namespace=default,involvedObject.kind=Service,involvedObject.uid=UID",
        "involvedObject.kind=Service,involvedObject.name=NAME,involvedObject.namespace=default,involvedObject.uid=UID")]
    public void TryParse_Valid_CanonicalForm(string input, string expected)
    {
        Assert.True(FieldSelector.TryParse(input, out var selector, out var error), error);
        Assert.Equal(expected, selector.ToString());
    }

    [Theory]
    [InlineData("abc", "invalid selector: 'abc'; can't understand 'abc'")]
    [InlineData(@"a=b\x", @"invalid field selector: invalid escape sequence: \x")]
    [InlineData(@"a=b\", @"invalid field selector: invalid escape sequence: \")]
    [InlineData("a=b=c", "invalid field selector: unescaped character in value: 61")]
    public void TryParse_Invalid_UpstreamMessage(string input, string message)
    {
        Assert.False(FieldSelector.TryParse(input, out _, out var error));
        Assert.Equal(message, error);
    }

    [Fact]
    public void Requirements_EscapedValues_AreUnescaped()
    {
        var selector = FieldSelector.Parse(@"b!=x\,y,a=1\=2");
        Assert.Equal(
            [new FieldRequirement("a", SelectionOperator.Equals, "1=2"), new FieldRequirement("b", SelectionOperator.NotEquals, "x,y")],
            selector.Requirements);
    }

    [Theory]
    [InlineData("involvedObject.name=web,involvedObject.kind=Service", true)]
    [InlineData("involvedObject.name=web,involvedObject.kind=Pod", false)]
    [InlineData("involvedObject.name!=web", false)]
    [InlineData("source.host=", true)]
    [InlineData("source.host!=", false)]
    [InlineData("", true)]
    public void Matches_Fields_AsUpstream(string input, bool expected)
    {
        var fields = new Dictionary<string, string> { ["involvedObject.name"] = "web", ["involvedObject.kind"] = "Service" };
        Assert.Equal(expected, FieldSelector.Parse(input).Matches(f => fields.GetValueOrDefault(f)));
    }

    [Fact]
    public void TryValidateFields_UnsupportedField_UpstreamMessage()
    {
        var selector = FieldSelector.Parse("metadata.name=a,foo=b");
        Assert.False(selector.TryValidateFields(f => f.StartsWith("metadata.", StringComparison.Ordinal), out var error));
        Assert.Equal("field label not supported: foo", error);
        Assert.True(selector.TryValidateFields(_ => true, out _));
    }

    [Fact]
    public void TryGetExactMatch_MetadataName_ReturnsValue()
    {
        Assert.True(FieldSelector.Parse("metadata.name=web").TryGetExactMatch("metadata.name", out var name));
        Assert.Equal("web", name);
        Assert.False(FieldSelector.Parse("metadata.name!=web").TryGetExactMatch("metadata.name", out _));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData(@"a,b=c\d", @"a\,b\=c\\d")]
    public void EscapeValue_SpecialCharacters_Escaped(string value, string expected)
    {
        Assert.Equal(expected, FieldSelector.EscapeValue(value));
    }
}
