using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>Readiness and liveness probes against a real pod process whose answers the test flips.</summary>
public sealed class NodeAgentProbeTests : IClassFixture<NodeAgentFixture>
{
    private readonly NodeAgentCluster _cluster;

    public NodeAgentProbeTests(NodeAgentFixture fixture) => _cluster = fixture.Cluster;

    [Fact]
    public async Task ReadinessProbe_FailsThenRecovers_ReadyConditionFollowsWithUnhealthyEvent()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, ProbedPod(marker, """
                readinessProbe:
                  httpGet: {path: /ready, port: 8080}
                  periodSeconds: 1
                  failureThreshold: 1
            """));
        var pod = await _cluster.WaitForReadyPodAsync(ns, "probed");
        var ip = Str(pod["status"]!["podIP"]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        (await http.PostAsync($"http://{ip}:8080/ready?ok=false", null)).EnsureSuccessStatusCode();
        pod = await _cluster.WaitForPodAsync(ns, "probed", p => Condition(p, "Ready") == "False", "Ready=False", 15);
        Assert.Equal("False", Condition(pod, "ContainersReady"));
        Assert.False(ContainerStatus(pod, "app")!["ready"]!.GetValue<bool>());
        Assert.Equal("Running", Phase(pod));
        await _cluster.WaitForEventAsync(ns, "probed", "Unhealthy", m => m == "Readiness probe failed: HTTP probe failed with statuscode: 503", "readiness failure", 15);

        (await http.PostAsync($"http://{ip}:8080/ready?ok=true", null)).EnsureSuccessStatusCode();
        pod = await _cluster.WaitForPodAsync(ns, "probed", p => Condition(p, "Ready") == "True", "Ready=True again", 15);
        Assert.Equal(0, RestartCount(pod, "app"));

        await _cluster.Kubectl.OkAsync($"delete pod probed -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }

    [Fact]
    public async Task LivenessProbe_Fails_ContainerKilledAndRestarted()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        // The debug test pod takes seconds to listen: the initial delay keeps liveness from killing it before
        // (a startup probe is the better tool, tested on its own below).
        await _cluster.ApplyAsync(ns, ProbedPod(marker, """
                livenessProbe:
                  httpGet: {path: /live, port: 8080}
                  initialDelaySeconds: 20
                  periodSeconds: 1
                  failureThreshold: 1
                readinessProbe:
                  httpGet: {path: /ready, port: 8080}
                  periodSeconds: 1
            """));
        var pod = await _cluster.WaitForReadyPodAsync(ns, "probed");
        var ip = Str(pod["status"]!["podIP"]);
        var firstStart = Str(ContainerStatus(pod, "app")!["state"]!["running"]!["startedAt"]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        (await http.PostAsync($"http://{ip}:8080/live?ok=false", null)).EnsureSuccessStatusCode();
        pod = await _cluster.WaitForPodAsync(ns, "probed", p => RestartCount(p, "app") == 1 && Condition(p, "Ready") == "True", "restartCount 1 and Ready again");
        var status = ContainerStatus(pod, "app")!;
        var last = status["lastState"]!["terminated"]!;
        Assert.Equal(firstStart, Str(last["startedAt"]));
        Assert.NotEqual("", Str(last["finishedAt"]));
        Assert.NotEqual("", Str(last["reason"]));
        await _cluster.WaitForEventAsync(ns, "probed", "Killing", m => m == "Container app failed liveness probe, will be restarted", "liveness kill", 15);
        await _cluster.WaitForEventAsync(ns, "probed", "Unhealthy", m => m == "Liveness probe failed: HTTP probe failed with statuscode: 500", "liveness failure", 15);

        // A new instance: its liveness answer is healthy again and it serves on the same IP.
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync($"http://{ip}:8080/live")).StatusCode);
        Assert.Equal($"pod probed at {ip}:8080\n", await http.GetStringAsync($"http://{ip}:8080/"));

        await _cluster.Kubectl.OkAsync($"delete pod probed -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }

    [Fact]
    public async Task StartupProbe_ContainerListensLate_StartedThenReadyWithoutRestart()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        // Fails (connection refused) until the debug test pod listens, seconds after it starts.
        await _cluster.ApplyAsync(ns, ProbedPod(marker, """
                startupProbe:
                  httpGet: {path: /live, port: 8080}
                  periodSeconds: 1
                  failureThreshold: 60
            """));
        var pod = await _cluster.WaitForPodAsync(ns, "probed", p => ContainerStatus(p, "app")?["started"]?.GetValue<bool>() == true, "started=true");
        pod = await _cluster.WaitForReadyPodAsync(ns, "probed", 10);
        Assert.Equal(0, RestartCount(pod, "app"));

        await _cluster.Kubectl.OkAsync($"delete pod probed -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }

    private static string ProbedPod(string marker, string probes) => $$$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: probed
        spec:
          terminationGracePeriodSeconds: 5
          containers:
          - name: app
            image: berth-testpod
            command: ["{{{TestPod}}}", "serve", "--address", "$(POD_IP)", "--port", "8080"]
            env:
            - name: POD_IP
              valueFrom: {fieldRef: {fieldPath: status.podIP}}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
        {{{MarkerEnv(marker, 4)}}}
        {{{probes}}}
        """;
}
