using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// A program the proxy bench starts next to the proxies (nginx, HAProxy, the bulk client): output kept, stopped by
/// its PID, and killed when the benchmark exits for any reason, so nothing outlives the run.
/// </summary>
internal sealed class ToolProcess : IAsyncDisposable
{
    private const int Sigterm = 15;
    private const int ScClkTck = 2;

    private static readonly ConcurrentDictionary<int, Process> s_live = new();
    private static readonly Lazy<long> s_clockTicks = new(() => SysConf(ScClkTck) is > 0 and var hz ? hz : 100);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    static ToolProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in s_live.Values)
            {
                KillTree(process);
            }
        };
    }

    private ToolProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ToolProcess Start(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        var raw = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        s_live[raw.Id] = raw;
        var tool = new ToolProcess(raw, Path.GetFileName(file));
        raw.OutputDataReceived += (_, e) => tool.OnLine(e.Data);
        raw.ErrorDataReceived += (_, e) => tool.OnLine(e.Data);
        raw.BeginOutputReadLine();
        raw.BeginErrorReadLine();
        return tool;
    }

    /// <summary>Runs a program to its end (bounded by <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken ct)
    {
        await using var tool = Start(file, args);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await tool._process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"`{file} {string.Join(' ', args)}` did not finish within {timeout.TotalSeconds:F0} s:\n{tool.Output}");
        }
        return (tool._process.ExitCode, tool.Output);
    }

    /// <summary>Waits until something accepts TCP connections on <paramref name="endPoint"/>; throws if the process exits first.</summary>
    public async Task WaitForListenerAsync(IPEndPoint endPoint, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before listening on {endPoint}:\n{Output}");
            }
            using (var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
            {
                try
                {
                    await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
                    return;
                }
                catch (SocketException) when (Stopwatch.GetTimestamp() < deadline)
                {
                    // Not listening yet.
                }
                catch (SocketException e)
                {
                    throw new TimeoutException($"{Name} was not listening on {endPoint} within {timeout.TotalSeconds:F0} s ({e.Message}):\n{Output}");
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), ct).ConfigureAwait(false);
        }
    }

    /// <summary>CPU time (user + system) of the process and of its children now running (nginx's workers), from /proc.</summary>
    public TimeSpan CpuTimeWithChildren() => CpuTime(Pid) + ProcFacts.Children(Pid).Aggregate(TimeSpan.Zero, (sum, child) => sum + CpuTime(child.Pid));

    /// <summary>utime + stime of one process; zero once it is gone.</summary>
    public static TimeSpan CpuTime(int pid) => ProcFacts.Stat(pid) is { } fields
        ? TimeSpan.FromSeconds((double)(long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / s_clockTicks.Value)
        : TimeSpan.Zero;

    /// <summary>SIGTERM, then SIGKILL of the whole tree if it has not stopped within the grace period.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, Sigterm);
            using var wait = new CancellationTokenSource(grace);
            try
            {
                await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                KillTree(_process);
                await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        s_live.TryRemove(_process.Id, out _);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            // Bounded: a chatty tool must not grow the benchmark's memory over a long run.
            if (_output.Length > 64 * 1024)
            {
                _output.Remove(0, 32 * 1024);
            }
            _output.AppendLine(line);
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    private static extern long SysConf(int name);
}
