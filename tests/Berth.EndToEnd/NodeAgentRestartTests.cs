using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>An agent SIGKILLed and started again ends what its predecessor left running and runs the pod anew.</summary>
public sealed class NodeAgentRestartTests
{
    [Fact]
    public async Task AgentKilledAndRestarted_LeftoverProcessesEndedAndPodRestarted()
    {
        await using var cluster = await NodeAgentCluster.StartAsync();
        var ns = await cluster.NamespaceAsync();
        var marker = cluster.NewMarker();
        await cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: survivor}
            spec:
              containers:
              - name: app
                image: busybox
                command: [sh, -c, "echo started; sleep 1234575"]
                env:
            {{{MarkerEnv(marker, 4)}}}
            """);
        var before = await cluster.WaitForReadyPodAsync(ns, "survivor");
        var oldProcesses = ProcessesWith(marker);
        Assert.NotEmpty(oldProcesses);

        await cluster.KillAndRestartServerAsync();

        var after = await cluster.WaitForPodAsync(ns, "survivor", p => RestartCount(p, "app") == 1 && Condition(p, "Ready") == "True", "restartCount 1 and Ready");
        Assert.Equal(Str(before["status"]!["podIP"]), Str(after["status"]!["podIP"]));
        var last = ContainerStatus(after, "app")!["lastState"]!["terminated"]!;
        Assert.Equal(Str(ContainerStatus(before, "app")!["state"]!["running"]!["startedAt"]), Str(last["startedAt"]));
        Assert.NotEqual("", Str(last["finishedAt"]));

        // The old processes were ended; what carries the marker now is the new instance only.
        var now = ProcessesWith(marker);
        Assert.Empty(now.Intersect(oldProcesses));
        Assert.NotEmpty(now);
        var log = cluster.Server.Output;
        Assert.Contains($"left running by a previous agent", log);
        Assert.Matches($@"ended process \d+ \(pod {ns}/survivor, container app\) left running by a previous agent", log);

        await cluster.Kubectl.OkAsync($"delete pod survivor -n {ns} --grace-period=1 --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }
}
