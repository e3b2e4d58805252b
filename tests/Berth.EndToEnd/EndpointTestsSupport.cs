using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static Berth.EndToEnd.NodeAgentCluster;

namespace Berth.EndToEnd;

/// <summary>
/// Manifests for the endpoint tests: berth-testpod servers on $(POD_IP) with a named container port and a
/// readiness probe of the test's choosing, as Deployments or bare pods, and the Services that select them.
/// </summary>
public static class EndpointManifests
{
    /// <summary>An HTTP readiness probe on the named container port, checked every second.</summary>
    public static string HttpReadiness(string port) => $"httpGet: {{path: /ready, port: {port}}}\nperiodSeconds: 1\nfailureThreshold: 1";

    /// <summary>An exec readiness probe running the shell script, checked every second.</summary>
    public static string ExecReadiness(string script) => $"exec: {{command: [sh, -c, \"{script}\"]}}\nperiodSeconds: 1\nfailureThreshold: 1";

    /// <summary><paramref name="container"/> is extra YAML under the container (no indent of its own).</summary>
    public static string Deployment(string name, int replicas, string marker, string readinessProbe, string portName = "http", int port = 8080, string container = "") =>
        $$$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: {{{name}}}}
        spec:
          replicas: {{{replicas}}}
          selector: {matchLabels: {app: {{{name}}}}}
          template:
            metadata: {labels: {app: {{{name}}}}}
            spec:
        {{{Indent(PodSpec(marker, readinessProbe, portName, port, container), 6)}}}
        """;

    public static string Pod(string name, string app, string marker, string readinessProbe, string portName, int port) =>
        $$$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{{name}}}, labels: {app: {{{app}}}}}
        spec:
        {{{Indent(PodSpec(marker, readinessProbe, portName, port), 2)}}}
        """;

    /// <summary>A ClusterIP Service of one unnamed port 80 selecting app=<paramref name="app"/>.</summary>
    public static string Service(string name, string app, string targetPort) =>
        $$$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{{name}}}}
        spec:
          selector: {app: {{{app}}}}
          ports:
          - port: 80
            targetPort: {{{targetPort}}}
        """;

    private static string PodSpec(string marker, string readinessProbe, string portName, int port, string container = "") =>
        $$$"""
        terminationGracePeriodSeconds: 5
        containers:
        - name: app
          image: berth-testpod
          command: ["{{{TestPod}}}", "serve", "--address", "$(POD_IP)", "--port", "{{{port}}}"]
          ports:
          - {name: {{{portName}}}, containerPort: {{{port}}}}
          readinessProbe:
        {{{Indent(readinessProbe, 4)}}}
        {{{Indent(container, 2)}}}
          env:
          - name: POD_IP
            valueFrom: {fieldRef: {fieldPath: status.podIP}}
          - name: POD_NAME
            valueFrom: {fieldRef: {fieldPath: metadata.name}}
        {{{MarkerEnv(marker, 2).TrimEnd('\n')}}}
        """;

    private static string Indent(string yaml, int spaces) =>
        string.Join('\n', yaml.Split('\n').Select(l => l.Length == 0 ? l : new string(' ', spaces) + l));
}

/// <summary>
/// Reads of EndpointSlices, Endpoints and Service diagnosis through kubectl, and the views of them the endpoint
/// tests compare: which addresses a slice lists with which conditions, and what the tables and describe print.
/// </summary>
public static partial class EndpointReads
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";
    public const string SliceController = "endpointslice-controller.k8s.io";
    public const string MirroringController = "endpointslicemirroring-controller.k8s.io";
    public const string TriggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time";

    /// <summary>One endpoint of a slice: its first address and its conditions (null = unset).</summary>
    public sealed record SliceEndpoint(string Ip, bool? Ready, bool? Serving, bool? Terminating, JsonNode Node);

    /// <summary>The slices `kubectl get endpointslices -l kubernetes.io/service-name=NAME` lists.</summary>
    public static Task<List<JsonNode>> SlicesAsync(Kubectl kubectl, string ns, string service) =>
        Workloads.ItemsAsync(kubectl, $"endpointslices -n {ns} -l {ServiceNameLabel}={service}");

    /// <summary>The Endpoints object, or null while it does not exist.</summary>
    public static async Task<JsonNode?> EndpointsAsync(Kubectl kubectl, string ns, string name)
    {
        var result = await kubectl.RunAsync($"get endpoints {name} -n {ns} -o json");
        if (result.ExitCode != 0)
        {
            Assert.True(result.Stderr.Contains("NotFound", StringComparison.Ordinal), $"kubectl get endpoints {name}: {result}");
            return null;
        }
        return JsonNode.Parse(result.Stdout);
    }

    public static List<SliceEndpoint> Endpoints(JsonNode slice) =>
        [.. Elements(slice["endpoints"]).Select(e => new SliceEndpoint(
            Str(e["addresses"]?[0]), Bool(e["conditions"]?["ready"]), Bool(e["conditions"]?["serving"]), Bool(e["conditions"]?["terminating"]), e))];

    /// <summary>A slice's ports as (name, port, protocol); a name that is absent reads as null.</summary>
    public static List<(string? Name, int Port, string Protocol)> Ports(JsonNode slice) =>
        [.. Elements(slice["ports"]).Select(p => (p["name"]?.GetValue<string>(), p["port"]?.GetValue<int>() ?? 0, Str(p["protocol"])))];

    /// <summary>Every (ip, port) pair of an Endpoints object, ready ones and not-ready ones apart.</summary>
    public static (HashSet<string> Ready, HashSet<string> NotReady) Addresses(JsonNode? endpoints)
    {
        var ready = new HashSet<string>(StringComparer.Ordinal);
        var notReady = new HashSet<string>(StringComparer.Ordinal);
        foreach (var subset in Elements(endpoints?["subsets"]))
        {
            foreach (var port in Elements(subset["ports"]))
            {
                var number = port["port"]!.GetValue<int>();
                ready.UnionWith(Elements(subset["addresses"]).Select(a => $"{Str(a["ip"])}:{number}"));
                notReady.UnionWith(Elements(subset["notReadyAddresses"]).Select(a => $"{Str(a["ip"])}:{number}"));
            }
        }
        return (ready, notReady);
    }

    public static List<JsonNode> Elements(JsonNode? node) => node is JsonArray array ? [.. array.Select(n => n!)] : [];

    public static bool? Bool(JsonNode? node) => node?.GetValue<bool>();

    public static string Labels(JsonNode obj) => obj["metadata"]?["labels"]?.ToJsonString() ?? "{}";

    /// <summary>The EndpointsReady condition as `kubectl get svc -o jsonpath` prints it, or null when there is none.</summary>
    public static async Task<JsonNode?> DiagnosisAsync(Kubectl kubectl, string ns, string service)
    {
        var text = await kubectl.OkAsync($"get svc {service} -n {ns} -o 'jsonpath={{.status.conditions[?(@.type==\"EndpointsReady\")]}}'");
        return text.Trim().Length == 0 ? null : JsonNode.Parse(text);
    }

    /// <summary>The events about a Service: type, reason, message, count and the reporting component.</summary>
    public static async Task<List<(string Type, string Reason, string Message, int Count, string Source)>> ServiceEventsAsync(Kubectl kubectl, string ns, string service) =>
        [.. (await Workloads.ItemsAsync(kubectl, $"events -n {ns}"))
            .Where(e => Str(e["involvedObject"]?["kind"]) == "Service" && Str(e["involvedObject"]?["name"]) == service)
            .Select(e => (Str(e["type"]), Str(e["reason"]), Str(e["message"]), e["count"]?.GetValue<int>() ?? 1, Str(e["source"]?["component"])))];

    /// <summary>What `kubectl describe svc` prints after "Endpoints:" for the Service's one port.</summary>
    public static async Task<string> DescribedEndpointsAsync(Kubectl kubectl, string ns, string service)
    {
        var text = await kubectl.OkAsync($"describe svc {service} -n {ns}");
        var lines = DescribeEndpointsLine().Matches(text);
        Assert.True(lines.Count == 1, $"expected one Endpoints: line in\n{text}");
        return lines[0].Groups[1].Value.Trim();
    }

    /// <summary>The cells of a table row (`kubectl get` output) by its NAME, split on runs of spaces.</summary>
    public static string[] Row(string table, string name) =>
        table.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).FirstOrDefault(c => c.Length > 0 && c[0] == name)
        ?? throw new Xunit.Sdk.XunitException($"no row for {name} in:\n{table}");

    public static HashSet<string> CommaSet(string text) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries)];

    public static string Render(IEnumerable<JsonNode> items) => string.Join("\n---\n", items.Select(i => i.ToJsonString()));

    /// <summary>Age cells: 5s, 2m3s, 4h, ...</summary>
    [GeneratedRegex(@"^(\d+[smhd])+$")]
    public static partial Regex Age();

    [GeneratedRegex(@"(?m)^Endpoints:[ \t]*(.*)$")]
    private static partial Regex DescribeEndpointsLine();
}
