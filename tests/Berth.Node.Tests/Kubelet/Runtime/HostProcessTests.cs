using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Berth.Node.Kubelet.Runtime;
using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;
using static Berth.Node.Tests.Kubelet.Runtime.RuntimeTestProcesses;

namespace Berth.Node.Tests.Kubelet.Runtime;

[SupportedOSPlatform("linux")]
public sealed class HostProcessTests : IAsyncLifetime
{
    private readonly RuntimeTestProcesses _processes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _processes.DisposeAsync();

    [Fact]
    public async Task Start_StdoutAndStderr_CapturedSeparately()
    {
        HostProcess process = _processes.Start(Sh("echo out; echo err >&2; echo more"));

        Task<string> stdout = ReadAllAsync(process.Stdout);
        Task<string> stderr = ReadAllAsync(process.Stderr);

        Assert.Equal("out\nmore\n", await stdout);
        Assert.Equal("err\n", await stderr);
        Assert.Null(process.Stdin);
        Assert.Equal(0, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
    }

    public static TheoryData<string, int, int?> ExitCases => new()
    {
        { "exit 0", 0, null },
        { "exit 3", 3, null },
        { "kill -TERM $$", 143, 15 },
        { "kill -KILL $$", 137, 9 },
        // A shell started with SIGPIPE ignored cannot un-ignore it, so 141 proves the child got the default
        // disposition although the .NET runtime ignores SIGPIPE.
        { "kill -PIPE $$", 141, 13 },
    };

    [Theory]
    [MemberData(nameof(ExitCases))]
    public async Task Exited_ReportsExitCodeAsTheKubeletDoes(string script, int exitCode, int? signal)
    {
        HostProcess process = _processes.Start(Sh(script));

        ProcessExit exit = await process.Exited.WaitAsync(TestTimeout);

        Assert.Equal(exitCode, exit.ExitCode);
        Assert.Equal(signal, exit.Signal);
        Assert.True(exit.FinishedAt >= process.StartedAt);
    }

    [Fact]
    public async Task Start_ChildSignalMask_IsEmpty()
    {
        HostProcess process = _processes.Start(Sh("grep -E '^Sig(Blk|Ign)' /proc/self/status"));

        Assert.Equal("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", await ReadAllAsync(process.Stdout));
    }

    [Fact]
    public async Task Start_EnvironmentAndWorkingDirectory_Honoured()
    {
        DirectoryInfo cwd = Directory.CreateTempSubdirectory("berth-runtime-");
        try
        {
            HostProcess process = _processes.Start(Sh("echo $FOO; pwd", cwd.FullName, env: ("FOO", "bar baz")));

            Assert.Equal($"bar baz\n{cwd.FullName}\n", await ReadAllAsync(process.Stdout));
        }
        finally
        {
            cwd.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Start_Environment_NothingInheritedFromTheAgent()
    {
        Assert.NotNull(Environment.GetEnvironmentVariable("PATH"));
        HostProcess process = _processes.Start(new ProcessSpec("/usr/bin/env", [], [KeyValuePair.Create("A", "1")], null));

        Assert.Equal("A=1\n", await ReadAllAsync(process.Stdout));
    }

    [Fact]
    public async Task Start_Arguments_PassedVerbatim()
    {
        HostProcess process = _processes.Start(new ProcessSpec("/usr/bin/printf", ["[%s]", "a b", "", "$HOME", "ü"], [], null));

        Assert.Equal("[a b][][$HOME][ü]", await ReadAllAsync(process.Stdout));
    }

    public static TheoryData<string, string> StartFailures => new()
    {
        { "cwd:/berth-no-such-dir", "chdir to cwd (\"/berth-no-such-dir\") set in config.json failed: no such file or directory" },
        { "cwd:{dir}/data.txt", "chdir to cwd (\"{dir}/data.txt\") set in config.json failed: not a directory" },
        { "cwd:relative", "Cwd must be an absolute path" },
        { "exe:/berth-no-such-file", "exec /berth-no-such-file: no such file or directory" },
        { "exe:{dir}/data.txt", "exec {dir}/data.txt: permission denied" },
        { "exe:{dir}/garbage", "exec {dir}/garbage: exec format error" },
        { "exe:{dir}", "exec {dir}: permission denied" },
    };

    [Theory]
    [MemberData(nameof(StartFailures))]
    public void Start_CannotRun_ThrowsWithRuncMessage(string input, string message)
    {
        DirectoryInfo dir = Directory.CreateTempSubdirectory("berth-runtime-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "data.txt"), "data\n");
            File.WriteAllText(Path.Combine(dir.FullName, "garbage"), "\u0001\u0002");
            File.SetUnixFileMode(Path.Combine(dir.FullName, "garbage"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
            string value = input[4..].Replace("{dir}", dir.FullName, StringComparison.Ordinal);
            ProcessSpec spec = input.StartsWith("cwd:", StringComparison.Ordinal)
                ? new ProcessSpec("/bin/true", [], [], value)
                : new ProcessSpec(value, [], [], null);

            var error = Assert.Throws<ProcessStartException>(() => _processes.Start(spec));

            Assert.Equal(message.Replace("{dir}", dir.FullName, StringComparison.Ordinal), error.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Start_RelativeExecutable_Refused()
    {
        var error = Assert.Throws<ArgumentException>(() => _processes.Start(new ProcessSpec("sh", [], [], null)));

        Assert.StartsWith("executable \"sh\" is not an absolute path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NewSession_LeaderOfItsGroupAndSession()
    {
        HostProcess process = _processes.Start(Sh("sleep 100"));

        Assert.True(ProcFs.TryReadStat(process.Pid, out ProcFs.ProcessStat stat));
        Assert.Equal(process.Pid, stat.ProcessGroup);
        Assert.Equal(process.Pid, stat.Session);
        Assert.Equal(stat.StartTime, process.StartTime);
        Assert.Equal(143, (await process.StopAsync(TestTimeout)).ExitCode);
    }

    [Fact]
    public async Task StopAsync_ExitsOnSigterm_143()
    {
        HostProcess process = _processes.Start(new ProcessSpec("/bin/sleep", ["100"], [], null));

        ProcessExit exit = await process.StopAsync(TestTimeout).WaitAsync(TestTimeout);

        Assert.Equal(143, exit.ExitCode);
        Assert.Equal(15, exit.Signal);
    }

    [Fact]
    public async Task StopAsync_SigtermTrapped_SigkillAfterGrace_137()
    {
        HostProcess process = _processes.Start(Sh("trap '' TERM; echo ready; sleep 100"));
        Assert.Equal("ready", await ReadLineAsync(process.Stdout));
        TimeSpan grace = TimeSpan.FromMilliseconds(300);

        var clock = Stopwatch.StartNew();
        ProcessExit exit = await process.StopAsync(grace).WaitAsync(TestTimeout);

        Assert.Equal(137, exit.ExitCode);
        Assert.Equal(9, exit.Signal);
        Assert.True(clock.Elapsed >= grace, $"killed after {clock.Elapsed}, before the grace period");
        Assert.Empty(LiveSessionMembers(process.Pid));
    }

    [Fact]
    public async Task StopAsync_CalledAgain_SameExit()
    {
        HostProcess process = _processes.Start(Sh("trap '' TERM; echo ready; sleep 100"));
        Assert.Equal("ready", await ReadLineAsync(process.Stdout));

        Task<ProcessExit> first = process.StopAsync(TestTimeout);
        ProcessExit second = await process.StopAsync(TimeSpan.Zero).WaitAsync(TestTimeout);

        Assert.Equal(137, second.ExitCode);
        Assert.Equal(second, await first.WaitAsync(TestTimeout));
        Assert.Equal(second, await process.StopAsync(TestTimeout));
    }

    [Fact]
    public async Task StopAsync_Cancelled_KillsWithoutWaitingForGrace()
    {
        HostProcess process = _processes.Start(Sh("trap '' TERM; echo ready; sleep 100"));
        Assert.Equal("ready", await ReadLineAsync(process.Stdout));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        ProcessExit exit = await process.StopAsync(TimeSpan.FromMinutes(5), cancel.Token).WaitAsync(TestTimeout);

        Assert.Equal(137, exit.ExitCode);
    }

    [Fact]
    public async Task StopAsync_EndsTheWholeSession_EvenMembersOutsideTheGroup()
    {
        // perl's setpgrp moves it to a group of its own: only the session scan reaches it.
        HostProcess process = _processes.Start(Sh("sleep 100 & sleep 100 & perl -e 'setpgrp(0, 0); sleep 100' & wait"));
        await WaitUntilAsync(() => ProcFs.SessionMembers(process.Pid).Count(m => m.Stat.ProcessGroup != process.Pid) == 1
            && LiveSessionMembers(process.Pid).Count == 4);

        ProcessExit exit = await process.StopAsync(TestTimeout).WaitAsync(TestTimeout);

        Assert.Equal(143, exit.ExitCode);
        Assert.Empty(LiveSessionMembers(process.Pid));
    }

    [Fact]
    public async Task Exited_LeaderExits_RestOfSessionKilled()
    {
        HostProcess process = _processes.Start(Sh("sleep 100 >/dev/null & echo $!"));
        int background = int.Parse(await ReadLineAsync(process.Stdout), System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(0, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);

        await WaitUntilAsync(() => !ProcFs.TryReadStat(background, out ProcFs.ProcessStat stat) || stat.State == 'Z' || stat.Session != process.Pid);
        Assert.Empty(LiveSessionMembers(process.Pid));
    }

    [Fact]
    public async Task Exited_ChildReaped_NoZombie()
    {
        HostProcess process = _processes.Start(Sh("exit 0"));

        await process.Exited.WaitAsync(TestTimeout);

        Assert.True(!ProcFs.TryReadStat(process.Pid, out ProcFs.ProcessStat stat) || stat.State != 'Z', "the exited child is a zombie");
    }

    [Fact]
    public async Task Exited_DetectedPromptly()
    {
        HostProcess process = _processes.Start(Sh("read line; exit 7", stdin: true));
        await process.Stdin!.WriteAsync("go\n"u8.ToArray());

        var clock = Stopwatch.StartNew();
        ProcessExit exit = await process.Exited.WaitAsync(TestTimeout);

        Assert.Equal(7, exit.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"exit noticed after {clock.Elapsed}");
    }

    [Fact]
    public async Task Exited_WithoutPidFds_PolledPromptlyAndReaped()
    {
        HostProcess process = HostProcess.Start(Sh("read line; exit 4", stdin: true), TimeProvider.System, new EventLoop(usePidFds: false));
        await using (process)
        {
            await process.Stdin!.WriteAsync("go\n"u8.ToArray());

            var clock = Stopwatch.StartNew();
            ProcessExit exit = await process.Exited.WaitAsync(TestTimeout);

            Assert.Equal(4, exit.ExitCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"exit noticed after {clock.Elapsed}");
            Assert.True(!ProcFs.TryReadStat(process.Pid, out ProcFs.ProcessStat stat) || stat.State != 'Z', "the exited child is a zombie");
        }
    }

    [Fact]
    public async Task Stdin_Pipe_CatEchoesAndExitsOnClose()
    {
        HostProcess process = _processes.Start(new ProcessSpec("/bin/cat", [], [], null, Stdin: true));
        Assert.NotNull(process.Stdin);

        await process.Stdin.WriteAsync("hello\nworld\n"u8.ToArray());
        Assert.Equal("hello", await ReadLineAsync(process.Stdout));
        await process.Stdin.DisposeAsync();

        Assert.Equal("world\n", await ReadAllAsync(process.Stdout));
        Assert.Equal(0, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
    }

    [Fact]
    public async Task Stdin_NotRequested_ReadsDevNull()
    {
        HostProcess process = _processes.Start(Sh("cat; echo done"));

        Assert.Equal("done\n", await ReadAllAsync(process.Stdout));
    }

    [Fact]
    public async Task Tty_ChildHasPtyAsControllingTerminal()
    {
        // Opening /dev/tty succeeds only for a process with a controlling terminal.
        HostProcess process = _processes.Start(Sh("tty; echo controlling >/dev/tty", tty: true));

        Assert.Null(process.Stderr);
        Assert.Null(process.Stdin);
        string[] lines = (await ReadAllAsync(process.Stdout)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(new Regex(@"^/dev/pts/\d+$"), lines[0]);
        Assert.Equal("controlling", lines[1]);
        Assert.Equal(0, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
    }

    [Fact]
    public async Task Tty_Resize_SeenByStty()
    {
        HostProcess process = _processes.Start(Sh("stty -echo; echo ready; read line; stty size", tty: true, stdin: true));
        Assert.Equal("ready", await ReadLineAsync(process.Stdout));

        process.Resize(100, 30);
        await process.Stdin!.WriteAsync("\n"u8.ToArray());

        Assert.Equal("30 100\r\n", await ReadAllAsync(process.Stdout));
        Assert.Equal(0, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
    }

    [Fact]
    public async Task Resize_WithoutTty_DoesNothing()
    {
        HostProcess process = _processes.Start(Sh("exit 0"));

        process.Resize(100, 30);

        Assert.Equal(0, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
    }

    [Fact]
    public async Task DisposeAsync_Running_KilledAndStreamsClosed()
    {
        HostProcess process = _processes.Start(Sh("sleep 100"));

        await process.DisposeAsync();

        Assert.True(process.Exited.IsCompleted);
        Assert.Equal(137, (await process.Exited).ExitCode);
        Assert.False(process.Stdout.CanRead);
        Assert.Empty(LiveSessionMembers(process.Pid));
    }

    [Fact]
    public async Task Start_SystemDiagnosticsProcess_StillReapsItsOwnChildren()
    {
        HostProcess ours = _processes.Start(Sh("sleep 100"));
        using var theirs = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "exit 5"]))!;

        await theirs.WaitForExitAsync().WaitAsync(TestTimeout);

        Assert.Equal(5, theirs.ExitCode);
        Assert.Equal(143, (await ours.StopAsync(TestTimeout)).ExitCode);
    }
}
