using System.Diagnostics;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>Graceful deletion (preStop, SIGTERM, grace period, SIGKILL) and init containers.</summary>
public sealed class NodeAgentLifecycleTests : IClassFixture<NodeAgentFixture>
{
    private readonly NodeAgentCluster _cluster;

    public NodeAgentLifecycleTests(NodeAgentFixture fixture) => _cluster = fixture.Cluster;

    [Fact]
    public async Task DeletePod_PreStopRunsAndDelaysDeletion_NoProcessLeft()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        var dir = _cluster.TempDir("berth-prestop");
        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: hooked}
            spec:
              containers:
              - name: app
                image: busybox
                command: [sleep, "1234573"]
                env:
            {{{MarkerEnv(marker, 4)}}}
                lifecycle:
                  preStop:
                    exec:
                      command: [sh, -c, "echo ran in $PWD > {{{dir}}}/prestop; sleep 3"]
            """);
        await _cluster.WaitForReadyPodAsync(ns, "hooked");
        Assert.NotEmpty(ProcessesWith(marker));

        var watch = Stopwatch.StartNew();
        await _cluster.Kubectl.OkAsync($"delete pod hooked -n {ns} --timeout=60s");
        var took = watch.Elapsed;
        Assert.True(took >= TimeSpan.FromSeconds(2.5) && took < TimeSpan.FromSeconds(20), $"deletion took {took}: the 3 s preStop should delay it, the 30 s grace period should not be used up");
        Assert.Equal("ran in /\n", await File.ReadAllTextAsync(Path.Combine(dir, "prestop")));
        await AssertNoProcessesAsync(marker, 5);
        await _cluster.WaitForEventAsync(ns, "hooked", "Killing", m => m == "Stopping container app", "the stop", 10);
    }

    [Fact]
    public async Task DeletePod_ContainerIgnoresSigterm_KilledAfterGracePeriod()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: stubborn}
            spec:
              terminationGracePeriodSeconds: 4
              containers:
              - name: app
                image: busybox
                command: [sh, -c, "trap '' TERM; echo trapped; sleep 1234574"]
                env:
            {{{MarkerEnv(marker, 4)}}}
            """);
        await _cluster.WaitForReadyPodAsync(ns, "stubborn");
        await WaitForAsync(async () => (await _cluster.Kubectl.OkAsync($"logs stubborn -n {ns}")).Contains("trapped", StringComparison.Ordinal), () => "the trap to be set", 15);

        var watch = Stopwatch.StartNew();
        await _cluster.Kubectl.OkAsync($"delete pod stubborn -n {ns} --timeout=60s");
        var took = watch.Elapsed;
        Assert.True(took >= TimeSpan.FromSeconds(3.5) && took < TimeSpan.FromSeconds(20), $"deletion took {took}, not about the 4 s grace period");
        await AssertNoProcessesAsync(marker, 5);
        await _cluster.WaitForEventAsync(ns, "stubborn", "Killing", m => m == "Stopping container app", "the stop", 10);
    }

    [Fact]
    public async Task InitContainers_RunInOrderBeforeContainers_FailingOneFailsNeverPod()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        var dir = _cluster.TempDir("berth-init");
        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: ordered}
            spec:
              terminationGracePeriodSeconds: 2
              initContainers:
              - {name: first, image: busybox, command: [sh, -c, "sleep 0.5; echo first >> {{{dir}}}/order"]}
              - {name: second, image: busybox, command: [sh, -c, "echo second >> {{{dir}}}/order"]}
              containers:
              - name: app
                image: busybox
                command: [sh, -c, "echo app >> {{{dir}}}/order; exec sleep 1234576"]
                env:
            {{{MarkerEnv(marker, 4)}}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: badinit}
            spec:
              restartPolicy: Never
              initContainers:
              - {name: broken, image: busybox, command: [sh, -c, "exit 2"]}
              containers:
              - {name: app, image: busybox, command: [sh, -c, "echo app >> {{{dir}}}/never"]}
            """);

        var pod = await _cluster.WaitForReadyPodAsync(ns, "ordered");
        await WaitForAsync(() => Task.FromResult(File.Exists(Path.Combine(dir, "order")) && File.ReadAllText(Path.Combine(dir, "order")).Contains("app", StringComparison.Ordinal)), () => "the app line", 10);
        Assert.Equal("first\nsecond\napp\n", await File.ReadAllTextAsync(Path.Combine(dir, "order")));
        foreach (var init in new[] { "first", "second" })
        {
            var terminated = ContainerStatus(pod, init, init: true)!["state"]!["terminated"]!;
            Assert.Equal(0, terminated["exitCode"]!.GetValue<int>());
            Assert.Equal("Completed", Str(terminated["reason"]));
        }
        Assert.Equal("True", Condition(pod, "Initialized"));

        var bad = await _cluster.WaitForPodAsync(ns, "badinit", p => Phase(p) == "Failed", "phase Failed");
        var broken = ContainerStatus(bad, "broken", init: true)!["state"]!["terminated"]!;
        Assert.Equal(2, broken["exitCode"]!.GetValue<int>());
        Assert.Equal("Error", Str(broken["reason"]));
        Assert.Matches(@"badinit\s+0/1\s+Init:Error\s+0", await _cluster.Kubectl.OkAsync($"get pods -n {ns}"));
        Assert.False(File.Exists(Path.Combine(dir, "never")), "the app container of a pod whose init container failed ran");

        await _cluster.Kubectl.OkAsync($"delete pod ordered -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }
}
