using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Berth.Api.Serialization;

/// <summary>
/// Strict field validation (kubectl's default <c>--validate=strict</c>, i.e. <c>fieldValidation=Strict</c>):
/// finds JSON fields the model type does not have, walking the document against the source-generated
/// metadata. Paths are upstream's: <c>spec.foo</c>, <c>spec.ports[0].bar</c>; map keys are never unknown.
/// Never throws for any input: where the shape does not match the type, that subtree is skipped
/// (deserialisation reports it).
/// </summary>
public static class UnknownFieldDetector
{
    private static readonly ConcurrentDictionary<Type, Shape> s_shapes = new();

    /// <summary>Paths of the unknown fields in <paramref name="node"/>, in document order.</summary>
    public static IReadOnlyList<string> FindUnknownFields(JsonNode? node, Type modelType)
    {
        ArgumentNullException.ThrowIfNull(modelType);
        var results = new List<string>();
        if (GetShape(modelType) is { } shape)
        {
            var path = new PathStack();
            try
            {
                Walk(node, shape, path, results);
            }
            catch (ArgumentException)
            {
                // A JsonObject parsed from text with a duplicate key throws when first enumerated;
                // FindStrictErrors on the raw bytes reports duplicates.
            }
        }

        return results;
    }

    /// <summary>
    /// Upstream strict-decoding messages for UTF-8 JSON: <c>unknown field "spec.foo"</c> and
    /// <c>duplicate field "metadata.name"</c>, in document order. Invalid JSON stops the walk
    /// (the decoder reports it).
    /// </summary>
    public static IReadOnlyList<string> FindStrictErrors(ReadOnlySpan<byte> utf8Json, Type modelType)
    {
        ArgumentNullException.ThrowIfNull(modelType);
        var results = new List<string>();
        if (GetShape(modelType) is not { } shape)
        {
            return results;
        }

        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 256 });
        var path = new PathStack();
        try
        {
            if (reader.Read())
            {
                WalkReader(ref reader, shape, path, results);
            }
        }
        catch (JsonException)
        {
            // Malformed JSON: the decoder's error is the one to report.
        }

        return results;
    }

    private static void Walk(JsonNode? node, Shape shape, PathStack path, List<string> results)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Object when node is JsonObject obj:
                foreach (var (name, value) in obj)
                {
                    if (!shape.Properties!.TryGetValue(name, out var property))
                    {
                        results.Add(path.With(name));
                        continue;
                    }

                    if (property.Shape is { } child && value is not null)
                    {
                        path.Push(property.Name);
                        Walk(value, child, path, results);
                        path.Pop();
                    }
                }

                break;
            case ShapeKind.Array when node is JsonArray array && shape.Element is { } element:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is { } item)
                    {
                        path.PushIndex(i);
                        Walk(item, element, path, results);
                        path.Pop();
                    }
                }

                break;
            case ShapeKind.Map when node is JsonObject map && shape.Element is { } valueShape:
                foreach (var (key, value) in map)
                {
                    if (value is not null)
                    {
                        path.Push(key);
                        Walk(value, valueShape, path, results);
                        path.Pop();
                    }
                }

                break;
        }
    }

    private static void WalkReader(ref Utf8JsonReader reader, Shape? shape, PathStack path, List<string> results)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject when shape is { Kind: ShapeKind.Object }:
                WalkObject(ref reader, shape, path, results);
                return;
            case JsonTokenType.StartObject when shape is { Kind: ShapeKind.Map }:
                WalkMap(ref reader, shape.Element, path, results);
                return;
            case JsonTokenType.StartArray when shape is { Kind: ShapeKind.Array }:
                var index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (shape.Element is null || reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
                    {
                        reader.Skip();
                    }
                    else
                    {
                        path.PushIndex(index);
                        WalkReader(ref reader, shape.Element, path, results);
                        path.Pop();
                    }

                    index++;
                }

                return;
            default:
                reader.Skip();
                return;
        }
    }

    private static void WalkObject(ref Utf8JsonReader reader, Shape shape, PathStack path, List<string> results)
    {
        var properties = shape.Properties!;
        Span<bool> seen = properties.Count <= 128 ? stackalloc bool[properties.Count] : new bool[properties.Count];
        Span<char> nameBuffer = stackalloc char[128];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            Property? property;
            string? unknownName = null;
            var length = reader.HasValueSequence || reader.ValueSpan.Length > nameBuffer.Length ? -1 : reader.CopyString(nameBuffer);
            if (length >= 0)
            {
                property = shape.Lookup.TryGetValue(nameBuffer[..length], out var p) ? p : null;
                if (property is null)
                {
                    unknownName = new string(nameBuffer[..length]);
                }
            }
            else
            {
                var name = reader.GetString()!;
                property = properties.TryGetValue(name, out var p) ? p : null;
                unknownName = property is null ? name : null;
            }

            reader.Read();
            if (property is null)
            {
                results.Add("unknown field \"" + path.With(unknownName!) + "\"");
                reader.Skip();
                continue;
            }

            if (seen[property.Index])
            {
                results.Add("duplicate field \"" + path.With(property.Name) + "\"");
            }

            seen[property.Index] = true;
            if (property.Shape is null || reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            {
                reader.Skip();
                continue;
            }

            path.Push(property.Name);
            WalkReader(ref reader, property.Shape, path, results);
            path.Pop();
        }
    }

    private static void WalkMap(ref Utf8JsonReader reader, Shape? valueShape, PathStack path, List<string> results)
    {
        HashSet<string>? keys = null;
        string? firstKey = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            if (firstKey is null)
            {
                firstKey = key;
            }
            else
            {
                keys ??= new HashSet<string>(StringComparer.Ordinal) { firstKey };
                if (!keys.Add(key))
                {
                    results.Add("duplicate field \"" + path.With(key) + "\"");
                }
            }

            reader.Read();
            if (valueShape is null || reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            {
                reader.Skip();
                continue;
            }

            path.Push(key);
            WalkReader(ref reader, valueShape, path, results);
            path.Pop();
        }
    }

    private static Shape? GetShape(Type type)
    {
        if (s_shapes.TryGetValue(type, out var cached))
        {
            return cached.Kind == ShapeKind.Leaf ? null : cached;
        }

        var info = KubeJsonContext.Default.GetTypeInfo(type);
        var shape = info?.Kind switch
        {
            // Types with a converter (IntOrString, JsonElement, primitives) report Kind None: leaves.
            JsonTypeInfoKind.Object => new Shape(ShapeKind.Object, info),
            JsonTypeInfoKind.Enumerable => new Shape(ShapeKind.Array, info),
            JsonTypeInfoKind.Dictionary => new Shape(ShapeKind.Map, info),
            _ => Shape.Leaf,
        };

        shape = s_shapes.GetOrAdd(type, shape);
        return shape.Kind == ShapeKind.Leaf ? null : shape;
    }

    private enum ShapeKind
    {
        Leaf,
        Object,
        Array,
        Map,
    }

    private sealed class Property(string name, int index, Type type, bool leaf)
    {
        private Shape? _shape;
        private bool _resolved = leaf;

        public string Name { get; } = name;

        public int Index { get; } = index;

        // Resolved on first use: the model graph may be deep, and most of it is never sent.
        public Shape? Shape
        {
            get
            {
                if (!_resolved)
                {
                    _shape = GetShape(type);
                    _resolved = true;
                }

                return _shape;
            }
        }
    }

    private sealed class Shape
    {
        public static readonly Shape Leaf = new();

        private readonly JsonTypeInfo? _info;
        private Shape? _element;
        private bool _elementResolved;

        private Shape()
        {
            Kind = ShapeKind.Leaf;
        }

        public Shape(ShapeKind kind, JsonTypeInfo info)
        {
            Kind = kind;
            _info = info;
            if (kind == ShapeKind.Object)
            {
                var properties = new Dictionary<string, Property>(StringComparer.Ordinal);
                var index = 0;
                foreach (var p in info.Properties)
                {
                    // A property with its own converter (Quantity maps, times) accepts what the converter does.
                    properties[p.Name] = new Property(p.Name, index++, p.PropertyType, leaf: p.CustomConverter is not null);
                }

                Properties = properties.ToFrozenDictionary(StringComparer.Ordinal);
                Lookup = Properties.GetAlternateLookup<ReadOnlySpan<char>>();
            }
        }

        public ShapeKind Kind { get; }

        public FrozenDictionary<string, Property>? Properties { get; }

        public FrozenDictionary<string, Property>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

        public Shape? Element
        {
            get
            {
                if (!_elementResolved)
                {
                    _element = _info?.ElementType is { } elementType ? GetShape(elementType) : null;
                    _elementResolved = true;
                }

                return _element;
            }
        }
    }

    /// <summary>The current path as segments; the string is only built when a field is reported.</summary>
    private sealed class PathStack
    {
        private readonly List<(string? Name, int Index)> _segments = [];

        public void Push(string name) => _segments.Add((name, -1));

        public void PushIndex(int index) => _segments.Add((null, index));

        public void Pop() => _segments.RemoveAt(_segments.Count - 1);

        public string With(string name)
        {
            if (_segments.Count == 0)
            {
                return name;
            }

            var builder = new StringBuilder();
            foreach (var (segmentName, index) in _segments)
            {
                if (segmentName is null)
                {
                    builder.Append('[').Append(index).Append(']');
                }
                else
                {
                    if (builder.Length > 0)
                    {
                        builder.Append('.');
                    }

                    builder.Append(segmentName);
                }
            }

            return builder.Append('.').Append(name).ToString();
        }
    }
}
