using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

/// <summary>
/// Strategic merge patch (<c>application/strategic-merge-patch+json</c>), the apply half of
/// <c>k8s.io/apimachinery/pkg/util/strategicpatch/patch.go</c> (<c>StrategicMergeMapPatch</c> with
/// <c>MergeParallelList</c> and <c>IgnoreUnmatchedNulls</c>, as the API server calls it).
/// </summary>
public static class StrategicMergePatch
{
    /// <summary>
    /// Applies <paramref name="patch"/> to <paramref name="original"/> and returns the result as a new
    /// tree; neither input is modified and no directive key (<c>$patch</c>, <c>$retainKeys</c>,
    /// <c>$setElementOrder/…</c>, <c>$deleteFromPrimitiveList/…</c>) appears in the result.
    /// </summary>
    /// <exception cref="PatchException">The patch is malformed or does not fit the object; see <see cref="PatchException.StatusCode"/>.</exception>
    public static JsonNode Apply(JsonNode original, JsonObject patch, IPatchSchema schema)
    {
        ArgumentNullException.ThrowIfNull(patch);
        ArgumentNullException.ThrowIfNull(schema);
        if (original is not JsonObject originalObject)
        {
            throw PatchErrors.BadJsonDoc();
        }

        return StrategicMerger.MergeMap((JsonObject)originalObject.DeepClone(), patch, schema);
    }
}
