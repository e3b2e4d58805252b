using Berth.Api.Validation;
using System.Text.Json.Nodes;
using Berth.Api.Selectors;

namespace Berth.Api.Tests.Selectors;

public class LabelSelectorTests
{
    private const string NameRegexError = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    private const string ValueRegexError = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    // (input, canonical form) after upstream TestSelectorParse / TestLexer cases.
    [Theory]
    [InlineData("", "")]
    [InlineData("   ", "")]
    [InlineData("x=a,y=b,z=c", "x=a,y=b,z=c")]
    [InlineData("z=c,x=a,y=b", "x=a,y=b,z=c")]
    [InlineData("x==a", "x==a")]
    [InlineData("x!=a,y=b", "x!=a,y=b")]
    [InlineData("x=", "x=")]
    [InlineData("x= ", "x=")]
    [InlineData("x=,z= ", "x=,z=")]
    [InlineData("x", "x")]
    [InlineData("!x", "!x")]
    [InlineData(" ! x ", "!x")]
    [InlineData("x in (b,a)", "x in (a,b)")]
    [InlineData("x in(a)", "x in (a)")]
    [InlineData("x notin ( a , b )", "x notin (a,b)")]
    [InlineData("x in (a,,b)", "x in (,a,b)")]
    [InlineData("x in (,a)", "x in (,a)")]
    [InlineData("x in ()", "x in ()")]
    [InlineData("x in (in,notin)", "x in (in,notin)")]
    [InlineData("x>1", "x>1")]
    [InlineData("x<2", "x<2")]
    [InlineData("kubernetes.io/service-name=web", "kubernetes.io/service-name=web")]
    [InlineData("tier!=db,!legacy,app.kubernetes.io/name in (kiada)", "app.kubernetes.io/name in (kiada),!legacy,tier!=db")]
    public void TryParse_ValidSelector_CanonicalForm(string input, string expected)
    {
        Assert.True(LabelSelector.TryParse(input, out var selector, out var error), error);
        Assert.Equal(expected, selector.ToString());
    }

