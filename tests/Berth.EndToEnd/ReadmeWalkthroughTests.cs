using System.Diagnostics;
using Xunit.Abstractions;

namespace Berth.EndToEnd;

/// <summary>
/// README.md's walkthrough, run as written against `berth up -f examples/kiada`: every command must exit 0, and the
/// commands themselves check what the walkthrough claims (`test ... &amp;&amp; echo`, `grep`, `diff`), so a README
/// that drifts from what Berth does fails here.
/// </summary>
/// <remarks>
/// berth runs from the repository root as the README's first command does, but it is the binary built with these
/// tests, on a temp data dir and the test's own address blocks (the commands never hard-code an address), so the
/// README's `export KUBECONFIG=$PWD/.berth/kubeconfig` stays outside the walkthrough's markers and the commands get
/// the kubeconfig berth up printed instead, with a fresh HOME (no kubectl cache, no ~/.digrc).
/// </remarks>
public sealed class ReadmeWalkthroughTests(ITestOutputHelper output)
{
    // What the README tells a reader to run first; this test starts the same thing from the test build.
    private const string UpCommand = "dotnet run --project src/Berth -- up -f examples/kiada";

    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(60);

    [RootFact("the README's walkthrough is for root: Services on port 80, the cluster DNS on port 53, pods' own resolv.conf")]
    public async Task Walkthrough_AgainstBerthUpOfKiada_EveryCommandSucceeds()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(TestDirectories.RepoRoot, "README.md"));
        Assert.True(readme.Contains(UpCommand, StringComparison.Ordinal), $"README.md no longer says `{UpCommand}`: start what it says in this test");
        var commands = ReadmeWalkthrough.Extract(readme);

        var watch = Stopwatch.StartNew();
        await using var up = BerthUp.Start("-f", "examples/kiada");
        var table = await up.WaitForReadyAsync(timeoutSeconds: 120);
        output.WriteLine($"berth up ready after {watch.Elapsed.TotalSeconds:0.0} s:\n{table}");

        var home = TestDirectories.Create("walkthrough-home");
        try
        {
            using var shell = new WalkthroughShell(TestDirectories.RepoRoot, new Dictionary<string, string>
            {
                ["HOME"] = home,
                ["KUBECONFIG"] = table.Kubeconfig,
            });
            foreach (var command in commands)
            {
                var started = watch.Elapsed;
                var result = await shell.RunAsync(command.Text, s_commandTimeout);
                output.WriteLine($"$ {command.Text}    # README line {command.Line}, {(watch.Elapsed - started).TotalSeconds:0.0} s\n{result.Stdout}{result.Stderr}");
                Assert.True(result is { ExitCode: 0, TimedOut: false },
                    $"README line {command.Line}: the walkthrough command\n{command.Text}\n{(result.TimedOut ? $"did not finish within {s_commandTimeout.TotalSeconds:0} s" : "failed")}: {result}\nberth's output:\n{up.Output}");
            }
        }
        finally
        {
            TestDirectories.Delete(home);
        }

        var (exitCode, stopping) = await up.InterruptAsync(timeoutSeconds: 30);
        Assert.True(exitCode == 0, $"berth up exited {exitCode} on SIGINT after the walkthrough; its output:\n{up.Output}");
        await up.AssertNothingLeftAsync();
        output.WriteLine($"stopped in {stopping.TotalSeconds:0.0} s; {commands.Count} commands, {watch.Elapsed.TotalSeconds:0.0} s in all");
    }
}

/// <summary>How the walkthrough is read out of the README and run: no server, only the text and bash.</summary>
public sealed class ReadmeWalkthroughExtractTests
{
    private static readonly Dictionary<string, string> s_noEnvironment = [];

    [Fact]
    public void Extract_ShBlocksBetweenMarkers_OneCommandPerLineWithContinuationsAndHeredocs()
    {
        var readme = string.Join('\n',
            "# Title",                                           // 1
            "```sh",                                             // 2
            "echo before the walkthrough",                       // 3
            "```",                                               // 4
            "<!-- walkthrough:start -->",                        // 5
            "Some prose.",                                       // 6
            "```sh",                                             // 7
            "# a comment line is not a command",                 // 8
            "kubectl get pods",                                  // 9
            "",                                                  // 10
            "kubectl get svc \\",                                // 11
            "  -o wide   # a trailing comment stays",            // 12
            "kubectl apply -f - <<'EOF'",                        // 13
            "# inside a heredoc: not a comment",                 // 14
            "kind: Pod \\",                                      // 15
            "EOF",                                               // 16
            "grep x <<<\"$TEXT\"",                               // 17
            "```",                                               // 18
            "```text",                                           // 19
            "printed output, not a command",                     // 20
            "```",                                               // 21
            "  ```sh",                                           // 22
            "  cat <<-END | wc -l",                              // 23
            "\tone",                                             // 24
            "\tEND",                                             // 25
            "  ```",                                             // 26
            "<!-- walkthrough:end -->",                          // 27
            "```sh",                                             // 28
            "echo after the walkthrough",                        // 29
            "```");

        var commands = ReadmeWalkthrough.Extract(readme);

        Assert.Equal(
        [
            new WalkthroughCommand(9, "kubectl get pods"),
            new WalkthroughCommand(11, "kubectl get svc \\\n  -o wide   # a trailing comment stays"),
            new WalkthroughCommand(13, "kubectl apply -f - <<'EOF'\n# inside a heredoc: not a comment\nkind: Pod \\\nEOF"),
            new WalkthroughCommand(17, "grep x <<<\"$TEXT\""),
            new WalkthroughCommand(23, "  cat <<-END | wc -l\n\tone\n\tEND"),
        ], commands);
    }

