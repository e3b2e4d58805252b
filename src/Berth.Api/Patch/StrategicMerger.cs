using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

/// <summary>
/// The merge itself. <c>original</c> arguments are owned (mutated and returned); <c>patch</c>
/// arguments are only read, and every node taken from them is cloned (a node has one parent).
/// Function names mirror upstream patch.go so the two can be read side by side.
/// </summary>
internal static partial class StrategicMerger
{
    private const string DirectiveMarker = "$patch";
    private const string DeleteDirective = "delete";
    private const string ReplaceDirective = "replace";
    private const string MergeDirective = "merge";
    private const string RetainKeysDirective = "$retainKeys";
    private const string DeleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList";
    private const string SetElementOrderPrefix = "$setElementOrder";

    public static JsonObject MergeMap(JsonObject original, JsonObject patch, IPatchSchema schema)
    {
        if (patch.TryGetPropertyValue(DirectiveMarker, out var directive))
        {
            switch (AsString(directive))
            {
                case ReplaceDirective:
                    // handleDirectiveInMergeMap returns the patch itself; merging it into an empty map
                    // gives the same content while still consuming nested directives and nulls.
                    return MergeMapBody(new JsonObject(), patch, schema);
                case DeleteDirective:
                    return new JsonObject();
                case MergeDirective:
                    // Upstream rejects "$patch: merge" on maps as an unknown patch type; it is the
                    // default behaviour anyway, so accept it.
                    break;
                default:
                    throw PatchErrors.BadPatchType(directive, patch);
            }
        }

        return MergeMapBody(original, patch, schema);
    }

    private static JsonObject MergeMapBody(JsonObject original, JsonObject patch, IPatchSchema schema)
    {
        ApplyRetainKeysDirective(original, patch);
        var ordered = MergePatchIntoOriginal(original, patch, schema);

        foreach (var (patchKey, patchValue) in patch)
        {
            var key = patchKey;
            var isDeleteList = false;
            if (key.StartsWith('$'))
            {
                if (!key.StartsWith(DeleteFromPrimitiveListPrefix, StringComparison.Ordinal))
                {
                    // $patch, $retainKeys and $setElementOrder/* are consumed above; anything else
                    // starting with '$' is no field of any Kubernetes type, so it must not leak.
                    continue;
                }

                key = ExtractKey(key, DeleteFromPrimitiveListPrefix);
                isDeleteList = true;
            }
            else if (ordered is not null && ordered.Contains(key))
            {
                continue;
            }

            if (patchValue is null)
            {
                original.Remove(key);
                continue;
            }

            if (!original.TryGetPropertyValue(key, out var originalValue) || originalValue is null
                || Category(originalValue) != Category(patchValue))
            {
                // Absent or of another type: take the patch value (upstream removeDirectives plus
                // discardNullValuesFromPatch). A deletion list never adds anything.
                if (!isDeleteList)
                {
                    SetMaterialized(original, key, patchValue, schema.Field(key));
                }

                continue;
            }

            switch (originalValue)
            {
                case JsonObject originalObject when !isDeleteList:
                {
                    var info = schema.FieldInfo(key);
                    var fieldSchema = schema.Field(key) ?? NoPatchSchema.Instance;
                    var merged = info.IsReplace
                        ? MergeMap(new JsonObject(), (JsonObject)patchValue, fieldSchema)
                        : MergeMap(originalObject, (JsonObject)patchValue, fieldSchema);
                    if (!ReferenceEquals(merged, originalObject))
                    {
                        original[key] = merged;
                    }

                    break;
                }

                case JsonArray originalArray:
                {
                    var items = Detach(originalArray);
                    var patchArray = (JsonArray)patchValue;
                    var merged = isDeleteList
                        ? DeleteFromSlice(items, patchArray)
                        : MergeSliceHandler(items, patchArray, schema.Field(key)?.Items(), schema.FieldInfo(key));
                    original[key] = ToArray(merged);
                    break;
                }

                case JsonValue when !isDeleteList:
                    original[key] = patchValue.DeepClone();
                    break;
            }
        }

        return original;
    }

    // applyRetainKeysDirective: validate that the patch only sets listed keys, then clear the rest.
    private static void ApplyRetainKeysDirective(JsonObject original, JsonObject patch)
    {
        if (!patch.TryGetPropertyValue(RetainKeysDirective, out var retainKeys))
        {
            return;
        }

        if (retainKeys is not JsonArray retainList)
        {
            throw PatchErrors.BadPatchFormatForRetainKeys();
        }

        var retained = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in retainList)
        {
            retained.Add(AsString(item) ?? KeyOf(item));
        }

