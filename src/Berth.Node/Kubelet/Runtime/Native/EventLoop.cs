using System.Runtime.InteropServices;
using Berth.Node.Native;

namespace Berth.Node.Kubelet.Runtime.Native;

// The one background thread of the runtime: an epoll set holding a pidfd per started child (readable once the
// child has exited) and one-shot readiness waits for the non-blocking stdio fds. Children are reaped with
// waitpid on their own pid only, never waitpid(-1) and never as a subreaper, so System.Diagnostics.Process
// elsewhere in the agent keeps reaping its own children.
// Without pidfd_open (glibc < 2.36 or kernel < 5.3) children are polled every PollInterval instead.
internal sealed unsafe class EventLoop
{
    private const int PollIntervalMs = 20;
    private const ulong WakeId = 0;

    private static readonly Lazy<EventLoop> s_shared = new(() => new EventLoop(usePidFds: true));

    private readonly int _epoll;
    private readonly int _wake;
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Registration> _registrations = [];
    private readonly List<Func<bool>> _polledChildren = [];
    private ulong _nextId = WakeId + 1;
    private bool _noPidFd;

    // usePidFds: false forces the polling fallback (tests).
    internal EventLoop(bool usePidFds)
    {
        _noPidFd = !usePidFds;
        _epoll = LibC.EpollCreate1(LibC.EpollCloExec);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        _wake = LibC.EventFd(0, LibC.EfdCloExec | LibC.EfdNonBlock);
        if (_wake < 0)
        {
            throw new IOException($"eventfd: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        var ev = new LibC.EpollEvent { Events = LibC.EpollIn, Data = WakeId };
        LibC.EpollCtl(_epoll, LibC.EpollCtlAdd, _wake, &ev);
        new Thread(Run) { IsBackground = true, Name = "berth-process-runtime" }.Start();
    }

    public static EventLoop Shared => s_shared.Value;

    // onExited runs on the loop thread each time the child may have exited; it returns true once it has reaped it.
    public void WatchChild(int pid, Func<bool> onExited)
    {
        int pidFd = OpenPidFd(pid);
        if (pidFd < 0)
        {
            lock (_gate)
            {
                _polledChildren.Add(onExited);
            }

            Wake();
            return;
        }

        lock (_gate)
        {
            ulong id = _nextId++;
            _registrations[id] = new Registration(pidFd, onExited, null);
            var ev = new LibC.EpollEvent { Events = LibC.EpollIn, Data = id };
            LibC.EpollCtl(_epoll, LibC.EpollCtlAdd, pidFd, &ev);
        }
    }

    // Completes when fd is ready for events (or has hung up). The caller keeps fd open until this completes
    // or its cancellation has run: cancelling removes fd from the epoll set synchronously.
    public Task WaitAsync(int fd, uint events, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong id;
        lock (_gate)
        {
            id = _nextId++;
            _registrations[id] = new Registration(fd, null, ready);
            var ev = new LibC.EpollEvent { Events = events | LibC.EpollOneShot, Data = id };
            if (LibC.EpollCtl(_epoll, LibC.EpollCtlAdd, fd, &ev) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                _registrations.Remove(id);
                return Task.FromException(new IOException($"epoll_ctl: {LibC.ErrorText(errno)}"));
            }
        }

        if (cancellationToken.CanBeCanceled)
        {
            CancellationTokenRegistration registration = cancellationToken.Register(() =>
            {
                if (Forget(id))
                {
                    ready.TrySetCanceled(cancellationToken);
                }
            });
            ready.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }

        return ready.Task;
    }

    private int OpenPidFd(int pid)
    {
        if (Volatile.Read(ref _noPidFd))
        {
            return -1;
        }

        try
        {
            int fd = LibC.PidFdOpen(pid, 0);
            if (fd >= 0)
            {
                // pidfd_open sets O_CLOEXEC itself.
                return fd;
            }

            if (Marshal.GetLastPInvokeError() == LibC.ENOSYS)
            {
                Volatile.Write(ref _noPidFd, true);
            }
        }
        catch (EntryPointNotFoundException)
        {
            Volatile.Write(ref _noPidFd, true);
        }

        return -1;
    }

    // A pidfd whose exit handler found nothing to reap yet goes back under watch.
    private void Rearm(int pidFd, Func<bool> onExited)
    {
        lock (_gate)
        {
            ulong id = _nextId++;
            _registrations[id] = new Registration(pidFd, onExited, null);
            var ev = new LibC.EpollEvent { Events = LibC.EpollIn, Data = id };
            LibC.EpollCtl(_epoll, LibC.EpollCtlAdd, pidFd, &ev);
        }
    }

    private bool Forget(ulong id)
    {
        lock (_gate)
        {
            if (!_registrations.Remove(id, out Registration? registration))
            {
                return false;
            }

            LibC.EpollCtl(_epoll, LibC.EpollCtlDel, registration.Fd, null);
            return true;
        }
    }

    private void Wake()
    {
        ulong one = 1;
        LibC.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    private void Run()
    {
        const int MaxEvents = 64;
        var events = stackalloc LibC.EpollEvent[MaxEvents];
        var polled = new List<Func<bool>>();
        while (true)
        {
            int timeout;
            lock (_gate)
            {
                timeout = _polledChildren.Count > 0 ? PollIntervalMs : -1;
            }

            int count = LibC.EpollWait(_epoll, events, MaxEvents, timeout);
            for (int i = 0; i < count; i++)
            {
                ulong id = events[i].Data;
                if (id == WakeId)
                {
                    ulong drained;
                    LibC.Read(_wake, (byte*)&drained, sizeof(ulong));
                    continue;
                }

                Registration? registration;
                lock (_gate)
                {
                    _registrations.TryGetValue(id, out registration);
                }

                if (registration?.Ready is { } ready)
                {
                    if (Forget(id))
                    {
                        ready.TrySetResult();
                    }
                }
                else if (registration?.OnExited is { } onExited && Forget(id))
                {
                    // Handling an exit scans /proc (to end the rest of the session): off this thread, which also
                    // carries every container's stdout, and in parallel so a burst of exits shares its scans.
                    int pidFd = registration.Fd;
                    ThreadPool.UnsafeQueueUserWorkItem(_ =>
                    {
                        if (onExited())
                        {
                            LibC.Close(pidFd);
                        }
                        else
                        {
                            Rearm(pidFd, onExited);
                        }
                    }, null);
                }
            }

            lock (_gate)
            {
                polled.AddRange(_polledChildren);
            }

            foreach (Func<bool> onExited in polled)
            {
                if (onExited())
                {
                    lock (_gate)
                    {
                        _polledChildren.Remove(onExited);
                    }
                }
            }

            polled.Clear();
        }
    }

    private sealed record Registration(int Fd, Func<bool>? OnExited, TaskCompletionSource? Ready);
}
