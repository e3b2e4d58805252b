using System.Diagnostics;
using System.Globalization;

namespace Berth.EndToEnd;

/// <summary>What a command run in a network namespace printed, and how it exited.</summary>
public sealed record ExecResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// A network namespace of the test's own (`ip netns add berth-e2e-RANDOM`), with `lo` up and the given addresses on
/// it. Traffic between its addresses never leaves it, so a test can use addresses that are not loopback (which the
/// machine would not let it send to otherwise). Disposal ends every process still inside, by PID, then deletes it.
/// </summary>
/// <remarks>Needs root and iproute2's `ip`; <see cref="CreateAsync"/> says so when either is missing.</remarks>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private int _disposed;

    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>The launcher that runs a command inside: `ip netns exec NAME` (it execs the command, no fork).</summary>
    public IReadOnlyList<string> Exec => ["ip", "netns", "exec", Name];

    /// <summary>Creates the namespace with these addresses (CIDR notation) on its `lo`; deleted again if that fails.</summary>
    public static async Task<NetworkNamespace> CreateAsync(params string[] loopbackAddresses)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                $"these tests need root: they create a network namespace (ip netns add) and run berth inside it; running as {Environment.UserName}");
        }
        var ip = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, "ip")).FirstOrDefault(File.Exists);
        if (ip is null)
        {
            throw new InvalidOperationException("these tests need iproute2's `ip` on PATH to create a network namespace (apt-get install iproute2)");
        }
        var netns = new NetworkNamespace("berth-e2e-" + Guid.NewGuid().ToString("N")[..12]);
        await IpAsync("netns", "add", netns.Name);
        try
        {
            await IpAsync("-n", netns.Name, "link", "set", "lo", "up");
            foreach (var address in loopbackAddresses)
            {
                await netns.AddAddressAsync(address);
            }
        }
        catch
        {
            await netns.DisposeAsync();
            throw;
        }
        return netns;
    }

    /// <summary>Adds an address (CIDR notation) to the namespace's `lo`.</summary>
    public Task AddAddressAsync(string address) => IpAsync("-n", Name, "address", "add", address, "dev", "lo");

    /// <summary>Runs a command inside the namespace; killed when it outlives the timeout.</summary>
    public Task<ExecResult> RunAsync(IEnumerable<string> command, string? stdin = null, int timeoutSeconds = 60) =>
        RunProcessAsync([.. Exec, .. command], stdin, timeoutSeconds);

    /// <summary>The PIDs of the processes inside the namespace (`ip netns pids`).</summary>
    public async Task<List<int>> ProcessesAsync()
    {
        var result = await RunProcessAsync(["ip", "netns", "pids", Name], null, 30);
        return result.ExitCode != 0 ? [] : [.. result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p.Trim(), CultureInfo.InvariantCulture))];
    }

    /// <summary>
    /// SIGKILLs whatever still runs inside (a namespace outlives its deletion while a process is in it), waits for
    /// them to be gone, then deletes the namespace. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<int> left;
        for (left = await ProcessesAsync(); left.Count > 0 && DateTime.UtcNow < deadline; left = await ProcessesAsync())
        {
            foreach (var pid in left)
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Already gone.
                }
            }
            await Task.Delay(100);
        }
        await IpAsync("netns", "delete", Name);
        if (left.Count > 0)
        {
            throw new InvalidOperationException($"network namespace {Name} deleted, but these processes in it survived SIGKILL: {string.Join(", ", left.Select(NodeAgentCluster.Describe))}");
        }
    }

    private static async Task IpAsync(params string[] args)
    {
        var result = await RunProcessAsync(["ip", .. args], null, 30);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed: {result}");
        }
    }

    private static async Task<ExecResult> RunProcessAsync(IReadOnlyList<string> command, string? stdin, int timeoutSeconds)
    {
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var arg in command.Skip(1))
        {
            psi.ArgumentList.Add(arg);
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{command[0]} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{string.Join(' ', command)} did not finish in {timeoutSeconds}s");
        }
        return new ExecResult(process.ExitCode, await stdout, await stderr);
    }
}
