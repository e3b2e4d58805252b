using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

public class JsonPatchTests
{
    // RFC 6902 appendix A (A.13, a duplicate "op" member, is a JSON parsing concern and not representable as a JsonNode).
    public static TheoryData<string, string, string, string> Rfc6902Examples => new()
    {
        { "A.1 add an object member", """{"foo":"bar"}""", """[{"op":"add","path":"/baz","value":"qux"}]""", """{"baz":"qux","foo":"bar"}""" },
        { "A.2 add an array element", """{"foo":["bar","baz"]}""", """[{"op":"add","path":"/foo/1","value":"qux"}]""", """{"foo":["bar","qux","baz"]}""" },
        { "A.3 remove an object member", """{"baz":"qux","foo":"bar"}""", """[{"op":"remove","path":"/baz"}]""", """{"foo":"bar"}""" },
        { "A.4 remove an array element", """{"foo":["bar","qux","baz"]}""", """[{"op":"remove","path":"/foo/1"}]""", """{"foo":["bar","baz"]}""" },
        { "A.5 replace a value", """{"baz":"qux","foo":"bar"}""", """[{"op":"replace","path":"/baz","value":"boo"}]""", """{"baz":"boo","foo":"bar"}""" },
        {
            "A.6 move a value",
            """{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}""",
            """[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]""",
            """{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"""
        },
        { "A.7 move an array element", """{"foo":["all","grass","cows","eat"]}""", """[{"op":"move","from":"/foo/1","path":"/foo/3"}]""", """{"foo":["all","cows","eat","grass"]}""" },
        { "A.8 test a value: success", """{"baz":"qux","foo":["a",2,"c"]}""", """[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]""", """{"baz":"qux","foo":["a",2,"c"]}""" },
        { "A.10 add a nested member object", """{"foo":"bar"}""", """[{"op":"add","path":"/child","value":{"grandchild":{}}}]""", """{"foo":"bar","child":{"grandchild":{}}}""" },
        { "A.11 ignore unrecognized elements", """{"foo":"bar"}""", """[{"op":"add","path":"/baz","value":"qux","xyz":123}]""", """{"foo":"bar","baz":"qux"}""" },
        { "A.14 ~ escape ordering", """{"/":9,"~1":10}""", """[{"op":"test","path":"/~01","value":10}]""", """{"/":9,"~1":10}""" },
        { "A.16 add an array value", """{"foo":["bar"]}""", """[{"op":"add","path":"/foo/-","value":["abc","def"]}]""", """{"foo":["bar",["abc","def"]]}""" },
        { "copy a subtree", """{"a":{"b":1}}""", """[{"op":"copy","from":"/a","path":"/c"},{"op":"replace","path":"/c/b","value":2}]""", """{"a":{"b":1},"c":{"b":2}}""" },
        { "negative index counts from the end (json-patch v4)", """{"a":[1,2,3]}""", """[{"op":"remove","path":"/a/-1"}]""", """{"a":[1,2]}""" },
        { "kubectl-style label edit with escaped key", """{"metadata":{"labels":{"app.kubernetes.io/name":"x"}}}""", """[{"op":"replace","path":"/metadata/labels/app.kubernetes.io~1name","value":"y"}]""", """{"metadata":{"labels":{"app.kubernetes.io/name":"y"}}}""" },
    };

    [Theory]
    [MemberData(nameof(Rfc6902Examples))]
    public void Apply_Rfc6902Example_ProducesExpected(string description, string document, string patch, string expected)
    {
        Assert.NotEmpty(description);
        var doc = JsonNode.Parse(document);
        var before = doc!.ToJsonString();

        var result = JsonPatch.Apply(doc, JsonNode.Parse(patch));

        JsonAssert.Equal(expected, result);
        Assert.Equal(before, doc.ToJsonString());
    }

    public static TheoryData<string, string, string, string, int> ErrorCases => new()
    {
        { "A.9 test a value: error", """{"baz":"qux"}""", """[{"op":"test","path":"/baz","value":"bar"}]""", "testing value /baz failed: test failed", 422 },
        { "A.12 add to a nonexistent target", """{"foo":"bar"}""", """[{"op":"add","path":"/baz/bat","value":"qux"}]""", "add operation does not apply: doc is missing path: \"/baz/bat\": missing value", 422 },
        { "A.15 compare strings and numbers", """{"/":9,"~1":10}""", """[{"op":"test","path":"/~01","value":"10"}]""", "testing value /~01 failed: test failed", 422 },
        { "replace a missing key", """{"spec":{}}""", """[{"op":"replace","path":"/spec/foo","value":1}]""", "replace operation does not apply: doc is missing key: /spec/foo: missing value", 422 },
        { "remove a missing key", """{"spec":{}}""", """[{"op":"remove","path":"/spec/foo"}]""", "error in remove for path: '/spec/foo': Unable to remove nonexistent key: foo: missing value", 422 },
        { "array index out of range", """{"a":[1]}""", """[{"op":"add","path":"/a/5","value":2}]""", "Unable to access invalid index: 5: invalid index referenced", 422 },
        { "bad array index", """{"a":[1]}""", """[{"op":"add","path":"/a/x","value":2}]""", "value was not a proper array index: 'x'", 422 },
        { "unknown op", """{}""", """[{"op":"frobnicate","path":"/a"}]""", "Unexpected kind: frobnicate", 422 },
        { "missing path", """{}""", """[{"op":"add","value":1}]""", "add operation failed to decode path: missing value", 422 },
        { "move from a missing path", """{"a":{}}""", """[{"op":"move","from":"/b/c","path":"/a/c"}]""", "move operation does not apply: doc is missing from path: /b/c: missing value", 422 },
        { "patch is not an array", """{}""", """{"op":"add"}""", "cannot unmarshal object into Go value of type jsonpatch.Patch", 400 },
        { "operation is not an object", """{}""", """["add"]""", "cannot unmarshal string into Go value of type jsonpatch.Operation", 400 },
        { "earlier operations do not stick when a later one fails", """{"a":1}""", """[{"op":"add","path":"/b","value":2},{"op":"test","path":"/a","value":2}]""", "testing value /a failed", 422 },
    };

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public void Apply_FailingOperation_ThrowsPatchException(string description, string document, string patch, string message, int status)
    {
        Assert.NotEmpty(description);
        var doc = JsonNode.Parse(document);
        var before = doc!.ToJsonString();

        var error = Assert.Throws<PatchException>(() => JsonPatch.Apply(doc, JsonNode.Parse(patch)));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal(before, doc.ToJsonString());
    }
}
