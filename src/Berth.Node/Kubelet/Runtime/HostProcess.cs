using System.Runtime.InteropServices;
using System.Text;
using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;
using Microsoft.Win32.SafeHandles;

namespace Berth.Node.Kubelet.Runtime;

/// <summary>
/// One container process, started with posix_spawn as the leader of a new session, and supervised: it is reaped
/// by the runtime's background thread, and stopping it ends every process of its session.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_disposeKillWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_sessionEndWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_sessionPollInterval = TimeSpan.FromMilliseconds(10);

    // Exits share /proc scans up to this old (a burst of exec probes would otherwise scan /proc per exit); the
    // delayed sweep (SessionSignal.SweepLater) catches what a scan this old could miss.
    private static readonly TimeSpan s_exitScanMaxAge = TimeSpan.FromMilliseconds(100);

    private readonly TaskCompletionSource<ProcessExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly SafeFileHandle? _ptyMaster;
    private bool _reaped;
    private bool _terminated;
    private int _disposed;

    private HostProcess(int pid, ulong startTime, TimeProvider time, Stream? stdin, Stream stdout, Stream? stderr, SafeFileHandle? ptyMaster)
    {
        Pid = pid;
        StartTime = startTime;
        StartedAt = time.GetUtcNow();
        _time = time;
        Stdin = stdin;
        Stdout = stdout;
        Stderr = stderr;
        _ptyMaster = ptyMaster;
    }

    public int Pid { get; }

    /// <summary>Field 22 of /proc/PID/stat: with <see cref="Pid"/>, names this process across pid reuse.</summary>
    public ulong StartTime { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>The child's stdin when <see cref="ProcessSpec.Stdin"/>; disposing it gives the child end of file (with a tty, the terminal stays).</summary>
    public Stream? Stdin { get; }

    /// <summary>The child's stdout, or the terminal's output with a tty.</summary>
    public Stream Stdout { get; }

    /// <summary>The child's stderr; null with a tty (it writes to the terminal).</summary>
    public Stream? Stderr { get; }

    /// <summary>Completes once the leader has been reaped and what was left of its session killed and gone.</summary>
    public Task<ProcessExit> Exited => _exited.Task;

    /// <summary>Starts <paramref name="spec"/>; throws <see cref="ProcessStartException"/> when it cannot run.</summary>
    public static HostProcess Start(ProcessSpec spec, TimeProvider? timeProvider = null) =>
        Start(spec, timeProvider ?? TimeProvider.System, EventLoop.Shared);

    internal static HostProcess Start(ProcessSpec spec, TimeProvider timeProvider, EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(spec);
        PlatformGuard.EnsureSupported();
        if (!Path.IsPathRooted(spec.Executable))
        {
            throw new ArgumentException($"executable {ExecutableLookup.GoQuote(spec.Executable)} is not an absolute path", nameof(spec));
        }

        if (spec.WorkingDirectory is { } cwd)
        {
            CheckWorkingDirectory(cwd);
        }

        var spawned = new Spawner(spec);
        try
        {
            // posix_spawn's child inherits the calling thread's mount namespace: a pod's processes are spawned
            // from the thread that can enter it.
            return spec.MountNamespace is { } ns
                ? ns.Run(() => spawned.Run(timeProvider, loop))
                : spawned.Run(timeProvider, loop);
        }
        finally
        {
            spawned.Dispose();
        }
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the process group and to every process of the session that left it.
    /// Does nothing once the leader is reaped: its pid may name someone else by then.
    /// </summary>
    public void SignalGroup(int signal)
    {
        lock (_gate)
        {
            if (!_reaped)
            {
                SessionSignal.Send(Pid, signal);
            }
        }
    }

    /// <summary>
    /// SIGTERM to the group and session, up to <paramref name="grace"/> for the leader to exit, then SIGKILL;
    /// when the leader is gone the rest of its session is killed. Cancelling cuts the grace period short (the
    /// kill still happens). Safe to call again: SIGTERM is sent once; a later call's grace can only shorten the wait.
    /// </summary>
    public async Task<ProcessExit> StopAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (!Exited.IsCompleted)
        {
            lock (_gate)
            {
                if (!_reaped && !_terminated)
                {
                    _terminated = true;
                    SessionSignal.Send(Pid, LibC.SigTerm);
                }
            }

            try
            {
                await Exited.WaitAsync(grace, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }

            SignalGroup(LibC.SigKill);
        }

        return await Exited.ConfigureAwait(false);
    }

    /// <summary>Sets the terminal size (TIOCSWINSZ; the child gets SIGWINCH). No-op without a tty.</summary>
    public unsafe void Resize(ushort columns, ushort rows)
    {
        if (_ptyMaster is null || _ptyMaster.IsClosed)
        {
            return;
        }

        bool added = false;
        try
        {
            _ptyMaster.DangerousAddRef(ref added);
            var size = new LibC.WinSize { Rows = rows, Columns = columns };
            if (LibC.Ioctl((int)_ptyMaster.DangerousGetHandle(), LibC.TiocSWinSz, &size) != 0)
            {
                throw new IOException($"resize terminal: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }
        }
        finally
        {
            if (added)
            {
                _ptyMaster.DangerousRelease();
            }
        }
    }

    /// <summary>Kills the session if the leader still runs, waits (briefly) for the reap, and closes the streams.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!Exited.IsCompleted)
        {
            SignalGroup(LibC.SigKill);
            try
            {
                await Exited.WaitAsync(s_disposeKillWait, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Unkillable for now (uninterruptible sleep): the runtime thread still reaps it when it goes.
            }
        }

        Stdin?.Dispose();
        Stdout.Dispose();
        Stderr?.Dispose();
    }

    private static unsafe void CheckWorkingDirectory(string cwd)
    {
        // runc's text for the chdir it does before exec; posix_spawn would only give a bare errno.
        if (!Path.IsPathRooted(cwd))
        {
            throw new ProcessStartException("Cwd must be an absolute path");
        }

        LibC.Statx stat;
        int errno = LibC.StatX(LibC.AtFdCwd, cwd, 0, LibC.StatxType, &stat) != 0
            ? Marshal.GetLastPInvokeError()
            : (stat.Mode & LibC.SIfMt) != LibC.SIfDir ? LibC.ENOTDIR : 0;
        if (errno != 0)
        {
            throw new ProcessStartException($"chdir to cwd ({ExecutableLookup.GoQuote(cwd)}) set in config.json failed: {LibC.ErrorText(errno)}");
        }
    }

    // Runs (on a pool thread, or on the runtime thread when polling) whenever the leader may have exited. It is
    // killed-then-reaped in that order:
    // while the leader is an unreaped zombie its pid (and so its group and session ids) cannot be reused.
    private unsafe bool OnMaybeExited()
    {
        LibC.SigInfo info = default;
        if (LibC.WaitId(LibC.PPid, Pid, &info, LibC.WExited | LibC.WNoHang | LibC.WNoWait) != 0)
        {
            // ECHILD: someone reaped it behind our back (the agent was started with SIGCHLD ignored, so the
            // .NET runtime reaps every child). The status is lost.
            lock (_gate)
            {
                _reaped = true;
            }

            _exited.TrySetResult(new ProcessExit(-1, null, _time.GetUtcNow()));
            return true;
        }

        if (info.Pid == 0)
        {
            return false;
        }

        int status;
        bool othersLeft;
        lock (_gate)
        {
            // No process outlives its container (a pid namespace ends with its init).
            othersLeft = SessionSignal.Send(Pid, LibC.SigKill, s_exitScanMaxAge).Any(m => m.Pid != Pid);
            LibC.WaitPid(Pid, &status, LibC.WNoHang);
            _reaped = true;
        }

        SessionSignal.SweepLater(Pid);

        int termSignal = status & 0x7f;
        ProcessExit exit = termSignal == 0
            ? new ProcessExit((status >> 8) & 0xff, null, _time.GetUtcNow())
            : new ProcessExit(128 + termSignal, termSignal, _time.GetUtcNow());
        if (!othersLeft)
        {
            _exited.TrySetResult(exit);
        }
        else
        {
            _ = CompleteWhenSessionGoneAsync(exit);
        }

        return true;
    }

    // SIGKILL is not instant: a restarted container must not find the old one's processes still holding its
    // ports, so Exited waits (boundedly, off the runtime thread) for the killed members to be gone. The
    // session id cannot be reused while any of them lives.
    private async Task CompleteWhenSessionGoneAsync(ProcessExit exit)
    {
        long started = _time.GetTimestamp();
        while (ProcFs.SessionMembers(Pid, s_sessionPollInterval).Count > 0 && _time.GetElapsedTime(started) < s_sessionEndWait)
        {
            await Task.Delay(s_sessionPollInterval, _time).ConfigureAwait(false);
        }

        _exited.TrySetResult(exit);
    }

    // The native resources of one posix_spawn call. The parent's ends of pipes and the pty master move into the
    // HostProcess; everything else is released when Run returns or throws.
    private sealed unsafe class Spawner : IDisposable
    {
        private readonly ProcessSpec _spec;
        private readonly List<int> _closeAfterSpawn = [];
        private readonly List<int> _parentFds = [];
        private readonly List<nint> _strings = [];
        private void* _attr;
        private void* _actions;
        private bool _handedOver;

        public Spawner(ProcessSpec spec) => _spec = spec;

        public HostProcess Run(TimeProvider time, EventLoop loop)
        {
            _attr = NativeMemory.AllocZeroed(LibC.SpawnAttrSize);
            _actions = NativeMemory.AllocZeroed(LibC.FileActionsSize);
            Check(LibC.PosixSpawnAttrInit(_attr), "posix_spawnattr_init");
            Check(LibC.FileActionsInit(_actions), "posix_spawn_file_actions_init");
            SetAttributes();

            int stdinFd = -1;
            int stdoutFd;
            int stderrFd = -1;
            int masterFd = -1;
            if (_spec.Tty)
            {
                masterFd = OpenTerminal();
                stdoutFd = masterFd;
                if (_spec.Stdin)
                {
                    // A second fd on the master, so that closing Stdin leaves the terminal (and Stdout) open.
                    stdinFd = Track(LibC.Fcntl(masterFd, LibC.FDupFdCloExec, 3), "dup", _parentFds);
                }
            }
            else
            {
                if (_spec.Stdin)
                {
                    (stdinFd, int child) = Pipe(parentWrites: true);
                    Check(LibC.FileActionsAddDup2(_actions, child, 0), "posix_spawn_file_actions_adddup2");
                }
                else
                {
                    Check(LibC.FileActionsAddOpen(_actions, 0, "/dev/null", LibC.ORdOnly, 0), "posix_spawn_file_actions_addopen");
                }

                (stdoutFd, int outChild) = Pipe(parentWrites: false);
                Check(LibC.FileActionsAddDup2(_actions, outChild, 1), "posix_spawn_file_actions_adddup2");
                (stderrFd, int errChild) = Pipe(parentWrites: false);
                Check(LibC.FileActionsAddDup2(_actions, errChild, 2), "posix_spawn_file_actions_adddup2");
            }

            if (_spec.WorkingDirectory is { } cwd)
            {
                Check(LibC.FileActionsAddChdir(_actions, cwd), "posix_spawn_file_actions_addchdir_np");
            }

            byte* path = Utf8(_spec.Executable);
            byte** argv = Vector([_spec.Executable, .. _spec.Arguments]);
            byte** envp = Vector([.. _spec.Environment.Select(pair => $"{pair.Key}={pair.Value}")]);
            int error = LibC.PosixSpawn(out int pid, path, _actions, _attr, argv, envp);
            if (error != 0)
            {
                // runc's words for a failed execve (system.Exec wraps it as an os.PathError "exec").
                throw new ProcessStartException($"exec {_spec.Executable}: {LibC.ErrorText(error)}");
            }

            ulong startTime = ProcFs.TryReadStat(pid, out ProcFs.ProcessStat stat) ? stat.StartTime : 0;
            var master = masterFd >= 0 ? new FdStream(masterFd, canRead: true, ptyMaster: true) : null;
            var process = new HostProcess(
                pid,
                startTime,
                time,
                stdinFd >= 0 ? new FdStream(stdinFd, canRead: false, ptyMaster: _spec.Tty) : null,
                master ?? new FdStream(stdoutFd, canRead: true, ptyMaster: false),
                stderrFd >= 0 ? new FdStream(stderrFd, canRead: true, ptyMaster: false) : null,
                master?.Handle);
            _handedOver = true;
            loop.WatchChild(pid, process.OnMaybeExited);
            return process;
        }

        public void Dispose()
        {
            foreach (int fd in _closeAfterSpawn)
            {
                LibC.Close(fd);
            }

            if (!_handedOver)
            {
                foreach (int fd in _parentFds)
                {
                    LibC.Close(fd);
                }
            }

            if (_attr is not null)
            {
                LibC.PosixSpawnAttrDestroy(_attr);
                NativeMemory.Free(_attr);
            }

            if (_actions is not null)
            {
                LibC.FileActionsDestroy(_actions);
                NativeMemory.Free(_actions);
            }

            foreach (nint s in _strings)
            {
                NativeMemory.Free((void*)s);
            }
        }

        private static void Check(int error, string call)
        {
            if (error != 0)
            {
                throw new ProcessStartException($"{call}: {LibC.ErrorText(error)}");
            }
        }

        private static int Track(int fd, string call, List<int> into)
        {
            if (fd < 0)
            {
                throw new ProcessStartException($"{call}: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }

            into.Add(fd);
            return fd;
        }

        // A new session, the signal mask emptied and every disposition back to default: the .NET runtime
        // ignores SIGPIPE (and a spawned child would inherit that), and its threads block signals of their own.
        private void SetAttributes()
        {
            byte* mask = stackalloc byte[LibC.SigSetSize];
            byte* defaults = stackalloc byte[LibC.SigSetSize];
            LibC.SigEmptySet(mask);
            // Signals 1..64 are bits 0..63 of the set. Written directly: sigaddset refuses glibc's internal
            // signals (32, 33), and posix_spawn leaves a signal it was not asked to reset ignored in the child.
            LibC.SigEmptySet(defaults);
            *(ulong*)defaults = ulong.MaxValue;

            Check(LibC.PosixSpawnAttrSetSigMask(_attr, mask), "posix_spawnattr_setsigmask");
            Check(LibC.PosixSpawnAttrSetSigDefault(_attr, defaults), "posix_spawnattr_setsigdefault");
            Check(
                LibC.PosixSpawnAttrSetFlags(_attr, LibC.PosixSpawnSetSid | LibC.PosixSpawnSetSigMask | LibC.PosixSpawnSetSigDef),
                "posix_spawnattr_setflags");
        }

        // Both ends close-on-exec, so no other child spawned meanwhile inherits them; dup2 in the child clears
        // the flag on 0/1/2. The parent's end is non-blocking for the EventLoop.
        private (int Parent, int Child) Pipe(bool parentWrites)
        {
            int* fds = stackalloc int[2];
            if (LibC.Pipe2(fds, LibC.OCloExec) != 0)
            {
                throw new ProcessStartException($"pipe2: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }

            (int parent, int child) = parentWrites ? (fds[1], fds[0]) : (fds[0], fds[1]);
            _parentFds.Add(parent);
            _closeAfterSpawn.Add(child);
            SetNonBlocking(parent);
            return (parent, child);
        }

        // The master stays with the agent; the child opens the slave by name after setsid, without O_NOCTTY,
        // so it becomes the new session's controlling terminal (glibc runs setsid before the file actions).
        private int OpenTerminal()
        {
            int master = Track(LibC.PosixOpenPt(LibC.ORdWr | LibC.ONoCtty | LibC.OCloExec), "posix_openpt", _parentFds);
            if (LibC.GrantPt(master) != 0 || LibC.UnlockPt(master) != 0)
            {
                throw new ProcessStartException($"grantpt/unlockpt: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }

            byte* name = stackalloc byte[256];
            Check(LibC.PtsNameR(master, name, 256), "ptsname_r");
            string slave = Marshal.PtrToStringUTF8((nint)name)!;
            SetNonBlocking(master);
            Check(LibC.FileActionsAddOpen(_actions, 0, slave, LibC.ORdWr, 0), "posix_spawn_file_actions_addopen");
            Check(LibC.FileActionsAddDup2(_actions, 0, 1), "posix_spawn_file_actions_adddup2");
            Check(LibC.FileActionsAddDup2(_actions, 0, 2), "posix_spawn_file_actions_adddup2");
            return master;
        }

        private static void SetNonBlocking(int fd)
        {
            int flags = LibC.Fcntl(fd, LibC.FGetFl, 0);
            if (flags < 0 || LibC.Fcntl(fd, LibC.FSetFl, flags | LibC.ONonBlock) != 0)
            {
                throw new ProcessStartException($"fcntl: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
            }
        }

        private byte* Utf8(string value)
        {
            int length = Encoding.UTF8.GetByteCount(value);
            byte* native = (byte*)NativeMemory.Alloc((nuint)length + 1);
            _strings.Add((nint)native);
            Encoding.UTF8.GetBytes(value, new Span<byte>(native, length));
            native[length] = 0;
            return native;
        }

        private byte** Vector(IReadOnlyList<string> values)
        {
            byte** vector = (byte**)NativeMemory.Alloc((nuint)(values.Count + 1), (nuint)sizeof(byte*));
            _strings.Add((nint)vector);
            for (int i = 0; i < values.Count; i++)
            {
                vector[i] = Utf8(values[i]);
            }

            vector[values.Count] = null;
            return vector;
        }
    }
}
