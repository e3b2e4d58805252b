using Berth.Node.Kubelet.Logs;

namespace Berth.Node.Tests.Kubelet.Logs;

public class LogPathsTests
{
    [Fact]
    public void ContainerLog_UpstreamLayout() =>
        Assert.Equal("/var/log/pods/default_web-0_1234-abcd/nginx/3.log", LogPaths.ContainerLog("/var/log/pods", "default", "web-0", "1234-abcd", "nginx", 3));

    [Fact]
    public void PodDirectory_JoinsNamespaceNameUid() =>
        Assert.Equal("/var/log/pods/kube-system_dns_u1", LogPaths.PodDirectory("/var/log/pods", "kube-system", "dns", "u1"));
}
