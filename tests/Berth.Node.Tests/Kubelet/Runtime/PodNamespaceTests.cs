using System.Runtime.Versioning;
using Berth.Node.Kubelet.Runtime;
using static Berth.Node.Tests.Kubelet.Runtime.RuntimeTestProcesses;

namespace Berth.Node.Tests.Kubelet.Runtime;

/// <summary>
/// Real mount namespaces: processes started in a pod's see its own /etc/resolv.conf and /etc/hosts, the host
/// (this test process) keeps its own, and nothing is left mounted on the host afterwards.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PodNamespaceTests : IAsyncLifetime
{
    private readonly RuntimeTestProcesses _processes = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-podns-").FullName;
    private readonly List<PodNamespace> _namespaces = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _processes.DisposeAsync();
        foreach (var ns in _namespaces)
        {
            ns.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }

    [RootFact]
    public async Task Start_InPodNamespace_SeesThePodsFilesWhileTheHostKeepsItsOwn()
    {
        var hostResolv = File.ReadAllText("/etc/resolv.conf");
        var hostHosts = File.ReadAllText("/etc/hosts");
        var ns = NewPod("a", "nameserver 127.96.0.10\nsearch default.svc.cluster.local\n", "127.244.0.5\tweb-a\n");

        Assert.Equal("nameserver 127.96.0.10\nsearch default.svc.cluster.local\n", await CatAsync("/etc/resolv.conf", ns));
        Assert.Equal("127.244.0.5\tweb-a\n", await CatAsync("/etc/hosts", ns));
        Assert.Equal(hostResolv, File.ReadAllText("/etc/resolv.conf"));
        Assert.Equal(hostHosts, File.ReadAllText("/etc/hosts"));
        Assert.Equal(hostResolv, await CatAsync("/etc/resolv.conf", null));
    }

    [RootFact]
    public async Task Start_TwoPods_EachSeesItsOwnFiles()
    {
        var a = NewPod("a", "nameserver 127.96.0.10\n", "127.244.0.5\ta\n");
        var b = NewPod("b", "nameserver 127.96.0.53\n", "127.244.0.6\tb\n");

        Assert.Equal("nameserver 127.96.0.10\n", await CatAsync("/etc/resolv.conf", a));
        Assert.Equal("nameserver 127.96.0.53\n", await CatAsync("/etc/resolv.conf", b));
        Assert.Equal("127.244.0.6\tb\n", await CatAsync("/etc/hosts", b));
        Assert.Equal("127.244.0.5\ta\n", await CatAsync("/etc/hosts", a));
    }

    [RootFact]
    public async Task RewriteInPlace_ThePodSeesTheNewContent()
    {
        var ns = NewPod("a", "nameserver 192.0.2.1\n", "");
        Assert.Equal("nameserver 192.0.2.1\n", await CatAsync("/etc/resolv.conf", ns));

        // Same inode (truncate + write), as the pod worker rewrites it once the cluster DNS IP is known.
        using (var file = new FileStream(Path.Combine(_dir, "a", "resolv.conf"), FileMode.Open, FileAccess.Write))
        {
            file.SetLength(0);
            file.Write("nameserver 127.96.0.10\n"u8);
        }

        Assert.Equal("nameserver 127.96.0.10\n", await CatAsync("/etc/resolv.conf", ns));
    }

    [RootFact]
    public async Task Start_NoWorkingDirectory_ChildRunsInTheAgentsDirectory()
    {
        var ns = NewPod("a", "", "");

        var process = _processes.Start(new ProcessSpec("/bin/pwd", [], [], null, MountNamespace: ns));

        Assert.Equal(Environment.CurrentDirectory + "\n", await ReadAllAsync(process.Stdout));
    }

    [RootFact]
    public async Task Dispose_NoMountLeftOnTheHost_AndLaterSpawnsRefused()
    {
        var before = File.ReadAllText("/proc/self/mountinfo");
        var ns = NewPod("a", "nameserver 127.96.0.10\n", "127.244.0.5\ta\n");
        Assert.Equal("nameserver 127.96.0.10\n", await CatAsync("/etc/resolv.conf", ns));

        Assert.Equal(before, File.ReadAllText("/proc/self/mountinfo"));
        ns.Dispose();

        Assert.Equal(before, File.ReadAllText("/proc/self/mountinfo"));
        var refused = Assert.Throws<ProcessStartException>(() => HostProcess.Start(new ProcessSpec("/bin/true", [], [], "/", MountNamespace: ns)));
        Assert.Contains("mount namespace is gone", refused.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public void Create_MissingSource_PodNamespaceExceptionAndNothingMounted()
    {
        var before = File.ReadAllText("/proc/self/mountinfo");

        var e = Assert.Throws<PodNamespaceException>(() => PodNamespace.Create([(Path.Combine(_dir, "missing"), "/etc/resolv.conf")]));

        Assert.Contains("bind-mount", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText("/proc/self/mountinfo"));
    }

    private PodNamespace NewPod(string name, string resolvConf, string hosts)
    {
        var podDir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        File.WriteAllText(Path.Combine(podDir, "resolv.conf"), resolvConf);
        File.WriteAllText(Path.Combine(podDir, "hosts"), hosts);
        var ns = PodNamespace.Create([(Path.Combine(podDir, "resolv.conf"), "/etc/resolv.conf"), (Path.Combine(podDir, "hosts"), "/etc/hosts")]);
        _namespaces.Add(ns);
        return ns;
    }

    private async Task<string> CatAsync(string path, PodNamespace? ns)
    {
        var process = _processes.Start(new ProcessSpec("/bin/cat", [path], [], "/", MountNamespace: ns));
        var output = await ReadAllAsync(process.Stdout);
        Assert.Equal(0, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
        return output;
    }
}
