using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

public class StrategicMergePatchTests
{
    // (description, original, patch, expected) transcribed from upstream strategicpatch/patch_test.go
    // (customStrategicMergePatchTestCaseData, customStrategicMergePatchRawTestCases and the
    // twoWay/threeWay applications of createStrategicMergePatchTestCaseData / strategicMergePatchRawTestCases).
    public static TheoryData<string, string, string, string> UpstreamCases => new()
    {
        { "unique scalars when merging lists", """{"mergingIntList":[1,2]}""", """{"mergingIntList":[2,3]}""", """{"mergingIntList":[1,2,3]}""" },
        { "delete map from nested map", """{"simpleMap":{"key1":"1","key2":"1"}}""", """{"simpleMap":{"$patch":"delete"}}""", """{"simpleMap":{}}""" },
        { "delete all items from merging list", """{"mergingList":[{"name":"1"},{"name":"2"}]}""", """{"mergingList":[{"$patch":"replace"}]}""", """{"mergingList":[]}""" },
        { "merge empty merging lists", """{"mergingList":[]}""", """{"mergingList":[]}""", """{"mergingList":[]}""" },
        { "delete all keys from map", """{"name":"1","value":"1"}""", """{"$patch":"replace"}""", """{}""" },
        { "add key and delete all keys from map", """{"name":"1","value":"1"}""", """{"other":"a","$patch":"replace"}""", """{"other":"a"}""" },
        {
            "delete all duplicate entries in a merging list",
            """{"mergingList":[{"name":"1"},{"name":"1"},{"name":"2","value":"a"},{"name":"3"},{"name":"3"}]}""",
            """{"mergingList":[{"name":"1","$patch":"delete"},{"name":"3","$patch":"delete"}]}""",
            """{"mergingList":[{"name":"2","value":"a"}]}"""
        },
        { "retainKeys map can add a field when no retainKeys directive present", """{"retainKeysMap":{"name":"foo"}}""", """{"retainKeysMap":{"value":"bar"}}""", """{"retainKeysMap":{"name":"foo","value":"bar"}}""" },
        { "retainKeys map can delete a field when no retainKeys directive present", """{"retainKeysMap":{"name":"foo","value":"a"}}""", """{"retainKeysMap":{"value":null}}""", """{"retainKeysMap":{"name":"foo"}}""" },
        { "retainKeys map merge an empty map", """{"retainKeysMap":{"name":"foo","value":"a"}}""", """{"retainKeysMap":{}}""", """{"retainKeysMap":{"name":"foo","value":"a"}}""" },
        {
            "retainKeys list can change a field when no retainKeys directive present",
            """{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}""",
            """{"retainKeysMergingList":[{"name":"foo","value":"b"}]}""",
            """{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"b"}]}"""
        },
        {
            "retainKeys directive clears keys not listed",
            """{"retainKeysMap":{"name":"foo","value":"a","other":"x"}}""",
            """{"retainKeysMap":{"$retainKeys":["name","other"],"other":"y"}}""",
            """{"retainKeysMap":{"name":"foo","other":"y"}}"""
        },
        {
            "preserve the order from the patch in a merging list",
            """{"mergingList":[{"name":"1"},{"name":"2","value":"b"},{"name":"3"}]}""",
            """{"mergingList":[{"name":"3","value":"c"},{"name":"1","value":"a"},{"name":"2","other":"x"}]}""",
            """{"mergingList":[{"name":"3","value":"c"},{"name":"1","value":"a"},{"name":"2","value":"b","other":"x"}]}"""
        },
        {
            "preserve the order from the patch in a merging list 2",
            """{"mergingList":[{"name":"1"},{"name":"2","value":"b"},{"name":"3"}]}""",
            """{"mergingList":[{"name":"3","value":"c"},{"name":"1","value":"a"}]}""",
            """{"mergingList":[{"name":"2","value":"b"},{"name":"3","value":"c"},{"name":"1","value":"a"}]}"""
        },
        { "preserve the order from the patch in a merging int list", """{"mergingIntList":[1,2,3]}""", """{"mergingIntList":[3,1,2]}""", """{"mergingIntList":[3,1,2]}""" },
        { "preserve the order from the patch in a merging int list 2", """{"mergingIntList":[1,2,3]}""", """{"mergingIntList":[3,1]}""", """{"mergingIntList":[2,3,1]}""" },
        {
            "$setElementOrder contains item that is not present in the list to be merged",
            """{"mergingList":[{"name":"1"},{"name":"3"}]}""",
            """{"$setElementOrder/mergingList":[{"name":"3"},{"name":"2"},{"name":"1"}],"mergingList":[{"name":"3","value":"3"},{"name":"1","value":"1"}]}""",
            """{"mergingList":[{"name":"3","value":"3"},{"name":"1","value":"1"}]}"""
        },
        { "$setElementOrder contains item that is not present in the int list", """{"mergingIntList":[1,3]}""", """{"$setElementOrder/mergingIntList":[3,2,1]}""", """{"mergingIntList":[3,1]}""" },
        { "$deleteFromPrimitiveList of nonexistent item does not add it", """{"mergingIntList":[1,2]}""", """{"$deleteFromPrimitiveList/mergingIntList":[3]}""", """{"mergingIntList":[1,2]}""" },
        { "$deleteFromPrimitiveList on nonexistent list does not add the list", """{"foo":["bar"]}""", """{"$deleteFromPrimitiveList/mergingIntList":[3]}""", """{"foo":["bar"]}""" },
        { "$deleteFromPrimitiveList deletes from a merging list", """{"mergingIntList":[1,2,3]}""", """{"$deleteFromPrimitiveList/mergingIntList":[2]}""", """{"mergingIntList":[1,3]}""" },
        { "$deleteFromPrimitiveList deletes from a non-merging list", """{"nonMergingIntList":[1,2,3]}""", """{"$deleteFromPrimitiveList/nonMergingIntList":[2]}""", """{"nonMergingIntList":[1,3]}""" },
        { "nil original", """{}""", """{"name":"1","value":"1"}""", """{"name":"1","value":"1"}""" },
        { "add field to map (three-way result)", """{"name":"1","other":"a"}""", """{"value":"1"}""", """{"name":"1","value":"1","other":"a"}""" },
        { "add field and delete field from map", """{"name":"1","other":"a"}""", """{"name":null,"value":"1"}""", """{"value":"1","other":"a"}""" },
        { "delete field from nested map", """{"simpleMap":{"key1":"1","key2":"1","other":"a"}}""", """{"simpleMap":{"key2":null}}""", """{"simpleMap":{"key1":"1","other":"a"}}""" },
        { "replace list of scalars", """{"nonMergingIntList":[1,2]}""", """{"nonMergingIntList":[2,3]}""", """{"nonMergingIntList":[2,3]}""" },
        {
            "delete all maps from merging list",
            """{"mergingList":[{"name":"1","other":"a"},{"name":"2","other":"b"}]}""",
            """{"mergingList":[{"name":"1","$patch":"delete"},{"name":"2","$patch":"delete"}]}""",
            """{"mergingList":[]}"""
        },
        { "defined null values remove fields and are not added", """{"name":"a","other":"a"}""", """{"name":"1","value":"1","other":null}""", """{"name":"1","value":"1"}""" },
        {
            "nested patch merge with empty list (delete of a missing item adds nothing)",
            """{"name":"hi"}""",
            """{"mergingList":[{"name":"hello"},{"$patch":"delete","name":"doesntexist"}]}""",
            """{"name":"hi","mergingList":[{"name":"hello"}]}"""
        },
        {
            "nested patch merge with setElementOrder (three-way result)",
            """{"name":"hi","mergingList":[{"name":"hello2"}]}""",
            """{"$setElementOrder/mergingList":[{"name":"hello"},{"name":"doesntexist"}],"mergingList":[{"name":"hello"},{"$patch":"delete","name":"doesntexist"}]}""",
            """{"name":"hi","mergingList":[{"name":"hello"},{"name":"hello2"}]}"""
        },
        {
            "delete items in lists of scalars (three-way result)",
            """{"mergingIntList":[1,2,3,4]}""",
            """{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}""",
            """{"mergingIntList":[1,2,4]}"""
        },
        {
            "add and delete items in lists of scalars",
            """{"mergingIntList":[1,2,3]}""",
            """{"$setElementOrder/mergingIntList":[1,2,4],"$deleteFromPrimitiveList/mergingIntList":[3],"mergingIntList":[4]}""",
            """{"mergingIntList":[1,2,4]}"""
        },
        {
            "merge lists of maps (three-way result)",
            """{"mergingList":[{"name":"1","other":"a"},{"name":"2","value":"2","other":"b"}]}""",
            """{"$setElementOrder/mergingList":[{"name":"4"},{"name":"1"},{"name":"2"},{"name":"3"}],"mergingList":[{"name":"4","value":"4"},{"name":"3","value":"3"}]}""",
            """{"mergingList":[{"name":"4","value":"4"},{"name":"1","other":"a"},{"name":"2","value":"2","other":"b"},{"name":"3","value":"3"}]}"""
        },
        {
            "merge lists of maps with conflict (three-way result)",
            """{"mergingList":[{"name":"1","other":"a"},{"name":"2","value":"3","other":"b"}]}""",
            """{"$setElementOrder/mergingList":[{"name":"1"},{"name":"2"},{"name":"3"}],"mergingList":[{"name":"2","value":"2"},{"name":"3","value":"3"}]}""",
            """{"mergingList":[{"name":"1","other":"a"},{"name":"2","value":"2","other":"b"},{"name":"3","value":"3"}]}"""
        },
        {
            "server-only items keep their place between patch items",
            """{"mergingList":[{"name":"1"},{"name":"2"},{"name":"3"}]}""",
            """{"$setElementOrder/mergingList":[{"name":"3"},{"name":"1"}],"mergingList":[{"name":"3","value":"c"}]}""",
            """{"mergingList":[{"name":"2"},{"name":"3","value":"c"},{"name":"1"}]}"""
        },
        { "replace strategy replaces a map", """{"replacingItem":{"a":1,"b":2}}""", """{"replacingItem":{"c":3}}""", """{"replacingItem":{"c":3}}""" },
        { "pointer to merge item merges as a map", """{"mergeItemPtr":{"name":"a","value":"1"}}""", """{"mergeItemPtr":{"other":"x"}}""", """{"mergeItemPtr":{"name":"a","value":"1","other":"x"}}""" },
        { "non-merging list of maps is replaced", """{"nonMergingList":[{"name":"1","value":"a"}]}""", """{"nonMergingList":[{"name":"2"}]}""", """{"nonMergingList":[{"name":"2"}]}""" },
        { "type change replaces the value", """{"name":"1"}""", """{"name":{"x":"y"}}""", """{"name":{"x":"y"}}""" },
        {
            "directives in a newly added subtree are consumed",
            """{}""",
            """{"mergeItemPtr":{"name":"a","$setElementOrder/mergingList":[{"name":"2"},{"name":"1"}],"mergingList":[{"name":"2"},{"name":"3","$patch":"delete"},{"name":"1","$retainKeys":["name"]}],"simpleMap":{"k":null,"v":"1"}}}""",
            """{"mergeItemPtr":{"name":"a","mergingList":[{"name":"2"},{"name":"1"}],"simpleMap":{"v":"1"}}}"""
        },
        {
            "replace directive inside a merging list replaces the list",
            """{"mergingList":[{"name":"1","value":"a"},{"name":"2"}]}""",
            """{"mergingList":[{"name":"3"},{"$patch":"replace"}]}""",
            """{"mergingList":[{"name":"3"}]}"""
        },
        { "numeric merge keys compare as numbers", """{"mergingList":[{"name":1,"value":"a"}]}""", """{"mergingList":[{"name":1.0,"other":"b"}]}""", """{"mergingList":[{"name":1,"value":"a","other":"b"}]}""" },
    };

