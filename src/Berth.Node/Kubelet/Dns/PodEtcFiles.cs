using System.Text;

namespace Berth.Node.Kubelet.Dns;

/// <summary>
/// Where a pod's own resolv.conf and hosts live on the node (upstream /var/lib/kubelet/pods/&lt;uid&gt;/etc-hosts):
/// <c>&lt;data dir&gt;/pod-etc/&lt;uid&gt;/</c>, next to the agent's log root. They are bind-mounted into the pod's
/// mount namespace, so a change is written into the same file (truncate and write), never by replacing it: a
/// new inode would not be seen through the mount.
/// </summary>
internal sealed class PodEtcFiles(string logRoot, string podUid)
{
    public string Directory { get; } = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(logRoot))!, "pod-etc", podUid);

    public string ResolvConf => Path.Combine(Directory, "resolv.conf");

    public string Hosts => Path.Combine(Directory, "hosts");

    /// <summary>Writes <paramref name="content"/> into <paramref name="path"/> in place.</summary>
    public void Write(string path, string content)
    {
        System.IO.Directory.CreateDirectory(Directory);
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
        var bytes = Encoding.UTF8.GetBytes(content);
        file.Write(bytes);
        file.SetLength(bytes.Length);
    }

    /// <summary>Removes the pod's files once the pod has ended; a file still mounted somewhere lives on there.</summary>
    public void Delete()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>Something an agent says once, however many pods run into it.</summary>
internal sealed class OnceFlag
{
    private int _done;

    /// <summary>True the first time only.</summary>
    public bool First() => Interlocked.Exchange(ref _done, 1) == 0;
}
