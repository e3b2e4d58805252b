using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Berth.Api.Serialization;

/// <summary>
/// YAML to JSON the way Kubernetes does it (sigs.k8s.io/yaml, which resolves plain scalars with
/// go-yaml v2's YAML 1.1 rules): unquoted <c>true</c>/<c>yes</c>/<c>on</c>, <c>null</c>/<c>~</c>, integers
/// (including <c>0600</c> octal and <c>0x</c> hex) and floats become JSON booleans, null and numbers;
/// quoted scalars, block scalars and anything else stay strings.
/// </summary>
public static class YamlJson
{
    /// <summary>
    /// Parses a multi-document YAML stream into one JSON node per non-empty document (empty and
    /// comment-only documents are skipped, as <c>kubectl apply</c> does). Throws
    /// <see cref="YamlException"/> for invalid YAML and for a mapping key defined twice.
    /// </summary>
    public static IReadOnlyList<JsonNode> ParseDocuments(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var parser = new Parser(new StringReader(yaml));
        var documents = new List<JsonNode>();
        var anchors = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var budget = new Budget();
        parser.Consume<StreamStart>();
        while (parser.TryConsume<DocumentStart>(out _))
        {
            anchors.Clear();
            var node = ReadNode(parser, anchors, budget, depth: 0);
            parser.Consume<DocumentEnd>();
            if (node is not null)
            {
                documents.Add(node);
            }
        }

        parser.Consume<StreamEnd>();
        return documents;
    }

    /// <summary>Writes a JSON node as a block-style YAML document, quoting strings that would otherwise read back as another type.</summary>
    public static string ToYaml(JsonNode? node)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(writer);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Emit(emitter, node);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    /// <summary>
    /// Hostile input must not take the server down: nesting deeper than JSON's limit would overflow the stack, and
    /// aliases can multiply a small document into an enormous one ("billion laughs"). go-yaml refuses both too.
    /// </summary>
    private sealed class Budget
    {
        public const int MaxDepth = 256;
        public const long MaxAliasedNodes = 1_000_000;

        public long AliasedNodes { get; set; }
    }

