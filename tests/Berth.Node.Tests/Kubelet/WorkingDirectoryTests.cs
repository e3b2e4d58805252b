using Berth.Node.Kubelet;

namespace Berth.Node.Tests.Kubelet;

// spec.containers[].workingDir: a container runtime rejects a relative one; Berth's pods are host processes, so it
// is taken relative to the directory berth was started in (examples/ run `./kiada` from examples/apps/kiada/bin).
public sealed class WorkingDirectoryTests
{
    [Theory]
    [InlineData(null, "/")]
    [InlineData("", "/")]
    [InlineData("/srv/app", "/srv/app")]
    [InlineData("/srv/app/../data", "/srv/data")]
    [InlineData("examples/apps/kiada/bin", "/home/me/berth/examples/apps/kiada/bin")]
    [InlineData("./bin", "/home/me/berth/bin")]
    [InlineData("../other", "/home/me/other")]
    public void WorkingDirectory_is_absolute_relative_to_the_start_directory(string? workingDir, string expected)
    {
        Assert.Equal(expected, PodWorker.WorkingDirectory(workingDir, "/home/me/berth"));
    }
}
