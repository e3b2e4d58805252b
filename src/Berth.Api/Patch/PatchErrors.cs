using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

/// <summary>
/// Error messages of <c>k8s.io/apimachinery/pkg/util/mergepatch/errors.go</c> and the status codes
/// <c>interpretStrategicMergePatchError</c> (apiserver handlers/patch.go) gives them.
/// </summary>
internal static class PatchErrors
{
    public const int BadRequest = 400;
    public const int Unprocessable = 422;
    public const int Internal = 500;

    public static PatchException BadJsonDoc() => new("invalid JSON document", BadRequest);

    public static PatchException NoListOfLists() => new("lists of lists are not supported", Unprocessable);

    public static PatchException BadPatchFormatForPrimitiveList() => new("invalid patch format of primitive list", BadRequest);

    public static PatchException BadPatchFormatForRetainKeys() => new("invalid patch format of retainKeys", BadRequest);

    public static PatchException BadPatchFormatForSetElementOrderList() => new("invalid patch format of setElementOrder list", BadRequest);

    public static PatchException NoMergeKey(JsonNode? map, string mergeKey) =>
        new($"map: {Render(map)} does not contain declared merge key: {mergeKey}", Internal);

    public static PatchException BadArgType(string expectedGoType, JsonNode? actual) =>
        new($"expected a {expectedGoType}, but received a {GoTypeName(actual)}", Internal);

    public static PatchException BadPatchType(JsonNode? directive, JsonNode? map) =>
        new($"unknown patch type: {DirectiveText(directive)} in map: {Render(map)}", Internal);

    public const string GoMap = "map[string]interface {}";
    public const string GoSlice = "[]interface {}";

    public static string Render(JsonNode? node) => node is null ? "<nil>" : node.ToJsonString();

    public static string GoTypeName(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.Object => GoMap,
        JsonValueKind.Array => GoSlice,
        JsonValueKind.String => "string",
        JsonValueKind.Number => "float64",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "<nil>",
    };

    private static string DirectiveText(JsonNode? directive) =>
        directive is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : Render(directive);
}