    [Fact]
    public void SplitCommands_TwoHeredocsOnOneLineThenContinuation_BodiesInOrder()
    {
        // The first line opens A only; the line after A's body continues the command until B's body ends.
        var commands = ReadmeWalkthrough.SplitCommands(["diff - /dev/fd/3 <<A 3<<\"B\" \\", "  && echo same", "x", "A", "x", "B", "echo next"], firstLine: 1);

        Assert.Equal(
        [
            new WalkthroughCommand(1, "diff - /dev/fd/3 <<A 3<<\"B\" \\\n  && echo same\nx\nA\nx\nB"),
            new WalkthroughCommand(7, "echo next"),
        ], commands);
    }

    [Theory]
    [InlineData("no markers\n```sh\necho\n```", "expected one line '<!-- walkthrough:start -->', found 0")]
    [InlineData("<!-- walkthrough:start -->\n<!-- walkthrough:start -->\n<!-- walkthrough:end -->", "expected one line '<!-- walkthrough:start -->', found 2")]
    [InlineData("<!-- walkthrough:end -->\n<!-- walkthrough:start -->", "<!-- walkthrough:end --> (line 1) comes before")]
    [InlineData("<!-- walkthrough:start -->\n```sh\necho\n<!-- walkthrough:end -->\n```", "the code block opened on line 2 is not closed")]
    [InlineData("<!-- walkthrough:start -->\n```text\nout\n```\n<!-- walkthrough:end -->", "no ```sh block between")]
    [InlineData("<!-- walkthrough:start -->\n```sh\ncat <<EOF\nx\n```\n<!-- walkthrough:end -->", "README line 3: the heredoc is not closed by a line 'EOF'")]
    [InlineData("<!-- walkthrough:start -->\n```sh\necho \\\n```\n<!-- walkthrough:end -->", "README line 3: the command ends with a backslash")]
    public void Extract_Malformed_SaysWhat(string readme, string message)
    {
        var e = Assert.Throws<FormatException>(() => ReadmeWalkthrough.Extract(readme));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_VariablesSetByOneCommand_SeenByTheNext()
    {
        using var shell = new WalkthroughShell(Path.GetTempPath(), s_noEnvironment);

        var set = await shell.RunAsync("IP=$(echo 127.0.0.1)\nNAMES=(a 'b c')\nexport MODE=x", TimeSpan.FromSeconds(30));
        var use = await shell.RunAsync("echo \"$IP ${NAMES[1]} $MODE\" && bash -c 'echo child sees $MODE'", TimeSpan.FromSeconds(30));

        Assert.Equal(new ShellResult(0, "", "", false), set);
        Assert.Equal(new ShellResult(0, "127.0.0.1 b c x\nchild sees x\n", "", false), use);
    }

    [Fact]
    public async Task RunAsync_EnvironmentAndWorkingDirectory_AsGiven()
    {
        var dir = TestDirectories.Create("walkthrough-cwd");
        try
        {
            using var shell = new WalkthroughShell(dir, new Dictionary<string, string> { ["KUBECONFIG"] = "/k" });

            var result = await shell.RunAsync("echo \"$PWD $KUBECONFIG\"", TimeSpan.FromSeconds(30));

            Assert.Equal(new ShellResult(0, $"{dir} /k\n", "", false), result);
        }
        finally
        {
            TestDirectories.Delete(dir);
        }
    }

    [Theory]
    [InlineData("false; echo not reached", 1, "")]
    [InlineData("echo x | false | cat", 1, "")]
    [InlineData("test a = b && echo same", 1, "")]
    [InlineData("! echo found", 1, "found\n")]
    [InlineData("! grep x <<<\"y\"", 0, "")]
    [InlineData("cat <<'EOF'\n$HOME is not expanded\nEOF", 0, "$HOME is not expanded\n")]
    [InlineData("echo $UNSET", 1, "")]
    public async Task RunAsync_ExitCode_IsTheLastPipelines(string command, int exitCode, string stdout)
    {
        using var shell = new WalkthroughShell(Path.GetTempPath(), s_noEnvironment);

        var result = await shell.RunAsync(command, TimeSpan.FromSeconds(30));

        Assert.Equal((exitCode, stdout, false), (result.ExitCode, result.Stdout, result.TimedOut));
    }

    [Fact]
    public async Task RunAsync_CommandOutlivesTimeout_KilledAndReported()
    {
        using var shell = new WalkthroughShell(Path.GetTempPath(), s_noEnvironment);

        var result = await shell.RunAsync("echo started; sleep 600", TimeSpan.FromMilliseconds(500));

        Assert.True(result.TimedOut, result.ToString());
        Assert.Equal("started\n", result.Stdout);
    }
}
