using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>kubectl logs and kubectl exec through the API server to the node agent.</summary>
public sealed class NodeAgentLogsExecTests : IClassFixture<NodeAgentFixture>
{
    private readonly NodeAgentCluster _cluster;

    public NodeAgentLogsExecTests(NodeAgentFixture fixture) => _cluster = fixture.Cluster;

    [Fact]
    public async Task KubectlLogs_PlainTailContainerPreviousAndFollow()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: talker}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: lines
                image: busybox
                command: [sh, -c, "echo oops >&2; sleep 0.3; echo one; echo two; echo three; exec sleep 1234571"]
                env:
            {{{MarkerEnv(marker, 4)}}}
              - name: ticker
                image: busybox
                command: [sh, -c, "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.5; done"]
                env:
            {{{MarkerEnv(marker, 4)}}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: restarter}
            spec:
              containers:
              - name: app
                image: busybox
                command: [sh, -c, "echo run at $(date +%s%N); sleep 1; exit 1"]
                env:
            {{{MarkerEnv(marker, 4)}}}
            """);
        await _cluster.WaitForReadyPodAsync(ns, "talker");
        var kubectl = _cluster.Kubectl;

        string plain = "";
        await WaitForAsync(async () => (plain = await kubectl.OkAsync($"logs talker -c lines -n {ns}")).Contains("three", StringComparison.Ordinal),
            () => $"all three lines; got {plain}", 15);
        // stdout and stderr, as written.
        Assert.Equal("oops\none\ntwo\nthree\n", plain);
        Assert.Equal("three\n", await kubectl.OkAsync($"logs talker -c lines -n {ns} --tail=1"));

        // Two containers: without -c kubectl picks the first and says so.
        var noContainer = await kubectl.RunAsync($"logs talker -n {ns}");
        Assert.Equal(0, noContainer.ExitCode);
        Assert.Equal(plain, noContainer.Stdout);
        Assert.Contains("Defaulted container \"lines\" out of: lines, ticker", noContainer.Stderr);
        Assert.Matches(@"^tick \d+\n", await kubectl.OkAsync($"logs talker -c ticker -n {ns} --tail=1"));

        // -f streams lines written after it started.
        using (var follow = kubectl.Start($"logs -f talker -c ticker -n {ns} --tail=1"))
        {
            var first = await follow.WaitForAsync(o => o.Contains('\n', StringComparison.Ordinal), 30);
            var start = int.Parse(first.Split('\n')[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            await follow.WaitForAsync(o => o.Contains($"tick {start + 2}\n", StringComparison.Ordinal), 30);
        }

        // --previous: the instance before the restart.
        await _cluster.WaitForPodAsync(ns, "restarter", p => RestartCount(p, "app") >= 1, "a restart");
        var previous = await kubectl.OkAsync($"logs restarter -n {ns} --previous");
        Assert.Matches(@"^run at \d+\n$", previous);
        var current = "";
        await WaitForAsync(async () => (current = (await kubectl.RunAsync($"logs restarter -n {ns}")).Stdout) != previous && current.Length > 0,
            () => $"the current instance's own log (previous: {previous}, current: {current})", 30);
        Assert.Matches(@"^run at \d+\n$", current);

        await kubectl.OkAsync($"delete pod talker restarter -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }

    [Fact]
    public async Task KubectlLogs_Deployment_PicksAPodOfItsSelector()
    {
        // kubectl resolves deployment/x itself (GET the Deployment, list pods by its selector), so a pod that
        // carries the Deployment's labels is enough here; the ReplicaSet controller (issue 5) is not needed.
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 0
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers:
                  - {name: app, image: busybox, command: [sleep, "1"]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-1, labels: {app: web}}
            spec:
              containers:
              - name: app
                image: busybox
                command: [sh, -c, "echo hello from web-1; exec sleep 1234579"]
                env:
            {{{MarkerEnv(marker, 4)}}}
            """);
        await _cluster.WaitForReadyPodAsync(ns, "web-1");
        var logs = "";
        await WaitForAsync(async () => (logs = (await _cluster.Kubectl.RunAsync($"logs deployment/web -n {ns}")).Stdout).Length > 0,
            () => $"the pod's log through deployment/web; got {logs}", 30);
        Assert.Equal("hello from web-1\n", logs);
    }

    [Fact]
    public async Task KubectlExec_OutputExitCodeStdinEnvWorkingDirAndTty()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        var workDir = _cluster.TempDir("berth-exec");
        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: shell}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: app
                image: busybox
                command: [sleep, "1234572"]
                workingDir: {{{workDir}}}
                env:
                - {name: FAVOURITE, value: "green tea"}
            {{{MarkerEnv(marker, 4)}}}
            """);
        await _cluster.WaitForReadyPodAsync(ns, "shell");
        var kubectl = _cluster.Kubectl;

        var result = await kubectl.RunAsync($"exec shell -n {ns} -- sh -c 'echo out; echo err >&2; exit 3'");
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("out\n", result.Stdout);
        Assert.Contains("err\n", result.Stderr);
        Assert.Contains("command terminated with exit code 3", result.Stderr);

        Assert.Equal("hi\n", await kubectl.OkAsync($"exec -i shell -n {ns} -- cat", "hi\n"));
        Assert.Equal("green tea\n", await kubectl.OkAsync($"exec shell -n {ns} -- sh -c 'echo $FAVOURITE'"));
        Assert.Equal(workDir + "\n", await kubectl.OkAsync($"exec shell -n {ns} -- pwd"));

        var missing = await kubectl.RunAsync($"exec shell -n {ns} -- no-such-binary-here");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("executable file not found in $PATH", missing.Stderr);

        // -t needs a terminal on kubectl's side: util-linux script gives it one.
        using var script = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("script")
        {
            ArgumentList = { "-qc", $"kubectl --kubeconfig {_cluster.Server.KubeconfigPath} exec -it shell -n {ns} -- tty", "/dev/null" },
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        })!;
        var tty = script.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await script.WaitForExitAsync(timeout.Token);
        Assert.Matches(@"/dev/pts/\d+", await tty);

        await kubectl.OkAsync($"delete pod shell -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }
}
