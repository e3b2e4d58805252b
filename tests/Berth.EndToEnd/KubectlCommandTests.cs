using System.Text.Json.Nodes;

namespace Berth.EndToEnd;

/// <summary>The everyday kubectl commands against the real binary, each in its own namespace.</summary>
public sealed class KubectlCommandTests : IClassFixture<ServerFixture>
{
    private readonly BerthServer _server;

    public KubectlCommandTests(ServerFixture fixture) => _server = fixture.Server;

    private async Task<(Kubectl Kubectl, string Namespace)> NamespaceAsync()
    {
        var kubectl = _server.Kubectl();
        var ns = "t-" + Guid.NewGuid().ToString("N")[..10];
        await kubectl.OkAsync($"create namespace {ns}");
        return (kubectl, ns);
    }

    [Fact]
    public async Task Get_SystemNamespaces_ExistFromFirstStart()
    {
        using var kubectl = _server.Kubectl();
        var output = await kubectl.OkAsync("get namespaces");
        Assert.Matches(@"NAME\s+STATUS\s+AGE", output);
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            Assert.Matches($@"(?m)^{ns}\s+Active\s+", output);
        }
    }

    [Fact]
    public async Task CreateService_ProtobufBody_ShowsUpstreamColumns()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        Assert.Contains("service/cs1 created", await kubectl.OkAsync($"create service clusterip cs1 --tcp=80:8080 -n {ns}"));
        Assert.Contains("service/ext created", await kubectl.OkAsync($"create service externalname ext --external-name bar.com -n {ns}"));
        var table = await kubectl.OkAsync($"get svc -n {ns}");
        Assert.Matches(@"NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE", table);
        Assert.Matches(@"(?m)^cs1\s+ClusterIP\s+\S+\s+<none>\s+80/TCP\s+", table);
        Assert.Matches(@"(?m)^ext\s+ExternalName\s+\S+\s+bar\.com\s+", table);
        var wide = await kubectl.OkAsync($"get svc cs1 -n {ns} -o wide");
        Assert.Matches(@"SELECTOR", wide);
        Assert.Matches(@"app=cs1", wide);
        var json = JsonNode.Parse(await kubectl.OkAsync($"get svc cs1 -n {ns} -o json"))!;
        Assert.Equal("80-8080", json["spec"]!["ports"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(8080, json["spec"]!["ports"]![0]!["targetPort"]!.GetValue<int>());
    }

    [Fact]
    public async Task CreateDeployment_ProtobufBody_ScaleAndDescribe()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        Assert.Contains("deployment.apps/web created", await kubectl.OkAsync($"create deployment web --image=nginx --port=80 --replicas=2 -n {ns}"));
        Assert.Contains("deployment.apps/web scaled", await kubectl.OkAsync($"scale deployment web --replicas=3 -n {ns}"));
        var deployment = JsonNode.Parse(await kubectl.OkAsync($"get deployment web -n {ns} -o json"))!;
        Assert.Equal(3, deployment["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(2, deployment["metadata"]!["generation"]!.GetValue<int>());
        Assert.Matches(@"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE", await kubectl.OkAsync($"get deploy -n {ns}"));
        var describe = await kubectl.OkAsync($"describe deployment web -n {ns}");
        Assert.Contains("Replicas:", describe);
        Assert.Contains("nginx", describe);
    }

    [Fact]
    public async Task LabelAnnotateDelete_Service_AsUpstream()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"create service nodeport np --tcp=80:8080 -n {ns}");
        Assert.Contains("service/np labeled", await kubectl.OkAsync($"label svc np tier=fe -n {ns}"));
        Assert.Contains("service/np annotated", await kubectl.OkAsync($"annotate svc np note=hello -n {ns}"));
        Assert.Contains("np", await kubectl.OkAsync($"get svc -l tier=fe -n {ns}"));
        Assert.Contains("No resources found", (await kubectl.RunAsync($"get svc -l tier=be -n {ns}")).Stderr);
        var describe = await kubectl.OkAsync($"describe svc np -n {ns}");
        Assert.Matches(@"Labels:\s+app=np", describe);
        Assert.Contains("tier=fe", describe);
        Assert.Contains("note: hello", describe);
        Assert.Contains("service \"np\" deleted", await kubectl.OkAsync($"delete svc np -n {ns}"));
        var missing = await kubectl.RunAsync($"get svc np -n {ns}");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("Error from server (NotFound): services \"np\" not found", missing.Stderr);
    }

    [Fact]
    public async Task ApplyServerSide_CreatesThenMerges()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        const string Manifest = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: ssa
            data:
              a: "1"
            """;
        Assert.Contains("configmap/ssa serverside-applied", await kubectl.OkAsync($"apply --server-side -n {ns} -f -", Manifest));
        Assert.Contains("configmap/ssa serverside-applied", await kubectl.OkAsync($"apply --server-side -n {ns} -f -", Manifest.Replace("a: \"1\"", "a: \"2\"\n  b: \"3\"", StringComparison.Ordinal)));
        var cm = JsonNode.Parse(await kubectl.OkAsync($"get cm ssa -n {ns} -o json"))!;
        Assert.Equal("2", cm["data"]!["a"]!.GetValue<string>());
        Assert.Equal("3", cm["data"]!["b"]!.GetValue<string>());
    }

    [Fact]
    public async Task Apply_ChangedManifest_PatchesWithStrategicMerge()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        const string Manifest = """
            apiVersion: v1
            kind: Service
            metadata:
              name: web
            spec:
              selector:
                app: web
              ports:
              - port: 80
                targetPort: 8080
            """;
        Assert.Contains("service/web created", await kubectl.OkAsync($"apply -n {ns} -f -", Manifest));
        Assert.Contains("service/web unchanged", await kubectl.OkAsync($"apply -n {ns} -f -", Manifest));
        Assert.Contains("service/web configured", await kubectl.OkAsync($"apply -n {ns} -f -", Manifest.Replace("8080", "9090", StringComparison.Ordinal)));
        var svc = JsonNode.Parse(await kubectl.OkAsync($"get svc web -n {ns} -o json"))!;
        Assert.Equal(9090, svc["spec"]!["ports"]![0]!["targetPort"]!.GetValue<int>());
    }

    [Fact]
    public async Task GetWatch_StreamsChanges()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"create configmap first --from-literal=a=b -n {ns}");
        using var watch = kubectl.Start($"get configmaps -w -n {ns}");
        await watch.WaitForAsync(o => o.Contains("first", StringComparison.Ordinal));
        await kubectl.OkAsync($"create configmap second --from-literal=a=b -n {ns}");
        var output = await watch.WaitForAsync(o => o.Contains("second", StringComparison.Ordinal));
        // One header only: watch events are one-row Tables.
        Assert.Single(output.Split('\n'), l => l.StartsWith("NAME", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Create_InvalidName_Is422WithFieldCause()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        const string Manifest = """
            apiVersion: v1
            kind: Service
            metadata:
              name: 1abc
            spec:
              ports:
              - port: 80
            """;
        var result = await kubectl.RunAsync($"apply -n {ns} -f -", Manifest);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("The Service \"1abc\" is invalid: metadata.name: Invalid value: \"1abc\": a DNS-1035 label must consist of lower case alphanumeric characters", result.Stderr);
    }

    [Fact]
    public async Task Apply_UnknownField_RejectedByStrictValidation()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        const string Manifest = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: strict
            data:
              a: b
            bogus: true
            """;
        var result = await kubectl.RunAsync($"apply -n {ns} -f -", Manifest);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("unknown field \"bogus\"", result.Stderr);
        Assert.Contains("NotFound", (await kubectl.RunAsync($"get cm strict -n {ns}")).Stderr);
        var warned = await kubectl.RunAsync($"apply --validate=warn -n {ns} -f -", Manifest);
        Assert.Equal(0, warned.ExitCode);
        Assert.Contains("unknown field \"bogus\"", warned.Stderr);
    }

    [Fact]
    public async Task DeleteNamespace_RemovesItsContents()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"create configmap c1 --from-literal=a=b -n {ns}");
        await kubectl.OkAsync($"create service clusterip s1 --tcp=80:80 -n {ns}");
        Assert.Contains($"namespace \"{ns}\" deleted", await kubectl.OkAsync($"delete namespace {ns}"));
        Assert.Contains("NotFound", (await kubectl.RunAsync($"get namespace {ns}")).Stderr);
        using var http = _server.CreateHttpClient();
        var list = JsonNode.Parse(await http.GetStringAsync($"/api/v1/configmaps"))!;
        Assert.DoesNotContain(list["items"]!.AsArray(), i => i!["metadata"]!["namespace"]!.GetValue<string>() == ns);
    }

    [Fact]
    public async Task Create_MissingNamespace_NotFound()
    {
        using var kubectl = _server.Kubectl();
        var result = await kubectl.RunAsync("create configmap x --from-literal=a=b -n missing-ns");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("namespaces \"missing-ns\" not found", result.Stderr);
    }

    [Fact]
    public async Task Explain_Service_UsesServedSchemas()
    {
        using var kubectl = _server.Kubectl();
        var output = await kubectl.OkAsync("explain service.spec.ports");
        Assert.Contains("targetPort", output);
        Assert.Contains("nodePort", output);
    }

    [Fact]
    public async Task ApiResources_ListsServedKinds()
    {
        using var kubectl = _server.Kubectl();
        var output = await kubectl.OkAsync("api-resources");
        foreach (var expected in new[] { "services", "endpointslices", "deployments", "leases", "nodes" })
        {
            Assert.Contains(expected, output);
        }
    }

    [Fact]
    public async Task DryRunServer_ValidatesButPersistsNothing()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        Assert.Contains("configmap/dry created (server dry run)", await kubectl.OkAsync($"create configmap dry --from-literal=a=b --dry-run=server -n {ns}"));
        Assert.Contains("NotFound", (await kubectl.RunAsync($"get cm dry -n {ns}")).Stderr);
    }

    [Fact]
    public async Task Get_SetBasedAndFieldSelectors_Filter()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        foreach (var (name, tier) in new[] { ("a", "fe"), ("b", "be"), ("c", "db") })
        {
            await kubectl.OkAsync($"create configmap {name} -n {ns}");
            await kubectl.OkAsync($"label cm {name} tier={tier} -n {ns}");
        }
        var names = await kubectl.OkAsync($"get cm -n {ns} -l 'tier in (fe,be)' -o name");
        Assert.Equal(["configmap/a", "configmap/b"], names.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.Equal("configmap/c", (await kubectl.OkAsync($"get cm -n {ns} -l 'tier notin (fe,be),tier' -o name")).Trim());
        Assert.Equal("configmap/b", (await kubectl.OkAsync($"get cm -n {ns} --field-selector metadata.name=b -o name")).Trim());
        var unsupported = await kubectl.RunAsync($"get cm -n {ns} --field-selector spec.bogus=x");
        Assert.Contains("field label not supported: spec.bogus", unsupported.Stderr);
    }

    [Fact]
    public async Task PatchReplaceDelete_AllFormatsFromKubectl()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        var dir = TestDirectories.Create("manifests");
        try
        {
            var file = Path.Combine(dir, "cm.yaml");
            await File.WriteAllTextAsync(file, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  a: \"1\"\n");
            await kubectl.OkAsync($"create -f {file} -n {ns}");
            Assert.Contains("configmap/p patched", await kubectl.OkAsync($"patch cm p -n {ns} --type=merge -p '{{\"data\":{{\"b\":\"2\"}}}}'"));
            Assert.Contains("configmap/p patched", await kubectl.OkAsync($"patch cm p -n {ns} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/data/a\"}}]'"));
            Assert.Contains("configmap/p patched", await kubectl.OkAsync($"patch cm p -n {ns} --type=strategic -p '{{\"metadata\":{{\"labels\":{{\"x\":\"y\"}}}}}}'"));
            var patched = JsonNode.Parse(await kubectl.OkAsync($"get cm p -n {ns} -o json"))!;
            Assert.Null(patched["data"]!["a"]);
            Assert.Equal("2", patched["data"]!["b"]!.GetValue<string>());
            Assert.Equal("y", patched["metadata"]!["labels"]!["x"]!.GetValue<string>());
            Assert.Contains("configmap/p replaced", await kubectl.OkAsync($"replace -f {file} -n {ns}"));
            var replaced = JsonNode.Parse(await kubectl.OkAsync($"get cm p -n {ns} -o json"))!;
            Assert.Equal("1", replaced["data"]!["a"]!.GetValue<string>());
            Assert.Null(replaced["data"]!["b"]);
            Assert.Contains("configmap \"p\" deleted", await kubectl.OkAsync($"delete -f {file} -n {ns}"));
            Assert.Contains("NotFound", (await kubectl.RunAsync($"get cm p -n {ns}")).Stderr);
        }
        finally
        {
            TestDirectories.Delete(dir);
        }
    }

    [Fact]
    public async Task GetAll_ShowsCategoryAllKinds()
    {
        var (kubectl, ns) = await NamespaceAsync();
        using var _ = kubectl;
        await kubectl.OkAsync($"create deployment web --image=nginx -n {ns}");
        await kubectl.OkAsync($"create service clusterip web --tcp=80:80 -n {ns}");
        var output = await kubectl.OkAsync($"get all -n {ns}");
        Assert.Contains("service/web", output);
        Assert.Contains("deployment.apps/web", output);
    }
}