        foreach (var (key, value) in patch)
        {
            if (value is null || key == RetainKeysDirective || key == DirectiveMarker
                || key.StartsWith(DeleteFromPrimitiveListPrefix, StringComparison.Ordinal)
                || key.StartsWith(SetElementOrderPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (!retained.Contains(key))
            {
                throw PatchErrors.BadPatchFormatForRetainKeys();
            }
        }

        List<string>? drop = null;
        foreach (var (key, _) in original)
        {
            if (!retained.Contains(key))
            {
                (drop ??= []).Add(key);
            }
        }

        if (drop is not null)
        {
            foreach (var key in drop)
            {
                original.Remove(key);
            }
        }
    }

    // mergePatchIntoOriginal: merge every list named by a $setElementOrder directive and put it in
    // the requested order. Returns the list fields it handled so the main loop skips them.
    private static HashSet<string>? MergePatchIntoOriginal(JsonObject original, JsonObject patch, IPatchSchema schema)
    {
        HashSet<string>? handled = null;
        foreach (var (directiveKey, orderValue) in patch)
        {
            if (!directiveKey.StartsWith(SetElementOrderPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (orderValue is not JsonArray orderArray)
            {
                throw PatchErrors.BadArgType(PatchErrors.GoSlice, orderValue);
            }

            var key = ExtractKey(directiveKey, SetElementOrderPrefix);
            JsonArray? originalArray = null;
            JsonArray? patchArray = null;
            if (original.TryGetPropertyValue(key, out var originalNode) && originalNode is not null)
            {
                originalArray = originalNode as JsonArray ?? throw PatchErrors.BadArgType(PatchErrors.GoSlice, originalNode);
            }

            if (patch.TryGetPropertyValue(key, out var patchNode) && patchNode is not null)
            {
                patchArray = patchNode as JsonArray ?? throw PatchErrors.BadArgType(PatchErrors.GoSlice, patchNode);
            }

            var info = schema.FieldInfo(key);
            var itemSchema = schema.Field(key)?.Items();
            var order = orderArray.ToList();
            ValidatePatchWithSetOrderList(patchArray, order, info.MergeKey);

            (handled ??= new HashSet<string>(StringComparer.Ordinal)).Add(key);
            if (originalArray is null && patchArray is null)
            {
                continue;
            }

            var serverOrder = originalArray?.ToList() ?? [];
            var kind = SliceElementKind(serverOrder, patchArray);
            var originalItems = originalArray is null ? [] : Detach(originalArray);
            List<JsonNode?> merged = patchArray is null
                ? originalItems
                : originalArray is null
                    ? MaterializeList(patchArray, itemSchema)
                    : MergeSliceHandler(originalItems, patchArray, itemSchema, info);

            var mergeKey = kind == ElementKind.Object ? info.MergeKey : null;
            var (patchItems, serverOnly) = Partition(merged, order, mergeKey);
            var both = NormalizeElementOrder(patchItems, serverOnly, order, serverOrder, mergeKey, kind);
            original[key] = ToArray(both);
        }

        return handled;
    }

    private static List<JsonNode?> MergeSliceHandler(List<JsonNode?> original, JsonArray patch, IPatchSchema? itemSchema, PatchFieldInfo info) =>
        info.IsMerge ? MergeSlice(original, patch, itemSchema, info.MergeKey) : MaterializeList(patch, itemSchema);

    private static List<JsonNode?> MergeSlice(List<JsonNode?> original, JsonArray patch, IPatchSchema? itemSchema, string? mergeKey)
    {
        if (original.Count == 0 && patch.Count == 0)
        {
            return original;
        }

        var kind = SliceElementKind(original, patch);
        if (kind != ElementKind.Object)
        {
            // Lists of scalars are unioned without duplicates (upstream deduplicateScalars); the
            // order is then fixed by normalizeElementOrder below.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var union = new List<JsonNode?>(original.Count + patch.Count);
            foreach (var item in original)
            {
                if (seen.Add(KeyOf(item)))
                {
                    union.Add(item);
                }
            }

            foreach (var item in patch)
            {
                if (seen.Add(KeyOf(item)))
                {
                    union.Add(item?.DeepClone());
                }
            }

            var patchOrder = patch.ToList();
            var (patchItems, serverOnly) = Partition(union, patchOrder, null);
            return NormalizeElementOrder(patchItems, serverOnly, patchOrder, original, null, kind);
        }

        if (string.IsNullOrEmpty(mergeKey))
        {
            throw new PatchException("cannot merge lists without merge key for type struct", PatchErrors.Internal);
        }

        var (plain, replace) = MergeSliceWithSpecialElements(original, patch, mergeKey);
        if (replace)
        {
            var replaced = new List<JsonNode?>(plain.Count);
            foreach (var item in plain)
            {
                replaced.Add(MergeMap(new JsonObject(), item, itemSchema ?? NoPatchSchema.Instance));
            }

            return replaced;
        }

        var serverOrder = new List<JsonNode?>(original);
        var merged = MergeSliceWithoutSpecialElements(original, plain, mergeKey, itemSchema ?? NoPatchSchema.Instance);
        var plainOrder = new List<JsonNode?>(plain);
        var (mergedPatchItems, mergedServerOnly) = Partition(merged, plainOrder, mergeKey);
        return NormalizeElementOrder(mergedPatchItems, mergedServerOnly, plainOrder, serverOrder, mergeKey, kind);
    }

    // mergeSliceWithSpecialElements: apply "$patch: delete" items to original, note "$patch: replace".
    private static (List<JsonObject> Plain, bool Replace) MergeSliceWithSpecialElements(List<JsonNode?> original, JsonArray patch, string mergeKey)
    {
        var plain = new List<JsonObject>(patch.Count);
        var replace = false;
        foreach (var item in patch)
        {
            if (item is not JsonObject itemObject)
            {
                continue;
            }

            if (!itemObject.TryGetPropertyValue(DirectiveMarker, out var directive))
            {
                plain.Add(itemObject);
                continue;
            }

            switch (AsString(directive))
            {
                case DeleteDirective:
                    if (!itemObject.TryGetPropertyValue(mergeKey, out var mergeValue))
                    {
                        throw PatchErrors.NoMergeKey(itemObject, mergeKey);
                    }

                    original.RemoveAll(o => o is JsonObject oo && oo.TryGetPropertyValue(mergeKey, out var v) && JsonNode.DeepEquals(v, mergeValue));
                    break;
                case ReplaceDirective:
                    // Keep going so every other directive element is pruned too.
                    replace = true;
                    break;
                case MergeDirective:
                    throw new PatchException("merging lists cannot yet be specified in the patch", PatchErrors.Internal);
                default:
                    throw PatchErrors.BadPatchType(directive, itemObject);
            }
        }

        return (plain, replace);
    }

    // mergeSliceWithoutSpecialElements: merge each patch item into the item with the same merge key
    // value, or append it.
    private static List<JsonNode?> MergeSliceWithoutSpecialElements(List<JsonNode?> original, List<JsonObject> patch, string mergeKey, IPatchSchema itemSchema)
    {
        foreach (var item in patch)
        {
            if (!item.TryGetPropertyValue(mergeKey, out var mergeValue))
            {
                throw PatchErrors.NoMergeKey(item, mergeKey);
            }

            var index = original.FindIndex(o => o is JsonObject oo && oo.TryGetPropertyValue(mergeKey, out var v) && JsonNode.DeepEquals(v, mergeValue));
            if (index >= 0)
            {
                original[index] = MergeMap((JsonObject)original[index]!, item, itemSchema);
            }
            else
            {
                original.Add(MergeMap(new JsonObject(), item, itemSchema));
            }
        }

        return original;
    }

    private static List<JsonNode?> DeleteFromSlice(List<JsonNode?> current, JsonArray toDelete)
    {
        var deleted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in toDelete)
        {
            deleted.Add(KeyOf(item));
        }

        current.RemoveAll(item => deleted.Contains(KeyOf(item)));
        return current;
    }

    // validatePatchWithSetOrderList: the patch items (deletions aside) must appear in the
    // $setElementOrder list, in the same relative order.
    private static void ValidatePatchWithSetOrderList(JsonArray? patchList, List<JsonNode?> order, string? mergeKey)
    {
        if (patchList is null || order.Count == 0 || patchList.Count == 0)
        {
            return;
        }

        var nonDelete = new List<JsonNode?>(patchList.Count);
        foreach (var item in patchList)
        {
            if (!string.IsNullOrEmpty(mergeKey))
            {
                if (item is not JsonObject itemObject)
                {
                    throw PatchErrors.BadArgType(PatchErrors.GoMap, item);
                }

                if (itemObject.TryGetPropertyValue(DirectiveMarker, out var d) && AsString(d) == DeleteDirective)
                {
                    continue;
                }
            }

            nonDelete.Add(item);
        }

        int patchIndex = 0, orderIndex = 0;
        while (patchIndex < nonDelete.Count && orderIndex < order.Count)
        {
            if (nonDelete[patchIndex] is JsonObject o && o.ContainsKey(DirectiveMarker))
            {
                patchIndex++;
                continue;
            }

            if (MergeKeyValueEqual(nonDelete[patchIndex], order[orderIndex], mergeKey))
            {
                patchIndex++;
            }

            orderIndex++;
        }

        if (patchIndex < nonDelete.Count && orderIndex >= order.Count)
        {
            throw new PatchException(
                $"the order in patch list:\n{PatchErrors.Render(patchList)}\n doesn't match {SetElementOrderPrefix} list:\n{PatchErrors.Render(new JsonArray([.. order.Select(n => n?.DeepClone())]))}",
                PatchErrors.Internal);
        }
    }

    private static bool MergeKeyValueEqual(JsonNode? left, JsonNode? right, string? mergeKey)
    {
        if (string.IsNullOrEmpty(mergeKey))
        {
            return JsonNode.DeepEquals(left, right);
        }

        var l = left as JsonObject ?? throw PatchErrors.BadArgType(PatchErrors.GoMap, left);
        var r = right as JsonObject ?? throw PatchErrors.BadArgType(PatchErrors.GoMap, right);
        if (!l.TryGetPropertyValue(mergeKey, out var lv))
        {
            throw PatchErrors.NoMergeKey(l, mergeKey);
        }

        if (!r.TryGetPropertyValue(mergeKey, out var rv))
        {
            throw PatchErrors.NoMergeKey(r, mergeKey);
        }

        return JsonNode.DeepEquals(lv, rv);
    }

    private static string ExtractKey(string key, string prefix)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !key.AsSpan(0, slash).SequenceEqual(prefix))
        {
            throw prefix == DeleteFromPrimitiveListPrefix
                ? PatchErrors.BadPatchFormatForPrimitiveList()
                : PatchErrors.BadPatchFormatForSetElementOrderList();
        }

        return key[(slash + 1)..];
    }

