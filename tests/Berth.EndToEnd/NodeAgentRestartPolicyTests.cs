using System.Diagnostics;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>restartPolicy Never / OnFailure end the pod; Always restarts with crash-loop back-off.</summary>
public sealed class NodeAgentRestartPolicyTests : IClassFixture<NodeAgentFixture>
{
    private readonly NodeAgentCluster _cluster;

    public NodeAgentRestartPolicyTests(NodeAgentFixture fixture) => _cluster = fixture.Cluster;

    [Fact]
    public async Task RestartPolicy_NeverAndOnFailure_PodEndsFailedOrSucceeded()
    {
        var ns = await _cluster.NamespaceAsync();
        await _cluster.ApplyAsync(ns, """
            apiVersion: v1
            kind: Pod
            metadata: {name: never}
            spec:
              restartPolicy: Never
              containers:
              - {name: app, image: busybox, command: [sh, -c, "exit 3"]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: onfailure}
            spec:
              restartPolicy: OnFailure
              containers:
              - {name: app, image: busybox, command: [sh, -c, "exit 0"]}
            """);

        var never = await _cluster.WaitForPodAsync(ns, "never", p => Phase(p) == "Failed", "phase Failed");
        var terminated = ContainerStatus(never, "app")!["state"]!["terminated"]!;
        Assert.Equal(3, terminated["exitCode"]!.GetValue<int>());
        Assert.Equal("Error", Str(terminated["reason"]));
        Assert.Equal(0, RestartCount(never, "app"));
        Assert.Equal("False", Condition(never, "Ready"));

        var onFailure = await _cluster.WaitForPodAsync(ns, "onfailure", p => Phase(p) == "Succeeded", "phase Succeeded");
        terminated = ContainerStatus(onFailure, "app")!["state"]!["terminated"]!;
        Assert.Equal(0, terminated["exitCode"]!.GetValue<int>());
        Assert.Equal("Completed", Str(terminated["reason"]));
        Assert.Equal(0, RestartCount(onFailure, "app"));

        var table = await _cluster.Kubectl.OkAsync($"get pods -n {ns}");
        Assert.Matches(@"never\s+0/1\s+Error\s+0", table);
        Assert.Matches(@"onfailure\s+0/1\s+Completed\s+0", table);
    }

    [Fact]
    public async Task RestartPolicyAlways_CrashingContainer_CrashLoopBackOffWithGrowingRestarts()
    {
        var ns = await _cluster.NamespaceAsync();
        var created = Stopwatch.StartNew();
        await _cluster.ApplyAsync(ns, """
            apiVersion: v1
            kind: Pod
            metadata: {name: crash}
            spec:
              containers:
              - {name: app, image: busybox, command: [sh, -c, "echo crashing; exit 1"]}
            """);

        // Upstream restarts at once after the first exit, then backs off 10 s, 20 s, ...
        await _cluster.WaitForPodAsync(ns, "crash", p => RestartCount(p, "app") >= 1, "the first restart", 30);
        var firstRestart = created.Elapsed;
        Assert.True(firstRestart < TimeSpan.FromSeconds(8), $"the first restart came {firstRestart} after the pod was created: it was backed off");
        var looping = await _cluster.WaitForPodAsync(ns, "crash",
            p => Str(ContainerStatus(p, "app")?["state"]?["waiting"]?["reason"]) == "CrashLoopBackOff", "CrashLoopBackOff", 30);
        var uid = Str(looping["metadata"]!["uid"]);
        var waiting = ContainerStatus(looping, "app")!["state"]!["waiting"]!;
        Assert.Equal($"back-off 10s restarting failed container=app pod=crash_{ns}({uid})", Str(waiting["message"]));
        var last = ContainerStatus(looping, "app")!["lastState"]!["terminated"]!;
        Assert.Equal(1, last["exitCode"]!.GetValue<int>());
        Assert.Equal("Error", Str(last["reason"]));
        Assert.Equal("Running", Phase(looping));
        await _cluster.WaitForEventAsync(ns, "crash", "BackOff", m => m == $"Back-off restarting failed container app in pod crash_{ns}({uid})", "back-off", 15);

        await _cluster.WaitForPodAsync(ns, "crash", p => RestartCount(p, "app") >= 2, "the restart after the back-off", 40);
        var secondRestart = created.Elapsed;
        Assert.True(secondRestart - firstRestart >= TimeSpan.FromSeconds(8), $"second restart {secondRestart - firstRestart} after the first: no 10 s back-off");
        // Between a restart and the next exit the container runs and, without a readiness probe, is ready (1/1).
        Assert.Matches(@"crash\s+[01]/1\s+(CrashLoopBackOff|Error|Completed|Running)\s+[2-9]", await _cluster.Kubectl.OkAsync($"get pods -n {ns}"));
    }
}
