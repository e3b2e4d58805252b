using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>
/// The real `berth up` binary, started from the repository root (the examples' pods have a workingDir relative to
/// it) in a session of its own, on a temp data dir with the test's own address blocks (<see cref="AddressBlocks"/>,
/// as <see cref="BerthServer"/> gets them). It collects berth's output, reads the Service table `berth up` prints
/// once everything is ready, stops berth with SIGINT as Ctrl+C does, and remembers berth's descendants and their
/// process groups beforehand, so a test can prove that none outlived it. Dispose SIGKILLs whatever of that is still
/// there and removes the data dir, also when a test fails.
/// </summary>
public sealed partial class BerthUp : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _stderr = new();
    private readonly Dictionary<(int Pid, ulong StartTime), ProcessEntry> _recorded = [];

    private BerthUp(Process process, string dataDir)
    {
        _process = process;
        DataDir = dataDir;
    }

    public string DataDir { get; }

    public string KubeconfigPath => Path.Combine(DataDir, "kubeconfig");

    public int ProcessId => _process.Id;

    /// <summary>Both streams, interleaved as they arrived.</summary>
    public string Output => Read(_output);

    public string Stdout => Read(_stdout);

    public string Stderr => Read(_stderr);

    /// <summary>The descendants <see cref="RecordDescendants"/> saw, by PID.</summary>
    public IReadOnlyCollection<ProcessEntry> Recorded
    {
        get
        {
            lock (_recorded)
            {
                return [.. _recorded.Values];
            }
        }
    }

    /// <summary>
    /// Starts `berth up` with these arguments (its -f paths relative to the repository root) and returns at once:
    /// the caller waits for <see cref="WaitForReadyAsync"/> or <see cref="WaitForExitAsync"/>.
    /// </summary>
    public static BerthUp Start(params string[] upArgs)
    {
        var dataDir = TestDirectories.Create("berth-up");
        // env and setsid exec in place (a child of ours is no process group leader, so setsid need not fork): the
        // process started is berth itself, leading its own session and group like a shell's foreground job, and a
        // test's group check can never match the test host's own group. SIGINT is set back to its default as a
        // terminal's foreground job has it: a test run started in the background inherits it ignored (POSIX shells
        // ignore SIGINT for background jobs), and berth keeps an ignored SIGINT ignored, as programs should.
        var psi = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestDirectories.RepoRoot,
        };
        string[] args = ["--default-signal=INT", "setsid", Binaries.Berth, "up", .. upArgs, "--data-dir", dataDir, "--api-port", "0", "--kubelet-port", "0", .. BerthServer.AddressingArgs(dataDir, upArgs)];
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("could not start berth up");
        }
        catch
        {
            TestDirectories.Delete(dataDir);
            throw;
        }
        var up = new BerthUp(process, dataDir);
        process.OutputDataReceived += (_, e) => up.OnLine(e.Data, up._stdout);
        process.ErrorDataReceived += (_, e) => up.OnLine(e.Data, up._stderr);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return up;
    }

    /// <summary>
    /// Waits (bounded) for `berth: ready in N.N s` and the complete Service table after it, failing with berth's
    /// output if berth exits first, the time runs out or the table does not have the contract's shape.
    /// </summary>
    public async Task<ServiceTable> WaitForReadyAsync(int timeoutSeconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            ServiceTable? table;
            try
            {
                table = ReadyLine().IsMatch(Output) ? ServiceTable.TryParse(Stdout) : null;
            }
            catch (FormatException e)
            {
                throw new Xunit.Sdk.XunitException($"berth up printed a Service table not of the contract's shape: {e.Message}\nberth's output:\n{Output}");
            }
            if (table is not null)
            {
                return table;
            }
            Assert.False(_process.HasExited, $"berth up exited (code {ExitCodeOrNone()}) before it was ready; its output:\n{Output}");
            Assert.True(DateTime.UtcNow < deadline, $"berth up was not ready (`berth: ready in` and the Service table) after {timeoutSeconds}s; its output:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits (bounded) for berth to exit by itself, returning its exit code.</summary>
    public async Task<int> WaitForExitAsync(int timeoutSeconds)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"berth up did not exit within {timeoutSeconds}s; its output:\n{Output}");
        }
        // The exit can be seen before the last lines are read: WaitForExit without a timeout drains the streams.
        await _process.WaitForExitAsync();
        return _process.ExitCode;
    }

    /// <summary>
    /// Records berth's live descendants (children such as pods' processes and theirs), then sends SIGINT to berth's
    /// PID alone and waits (bounded) for it to exit, returning its exit code and how long it took.
    /// </summary>
    public async Task<(int ExitCode, TimeSpan Elapsed)> InterruptAsync(int timeoutSeconds)
    {
        Assert.False(_process.HasExited, $"berth up had exited (code {ExitCodeOrNone()}) before SIGINT; its output:\n{Output}");
        RecordDescendants();
        var watch = Stopwatch.StartNew();
        await SignalAsync("INT", _process.Id);
        var code = await WaitForExitAsync(timeoutSeconds);
        return (code, watch.Elapsed);
    }

    /// <summary>Adds berth's descendants as they are now to <see cref="Recorded"/>.</summary>
    public void RecordDescendants()
    {
        var table = ProcessEntry.Snapshot();
        Assert.True(table.TryGetValue(_process.Id, out var berth) && berth.Group == _process.Id,
            $"berth (PID {_process.Id}) is not the leader of its own process group: {(table.TryGetValue(_process.Id, out var seen) ? seen : "gone")}");
        Record(table);
    }

    /// <summary>
    /// After berth has exited: waits briefly (bounded; a process SIGKILLed at the very end can take a moment to be
    /// torn down) until no recorded descendant is alive, no live process is in berth's group or a recorded one,
    /// and no process has the data dir on its command line; fails naming whatever is left.
    /// </summary>
    public async Task AssertNothingLeftAsync(int timeoutSeconds = 3)
    {
        Assert.True(_process.HasExited, "berth up is still running");
        var groups = Groups();
        List<string> left = [];
        await WaitForAsync(() =>
        {
            var now = ProcessEntry.Snapshot();
            left =
            [
                .. Recorded.Where(r => ProcessEntry.IsAlive(now, r)).Select(r => $"recorded descendant {Describe(r.Pid)}"),
                .. now.Values.Where(p => p.State is not ('Z' or 'X') && groups.Contains(p.Group)).Select(p => $"in group {p.Group}: {Describe(p.Pid)}"),
                .. WithCommandLine(DataDir).Select(pid => $"data dir on its command line: {Describe(pid)}"),
            ];
            return Task.FromResult(left.Count == 0);
        }, () => $"no process left after berth up exited; left:\n{string.Join('\n', left.Distinct())}\n"
            + $"recorded before stopping: {string.Join(", ", Recorded.Select(r => $"{r.Pid} (group {r.Group})"))}\nberth's output:\n{Output}", timeoutSeconds);
    }

    public Kubectl Kubectl() => new(KubeconfigPath);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Record(ProcessEntry.Snapshot());
            _process.Kill(entireProcessTree: true);
        }
        // Pods run in sessions of their own; whatever of them berth left behind is ended by group and by PID.
        foreach (var group in Groups())
        {
            await SignalAsync("KILL", -group);
        }
        var now = ProcessEntry.Snapshot();
        foreach (var entry in Recorded.Where(r => ProcessEntry.IsAlive(now, r)))
        {
            await SignalAsync("KILL", entry.Pid);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
        TestDirectories.Delete(DataDir);
    }

    // Berth's own group and those of its recorded descendants, never the test host's.
    private HashSet<int> Groups()
    {
        var own = ProcessEntry.Snapshot().TryGetValue(Environment.ProcessId, out var self) ? self.Group : -1;
        HashSet<int> groups = [_process.Id, .. Recorded.Select(r => r.Group)];
        groups.Remove(own);
        return groups;
    }

    private void Record(Dictionary<int, ProcessEntry> table)
    {
        lock (_recorded)
        {
            foreach (var entry in ProcessEntry.Descendants(table, _process.Id))
            {
                _recorded[(entry.Pid, entry.StartTime)] = entry;
            }
        }
    }

    private static async Task SignalAsync(string signal, int target)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", "--", target.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("kill did not start");
        // A target already gone is fine here: the exit code is not the point.
        await kill.StandardError.ReadToEndAsync();
        await kill.WaitForExitAsync();
    }

    /// <summary>Live processes whose command line contains the text (not their environment: the tests' kubectl has the data dir there).</summary>
    private static List<int> WithCommandLine(string text)
    {
        var found = new List<int>();
        foreach (var entry in ProcessEntry.Snapshot().Values.Where(p => p.State is not ('Z' or 'X') && p.Pid != Environment.ProcessId))
        {
            try
            {
                if (Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{entry.Pid}/cmdline")).Contains(text, StringComparison.Ordinal))
                {
                    found.Add(entry.Pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }

    private string ExitCodeOrNone() => _process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "none";

    private void OnLine(string? line, StringBuilder stream)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
            stream.AppendLine(line);
        }
    }

    private string Read(StringBuilder builder)
    {
        lock (_output)
        {
            return builder.ToString();
        }
    }

    [GeneratedRegex(@"^berth: ready in \d+(\.\d+)? s$", RegexOptions.Multiline)]
    private static partial Regex ReadyLine();
}

/// <summary>One process as /proc/PID/stat shows it; the start time tells a PID reused by another process apart.</summary>
public sealed record ProcessEntry(int Pid, int ParentPid, int Group, ulong StartTime, char State)
{
    /// <summary>Every process now, by PID.</summary>
    public static Dictionary<int, ProcessEntry> Snapshot()
    {
        var table = new Dictionary<int, ProcessEntry>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // The command name in parentheses may hold spaces and parentheses: fields are counted after the last ')'.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                table[pid] = new ProcessEntry(pid,
                    int.Parse(fields[1], CultureInfo.InvariantCulture),
                    int.Parse(fields[2], CultureInfo.InvariantCulture),
                    ulong.Parse(fields[19], CultureInfo.InvariantCulture),
                    fields[0][0]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return table;
    }

    /// <summary>The live (not zombie) descendants of a process, children first.</summary>
    public static List<ProcessEntry> Descendants(Dictionary<int, ProcessEntry> table, int root)
    {
        var children = table.Values.ToLookup(p => p.ParentPid);
        var found = new List<ProcessEntry>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children[pid])
            {
                if (child.State is not ('Z' or 'X'))
                {
                    found.Add(child);
                }
                queue.Enqueue(child.Pid);
            }
        }
        return found;
    }

    /// <summary>Whether this very process (same PID and start time) still runs in the table.</summary>
    public static bool IsAlive(Dictionary<int, ProcessEntry> table, ProcessEntry entry) =>
        table.TryGetValue(entry.Pid, out var now) && now.StartTime == entry.StartTime && now.State is not ('Z' or 'X');
}

