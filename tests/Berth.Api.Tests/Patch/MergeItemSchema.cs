using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

/// <summary>
/// The MergeItem test type of upstream strategicpatch/patch_test.go (and its swagger-merge-item.json),
/// written as OpenAPI v3 components so the cases also exercise <see cref="OpenApiPatchSchema"/>.
/// </summary>
internal static class MergeItemSchema
{
    public const string Components = """
    {"schemas":{
      "mergeItem":{"type":"object","properties":{
        "name":{"type":"string"},
        "value":{"type":"string"},
        "other":{"type":"string"},
        "mergingList":{"type":"array","items":{"$ref":"#/components/schemas/mergeItem"},
          "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"},
        "nonMergingList":{"type":"array","items":{"$ref":"#/components/schemas/mergeItem"}},
        "mergingIntList":{"type":"array","items":{"type":"integer"},"x-kubernetes-patch-strategy":"merge"},
        "nonMergingIntList":{"type":"array","items":{"type":"integer"}},
        "mergeItemPtr":{"allOf":[{"$ref":"#/components/schemas/mergeItem"}],
          "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"},
        "simpleMap":{"type":"object","additionalProperties":{"type":"string"}},
        "replacingItem":{"type":"object","x-kubernetes-patch-strategy":"replace"},
        "retainKeysMap":{"allOf":[{"$ref":"#/components/schemas/retainKeysMergeItem"}],"x-kubernetes-patch-strategy":"retainKeys"},
        "retainKeysMergingList":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/mergeItem"}],"default":{}},
          "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge,retainKeys"}
      }},
      "retainKeysMergeItem":{"type":"object","properties":{
        "name":{"type":"string"},
        "value":{"type":"string"},
        "other":{"type":"string"},
        "simpleMap":{"type":"object","additionalProperties":{"type":"string"}},
        "mergingIntList":{"type":"array","items":{"type":"integer"},"x-kubernetes-patch-strategy":"merge"},
        "mergingList":{"type":"array","items":{"$ref":"#/components/schemas/mergeItem"},
          "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"},
        "nonMergingList":{"type":"array","items":{"$ref":"#/components/schemas/mergeItem"}}
      }}
    }}
    """;

    public static IPatchSchema Create() =>
        OpenApiPatchSchema.ForDefinition(JsonNode.Parse(Components)!.AsObject(), "mergeItem");
}
