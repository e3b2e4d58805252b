using System.Text;
using Berth.ApiServer.Security;
using YamlDotNet.RepresentationModel;

namespace Berth.ApiServer.Tests.Security;

public sealed class KubeconfigTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "berth-kubeconfig-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Write_StandardKubeconfig_HasClusterUserContextAndCurrentContext()
    {
        const string CaPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        var path = Path.Combine(_dir, "sub", "kubeconfig");

        Kubeconfig.Write(path, "https://127.0.0.1:6443", CaPem, "tok-en_1", "berth");

        var root = Load(path);
        Assert.Equal("v1", Scalar(root, "apiVersion"));
        Assert.Equal("Config", Scalar(root, "kind"));
        Assert.Equal("berth", Scalar(root, "current-context"));
        var cluster = Single(root, "clusters");
        Assert.Equal("berth", Scalar(cluster, "name"));
        Assert.Equal("https://127.0.0.1:6443", Scalar(Map(cluster, "cluster"), "server"));
        Assert.Equal(CaPem, Encoding.UTF8.GetString(Convert.FromBase64String(Scalar(Map(cluster, "cluster"), "certificate-authority-data"))));
        var user = Single(root, "users");
        Assert.Equal("berth", Scalar(user, "name"));
        Assert.Equal("tok-en_1", Scalar(Map(user, "user"), "token"));
        var context = Single(root, "contexts");
        Assert.Equal("berth", Scalar(context, "name"));
        Assert.Equal("berth", Scalar(Map(context, "context"), "cluster"));
        Assert.Equal("berth", Scalar(Map(context, "context"), "user"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void Write_NamesNeedingQuotes_RoundTrip()
    {
        var path = Path.Combine(_dir, "kubeconfig");

        Kubeconfig.Write(path, "https://[::1]:6443", "pem", "a: #b'\"", "my: ctx");

        var root = Load(path);
        Assert.Equal("my: ctx", Scalar(root, "current-context"));
        Assert.Equal("https://[::1]:6443", Scalar(Map(Single(root, "clusters"), "cluster"), "server"));
        Assert.Equal("a: #b'\"", Scalar(Map(Single(root, "users"), "user"), "token"));
    }

    private static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node[key];

    private static YamlMappingNode Single(YamlMappingNode node, string key) => (YamlMappingNode)((YamlSequenceNode)node[key]).Children.Single();
}
