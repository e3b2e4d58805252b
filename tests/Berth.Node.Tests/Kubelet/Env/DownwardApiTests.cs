using Berth.Api.Models;
using Berth.Node.Kubelet.Env;

namespace Berth.Node.Tests.Kubelet.Env;

// pkg/fieldpath/fieldpath_test.go and pkg/api/v1/pod ConvertDownwardAPIFieldLabel cases.
public class DownwardApiTests
{
    private static readonly ObjectMeta s_metadata = new()
    {
        Name = "object-name",
        Namespace = "object-namespace",
        Uid = "b7b8c2d8-1",
        Labels = new() { ["key"] = "value", ["builder"] = "john-doe" },
        Annotations = new() { ["a"] = "1", ["b"] = "2", ["Example.com/Key"] = "cap" },
    };

    public static TheoryData<string, string> ExtractCases => new()
    {
        { "metadata.name", "object-name" },
        { "metadata.namespace", "object-namespace" },
        { "metadata.uid", "b7b8c2d8-1" },
        { "metadata.labels", "builder=\"john-doe\"\nkey=\"value\"" },
        { "metadata.annotations", "Example.com/Key=\"cap\"\na=\"1\"\nb=\"2\"" },
        { "metadata.labels['key']", "value" },
        { "metadata.labels['missing']", "" },
        { "metadata.annotations['a']", "1" },
        { "metadata.annotations['Example.com/Key']", "cap" },
    };

    [Theory]
    [MemberData(nameof(ExtractCases))]
    public void TryExtractFieldPathAsString_Supported_Value(string path, string expected)
    {
        Assert.True(DownwardApi.TryExtractFieldPathAsString(s_metadata, path, out var value, out var error), error);
        Assert.Equal(expected, value);
    }

    public static TheoryData<string, string> ExtractErrorCases => new()
    {
        { "some.path", "unsupported fieldPath: some.path" },
        { "metadata.name['x']", "fieldPath \"metadata.name['x']\" does not support subscript" },
        {
            "metadata.labels['with space']",
            "invalid key subscript in metadata.labels['with space']: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        },
    };

    [Theory]
    [MemberData(nameof(ExtractErrorCases))]
    public void TryExtractFieldPathAsString_Unsupported_UpstreamMessage(string path, string message)
    {
        Assert.False(DownwardApi.TryExtractFieldPathAsString(s_metadata, path, out _, out var error));
        Assert.Equal(message, error);
    }

    public static TheoryData<string, string, string?, string?> ConvertCases => new()
    {
        // version, label, converted path (null when refused), error.
        { "v1", "metadata.name", "metadata.name", null },
        { "v1", "status.podIPs", "status.podIPs", null },
        { "v1", "spec.host", "spec.nodeName", null },
        { "v1", "metadata.annotations['k']", "metadata.annotations['k']", null },
        { "v1", "metadata.name['k']", null, "field label does not support subscript: metadata.name['k']" },
        { "v1", "status.foo", null, "field label not supported: status.foo" },
        { "v2", "metadata.name", null, "unsupported pod version: v2" },
    };

    [Theory]
    [MemberData(nameof(ConvertCases))]
    public void TryConvertFieldLabel_UpstreamTable(string version, string label, string? path, string? error)
    {
        var ok = DownwardApi.TryConvertFieldLabel(version, label, out var converted, out var message);
        Assert.Equal(path is not null, ok);
        if (ok)
        {
            Assert.Equal(path, converted);
        }
        else
        {
            Assert.Equal(error, message);
        }
    }

    public static TheoryData<string, string, string, bool> SplitCases => new()
    {
        { "metadata.annotations['myKey']", "metadata.annotations", "myKey", true },
        { "metadata.annotations['a[b]c']", "metadata.annotations", "a[b]c", true },
        { "metadata.labels['']", "metadata.labels", "", true },
        { "metadata.labels", "metadata.labels", "", false },
        { "['key']", "['key']", "", false },
    };

    [Theory]
    [MemberData(nameof(SplitCases))]
    public void TrySplitSubscriptedPath_UpstreamTable(string fieldPath, string path, string subscript, bool ok)
    {
        Assert.Equal(ok, DownwardApi.TrySplitSubscriptedPath(fieldPath, out var actualPath, out var actualSubscript));
        Assert.Equal((path, subscript), (actualPath, actualSubscript));
    }
}