/// <summary>One row of the table `berth up` prints: each cell as printed, `-` when empty.</summary>
public sealed record ServiceRow(string Service, string Type, string ClusterIP, string NodePort, string LoadBalancer, string Dns);

/// <summary>
/// The Service table `berth up` prints on stdout once ready: the header, one row per Service (cells without
/// spaces, separated by two or more spaces), then `export KUBECONFIG=PATH` on its own line.
/// </summary>
public sealed record ServiceTable(IReadOnlyList<ServiceRow> Rows, string Kubeconfig)
{
    private static readonly string[] s_header = ["SERVICE", "TYPE", "CLUSTER-IP", "NODEPORT", "LOADBALANCER", "DNS"];

    public ServiceRow Row(string service) =>
        Rows.SingleOrDefault(r => r.Service == service) ?? throw new Xunit.Sdk.XunitException($"no row for {service} in the table:\n{this}");

    /// <summary>The table from berth's stdout, or null while it is not complete; a malformed one is a FormatException.</summary>
    public static ServiceTable? TryParse(string stdout)
    {
        // Blank lines carry nothing (and the text ends with one when it ends with a newline).
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        var header = lines.FindIndex(l => l.StartsWith("SERVICE ", StringComparison.Ordinal));
        if (header < 0)
        {
            return null;
        }
        if (!Cells(lines[header]).SequenceEqual(s_header))
        {
            throw new FormatException($"header `{lines[header]}`, expected the columns {string.Join(' ', s_header)}");
        }
        var rows = new List<ServiceRow>();
        foreach (var line in lines.Skip(header + 1))
        {
            if (line.StartsWith("export KUBECONFIG=", StringComparison.Ordinal))
            {
                return new ServiceTable(rows, line["export KUBECONFIG=".Length..]);
            }
            var cells = Cells(line);
            if (cells.Length != s_header.Length)
            {
                throw new FormatException($"row `{line}` does not have {s_header.Length} cells without spaces (or something else came between the table and the export line)");
            }
            rows.Add(new ServiceRow(cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]));
        }
        return null;
    }

    public override string ToString() => string.Join('\n', Rows.Select(r => string.Join("  ", r.Service, r.Type, r.ClusterIP, r.NodePort, r.LoadBalancer, r.Dns)));

    private static string[] Cells(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
