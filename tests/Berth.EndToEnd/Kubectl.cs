using System.Diagnostics;
using System.Text;

namespace Berth.EndToEnd;

public sealed record KubectlResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// The real kubectl with a fresh HOME and discovery cache per instance, so no test sees another's cache.
/// </summary>
public sealed class Kubectl : IDisposable
{
    private readonly string _kubeconfig;
    private readonly string _home;

    public Kubectl(string kubeconfig)
    {
        _kubeconfig = kubeconfig;
        _home = TestDirectories.Create("kubectl-home");
    }

    public async Task<KubectlResult> RunAsync(string args, string? stdin = null, int timeoutSeconds = 60)
    {
        using var process = Process.Start(StartInfo(args, stdin is not null)) ?? throw new InvalidOperationException("kubectl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl {args} did not finish in {timeoutSeconds}s");
        }
        return new KubectlResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Runs and asserts success, returning stdout.</summary>
    public async Task<string> OkAsync(string args, string? stdin = null)
    {
        var result = await RunAsync(args, stdin).ConfigureAwait(false);
        Assert.True(result.ExitCode == 0, $"kubectl {args} failed: {result}");
        return result.Stdout;
    }

    /// <summary>Starts a long-running kubectl (e.g. get -w) whose output is collected until it is killed.</summary>
    public KubectlStream Start(string args) => new(Process.Start(StartInfo(args, redirectStdin: false)) ?? throw new InvalidOperationException("kubectl did not start"));

    private ProcessStartInfo StartInfo(string args, bool redirectStdin)
    {
        var psi = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
        };
        psi.Environment["HOME"] = _home;
        psi.Environment["KUBECONFIG"] = _kubeconfig;
        psi.ArgumentList.Add("--cache-dir");
        psi.ArgumentList.Add(Path.Combine(_home, "cache"));
        foreach (var arg in SplitArgs(args))
        {
            psi.ArgumentList.Add(arg);
        }
        return psi;
    }

    // Splits on spaces, honouring single and double quotes (enough for test command lines).
    private static List<string> SplitArgs(string args)
    {
        var result = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var any = false;
        foreach (var c in args)
        {
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                any = true;
            }
            else if (c == ' ')
            {
                if (current.Length > 0 || any)
                {
                    result.Add(current.ToString());
                    current.Clear();
                    any = false;
                }
            }
            else
            {
                current.Append(c);
            }
        }
        if (current.Length > 0 || any)
        {
            result.Add(current.ToString());
        }
        return result;
    }

    public void Dispose() => TestDirectories.Delete(_home);
}

/// <summary>A running kubectl whose output accumulates; killed on dispose.</summary>
public sealed class KubectlStream : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();

    public KubectlStream(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stdout)
                {
                    _stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>Waits until the output satisfies the condition (bounded), returning the output.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> condition, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (DateTime.UtcNow < deadline)
        {
            var output = Output;
            if (condition(output))
            {
                return output;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"kubectl output never matched; got:\n{Output}");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