    [Theory]
    [InlineData("x=a||y=b", "unable to parse requirement: values[0][x]: Invalid value: \"a||y\"")]
    [InlineData("x<-2", "Invalid value: \"-2\": a valid label must be")]
    [InlineData("x=a,", "found '', expected: identifier after ','")]
    [InlineData("x==", "")]
    [InlineData("x in a", "unable to parse requirement: found 'a' expected: '('")]
    [InlineData("x in (a", "unable to parse requirement: found '', expected: ',' or ')'")]
    [InlineData("x=a b", "found 'b', expected: ',' or 'end of string'")]
    [InlineData(",x=a", "found ',', expected: !, identifier, or 'end of string'")]
    [InlineData("x!!a", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt")]
    [InlineData("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer")]
    [InlineData("-x=a", "unable to parse requirement: <nil>: Invalid value: \"-x\": " + NameRegexError)]
    [InlineData("a/b/c=d", "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")]
    [InlineData("Example.com/x=a", "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters")]
    [InlineData("/x=a", "prefix part must be non-empty")]
    [InlineData("x=-a", "unable to parse requirement: values[0][x]: Invalid value: \"-a\": " + ValueRegexError)]
    [InlineData("x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "must be no more than 63 characters")]
    public void TryParse_InvalidSelector_UpstreamMessage(string input, string message)
    {
        if (message.Length == 0)
        {
            // "x==" is valid upstream: an empty exact value.
            Assert.True(LabelSelector.TryParse(input, out var parsed, out _));
            Assert.Equal("x==", parsed.ToString());
            return;
        }

        Assert.False(LabelSelector.TryParse(input, out var selector, out var error));
        Assert.Null(selector);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "a=1", true)]
    [InlineData("a=1", "a=1,b=2", true)]
    [InlineData("a=1", "a=2", false)]
    [InlineData("a=1", "", false)]
    [InlineData("a!=1", "", true)]
    [InlineData("a!=1", "a=1", false)]
    [InlineData("a in (1,2)", "a=2", true)]
    [InlineData("a notin (1,2)", "a=3", true)]
    [InlineData("a notin (1,2)", "b=1", true)]
    [InlineData("a", "a=", true)]
    [InlineData("!a", "a=x", false)]
    [InlineData("!a", "b=x", true)]
    [InlineData("a>5", "a=6", true)]
    [InlineData("a>5", "a=x", false)]
    [InlineData("a<5", "a=4", true)]
    [InlineData("a=1,b=2", "a=1", false)]
    [InlineData("a=", "a=", true)]
    public void Matches_Labels_AsUpstream(string selector, string labels, bool expected)
    {
        var set = labels.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1]);

        Assert.Equal(expected, LabelSelector.Parse(selector).Matches(set));
    }

    [Fact]
    public void Matches_NullLabels_TreatedAsEmpty()
    {
        Assert.True(LabelSelector.Parse("!a").Matches(null));
        Assert.False(LabelSelector.Parse("a").Matches(null));
    }

    [Fact]
    public void FromDictionary_NullEmptyAndSet_FollowServiceSemantics()
    {
        Assert.False(LabelSelector.FromDictionary(null).Matches(new Dictionary<string, string>()));
        Assert.False(LabelSelector.FromDictionary(null).IsEmpty);
        Assert.True(LabelSelector.FromDictionary(new Dictionary<string, string>()).Matches(new Dictionary<string, string> { ["x"] = "y" }));

        var selector = LabelSelector.FromDictionary(new Dictionary<string, string> { ["tier"] = "fe", ["app"] = "web" });
        Assert.Equal("app=web,tier=fe", selector.ToString());
        Assert.True(selector.Matches(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "fe", ["x"] = "1" }));
        Assert.False(selector.Matches(new Dictionary<string, string> { ["app"] = "web" }));
    }

    [Theory]
    [InlineData("null", "", false, null)]
    [InlineData("{}", "", true, null)]
    [InlineData("""{"matchLabels":{"app":"web"}}""", "app=web", false, null)]
    [InlineData("""{"matchLabels":{"b":"2"},"matchExpressions":[{"key":"a","operator":"In","values":["y","x"]},{"key":"c","operator":"DoesNotExist"}]}""", "a in (x,y),b=2,!c", false, null)]
    [InlineData("""{"matchExpressions":[{"key":"a","operator":"In","values":[]}]}""", null, false, "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty")]
    [InlineData("""{"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]}""", null, false, "values set must be empty for exists and does not exist")]
    [InlineData("""{"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]}""", null, false, "\"Gt\" is not a valid label selector operator")]
    [InlineData("""{"matchLabels":{"-a":"x"}}""", null, false, "key: Invalid value: \"-a\": name part must consist of")]
    [InlineData("""{"matchLabels":{"a":"x y"}}""", null, false, "values[0][a]: Invalid value: \"x y\": a valid label must be")]
    public void TryFromMetav1_Selector_ConvertsOrFails(string json, string? canonical, bool matchesEmptyLabels, string? error)
    {
        var ok = LabelSelector.TryFromMetav1(JsonNode.Parse(json), out var selector, out var message);
        if (error is not null)
        {
            Assert.False(ok);
            Assert.Contains(error, message, StringComparison.Ordinal);
            return;
        }

        Assert.True(ok, message);
        Assert.Equal(canonical, selector!.ToString());
        Assert.Equal(matchesEmptyLabels, selector!.Matches(new Dictionary<string, string>()));
    }

    [Theory]
    [InlineData("app", 0)]
    [InlineData("example.com/app", 0)]
    [InlineData("", 2)]
    [InlineData("a/", 2)]
    public void IsQualifiedName_Keys_ErrorCount(string key, int errors)
    {
        Assert.Equal(errors, LabelValidation.IsQualifiedName(key).Count);
    }
}