    private static JsonNode? ReadNode(IParser parser, Dictionary<string, JsonNode?> anchors, Budget budget, int depth)
    {
        if (depth > Budget.MaxDepth)
        {
            var at = parser.Current;
            throw new YamlException(at?.Start ?? Mark.Empty, at?.End ?? Mark.Empty, $"the document is nested deeper than {Budget.MaxDepth} levels");
        }

        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var value = ResolveScalar(scalar);
            Remember(anchors, scalar.Anchor, value);
            return value;
        }

        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!anchors.TryGetValue(alias.Value.Value, out var target))
            {
                throw new YamlException(alias.Start, alias.End, $"unknown anchor '{alias.Value.Value}' referenced");
            }

            budget.AliasedNodes += CountNodes(target);
            if (budget.AliasedNodes > Budget.MaxAliasedNodes)
            {
                throw new YamlException(alias.Start, alias.End, "the document contains excessive aliasing");
            }

            return target?.DeepClone();
        }

        if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            var array = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                array.Add(ReadNode(parser, anchors, budget, depth + 1));
            }

            Remember(anchors, sequenceStart.Anchor, array);
            return array;
        }

        if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            var map = ReadMapping(parser, anchors, budget, depth);
            Remember(anchors, mappingStart.Anchor, map);
            return map;
        }

        var unexpected = parser.Current;
        throw new YamlException(unexpected?.Start ?? Mark.Empty, unexpected?.End ?? Mark.Empty, $"unexpected YAML event {unexpected}");
    }

    private static JsonObject ReadMapping(IParser parser, Dictionary<string, JsonNode?> anchors, Budget budget, int depth)
    {
        var map = new JsonObject();
        List<JsonObject>? merges = null;
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var keyEvent = parser.Current!;
            var keyNode = ReadNode(parser, anchors, budget, depth + 1);
            var key = KeyText(keyNode, keyEvent);
            var value = ReadNode(parser, anchors, budget, depth + 1);

            // YAML 1.1 merge keys (`<<: *base`), which go-yaml v2 honours; explicit keys win.
            if (key == "<<" && keyEvent is Scalar { Style: ScalarStyle.Plain })
            {
                merges ??= [];
                if (value is JsonObject one)
                {
                    merges.Add(one);
                }
                else if (value is JsonArray many)
                {
                    merges.AddRange(many.OfType<JsonObject>());
                }

                continue;
            }

            if (map.ContainsKey(key))
            {
                // go-yaml v3 / sigs.k8s.io/yaml strict: `mapping key "x" already defined`.
                throw new YamlException(keyEvent.Start, keyEvent.End, $"mapping key \"{key}\" already defined");
            }

            map[key] = value;
        }

        if (merges is not null)
        {
            foreach (var source in merges)
            {
                foreach (var (k, v) in source)
                {
                    if (!map.ContainsKey(k))
                    {
                        map[k] = v?.DeepClone();
                    }
                }
            }
        }

        return map;
    }

    private static long CountNodes(JsonNode? node) => node switch
    {
        JsonObject obj => 1 + obj.Sum(p => CountNodes(p.Value)),
        JsonArray array => 1 + array.Sum(CountNodes),
        _ => 1,
    };

    private static void Remember(Dictionary<string, JsonNode?> anchors, AnchorName anchor, JsonNode? node)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node;
        }
    }

    // sigs.k8s.io/yaml turns non-string keys into their text: `true`, `1`, `1.5`.
    private static string KeyText(JsonNode? key, ParsingEvent keyEvent) => key switch
    {
        null => "null",
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        JsonValue value => value.ToJsonString(),
        _ => throw new YamlException(keyEvent.Start, keyEvent.End, "mapping keys must be scalars"),
    };

    private static JsonNode? ResolveScalar(Scalar scalar)
    {
        var text = scalar.Value;
        if (!scalar.Tag.IsEmpty)
        {
            switch (scalar.Tag.Value)
            {
                case "tag:yaml.org,2002:str":
                case "tag:yaml.org,2002:binary":
                    return JsonValue.Create(text);
                case "tag:yaml.org,2002:null":
                    return null;
                case "tag:yaml.org,2002:bool":
                case "tag:yaml.org,2002:int":
                case "tag:yaml.org,2002:float":
                    return YamlScalars.TryResolvePlain(text, out var typed) ? typed : JsonValue.Create(text);
            }
        }

        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return YamlScalars.TryResolvePlain(text, out var node) ? node : JsonValue.Create(text);
    }

    private static void Emit(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case null:
                emitter.Emit(PlainScalar("null"));
                break;
            case JsonObject obj:
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, obj.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in obj)
                {
                    emitter.Emit(StringScalar(key));
                    Emit(emitter, value);
                }

                emitter.Emit(new MappingEnd());
                break;
            case JsonArray array:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, array.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in array)
                {
                    Emit(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case JsonValue value when value.TryGetValue<string>(out var s):
                emitter.Emit(StringScalar(s));
                break;
            default:
                // Numbers and booleans: their JSON text is also their YAML plain text.
                emitter.Emit(PlainScalar(node.ToJsonString()));
                break;
        }
    }

    private static Scalar PlainScalar(string text) => new(AnchorName.Empty, TagName.Empty, text, ScalarStyle.Plain, true, false);

    private static Scalar StringScalar(string text)
    {
        // A string that would read back as null, a bool or a number must be quoted.
        var style = YamlScalars.TryResolvePlain(text, out _) ? ScalarStyle.DoubleQuoted
            : text.Contains('\n', StringComparison.Ordinal) ? ScalarStyle.Literal
            : ScalarStyle.Any;
        return new Scalar(AnchorName.Empty, TagName.Empty, text, style, true, true);
    }
}
