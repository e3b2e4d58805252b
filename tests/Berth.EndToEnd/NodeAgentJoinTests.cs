using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>`berth agent` alone joins a server as a second node, runs the pods bound to it, and stops them on SIGTERM.</summary>
public sealed class NodeAgentJoinTests
{
    [Fact]
    public async Task SecondAgent_JoinsWithOwnCidrAndLease_RunsItsPodsAndStopsThemOnSigterm()
    {
        await using var cluster = await NodeAgentCluster.StartAsync();
        var agentDir = cluster.TempDir("berth-agent");
        var token = (await File.ReadAllTextAsync(Path.Combine(cluster.Server.DataDir, "node-token"))).Trim();
        var output = new StringBuilder();
        var psi = new ProcessStartInfo(Binaries.Berth)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "agent", "--server", cluster.Server.Url, "--token", token, "--node-name", "second", "--data-dir", agentDir, "--kubelet-port", "0", "--proxy-mode", "none", "--dns-mode", "none" })
        {
            psi.ArgumentList.Add(arg);
        }
        using var agent = Process.Start(psi)!;
        void OnLine(object? _, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        }
        agent.OutputDataReceived += OnLine;
        agent.ErrorDataReceived += OnLine;
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        string AgentLog()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
        try
        {
            var kubectl = cluster.Kubectl;
            JsonNode? node = null;
            await WaitForAsync(async () =>
            {
                var result = await kubectl.RunAsync("get node second -o json");
                node = result.ExitCode == 0 ? JsonNode.Parse(result.Stdout) : null;
                return node?["status"]?["conditions"]?.AsArray().Any(c => Str(c!["type"]) == "Ready" && Str(c["status"]) == "True") == true
                    && Str(node["spec"]?["podCIDR"]) != "";
            }, () => $"node second Ready with a pod CIDR; agent log:\n{AgentLog()}", 60);
            var secondCidr = Str(node!["spec"]!["podCIDR"]);
            var firstCidr = Str(JsonNode.Parse(await kubectl.OkAsync($"get node {cluster.NodeName} -o json"))!["spec"]!["podCIDR"]);
            Assert.EndsWith("/24", secondCidr, StringComparison.Ordinal);
            Assert.NotEqual(firstCidr, secondCidr);

            var renewed = "";
            await WaitForAsync(async () =>
            {
                var result = await kubectl.RunAsync("get lease second -n kube-node-lease -o json");
                renewed = result.ExitCode == 0 ? Str(JsonNode.Parse(result.Stdout)!["spec"]!["renewTime"]) : "";
                return renewed != "";
            }, () => $"the Lease of node second; agent log:\n{AgentLog()}", 30);
            var lease = "";
            await WaitForAsync(async () => (lease = Str(JsonNode.Parse(await kubectl.OkAsync("get lease second -n kube-node-lease -o json"))!["spec"]!["renewTime"])) != renewed,
                () => $"the Lease's renewTime to advance from {renewed}", 30);
            Assert.Equal("second", Str(JsonNode.Parse(await kubectl.OkAsync("get lease second -n kube-node-lease -o json"))!["spec"]!["holderIdentity"]));

            var ns = await cluster.NamespaceAsync();
            var marker = cluster.NewMarker();
            await cluster.ApplyAsync(ns, $$$"""
                apiVersion: v1
                kind: Pod
                metadata: {name: remote}
                spec:
                  nodeName: second
                  terminationGracePeriodSeconds: 3
                  containers:
                  - name: app
                    image: busybox
                    command: [sh, -c, "echo hello from second; exec sleep 1234577"]
                    env:
                {{{MarkerEnv(marker, 4)}}}
                """);
            var pod = await cluster.WaitForReadyPodAsync(ns, "remote");
            var ip = Str(pod["status"]!["podIP"]);
            Assert.StartsWith(secondCidr[..secondCidr.LastIndexOf('.')] + ".", ip, StringComparison.Ordinal);
            var logs = "";
            await WaitForAsync(async () => (logs = (await kubectl.RunAsync($"logs remote -n {ns}")).Stdout) == "hello from second\n", () => $"the pod's log through the second agent; got {logs}", 15);
            Assert.NotEmpty(ProcessesWith(marker));

            using (var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await agent.WaitForExitAsync(exited.Token);
            Assert.Equal(0, agent.ExitCode);
            Assert.Empty(ProcessesWith(marker));
            Assert.Contains("berth: stopping the node agent's pods", AgentLog());
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill(entireProcessTree: true);
                await agent.WaitForExitAsync();
            }
        }
    }
}
