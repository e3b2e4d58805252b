using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Patch;

/// <summary>
/// JSON patch (RFC 6902, <c>application/json-patch+json</c>). Behaviour and messages follow
/// <c>gopkg.in/evanphx/json-patch.v4</c>, which the upstream API server uses: errors are wrapped
/// with their cause (<c>...: missing value</c>, <c>...: test failed</c>) and negative array indices
/// count from the end.
/// </summary>
public static class JsonPatch
{
    private const string MissingValue = "missing value";
    private const string TestFailed = "test failed";
    private const string InvalidIndex = "invalid index referenced";

    /// <summary>
    /// Applies the operations of <paramref name="patch"/> (a JSON array) in order and returns the
    /// patched document as a new tree; the inputs are not modified.
    /// </summary>
    /// <exception cref="PatchException">400 when the patch is not an array of objects, 422 when an operation does not apply.</exception>
    public static JsonNode? Apply(JsonNode? document, JsonNode? patch)
    {
        if (patch is not JsonArray operations)
        {
            // Upstream decodes the body into []Operation first; anything else fails that decode.
            throw new PatchException(
                $"json: cannot unmarshal {GoJsonKind(patch)} into Go value of type jsonpatch.Patch", PatchErrors.BadRequest);
        }

        foreach (var op in operations)
        {
            if (op is not JsonObject)
            {
                throw new PatchException(
                    $"json: cannot unmarshal {GoJsonKind(op)} into Go value of type jsonpatch.Operation", PatchErrors.BadRequest);
            }
        }

        var root = document?.DeepClone();
        foreach (var op in operations)
        {
            var operation = (JsonObject)op!;
            var kind = ReadString(operation, "op") ?? "unknown";
            root = kind switch
            {
                "add" => Add(root, operation),
                "remove" => Remove(root, operation),
                "replace" => Replace(root, operation),
                "move" => Move(root, operation),
                "test" => Test(root, operation),
                "copy" => Copy(root, operation),
                _ => throw Fail($"Unexpected kind: {kind}"),
            };
        }

        return root;
    }

    private static JsonNode? Add(JsonNode? root, JsonObject op)
    {
        var path = ReadString(op, "path") ?? throw Fail($"add operation failed to decode path: {MissingValue}");
        var value = Value(op);
        if (path.Length == 0)
        {
            return value;
        }

        if (!TryFindParent(root, path, out var parent, out var key))
        {
            throw Fail($"add operation does not apply: doc is missing path: \"{path}\": {MissingValue}");
        }

        if (!TryAdd(parent, key, value, out var error))
        {
            throw Fail($"error in add for path: '{path}': {error}");
        }

        return root;
    }

    private static JsonNode? Remove(JsonNode? root, JsonObject op)
    {
        var path = ReadString(op, "path") ?? throw Fail($"remove operation failed to decode path: {MissingValue}");
        if (!TryFindParent(root, path, out var parent, out var key))
        {
            throw Fail($"remove operation does not apply: doc is missing path: \"{path}\": {MissingValue}");
        }

        if (!TryRemove(parent, key, out _, out var error))
        {
            throw Fail($"error in remove for path: '{path}': {error}");
        }

        return root;
    }

    private static JsonNode? Replace(JsonNode? root, JsonObject op)
    {
        var path = ReadString(op, "path") ?? throw Fail($"replace operation failed to decode path: operation missing path field: {MissingValue}");
        var value = Value(op);
        if (path.Length == 0)
        {
            return value;
        }

        if (!TryFindParent(root, path, out var parent, out var key))
        {
            throw Fail($"replace operation does not apply: doc is missing path: {path}: {MissingValue}");
        }

        if (!TryGet(parent, key, out _, out _, out _))
        {
            throw Fail($"replace operation does not apply: doc is missing key: {path}: {MissingValue}");
        }

        Set(parent, key, value);
        return root;
    }

    private static JsonNode? Move(JsonNode? root, JsonObject op)
    {
        var from = ReadString(op, "from") ?? throw Fail($"move operation failed to decode from: operation, missing from field: {MissingValue}");
        if (!TryFindParent(root, from, out var fromParent, out var fromKey))
        {
            throw Fail($"move operation does not apply: doc is missing from path: {from}: {MissingValue}");
        }

        if (!TryRemove(fromParent, fromKey, out var value, out var error))
        {
            throw Fail($"error in move for path: '{fromKey}': {error}");
        }

        var path = ReadString(op, "path") ?? throw Fail($"move operation failed to decode path: operation missing path field: {MissingValue}");
        if (!TryFindParent(root, path, out var parent, out var key))
        {
            throw Fail($"move operation does not apply: doc is missing destination path: {path}: {MissingValue}");
        }

        if (!TryAdd(parent, key, value, out error))
        {
            throw Fail($"error in move for path: '{path}': {error}");
        }

        return root;
    }

    private static JsonNode? Test(JsonNode? root, JsonObject op)
    {
        var path = ReadString(op, "path") ?? throw Fail($"test operation failed to decode path: operation missing path field: {MissingValue}");
        JsonNode? actual;
        if (path.Length == 0)
        {
            actual = root;
        }
        else
        {
            if (!TryFindParent(root, path, out var parent, out var key))
            {
                throw Fail($"test operation does not apply: is missing path: {path}: {MissingValue}");
            }

            if (!TryGet(parent, key, out actual, out _, out var error))
            {
                throw Fail($"error in test for path: '{path}': {error}");
            }
        }

        op.TryGetPropertyValue("value", out var expected);
        if (!JsonNode.DeepEquals(actual, expected))
        {
            throw Fail($"testing value {path} failed: {TestFailed}");
        }

        return root;
    }

