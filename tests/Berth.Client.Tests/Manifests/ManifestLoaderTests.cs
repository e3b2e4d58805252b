using Berth.Client.Manifests;

namespace Berth.Client.Tests.Manifests;

public sealed class ManifestLoaderTests
{
    private const string ConfigMapA = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
    private const string ConfigMapB = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: other}\n";

    [Theory]
    // Every ----separated document counts, comment-only and empty ones included; white space before the first
    // separator does not (a file may start with ---).
    [InlineData("A\n---\nB\n", new[] { 1, 2 })]
    [InlineData("---\nA\n---\nB\n", new[] { 1, 2 })]
    [InlineData("# only a comment\n---\nA\n---\n---\nB\n", new[] { 2, 4 })]
    [InlineData("A\n---   \nB\n--- \n", new[] { 1, 2 })]
    // As kubectl's YAMLReader, a comment may follow the separator.
    [InlineData("A\n--- # the second\nB\n", new[] { 1, 2 })]
    [InlineData("A\n---# tight\n---\nB\n", new[] { 1, 3 })]
    public void Parse_MultiDocument_NumbersDocumentsAsWritten(string layout, int[] expected)
    {
        var text = layout.Replace("A\n", ConfigMapA, StringComparison.Ordinal).Replace("B\n", ConfigMapB, StringComparison.Ordinal);

        var objects = ManifestLoader.Parse("app.yaml", text);

        Assert.Equal(expected, objects.Select(o => o.Document));
        Assert.Equal(["a", "b"], objects.Select(o => o.Name));
        Assert.All(objects, o => Assert.Equal("app.yaml", o.Source));
        Assert.Null(objects[0].Namespace);
        Assert.Equal("other", objects[1].Namespace);
    }

    [Fact]
    public void Parse_List_ExpandsItemsUnderTheListsDocument()
    {
        var text = ConfigMapA + "---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}\n";

        var objects = ManifestLoader.Parse("list.yaml", text);

        Assert.Equal([("ConfigMap", 1), ("Service", 2), ("Deployment", 2)], objects.Select(o => (o.Kind, o.Document)));
        Assert.Equal("apps", objects[2].Group);
        Assert.Equal("", objects[1].Group);
    }

    [Theory]
    [InlineData("kind: ConfigMap\nmetadata: {name: a}\n", "app.yaml: document 2: apiVersion and kind are required (found apiVersion nothing, kind \"ConfigMap\")")]
    [InlineData("apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}\n", "app.yaml: document 2: ConfigMap: metadata.name is required (generateName cannot be applied: an apply needs the name)")]
    [InlineData("- a\n- b\n", "app.yaml: document 2: not an object (a Kubernetes object is a mapping with apiVersion, kind and metadata)")]
    [InlineData("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod}\n", "app.yaml: document 2: List item 1: Pod: metadata.name is required")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: 3}\n", "app.yaml: document 2: Pod p: metadata.namespace must be a non-empty string, not 3")]
    public void Parse_BadObject_NamesFileAndDocument(string second, string message)
    {
        var e = Assert.Throws<ManifestException>(() => ManifestLoader.Parse("app.yaml", ConfigMapA + "---\n" + second));

        Assert.Equal(message, e.Message);
        Assert.Equal(2, e.Document);
    }

    [Fact]
    public void Parse_InvalidYaml_NamesTheDocumentAndTheFilesLine()
    {
        var e = Assert.Throws<ManifestException>(() => ManifestLoader.Parse("app.yaml", ConfigMapA + "---\napiVersion: v1\nkind: ConfigMap\n  bad: indent\n"));

        Assert.Equal(2, e.Document);
        Assert.StartsWith("app.yaml: document 2: invalid YAML at line 7,", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnclosedFlowMapping_IsAManifestErrorNotACrash()
    {
        var e = Assert.Throws<ManifestException>(() => ManifestLoader.Parse("app.yaml", ConfigMapA + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata: [\n"));

        Assert.Equal(2, e.Document);
        Assert.StartsWith("app.yaml: document 2: invalid YAML", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Json_EachValueIsADocument()
    {
        var objects = ManifestLoader.Parse("cm.json", """{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}""");

        Assert.Equal(("j", 1), (objects.Single().Name, objects.Single().Document));
        Assert.StartsWith("bad.json: document 1: invalid JSON", Assert.Throws<ManifestException>(() => ManifestLoader.Parse("bad.json", "{")).Message, StringComparison.Ordinal);
        // A stream of JSON objects, as kubectl reads it: one document each, also on stdin.
        const string Stream = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"x\"}}\n{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"y\"}}\n";
        Assert.Equal([("x", 1), ("y", 2)], ManifestLoader.Parse("two.json", Stream).Select(o => (o.Name, o.Document)));
        Assert.Equal([("x", 1), ("y", 2)], ManifestLoader.Load(["-"], new StringReader(Stream)).Select(o => (o.Name, o.Document)));
        Assert.StartsWith("two.json: document 3: invalid JSON", Assert.Throws<ManifestException>(() => ManifestLoader.Parse("two.json", Stream + "{\"kind\": ")).Message, StringComparison.Ordinal);
        Assert.StartsWith("two.json: document 3: invalid JSON", Assert.Throws<ManifestException>(() => ManifestLoader.Parse("two.json", Stream + "]")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Directory_ReadsManifestFilesRecursivelyInPathOrder()
    {
        var dir = Directory.CreateTempSubdirectory("berth-manifests-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "sub"));
            File.WriteAllText(Path.Combine(dir.FullName, "b.yml"), ConfigMapA.Replace("name: a", "name: b", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(dir.FullName, "a.yaml"), ConfigMapA);
            File.WriteAllText(Path.Combine(dir.FullName, "sub", "c.json"), """{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}""");
            File.WriteAllText(Path.Combine(dir.FullName, "README.md"), "not a manifest");
            // Build output and hidden directories are not read: an app's runtimeconfig.json is no manifest.
            foreach (var skipped in new[] { "bin", "obj", ".git", Path.Combine("sub", "bin") })
            {
                Directory.CreateDirectory(Path.Combine(dir.FullName, skipped));
                File.WriteAllText(Path.Combine(dir.FullName, skipped, "app.runtimeconfig.json"), "{\"runtimeOptions\": {}}");
            }

            var objects = ManifestLoader.Load([dir.FullName, "-"], new StringReader(ConfigMapA.Replace("name: a", "name: stdin", StringComparison.Ordinal)));

            Assert.Equal(["a", "b", "c", "stdin"], objects.Select(o => o.Name));
            Assert.Equal(Path.Combine(dir.FullName, "sub", "c.json"), objects[2].Source);
            Assert.Equal("-", objects[3].Source);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Load_MissingPath_SaysSo()
    {
        var e = Assert.Throws<ManifestException>(() => ManifestLoader.Load(["/nonexistent/berth.yaml"], TextReader.Null));

        Assert.Equal("/nonexistent/berth.yaml: no such file or directory", e.Message);
        Assert.Null(e.Document);
    }
}