    [Theory]
    [MemberData(nameof(UpstreamCases))]
    public void Apply_UpstreamCase_ProducesExpected(string description, string original, string patch, string expected)
    {
        Assert.NotEmpty(description);
        var result = StrategicMergePatch.Apply(JsonNode.Parse(original)!, JsonAssert.Object(patch), MergeItemSchema.Create());
        JsonAssert.Equal(expected, result);
        Assert.DoesNotContain("\"$", result.ToJsonString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string, string, int> ErrorCases => new()
    {
        {
            "should check if order in $setElementOrder and patch list match",
            """{"mergingList":[{"name":"1"},{"name":"3"},{"name":"2"}]}""",
            """{"$setElementOrder/mergingList":[{"name":"1"},{"name":"2"},{"name":"3"}],"mergingList":[{"name":"3","value":"3"},{"name":"1","value":"1"}]}""",
            "doesn't match", 500
        },
        {
            "int list order mismatch",
            """{"mergingIntList":[1,3,2]}""",
            """{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3,1]}""",
            "doesn't match", 500
        },
        { "missing merge key should error out", """{"mergingList":[{"name":"1","value":"a"}]}""", """{"mergingList":[{"value":"b"}]}""", "does not contain declared merge key: name", 500 },
        { "unknown $patch value", """{"simpleMap":{"a":"1"}}""", """{"simpleMap":{"$patch":"explode"}}""", "unknown patch type: explode", 500 },
        { "retainKeys not a list", """{"retainKeysMap":{"name":"a"}}""", """{"retainKeysMap":{"$retainKeys":"name"}}""", "invalid patch format of retainKeys", 400 },
        { "patch sets a key missing from retainKeys", """{"retainKeysMap":{"name":"a"}}""", """{"retainKeysMap":{"$retainKeys":["name"],"value":"b"}}""", "invalid patch format of retainKeys", 400 },
        { "setElementOrder without field name", """{"mergingList":[]}""", """{"$setElementOrder":[]}""", "invalid patch format of setElementOrder list", 400 },
        { "deleteFromPrimitiveList without field name", """{"mergingIntList":[1]}""", """{"$deleteFromPrimitiveList":[1]}""", "invalid patch format of primitive list", 400 },
        { "lists of lists", """{"mergingIntList":[[1]]}""", """{"mergingIntList":[[2]]}""", "lists of lists are not supported", 422 },
        { "$patch: merge in a list", """{"mergingList":[{"name":"1"}]}""", """{"mergingList":[{"$patch":"merge"}]}""", "merging lists cannot yet be specified in the patch", 500 },
    };

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public void Apply_InvalidPatch_ThrowsPatchException(string description, string original, string patch, string message, int status)
    {
        Assert.NotEmpty(description);
        var error = Assert.Throws<PatchException>(() => StrategicMergePatch.Apply(JsonNode.Parse(original)!, JsonAssert.Object(patch), MergeItemSchema.Create()));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(status, error.StatusCode);
    }

    [Fact]
    public void Apply_NonObjectOriginal_ThrowsBadRequest()
    {
        var error = Assert.Throws<PatchException>(() => StrategicMergePatch.Apply(new JsonArray(), new JsonObject(), NoPatchSchema.Instance));
        Assert.Equal(400, error.StatusCode);
    }

    [Fact]
    public void Apply_Inputs_AreNotModified()
    {
        var original = JsonNode.Parse("""{"mergingList":[{"name":"1","value":"a"}],"simpleMap":{"k":"v"}}""")!;
        var patch = JsonAssert.Object("""{"mergingList":[{"name":"1","$patch":"delete"},{"name":"2"}],"simpleMap":{"k":null}}""");
        var originalText = original.ToJsonString();
        var patchText = patch.ToJsonString();

        var result = StrategicMergePatch.Apply(original, patch, MergeItemSchema.Create());

        JsonAssert.Equal("""{"mergingList":[{"name":"2"}],"simpleMap":{}}""", result);
        Assert.Equal(originalText, original.ToJsonString());
        Assert.Equal(patchText, patch.ToJsonString());
    }

    [Fact]
    public void Apply_NoPatchSchema_ReplacesListsAndMergesMaps()
    {
        var result = StrategicMergePatch.Apply(
            JsonNode.Parse("""{"spec":{"ports":[{"port":80},{"port":81}],"selector":{"a":"1"}}}""")!,
            JsonAssert.Object("""{"spec":{"ports":[{"port":82}],"selector":{"b":"2"}}}"""),
            NoPatchSchema.Instance);

        JsonAssert.Equal("""{"spec":{"ports":[{"port":82}],"selector":{"a":"1","b":"2"}}}""", result);
    }
}
