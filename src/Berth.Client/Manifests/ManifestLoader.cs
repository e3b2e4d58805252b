using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Serialization;
using YamlDotNet.Core;

namespace Berth.Client.Manifests;

/// <summary>
/// Reads manifests as <c>kubectl apply -f</c> does: a file, a directory (recursively: files ending .yaml, .yml or
/// .json, in ordinal path order), or <c>-</c> for stdin; multi-document YAML split on <c>---</c> lines, empty
/// documents skipped, <c>kind: List</c> expanded into its items. Everything is read before anything is used, so one
/// bad document stops the whole set.
/// </summary>
public static class ManifestLoader
{
    private static readonly string[] s_extensions = [".yaml", ".yml", ".json"];

    /// <summary>Every object of every path, in order. Throws <see cref="ManifestException"/> at the first bad one.</summary>
    public static IReadOnlyList<ManifestObject> Load(IEnumerable<string> paths, TextReader stdin)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(stdin);
        var objects = new List<ManifestObject>();
        foreach (var path in paths)
        {
            if (path == "-")
            {
                objects.AddRange(Parse("-", stdin.ReadToEnd()));
            }
            else if (Directory.Exists(path))
            {
                var files = ManifestFiles(path).Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0)
                {
                    throw new ManifestException(path, null, "the directory has no .yaml, .yml or .json files");
                }
                foreach (var file in files)
                {
                    objects.AddRange(Parse(file, Read(file)));
                }
            }
            else if (File.Exists(path))
            {
                objects.AddRange(Parse(path, Read(path)));
            }
            else
            {
                throw new ManifestException(path, null, "no such file or directory");
            }
        }
        return objects;
    }

    /// <summary>
    /// The .yaml, .yml and .json files under a directory, recursively, except below hidden directories and build
    /// output (<c>bin</c>, <c>obj</c>): a .NET app's runtimeconfig.json next to the manifests that run it is not one.
    /// </summary>
    private static IEnumerable<string> ManifestFiles(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (s_extensions.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            {
                yield return file;
            }
        }
        foreach (var sub in Directory.EnumerateDirectories(directory))
        {
            if (Path.GetFileName(sub) is not ("bin" or "obj") && !Path.GetFileName(sub).StartsWith('.'))
            {
                foreach (var file in ManifestFiles(sub))
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>The objects of one file's text; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyList<ManifestObject> Parse(string source, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var objects = new List<ManifestObject>();
        // As kubectl: a .json file, or stdin that starts with '{', is a stream of JSON objects, one document each.
        if (source.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || (source == "-" && text.AsSpan().TrimStart().StartsWith("{")))
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowMultipleValues = true });
            var document = 0;
            while (true)
            {
                bool more;
                try
                {
                    more = reader.Read();
                }
                catch (JsonException e)
                {
                    throw new ManifestException(source, document + 1, $"invalid JSON: {e.Message}");
                }
                if (!more)
                {
                    break;
                }
                document++;
                JsonNode? node;
                try
                {
                    node = JsonNode.Parse(ref reader);
                }
                catch (JsonException e)
                {
                    throw new ManifestException(source, document, $"invalid JSON: {e.Message}");
                }
                Add(objects, source, document, node);
            }
            if (document == 0)
            {
                throw new ManifestException(source, 1, "invalid JSON: the file holds no JSON value");
            }
            return objects;
        }
        var number = 0;
        foreach (var (document, firstLine) in SplitDocuments(text))
        {
            number++;
            IReadOnlyList<JsonNode> nodes;
            try
            {
                nodes = YamlJson.ParseDocuments(document);
            }
            catch (YamlException e)
            {
                // The parser counts lines within the document; the user looks at the file.
                var message = e.Message;
                var cut = message.IndexOf("): ", StringComparison.Ordinal);
                throw new ManifestException(source, number,
                    $"invalid YAML at line {firstLine + e.Start.Line - 1}, column {e.Start.Column}: {(cut >= 0 ? message[(cut + 3)..] : message)}");
            }
            catch (InvalidOperationException)
            {
                // YamlDotNet 16's scanner throws this instead of a YamlException for some malformed flow collections
                // (an unclosed '{' before a '[').
                throw new ManifestException(source, number, "invalid YAML: the parser gave up (an unclosed flow collection or quote?)");
            }
            foreach (var node in nodes)
            {
                Add(objects, source, number, node);
            }
        }
        return objects;
    }

    /// <summary>
    /// The documents of a YAML stream, split as kubectl's YAML reader does: on lines that are <c>---</c> and nothing
    /// else but white space. Only white space before the first separator is not a document, so a file that starts
    /// with <c>---</c> numbers its first object 1.
    /// </summary>
    private static List<(string Text, int FirstLine)> SplitDocuments(string text)
    {
        var documents = new List<(string, int)>();
        var current = new StringBuilder();
        var lineNumber = 0;
        var firstLine = 1;
        using var reader = new StringReader(text);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            // As kubectl's YAMLReader: "---" alone or followed by a comment separates documents.
            if (line.StartsWith("---", StringComparison.Ordinal) && line.AsSpan(3).Trim() is var rest && (rest.IsEmpty || rest[0] == '#'))
            {
                if (documents.Count > 0 || !current.ToString().AsSpan().IsWhiteSpace())
                {
                    documents.Add((current.ToString(), firstLine));
                }
                current.Clear();
                firstLine = lineNumber + 1;
                continue;
            }
            current.Append(line).Append('\n');
        }
        if (documents.Count > 0 || !current.ToString().AsSpan().IsWhiteSpace())
        {
            documents.Add((current.ToString(), firstLine));
        }
        return documents;
    }

    private static void Add(List<ManifestObject> objects, string source, int document, JsonNode? node, string? item = null)
    {
        var where = item is null ? "" : item + ": ";
        if (node is not JsonObject obj)
        {
            throw new ManifestException(source, document, $"{where}not an object (a Kubernetes object is a mapping with apiVersion, kind and metadata)");
        }
        var apiVersion = NonEmptyString(obj["apiVersion"]);
        var kind = NonEmptyString(obj["kind"]);
        if (apiVersion is null || kind is null)
        {
            throw new ManifestException(source, document, $"{where}apiVersion and kind are required (found apiVersion {Show(obj["apiVersion"])}, kind {Show(obj["kind"])})");
        }
        // kubectl expands a List (and any *List kind with items) into its items.
        if (kind.EndsWith("List", StringComparison.Ordinal) && obj["items"] is JsonArray items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                Add(objects, source, document, items[i]?.DeepClone(), $"{where}{kind} item {i + 1}");
            }
            return;
        }
        if (obj["metadata"] is not JsonObject metadata || NonEmptyString(metadata["name"]) is null)
        {
            throw new ManifestException(source, document, $"{where}{kind}: metadata.name is required"
                + (obj["metadata"]?["generateName"] is null ? "" : " (generateName cannot be applied: an apply needs the name)"));
        }
        if (metadata["namespace"] is { } ns && NonEmptyString(ns) is null)
        {
            throw new ManifestException(source, document, $"{where}{kind} {metadata["name"]}: metadata.namespace must be a non-empty string, not {Show(ns)}");
        }
        objects.Add(new ManifestObject(source, document, obj));
    }

    private static string? NonEmptyString(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static string Show(JsonNode? node) => node is null ? "nothing" : node.ToJsonString();

    private static string Read(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ManifestException(file, null, $"cannot read it: {e.Message}");
        }
    }
}
