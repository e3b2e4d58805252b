using System.Diagnostics;
using System.Text;
using Berth.Node.Kubelet.Runtime;
using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;

namespace Berth.Node.Tests.Kubelet.Runtime;

// Starts real processes for a test and ends every one of them when the test ends, passed or failed.
public sealed class RuntimeTestProcesses
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(15);

    private readonly List<HostProcess> _started = [];
    private readonly List<int> _sessions = [];

    public static ProcessSpec Sh(string script, string? cwd = null, bool tty = false, bool stdin = false, params (string Key, string Value)[] env) =>
        new("/bin/sh", ["-c", script], [.. env.Select(e => KeyValuePair.Create(e.Key, e.Value))], cwd, tty, stdin);

    public HostProcess Start(ProcessSpec spec)
    {
        HostProcess process = HostProcess.Start(spec);
        _started.Add(process);
        _sessions.Add(process.Pid);
        return process;
    }

    // A session the test created some other way (setsid): SIGKILLed at the end of the test.
    public void Track(int sessionId) => _sessions.Add(sessionId);

    public static async Task<string> ReadAllAsync(Stream? stream)
    {
        Assert.NotNull(stream);
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        return await reader.ReadToEndAsync().WaitAsync(TestTimeout);
    }

    public static async Task<string> ReadLineAsync(Stream stream)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (await stream.ReadAsync(one).AsTask().WaitAsync(TestTimeout) == 1 && one[0] != '\n')
        {
            line.Append((char)one[0]);
        }

        return line.ToString().TrimEnd('\r');
    }

    // Live (not zombie) processes whose session id is sessionId.
    public static List<int> LiveSessionMembers(int sessionId) => [.. ProcFs.SessionMembers(sessionId).Select(m => m.Pid)];

    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TestTimeout, "condition not met in time");
            await Task.Delay(20);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (HostProcess process in _started)
        {
            await process.DisposeAsync();
        }

        foreach (int session in _sessions)
        {
            foreach (int pid in LiveSessionMembers(session))
            {
                LibC.Kill(pid, LibC.SigKill);
            }
        }
    }
}