    private static JsonNode? Copy(JsonNode? root, JsonObject op)
    {
        var from = ReadString(op, "from") ?? throw Fail($"copy operation failed to decode from: operation, missing from field: {MissingValue}");
        if (!TryFindParent(root, from, out var fromParent, out var fromKey))
        {
            throw Fail($"copy operation does not apply: doc is missing from path: {from}: {MissingValue}");
        }

        if (!TryGet(fromParent, fromKey, out var value, out _, out var error))
        {
            throw Fail($"error in copy for from: '{from}': {error}");
        }

        var path = ReadString(op, "path") ?? throw Fail($"copy operation failed to decode path: {MissingValue}");
        if (!TryFindParent(root, path, out var parent, out var key))
        {
            throw Fail($"copy operation does not apply: doc is missing destination path: {path}: {MissingValue}");
        }

        if (!TryAdd(parent, key, value?.DeepClone(), out error))
        {
            throw Fail($"error while adding value during copy: {error}");
        }

        return root;
    }

    // Walks every token but the last (RFC 6901); the parent must be an object or an array.
    private static bool TryFindParent(JsonNode? root, string path, out JsonNode parent, out string key)
    {
        parent = null!;
        key = string.Empty;
        if (path.Length == 0 || path[0] != '/' || root is null)
        {
            return false;
        }

        var current = root;
        var start = 1;
        while (true)
        {
            var slash = path.IndexOf('/', start);
            if (slash < 0)
            {
                if (current is not (JsonObject or JsonArray))
                {
                    return false;
                }

                parent = current;
                key = Unescape(path.AsSpan(start));
                return true;
            }

            var token = Unescape(path.AsSpan(start, slash - start));
            if (current is null || !TryGet(current, token, out var next, out _, out _) || next is not (JsonObject or JsonArray))
            {
                return false;
            }

            current = next;
            start = slash + 1;
        }
    }

    private static string Unescape(ReadOnlySpan<char> token)
    {
        if (token.IndexOf('~') < 0)
        {
            return token.ToString();
        }

        // "~1" first, then "~0" (RFC 6901 section 4), so "~01" decodes to "~1".
        return token.ToString().Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
    }

    private static bool TryGet(JsonNode container, string key, out JsonNode? value, out int index, out string error)
    {
        value = null;
        index = -1;
        if (container is JsonObject obj)
        {
            if (obj.TryGetPropertyValue(key, out value))
            {
                error = string.Empty;
                return true;
            }

            error = $"unable to get nonexistent key: {key}: {MissingValue}";
            return false;
        }

        var array = (JsonArray)container;
        if (!TryParseIndex(key, out var idx, out error))
        {
            return false;
        }

        if (idx >= array.Count || idx < -array.Count)
        {
            error = $"Unable to access invalid index: {idx}: {InvalidIndex}";
            return false;
        }

        index = idx < 0 ? idx + array.Count : idx;
        value = array[index];
        return true;
    }

    private static bool TryAdd(JsonNode container, string key, JsonNode? value, out string error)
    {
        error = string.Empty;
        if (container is JsonObject obj)
        {
            obj[key] = value;
            return true;
        }

        var array = (JsonArray)container;
        if (key == "-")
        {
            array.Add(value);
            return true;
        }

        if (!TryParseIndex(key, out var idx, out var parseError))
        {
            error = $"value was not a proper array index: '{key}': {parseError}";
            return false;
        }

        var size = array.Count + 1;
        if (idx >= size || idx < -size)
        {
            error = $"Unable to access invalid index: {idx}: {InvalidIndex}";
            return false;
        }

        array.Insert(idx < 0 ? idx + size : idx, value);
        return true;
    }

    private static bool TryRemove(JsonNode container, string key, out JsonNode? removed, out string error)
    {
        removed = null;
        if (container is JsonObject obj)
        {
            if (!obj.Remove(key, out removed))
            {
                error = $"Unable to remove nonexistent key: {key}: {MissingValue}";
                return false;
            }

            error = string.Empty;
            return true;
        }

        if (!TryGet(container, key, out removed, out var index, out error))
        {
            return false;
        }

        ((JsonArray)container).RemoveAt(index);
        return true;
    }

    private static void Set(JsonNode container, string key, JsonNode? value)
    {
        if (container is JsonObject obj)
        {
            obj[key] = value;
            return;
        }

        var array = (JsonArray)container;
        TryParseIndex(key, out var idx, out _);
        array[idx < 0 ? idx + array.Count : idx] = value;
    }

    // strconv.Atoi semantics: optional sign, decimal digits.
    private static bool TryParseIndex(string key, out int index, out string error)
    {
        if (int.TryParse(key, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out index))
        {
            error = string.Empty;
            return true;
        }

        error = $"strconv.Atoi: parsing \"{key}\": invalid syntax";
        return false;
    }

    private static JsonNode? Value(JsonObject op) =>
        op.TryGetPropertyValue("value", out var value) ? value?.DeepClone() : null;

    private static string? ReadString(JsonObject op, string name) =>
        op.TryGetPropertyValue(name, out var node) && node is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : null;

    private static string GoJsonKind(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "null",
    };

    private static PatchException Fail(string message) => new(message, PatchErrors.Unprocessable);
}
