using System.Text.Json.Nodes;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>A pod runs as a local process on its own loopback IP, with the environment upstream's kubelet gives it.</summary>
public sealed class NodeAgentPodTests : IClassFixture<NodeAgentFixture>
{
    private readonly NodeAgentCluster _cluster;

    public NodeAgentPodTests(NodeAgentFixture fixture) => _cluster = fixture.Cluster;

    [Fact]
    public async Task Pod_ServerBindingPodIP_AnswersOnItsIPAndIsReady()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
            spec:
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
                readinessProbe:
                  httpGet: {path: /ready, port: 8080}
                  periodSeconds: 1
            """);

        var pod = await _cluster.WaitForReadyPodAsync(ns, "web");
        var ip = Str(pod["status"]!["podIP"]);
        var node = JsonNode.Parse(await _cluster.Kubectl.OkAsync($"get node {_cluster.NodeName} -o json"))!;
        var podCidr = Str(node["spec"]!["podCIDR"]);
        Assert.StartsWith(podCidr[..podCidr.LastIndexOf('.')] + ".", ip, StringComparison.Ordinal);
        Assert.Equal(ip, Str(pod["status"]!["podIPs"]![0]!["ip"]));
        Assert.Equal(_cluster.NodeName, Str(pod["spec"]!["nodeName"]));
        Assert.Equal("Running", Phase(pod));
        Assert.NotNull(ContainerStatus(pod, "app")!["state"]!["running"]);
        Assert.True(ContainerStatus(pod, "app")!["ready"]!.GetValue<bool>());

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal($"pod web at {ip}:8080\n", await http.GetStringAsync($"http://{ip}:8080/"));

        var wide = await _cluster.Kubectl.OkAsync($"get pod web -n {ns} -o wide");
        Assert.Matches(@"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE", wide);
        var row = wide.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["web", "1/1", "Running", "0"], row[..4]);
        Assert.Equal([ip, _cluster.NodeName], row[5..7]);

        await _cluster.Kubectl.OkAsync($"delete pod web -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }

    [Fact]
    public async Task Pod_Environment_DownwardApiKeyRefsExpansionAndServiceVariables()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        var workDir = _cluster.TempDir("berth-workdir");
        await _cluster.ApplyAsync(ns, """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {color: blue, LEVEL: debug, MODE: fast}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: creds}
            stringData: {password: s3cret}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: backend}
            spec:
              ports: [{port: 80, targetPort: 8080}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: headless}
            spec:
              clusterIP: None
              ports: [{port: 80}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: external}
            spec:
              type: ExternalName
              externalName: example.com
            """);
        var backendIP = Str(JsonNode.Parse(await _cluster.Kubectl.OkAsync($"get svc backend -n {ns} -o json"))!["spec"]!["clusterIP"]);
        var kubernetesIP = Str(JsonNode.Parse(await _cluster.Kubectl.OkAsync("get svc kubernetes -n default -o json"))!["spec"]!["clusterIP"]);

        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: envpod
              labels: {app: shop}
            spec:
              containers:
              - name: app
                image: berth-testpod
                command: ["{{{TestPod}}}", "serve", "--address", "$(POD_IP)", "--port", "8080"]
                workingDir: {{{workDir}}}
                # Ready means listening: without a probe the pod is Ready as soon as the process starts.
                readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
                resources:
                  limits: {memory: 64Mi}
                envFrom:
                - configMapRef: {name: settings}
                  prefix: CM_
                env:
                - name: POD_NAME
                  valueFrom: {fieldRef: {fieldPath: metadata.name}}
                - name: POD_NAMESPACE
                  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
                - name: POD_IP
                  valueFrom: {fieldRef: {fieldPath: status.podIP}}
                - name: APP_LABEL
                  valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
                - name: MEMORY_LIMIT
                  valueFrom: {resourceFieldRef: {resource: limits.memory}}
                - name: COLOR
                  valueFrom: {configMapKeyRef: {name: settings, key: color}}
                - name: PASSWORD
                  valueFrom: {secretKeyRef: {name: creds, key: password}}
                - name: GREETING
                  value: "$(POD_NAME) in $(POD_NAMESPACE) likes $(COLOR)"
                - name: ESCAPED
                  value: "$$(POD_NAME)"
            {{{MarkerEnv(marker, 4)}}}
              - name: shell
                image: busybox
                command: ["sh", "-c"]
                args: ["echo greeting=$(GREETING); pwd; exec sleep 1234567"]
                workingDir: {{{workDir}}}
                env:
                - name: POD_NAME
                  valueFrom: {fieldRef: {fieldPath: metadata.name}}
                - name: GREETING
                  value: "hello $(POD_NAME)"
            {{{MarkerEnv(marker, 4)}}}
            """);
        var pod = await _cluster.WaitForReadyPodAsync(ns, "envpod");
        var ip = Str(pod["status"]!["podIP"]);
        await _cluster.ApplyAsync(ns, """
            apiVersion: v1
            kind: Service
            metadata: {name: late}
            spec:
              ports: [{port: 81}]
            """);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var env = Env(await http.GetStringAsync($"http://{ip}:8080/env"));
        var expected = new Dictionary<string, string>
        {
            ["POD_NAME"] = "envpod",
            ["POD_NAMESPACE"] = ns,
            ["POD_IP"] = ip,
            ["APP_LABEL"] = "shop",
            ["MEMORY_LIMIT"] = "67108864",
            ["COLOR"] = "blue",
            ["PASSWORD"] = "s3cret",
            ["CM_LEVEL"] = "debug",
            ["CM_MODE"] = "fast",
            ["CM_color"] = "blue",
            // Expansion sees the variables defined before it, downward API included.
            ["GREETING"] = $"envpod in {ns} likes blue",
            ["ESCAPED"] = "$(POD_NAME)",
            ["BACKEND_SERVICE_HOST"] = backendIP,
            ["BACKEND_SERVICE_PORT"] = "80",
            ["BACKEND_PORT"] = $"tcp://{backendIP}:80",
            ["BACKEND_PORT_80_TCP"] = $"tcp://{backendIP}:80",
            ["BACKEND_PORT_80_TCP_PROTO"] = "tcp",
            ["BACKEND_PORT_80_TCP_PORT"] = "80",
            ["BACKEND_PORT_80_TCP_ADDR"] = backendIP,
            ["services__backend__http__0"] = $"http://{backendIP}:80",
            ["KUBERNETES_SERVICE_HOST"] = kubernetesIP,
            ["KUBERNETES_SERVICE_PORT"] = "443",
            ["KUBERNETES_PORT_443_TCP_ADDR"] = kubernetesIP,
        };
        foreach (var (name, value) in expected)
        {
            Assert.True(env.TryGetValue(name, out var actual) && actual == value, $"{name}: expected \"{value}\", got \"{actual}\"; env:\n{string.Join('\n', env)}");
        }
        // Only Services that existed when the container started, and only those with a cluster IP.
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("LATE_", StringComparison.Ordinal) || k.StartsWith("services__late", StringComparison.Ordinal));
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("HEADLESS_", StringComparison.Ordinal) || k.StartsWith("services__headless", StringComparison.Ordinal));
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("EXTERNAL_", StringComparison.Ordinal) || k.StartsWith("services__external", StringComparison.Ordinal));

        // $(VAR) in args, and workingDir as the process's current directory.
        var logs = await _cluster.Kubectl.OkAsync($"logs envpod -c shell -n {ns}");
        Assert.Equal($"greeting=hello envpod\n{workDir}\n", logs);

        await _cluster.ApplyAsync(ns, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: nolinks}
            spec:
              enableServiceLinks: false
              containers:
              - name: app
                image: busybox
                command: ["sleep", "1234568"]
                env:
            {{{MarkerEnv(marker, 4)}}}
            """);
        await _cluster.WaitForReadyPodAsync(ns, "nolinks");
        var noLinks = Env(await _cluster.Kubectl.OkAsync($"exec nolinks -n {ns} -- env"));
        Assert.Equal(kubernetesIP, noLinks.GetValueOrDefault("KUBERNETES_SERVICE_HOST"));
        Assert.Equal("443", noLinks.GetValueOrDefault("KUBERNETES_SERVICE_PORT"));
        Assert.DoesNotContain(noLinks.Keys, k => k.StartsWith("BACKEND_", StringComparison.Ordinal) || k.StartsWith("LATE_", StringComparison.Ordinal)
            || k.StartsWith("services__backend", StringComparison.Ordinal) || k.StartsWith("services__late", StringComparison.Ordinal));

        await _cluster.Kubectl.OkAsync($"delete pod envpod nolinks -n {ns} --grace-period=1 --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }

    private static Dictionary<string, string> Env(string text)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                env[line[..eq]] = line[(eq + 1)..];
            }
        }
        return env;
    }
}
