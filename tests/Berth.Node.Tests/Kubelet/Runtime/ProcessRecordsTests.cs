using System.Diagnostics;
using Berth.Node.Kubelet.Runtime;
using static Berth.Node.Tests.Kubelet.Runtime.RuntimeTestProcesses;

namespace Berth.Node.Tests.Kubelet.Runtime;

public sealed class ProcessRecordsTests : IAsyncLifetime
{
    private static readonly ProcessOwner s_owner = new("uid-1", "default", "web-1", "app");

    private readonly RuntimeTestProcesses _processes = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("berth-records-");
    private readonly List<string> _log = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _processes.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task EndLeftovers_ProcessLeftRunning_EndedAndLogged()
    {
        // Dropped without StopAsync, as an agent that was SIGKILLed drops it.
        HostProcess process = _processes.Start(Sh("sleep 100"));
        new ProcessRecords(_dir.FullName).Add(process, s_owner);

        IReadOnlyList<LeftoverProcess> found = new ProcessRecords(_dir.FullName).EndLeftovers(TestTimeout, _log.Add);

        Assert.Equal([new LeftoverProcess(process.Pid, process.StartTime, s_owner, WasRunning: true)], found);
        Assert.Equal([$"ended process {process.Pid} (pod default/web-1, container app) left running by a previous agent"], _log);
        Assert.Equal(143, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
        Assert.Empty(_dir.EnumerateFiles());
    }

    [Fact]
    public async Task EndLeftovers_TrapsSigterm_KilledAfterGrace()
    {
        HostProcess process = _processes.Start(Sh("trap '' TERM; echo ready; sleep 100"));
        Assert.Equal("ready", await ReadLineAsync(process.Stdout));
        new ProcessRecords(_dir.FullName).Add(process, s_owner);

        new ProcessRecords(_dir.FullName).EndLeftovers(TimeSpan.FromMilliseconds(200), _log.Add);

        Assert.Equal(137, (await process.Exited.WaitAsync(TestTimeout)).ExitCode);
    }

    [Fact]
    public async Task EndLeftovers_LeaderGoneSessionLeft_MembersEnded()
    {
        // A detached session (not our child) whose leader exits and leaves a background sleep behind.
        using var leader = Process.Start(new ProcessStartInfo("/usr/bin/setsid", ["/bin/sh", "-c", "sleep 100 >/dev/null 2>&1 & read line"])
        {
            RedirectStandardInput = true,
        })!;
        _processes.Track(leader.Id);
        await WaitUntilAsync(() => LiveSessionMembers(leader.Id).Count == 2);
        Assert.True(ProcFs.TryReadStat(leader.Id, out ProcFs.ProcessStat stat));
        new ProcessRecords(_dir.FullName).Add(leader.Id, stat.StartTime, s_owner);
        leader.StandardInput.Close();
        await leader.WaitForExitAsync().WaitAsync(TestTimeout);
        Assert.Single(LiveSessionMembers(leader.Id));

        IReadOnlyList<LeftoverProcess> found = new ProcessRecords(_dir.FullName).EndLeftovers(TestTimeout, _log.Add);

        Assert.True(Assert.Single(found).WasRunning);
        Assert.Equal([$"ended process {leader.Id} (pod default/web-1, container app) left running by a previous agent"], _log);
        await WaitUntilAsync(() => LiveSessionMembers(leader.Id).Count == 0);
    }

    [Fact]
    public async Task EndLeftovers_PidNowAnotherProcess_NotKilled()
    {
        HostProcess stranger = _processes.Start(Sh("sleep 100"));
        new ProcessRecords(_dir.FullName).Add(stranger.Pid, stranger.StartTime - 1, s_owner);

        IReadOnlyList<LeftoverProcess> found = new ProcessRecords(_dir.FullName).EndLeftovers(TimeSpan.Zero, _log.Add);

        Assert.False(Assert.Single(found).WasRunning);
        Assert.Equal([$"process {stranger.Pid} (pod default/web-1, container app) recorded by a previous agent had already exited"], _log);
        await Task.Delay(100);
        Assert.False(stranger.Exited.IsCompleted);
        Assert.Empty(_dir.EnumerateFiles());
    }

    [Fact]
    public async Task Remove_RecordGone_NothingEnded()
    {
        HostProcess process = _processes.Start(Sh("sleep 100"));
        var records = new ProcessRecords(_dir.FullName);
        records.Add(process, s_owner);

        records.Remove(process.Pid);

        Assert.Empty(records.EndLeftovers(TimeSpan.Zero, _log.Add));
        Assert.Empty(_log);
        await Task.Delay(100);
        Assert.False(process.Exited.IsCompleted);
    }

    [Fact]
    public void EndLeftovers_UnreadableRecord_LoggedAndDeleted()
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "42.json"), "{not json");
        File.WriteAllText(Path.Combine(_dir.FullName, "43.json.tmp"), "{\"pid\":");

        Assert.Empty(new ProcessRecords(_dir.FullName).EndLeftovers(TimeSpan.Zero, _log.Add));

        Assert.Equal([$"ignored unreadable process record {Path.Combine(_dir.FullName, "42.json")}"], _log);
        Assert.Empty(_dir.EnumerateFiles());
    }

    [Fact]
    public void EndLeftovers_NoDirectory_NothingFound()
    {
        var records = new ProcessRecords(Path.Combine(_dir.FullName, "missing"));

        records.Remove(42);

        Assert.Empty(records.EndLeftovers(TimeSpan.Zero, _log.Add));
        Assert.Empty(_log);
    }
}
