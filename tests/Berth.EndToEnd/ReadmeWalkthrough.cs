using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.EndToEnd;

/// <summary>One command of the README's walkthrough: its text (continuation lines and heredoc bodies included) and the README line it starts on.</summary>
public sealed record WalkthroughCommand(int Line, string Text);

/// <summary>
/// Reads the walkthrough out of README.md so that a test can run it as written: the ```sh blocks between
/// <see cref="StartMarker"/> and <see cref="EndMarker"/>, split into commands the way a reader pastes them into a
/// shell (a line, plus the lines a trailing backslash or a heredoc pulls in; comment lines are skipped).
/// </summary>
public static partial class ReadmeWalkthrough
{
    public const string StartMarker = "<!-- walkthrough:start -->";
    public const string EndMarker = "<!-- walkthrough:end -->";

    private const string Fence = "```";

    /// <summary>The walkthrough's commands in order; a README without exactly one marked, well-formed walkthrough is an error.</summary>
    public static IReadOnlyList<WalkthroughCommand> Extract(string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var start = SingleLine(lines, StartMarker);
        var end = SingleLine(lines, EndMarker);
        if (end < start)
        {
            throw new FormatException($"README: {EndMarker} (line {end + 1}) comes before {StartMarker} (line {start + 1})");
        }
        var commands = new List<WalkthroughCommand>();
        for (var i = start + 1; i < end; i++)
        {
            var trimmed = lines[i].Trim();
            if (!trimmed.StartsWith(Fence, StringComparison.Ordinal))
            {
                continue;
            }
            var close = Array.FindIndex(lines, i + 1, end - i - 1, l => l.Trim() == Fence);
            if (close < 0)
            {
                throw new FormatException($"README: the code block opened on line {i + 1} is not closed before {EndMarker}");
            }
            // Only shell blocks are commands: a ```text block shows what a command prints.
            if (trimmed[Fence.Length..].Trim() == "sh")
            {
                commands.AddRange(SplitCommands(lines[(i + 1)..close], firstLine: i + 2));
            }
            i = close;
        }
        if (commands.Count == 0)
        {
            throw new FormatException($"README: no ```sh block between {StartMarker} and {EndMarker}");
        }
        return commands;
    }

    /// <summary>
    /// Splits a shell block into commands: blank and comment lines are skipped; a line ending in a backslash is
    /// joined with the next; a line that opens heredocs (&lt;&lt;WORD, &lt;&lt;'WORD', &lt;&lt;-WORD) takes their bodies up to
    /// each terminating WORD line. <paramref name="firstLine"/> is the README line number of the block's first line.
    /// </summary>
    public static IReadOnlyList<WalkthroughCommand> SplitCommands(IReadOnlyList<string> lines, int firstLine)
    {
        var commands = new List<WalkthroughCommand>();
        var i = 0;
        while (i < lines.Count)
        {
            var trimmed = lines[i].TrimStart();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                i++;
                continue;
            }
            var startLine = firstLine + i;
            var text = new StringBuilder();
            var terminators = new Queue<(string Word, bool StripTabs)>();
            while (true)
            {
                if (i >= lines.Count)
                {
                    throw new FormatException($"README line {startLine}: the command ends with a backslash and no next line");
                }
                var line = lines[i++];
                text.Append(line).Append('\n');
                foreach (Match heredoc in HeredocOperator().Matches(line))
                {
                    terminators.Enqueue((heredoc.Groups["word"].Value, heredoc.Groups["dash"].Success));
                }
                if (!line.EndsWith('\\'))
                {
                    break;
                }
            }
            while (terminators.TryDequeue(out var heredoc))
            {
                while (true)
                {
                    if (i >= lines.Count)
                    {
                        throw new FormatException($"README line {startLine}: the heredoc is not closed by a line '{heredoc.Word}'");
                    }
                    var line = lines[i++];
                    text.Append(line).Append('\n');
                    if ((heredoc.StripTabs ? line.TrimStart('\t') : line) == heredoc.Word)
                    {
                        break;
                    }
                }
            }
            commands.Add(new WalkthroughCommand(startLine, text.ToString().TrimEnd('\n')));
        }
        return commands;
    }

    private static int SingleLine(string[] lines, string marker)
    {
        var at = Enumerable.Range(0, lines.Length).Where(i => lines[i].Trim() == marker).ToList();
        return at.Count == 1
            ? at[0]
            : throw new FormatException($"README: expected one line '{marker}', found {at.Count}");
    }

    // << or <<- then the delimiter word, bare or quoted; not the here-string <<<.
    [GeneratedRegex(@"(?<![<])<<(?<dash>-)?\s*(?<q>['""]?)(?<word>[A-Za-z_][A-Za-z0-9_]*)\k<q>")]
    private static partial Regex HeredocOperator();
}

/// <summary>What one walkthrough command did.</summary>
public sealed record ShellResult(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public override string ToString() =>
        $"{(TimedOut ? "timed out" : $"exit {ExitCode}")}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// Runs walkthrough commands as a reader's shell would, each in its own `bash -euo pipefail -c` (so each has its
/// own exit code, output and timeout) with the shell variables that earlier commands set carried over (so `IP=$(...)`
/// in one command can be used in a later one). The exit code is that of the command's last pipeline, as `$?` in the
/// reader's shell, also when it is negated with `!` (which `set -e` ignores).
/// </summary>
public sealed class WalkthroughShell : IDisposable
{
    // Variables the command adds (not the environment's, not bash's own BASH*, not the wrapper's _*) are written as
    // `declare -p` lines to the state file that the next command sources first.
    private const string Prologue = """
        __walkthrough_baseline=" $(compgen -v | tr '\n' ' ') "
        . "$BERTH_WALKTHROUGH_STATE"

        """;

    private const string Epilogue = """

        __walkthrough_status=$?
        for __walkthrough_name in $(compgen -v); do
          case "$__walkthrough_baseline" in *" $__walkthrough_name "*) continue ;; esac
          case "$__walkthrough_name" in _*|BASH*) continue ;; esac
          declare -p "$__walkthrough_name"
        done > "$BERTH_WALKTHROUGH_STATE"
        exit "$__walkthrough_status"
        """;

    private readonly string _workingDirectory;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly string _stateDir;
    private readonly string _stateFile;

    /// <param name="workingDirectory">Where every command runs.</param>
    /// <param name="environment">Set for every command on top of this process's environment.</param>
    public WalkthroughShell(string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        _workingDirectory = workingDirectory;
        _environment = environment;
        _stateDir = TestDirectories.Create("walkthrough-shell");
        _stateFile = Path.Combine(_stateDir, "variables.sh");
        File.WriteAllText(_stateFile, "");
    }

    public async Task<ShellResult> RunAsync(string command, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("bash")
        {
            WorkingDirectory = _workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-euo", "pipefail", "-c", Prologue + command + Epilogue })
        {
            psi.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in _environment)
        {
            psi.Environment[name] = value;
        }
        psi.Environment["BERTH_WALKTHROUGH_STATE"] = _stateFile;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("bash did not start");
        // A reader's command does not read the terminal; one that tries gets end of input rather than hanging.
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        return new ShellResult(process.ExitCode, await stdout, await stderr, timedOut);
    }

    public void Dispose() => TestDirectories.Delete(_stateDir);
}
