using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

// Element kinds and list ordering: sliceElementType, partition*ByPresentInList,
// normalizeElementOrder, normalizeSliceOrder and mergeSortedSlice of upstream patch.go.
internal static partial class StrategicMerger
{
    private enum ElementKind
    {
        None,
        Object,
        String,
        Number,
        Bool,
    }

    private enum NodeCategory
    {
        Object,
        Array,
        Scalar,
    }

    private static NodeCategory Category(JsonNode node) => node switch
    {
        JsonObject => NodeCategory.Object,
        JsonArray => NodeCategory.Array,
        _ => NodeCategory.Scalar,
    };

    // sliceElementType: every element of both lists has one type; lists of lists are refused.
    private static ElementKind SliceElementKind(List<JsonNode?> original, JsonArray? patch)
    {
        var kind = ElementKind.None;
        Accumulate(original, ref kind, original, patch);
        if (patch is not null)
        {
            Accumulate(patch, ref kind, original, patch);
        }

        return kind;

        static void Accumulate(IEnumerable<JsonNode?> items, ref ElementKind kind, List<JsonNode?> original, JsonArray? patch)
        {
            foreach (var item in items)
            {
                var current = item?.GetValueKind() switch
                {
                    null or JsonValueKind.Null => ElementKind.None,
                    JsonValueKind.Object => ElementKind.Object,
                    JsonValueKind.Array => throw PatchErrors.NoListOfLists(),
                    JsonValueKind.String => ElementKind.String,
                    JsonValueKind.Number => ElementKind.Number,
                    _ => ElementKind.Bool,
                };
                if (current == ElementKind.None)
                {
                    continue;
                }

                if (kind == ElementKind.None)
                {
                    kind = current;
                }
                else if (kind != current)
                {
                    var all = new JsonArray([.. original.Select(n => n?.DeepClone())]);
                    throw new PatchException(
                        $"list element types are not identical: [{all.ToJsonString()} {PatchErrors.Render(patch)}]", PatchErrors.Internal);
                }
            }
        }
    }

    // Splits merged into the items present in `by` and the others (server-only), keeping order.
    private static (List<JsonNode?> Present, List<JsonNode?> Absent) Partition(List<JsonNode?> merged, List<JsonNode?> by, string? mergeKey)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in by)
        {
            if (mergeKey is null)
            {
                keys.Add(KeyOf(item));
            }
            else if (item is JsonObject obj && obj.TryGetPropertyValue(mergeKey, out var value))
            {
                keys.Add(KeyOf(value));
            }
        }

        var present = new List<JsonNode?>(merged.Count);
        var absent = new List<JsonNode?>(merged.Count);
        foreach (var item in merged)
        {
            string key;
            if (mergeKey is null)
            {
                key = KeyOf(item);
            }
            else
            {
                var obj = item as JsonObject ?? throw PatchErrors.BadArgType(PatchErrors.GoMap, item);
                key = obj.TryGetPropertyValue(mergeKey, out var value) ? KeyOf(value) : throw PatchErrors.NoMergeKey(obj, mergeKey);
            }

            (keys.Contains(key) ? present : absent).Add(item);
        }

        return (present, absent);
    }

    // normalizeElementOrder: patch items sorted by the patch order, server-only items by the live
    // order, then interleaved so both relative orders hold.
    private static List<JsonNode?> NormalizeElementOrder(
        List<JsonNode?> patchItems, List<JsonNode?> serverOnly, List<JsonNode?> patchOrder, List<JsonNode?> serverOrder, string? mergeKey, ElementKind kind)
    {
        var patchSorted = NormalizeSliceOrder(patchItems, patchOrder, mergeKey, kind);
        var serverSorted = NormalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
        return MergeSortedSlice(serverSorted, patchSorted, serverOrder, mergeKey);
    }

    private static List<JsonNode?> NormalizeSliceOrder(List<JsonNode?> toSort, List<JsonNode?> order, string? mergeKey, ElementKind kind)
    {
        if (kind == ElementKind.Object && mergeKey is not null)
        {
            ValidateMergeKeyInList(mergeKey, toSort);
            ValidateMergeKeyInList(mergeKey, order);
        }

        var positions = Positions(order, mergeKey);
        var items = new (JsonNode? Item, int Position)[toSort.Count];
        for (var i = 0; i < toSort.Count; i++)
        {
            items[i] = (toSort[i], IndexIn(positions, toSort[i], mergeKey));
        }

        // Go's sort.SliceStable is an insertion sort for short lists, and its comparator answers
        // "less" whenever either item is missing from the order; replaying it keeps results equal.
        for (var i = 1; i < items.Length; i++)
        {
            for (var j = i; j > 0 && Less(items[j].Position, items[j - 1].Position); j--)
            {
                (items[j], items[j - 1]) = (items[j - 1], items[j]);
            }
        }

        var result = new List<JsonNode?>(items.Length);
        foreach (var (item, _) in items)
        {
            result.Add(item);
        }

        return result;

        static bool Less(int left, int right) => left < 0 || right < 0 || left < right;
    }

    // mergeSortedSlice: left = server-only, right = patch items. A left item goes first only when
    // both items are in the live list and it came first there.
    private static List<JsonNode?> MergeSortedSlice(List<JsonNode?> left, List<JsonNode?> right, List<JsonNode?> serverOrder, string? mergeKey)
    {
        var positions = Positions(serverOrder, mergeKey);
        var result = new List<JsonNode?>(left.Count + right.Count);
        int i = 0, j = 0;
        while (i < left.Count || j < right.Count)
        {
            if (i >= left.Count)
            {
                result.Add(right[j++]);
            }
            else if (j >= right.Count)
            {
                result.Add(left[i++]);
            }
            else
            {
                var li = IndexIn(positions, left[i], mergeKey);
                var ri = IndexIn(positions, right[j], mergeKey);
                result.Add(li >= 0 && ri >= 0 && li < ri ? left[i++] : right[j++]);
            }
        }

        return result;
    }

    private static void ValidateMergeKeyInList(string mergeKey, List<JsonNode?> list)
    {
        foreach (var item in list)
        {
            var obj = item as JsonObject ?? throw PatchErrors.BadArgType(PatchErrors.GoMap, item);
            if (!obj.ContainsKey(mergeKey))
            {
                throw PatchErrors.NoMergeKey(obj, mergeKey);
            }
        }
    }

    // First index of each merge key value (or scalar) in a list, like upstream index().
    private static Dictionary<string, int> Positions(List<JsonNode?> list, string? mergeKey)
    {
        var positions = new Dictionary<string, int>(list.Count, StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            positions.TryAdd(IdentityOf(list[i], mergeKey), i);
        }

        return positions;
    }

    private static int IndexIn(Dictionary<string, int> positions, JsonNode? item, string? mergeKey) =>
        positions.TryGetValue(IdentityOf(item, mergeKey), out var index) ? index : -1;

    private static string IdentityOf(JsonNode? item, string? mergeKey)
    {
        if (mergeKey is null)
        {
            return KeyOf(item);
        }

        return item is JsonObject obj && obj.TryGetPropertyValue(mergeKey, out var value) ? KeyOf(value) : "null";
    }
}
