using System.Runtime.InteropServices;
using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;
using Microsoft.Win32.SafeHandles;

namespace Berth.Node.Kubelet.Runtime;

/// <summary>
/// A pod's private mount namespace (Linux, root): a copy of the host's in which some of the pod's own files are
/// bind-mounted over host paths (its /etc/resolv.conf and /etc/hosts). Mounts propagate from the host into it
/// (it is a slave of the host's), none leak out. Every process of the pod is spawned inside it (see
/// <see cref="ProcessSpec.MountNamespace"/>). The namespace lives while this handle or any of the pod's
/// processes does; rewriting a bind-mounted file in place (same inode) changes what the pod sees.
/// </summary>
public sealed class PodNamespace : IDisposable
{
    private readonly SafeFileHandle _handle;

    private PodNamespace(SafeFileHandle handle) => _handle = handle;

    /// <summary>Why pods cannot have a namespace of their own in this process (not Linux, not root); null when they can.</summary>
    public static string? Unavailable =>
        !OperatingSystem.IsLinux() ? "the node agent does not run on Linux" : NamespaceThread.Shared.Unavailable;

    /// <summary>
    /// A new namespace with each (source file, target path) bind-mounted; throws <see cref="PodNamespaceException"/>
    /// when it cannot be made (<see cref="Unavailable"/>, or the kernel refuses: EPERM without CAP_SYS_ADMIN).
    /// </summary>
    public static PodNamespace Create(IReadOnlyList<(string Source, string Target)> bindMounts)
    {
        ArgumentNullException.ThrowIfNull(bindMounts);
        if (Unavailable is { } why)
        {
            throw new PodNamespaceException(why);
        }

        var thread = NamespaceThread.Shared;
        try
        {
            return thread.Run(() => CreateOnThread(thread, bindMounts));
        }
        catch (InvalidOperationException e)
        {
            throw new PodNamespaceException(e.Message, e);
        }
    }

    /// <summary>Closes this handle on the namespace; it ends with the last of the pod's processes.</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// Runs <paramref name="spawn"/> on the namespace thread inside this namespace, with the agent's working
    /// directory, and returns the thread to the host's namespace right after.
    /// </summary>
    internal T Run<T>(Func<T> spawn)
    {
        var thread = NamespaceThread.Shared;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int fd = (int)_handle.DangerousGetHandle();
            return thread.Run(() =>
            {
                if (LibC.SetNs(fd, LibC.CloneNewNs) != 0)
                {
                    throw new ProcessStartException($"setns into the pod's mount namespace: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
                }

                try
                {
                    LibC.ChDir(thread.AgentDirectory);
                    return spawn();
                }
                finally
                {
                    thread.ReturnToHost();
                }
            });
        }
        catch (ObjectDisposedException)
        {
            throw new ProcessStartException("the pod's mount namespace is gone: the pod is stopping");
        }
        catch (InvalidOperationException e)
        {
            throw new ProcessStartException(e.Message, e);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private static PodNamespace CreateOnThread(NamespaceThread thread, IReadOnlyList<(string Source, string Target)> bindMounts)
    {
        if (LibC.Unshare(LibC.CloneNewNs) != 0)
        {
            throw new PodNamespaceException($"unshare(CLONE_NEWNS): {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            // Slave, recursively: the host's later mounts still reach the pod, the pod's bind mounts stay its own.
            unsafe
            {
                Check(LibC.Mount(null, "/", null, LibC.MsRec | LibC.MsSlave, null), "make / a slave mount");
                foreach (var (source, target) in bindMounts)
                {
                    Check(LibC.Mount(source, target, null, LibC.MsBind, null), $"bind-mount {source} on {target}");
                }
            }

            int fd = LibC.Open("/proc/thread-self/ns/mnt", LibC.ORdOnly | LibC.OCloExec);
            Check(fd < 0 ? -1 : 0, "open /proc/thread-self/ns/mnt");
            return new PodNamespace(new SafeFileHandle(fd, ownsHandle: true));
        }
        finally
        {
            // The new namespace is dropped here unless its fd was opened.
            thread.ReturnToHost();
        }
    }

    private static void Check(int result, string what)
    {
        if (result != 0)
        {
            throw new PodNamespaceException($"{what}: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        }
    }
}

/// <summary>A pod's mount namespace could not be made; the message says why.</summary>
public sealed class PodNamespaceException : Exception
{
    public PodNamespaceException()
    {
    }

    public PodNamespaceException(string message)
        : base(message)
    {
    }

    public PodNamespaceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
