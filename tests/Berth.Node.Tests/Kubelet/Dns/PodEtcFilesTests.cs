using Berth.Node.Kubelet.Dns;

namespace Berth.Node.Tests.Kubelet.Dns;

public sealed class PodEtcFilesTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("berth-podetc-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    [Fact]
    public void Directory_NextToTheLogRoot_PerPodUid()
    {
        var files = new PodEtcFiles(Path.Combine(_dataDir, "pods"), "uid-1");

        Assert.Equal(Path.Combine(_dataDir, "pod-etc", "uid-1"), files.Directory);
        Assert.Equal(Path.Combine(_dataDir, "pod-etc", "uid-1", "resolv.conf"), files.ResolvConf);
        Assert.Equal(Path.Combine(_dataDir, "pod-etc", "uid-1", "hosts"), files.Hosts);
    }

    [Fact]
    public void Write_ShorterContent_SameInodeTruncated()
    {
        var files = new PodEtcFiles(Path.Combine(_dataDir, "pods"), "uid-1");
        files.Write(files.ResolvConf, "nameserver 192.0.2.1\nsearch a.example b.example\n");
        // A handle opened before the rewrite reads the new content: the file was not replaced (a bind mount
        // holds the inode, not the name).
        using var held = new FileStream(files.ResolvConf, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);

        files.Write(files.ResolvConf, "nameserver 127.96.0.10\n");

        Assert.Equal("nameserver 127.96.0.10\n", new StreamReader(held).ReadToEnd());
    }

    [Fact]
    public void Delete_RemovesThePodsDirectory_AndMissingIsFine()
    {
        var files = new PodEtcFiles(Path.Combine(_dataDir, "pods"), "uid-1");
        files.Write(files.Hosts, "127.0.0.1\tlocalhost\n");

        files.Delete();
        files.Delete();

        Assert.False(Directory.Exists(files.Directory));
    }
}
