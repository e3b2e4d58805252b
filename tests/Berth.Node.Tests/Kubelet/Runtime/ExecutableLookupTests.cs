using System.Runtime.Versioning;
using Berth.Node.Kubelet.Runtime;

namespace Berth.Node.Tests.Kubelet.Runtime;

// Go's os/exec LookPath (lp_unix.go) as runc runs it before exec, and the error texts runc reports.
[SupportedOSPlatform("linux")]
public sealed class ExecutableLookupTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("berth-lookup-");

    public ExecutableLookupTests()
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(_dir.FullName, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(_dir.FullName, "data.txt"), "");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    public static TheoryData<string, string?, string> Failures => new()
    {
        { "berth-no-such-command", null, "exec: \"berth-no-such-command\": executable file not found in $PATH" },
        { "sh", "/berth-no-such-dir", "exec: \"sh\": executable file not found in $PATH" },
        { "", null, "exec: \"\": executable file not found in $PATH" },
        { "data.txt", "{dir}", "exec: \"data.txt\": executable file not found in $PATH" },
        { "/x/y", null, "exec: \"/x/y\": stat /x/y: no such file or directory" },
        { "./missing", null, "exec: \"./missing\": stat ./missing: no such file or directory" },
        { "{dir}/data.txt", null, "exec: \"{dir}/data.txt\": permission denied" },
        { "./data.txt", null, "exec: \"./data.txt\": permission denied" },
        { "/etc/hosts/x", null, "exec: \"/etc/hosts/x\": stat /etc/hosts/x: not a directory" },
        { "/tmp", null, "exec: \"/tmp\": is a directory" },
        { "/dev/null", null, "exec: \"/dev/null\": permission denied" },
        { "run.sh", "", "exec: \"run.sh\": cannot run executable found relative to current directory" },
        { "run.sh", "/berth-no-such-dir:.", "exec: \"run.sh\": cannot run executable found relative to current directory" },
        { "bad\"name\n", null, "exec: \"bad\\\"name\\n\": executable file not found in $PATH" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void TryResolve_NotRunnable_RuncMessage(string command, string? path, string error)
    {
        string Fill(string s) => s.Replace("{dir}", _dir.FullName, StringComparison.Ordinal);

        Assert.False(ExecutableLookup.TryResolve(Fill(command), path is null ? null : Fill(path), _dir.FullName, out string fullPath, out string actual));

        Assert.Equal(Fill(error), actual);
        Assert.Equal("", fullPath);
    }

    public static TheoryData<string, string?, string> Resolved => new()
    {
        { "sh", null, "/usr/bin/sh" },
        { "sh", "/berth-no-such-dir:/bin", "/bin/sh" },
        { "/bin/sh", null, "/bin/sh" },
        { "run.sh", "/berth-no-such-dir:{dir}", "{dir}/run.sh" },
        { "./run.sh", null, "{dir}/run.sh" },
        { "../{name}/run.sh", null, "{dir}/run.sh" },
        { "{dir}/run.sh", "", "{dir}/run.sh" },
    };

    [Theory]
    [MemberData(nameof(Resolved))]
    public void TryResolve_Runnable_AbsolutePath(string command, string? path, string expected)
    {
        string Fill(string s) => s.Replace("{dir}", _dir.FullName, StringComparison.Ordinal).Replace("{name}", _dir.Name, StringComparison.Ordinal);

        Assert.True(ExecutableLookup.TryResolve(Fill(command), path is null ? null : Fill(path), _dir.FullName, out string fullPath, out string error), error);

        Assert.Equal(Fill(expected), fullPath);
    }

    [Fact]
    public void TryResolve_NoWorkingDirectory_RelativeToAgent()
    {
        Assert.False(ExecutableLookup.TryResolve("./run.sh", null, null, out _, out string error));
        Assert.Equal("exec: \"./run.sh\": stat ./run.sh: no such file or directory", error);
    }
}
