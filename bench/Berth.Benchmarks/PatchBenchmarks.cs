using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Berth.Api.Patch;
using Berth.Api.Selectors;

namespace Berth.Benchmarks;

/// <summary>
/// Strategic merge patch of a Deployment-sized object (kubectl apply changing one image) and the
/// selector parse + match done on every filtered list.
/// </summary>
[MemoryDiagnoser]
public class PatchBenchmarks
{
    private const string Components = """
    {"schemas":{
      "Deployment":{"type":"object","properties":{"spec":{"allOf":[{"$ref":"#/components/schemas/DeploymentSpec"}]},"metadata":{"allOf":[{"$ref":"#/components/schemas/ObjectMeta"}]}}},
      "ObjectMeta":{"type":"object","properties":{"labels":{"type":"object","additionalProperties":{"type":"string"}},"annotations":{"type":"object","additionalProperties":{"type":"string"}}}},
      "DeploymentSpec":{"type":"object","properties":{"template":{"allOf":[{"$ref":"#/components/schemas/PodTemplateSpec"}]}}},
      "PodTemplateSpec":{"type":"object","properties":{"metadata":{"allOf":[{"$ref":"#/components/schemas/ObjectMeta"}]},"spec":{"allOf":[{"$ref":"#/components/schemas/PodSpec"}]}}},
      "PodSpec":{"type":"object","properties":{"containers":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/Container"}]},"x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"}}},
      "Container":{"type":"object","properties":{
        "env":{"type":"array","items":{"type":"object"},"x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"},
        "ports":{"type":"array","items":{"type":"object"},"x-kubernetes-patch-merge-key":"containerPort","x-kubernetes-patch-strategy":"merge"}}}
    }}
    """;

    private const string Patch = """
    {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}\n"}},
     "spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"api"},{"name":"sidecar"}],
       "containers":[{"image":"nginx:1.26","name":"api","$setElementOrder/env":[{"name":"E0"},{"name":"E1"},{"name":"E2"},{"name":"E3"},{"name":"E4"},{"name":"E5"},{"name":"E6"},{"name":"E7"},{"name":"E8"},{"name":"E9"}],"env":[{"name":"E9","value":"changed"}]}]}}}}
    """;

    private readonly IPatchSchema _schema = OpenApiPatchSchema.ForDefinition(JsonNode.Parse(Components)!.AsObject(), "Deployment");
    private readonly JsonObject _patch = JsonNode.Parse(Patch)!.AsObject();
    private readonly Dictionary<string, string> _labels = new() { ["app"] = "kiada", ["tier"] = "fe", ["pod-template-hash"] = "5d8f7c" };
    private JsonNode _deployment = null!;

    [GlobalSetup]
    public void Setup()
    {
        var env = new JsonArray();
        for (var i = 0; i < 10; i++)
        {
            env.Add(new JsonObject { ["name"] = $"E{i}", ["value"] = $"value-{i}" });
        }

        JsonNode Container(string name, string image) => new JsonObject
        {
            ["name"] = name,
            ["image"] = image,
            ["command"] = new JsonArray("node", "app.js"),
            ["env"] = env.DeepClone(),
            ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080, ["protocol"] = "TCP" }),
            ["resources"] = new JsonObject(),
            ["imagePullPolicy"] = "IfNotPresent",
        };

        _deployment = new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = "kiada",
                ["namespace"] = "default",
                ["labels"] = new JsonObject { ["app"] = "kiada" },
                ["annotations"] = new JsonObject { ["deployment.kubernetes.io/revision"] = "3" },
            },
            ["spec"] = new JsonObject
            {
                ["replicas"] = 3,
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "kiada" } },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = "kiada" } },
                    ["spec"] = new JsonObject { ["containers"] = new JsonArray(Container("api", "nginx:1.25"), Container("sidecar", "busybox")) },
                },
            },
        };
    }

    /// <summary>Baseline: copying the document, which every patch does at least once.</summary>
    [Benchmark(Baseline = true)]
    public JsonNode DeepCopyBaseline() => _deployment.DeepClone();

    [Benchmark]
    public JsonNode? JsonMergeApply() => JsonMergePatch.Apply(_deployment, _patch);

    [Benchmark]
    public JsonNode StrategicMergeApply() => StrategicMergePatch.Apply(_deployment, _patch, _schema);

    [Benchmark]
    public bool LabelSelectorParseAndMatch() =>
        LabelSelector.TryParse("app=kiada,tier in (fe,be),!canary", out var selector, out _) && selector.Matches(_labels);
}
