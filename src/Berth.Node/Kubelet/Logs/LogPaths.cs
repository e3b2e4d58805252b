namespace Berth.Node.Kubelet.Logs;

/// <summary>The kubelet's container log layout: <c>&lt;root&gt;/&lt;ns&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;restartCount&gt;.log</c>.</summary>
// Upstream pkg/kubelet/kuberuntime/helpers.go BuildPodLogsDirectory / BuildContainerLogsDirectory.
public static class LogPaths
{
    public static string PodDirectory(string root, string ns, string pod, string uid) =>
        Path.Combine(root, string.Join('_', ns, pod, uid));

    public static string ContainerLog(string root, string ns, string pod, string uid, string container, int restartCount) =>
        Path.Combine(PodDirectory(root, ns, pod, uid), container, restartCount.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".log");
}