    private static void SetMaterialized(JsonObject target, string key, JsonNode patchValue, IPatchSchema? schema)
    {
        var (value, keep) = Materialize(patchValue, schema);
        if (keep)
        {
            target[key] = value;
        }
        else
        {
            target.Remove(key);
        }
    }

    // A patch value taken as is (nothing to merge with): directives consumed, nulls dropped, and
    // list items carrying "$patch" dropped (upstream removeDirectives + discardNullValuesFromPatch).
    private static (JsonNode? Value, bool Keep) Materialize(JsonNode? patchValue, IPatchSchema? schema)
    {
        switch (patchValue)
        {
            case JsonObject obj:
                if (obj.TryGetPropertyValue(DirectiveMarker, out var directive) && AsString(directive) == DeleteDirective)
                {
                    return (null, false);
                }

                return (MergeMap(new JsonObject(), obj, schema ?? NoPatchSchema.Instance), true);
            case JsonArray array:
                return (ToArray(MaterializeList(array, schema?.Items())), true);
            default:
                return (patchValue?.DeepClone(), true);
        }
    }

    private static List<JsonNode?> MaterializeList(JsonArray patch, IPatchSchema? itemSchema)
    {
        var result = new List<JsonNode?>(patch.Count);
        foreach (var item in patch)
        {
            if (item is JsonObject obj && obj.ContainsKey(DirectiveMarker))
            {
                continue;
            }

            var (value, keep) = Materialize(item, itemSchema);
            if (keep)
            {
                result.Add(value);
            }
        }

        return result;
    }

    private static List<JsonNode?> Detach(JsonArray array)
    {
        var items = new List<JsonNode?>(array.Count);
        foreach (var item in array)
        {
            items.Add(item);
        }

        array.Clear();
        return items;
    }

    private static JsonArray ToArray(List<JsonNode?> items)
    {
        var array = new JsonArray();
        foreach (var item in items)
        {
            array.Add(item);
        }

        return array;
    }

    private static string? AsString(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    // Go compares scalars with ==; this key gives the same equality (1 and 1.0 are one float64).
    internal static string KeyOf(JsonNode? node)
    {
        if (node is JsonValue value)
        {
            switch (value.GetValueKind())
            {
                case JsonValueKind.String:
                    return "s" + value.GetValue<string>();
                case JsonValueKind.Number:
                    var text = value.ToJsonString();
                    return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                        ? "n" + number.ToString("R", CultureInfo.InvariantCulture)
                        : "n" + text;
            }
        }

        return node is null ? "null" : "j" + node.ToJsonString();
    }
}
