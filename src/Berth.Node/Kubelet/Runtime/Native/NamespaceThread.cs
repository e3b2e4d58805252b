using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Berth.Node.Native;

namespace Berth.Node.Kubelet.Runtime.Native;

// The one thread that enters pods' mount namespaces. A mount namespace belongs to a thread (setns changes only
// the caller's), and setns into one is refused while the thread shares its filesystem attributes (cwd, root)
// with others, so this thread unshares them once (CLONE_FS) and every other thread of the agent stays in the
// host's namespace, untouched. Work runs here one item at a time and always leaves the thread back in the host
// namespace with the agent's working directory (setns resets cwd and root to the namespace's root).
internal sealed class NamespaceThread
{
    private static readonly Lazy<NamespaceThread> s_shared = new(() => new NamespaceThread());

    private readonly BlockingCollection<Action> _work = [];
    private readonly string _agentDirectory = Environment.CurrentDirectory;
    private int _hostNamespace = -1;
    private volatile string? _unavailable;

    private NamespaceThread()
    {
        using var ready = new ManualResetEventSlim();
        new Thread(() => Run(ready)) { IsBackground = true, Name = "berth-mount-namespaces" }.Start();
        ready.Wait();
    }

    public static NamespaceThread Shared => s_shared.Value;

    // Why pods cannot have namespaces of their own here; null when they can (as far as is known before trying).
    public string? Unavailable => _unavailable;

    // The host's mount namespace, held open by this thread for its whole life.
    public int HostNamespace => _hostNamespace;

    public string AgentDirectory => _agentDirectory;

    // Runs work on the thread, rethrowing what it threw; the caller blocks (spawns are short).
    public T Run<T>(Func<T> work)
    {
        if (_unavailable is { } why)
        {
            throw new InvalidOperationException(why);
        }

        T result = default!;
        ExceptionDispatchInfo? failure = null;
        using var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        failure?.Throw();
        return result;
    }

    // Back to the host namespace and the agent's directory after work inside a pod's. If that fails the thread
    // cannot be trusted to spawn anything any more: it says so and refuses further work.
    public void ReturnToHost()
    {
        if (LibC.SetNs(_hostNamespace, LibC.CloneNewNs) != 0)
        {
            _unavailable = $"setns back to the host's mount namespace failed: {LibC.ErrorText(Marshal.GetLastPInvokeError())}";
            throw new InvalidOperationException(_unavailable);
        }

        LibC.ChDir(_agentDirectory);
    }

    private void Run(ManualResetEventSlim ready)
    {
        try
        {
            _unavailable = Prepare();
        }
        finally
        {
            ready.Set();
        }

        foreach (Action item in _work.GetConsumingEnumerable())
        {
            item();
        }
    }

    private string? Prepare()
    {
        if (LibC.GetEUid() != 0)
        {
            return "the node agent does not run as root";
        }

        if (LibC.Unshare(LibC.CloneFs) != 0)
        {
            return $"unshare(CLONE_FS) failed: {LibC.ErrorText(Marshal.GetLastPInvokeError())}";
        }

        _hostNamespace = LibC.Open("/proc/thread-self/ns/mnt", LibC.ORdOnly | LibC.OCloExec);
        return _hostNamespace < 0
            ? $"cannot open /proc/thread-self/ns/mnt: {LibC.ErrorText(Marshal.GetLastPInvokeError())}"
            : null;
    }
}
