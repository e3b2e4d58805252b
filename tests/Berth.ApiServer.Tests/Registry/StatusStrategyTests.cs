using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;

namespace Berth.ApiServer.Tests.Registry;

/// <summary>What a status update may change besides the status, per kind (upstream's status strategies).</summary>
public sealed class StatusStrategyTests
{
    private const string Old = """
        {"metadata":{"name":"web","uid":"u1","labels":{"app":"web"},"annotations":{"a":"old"}},
         "spec":{"replicas":3},"status":{"replicas":1}}
        """;

    private const string Updated = """
        {"metadata":{"name":"web","uid":"u1","resourceVersion":"7","labels":{"app":"changed"},
           "annotations":{"a":"old","deployment.kubernetes.io/revision":"2"}},
         "spec":{"replicas":9},"status":{"replicas":3}}
        """;

    [Theory]
    // deploymentStatusStrategy: spec and labels kept, annotations (the revision) taken.
    [InlineData("apps", "deployments", "app\":\"web", true)]
    // rsStatusStrategy: only the spec kept.
    [InlineData("apps", "replicasets", "app\":\"changed", true)]
    // Other kinds keep all metadata.
    [InlineData("", "services", "app\":\"web", false)]
    public void StatusUpdate_KeepsSpec_TakesWhatTheKindAllows(string group, string plural, string labels, bool annotationsTaken)
    {
        var def = ResourceCatalog.Default.Find(group, "v1", plural)!;

        var result = Strategy.PrepareForUpdate(def, JsonNode.Parse(Updated)!.AsObject(), JsonNode.Parse(Old)!.AsObject(), "status");

        Assert.Equal(3, result["status"]!["replicas"]!.GetValue<int>());
        Assert.Equal(3, result["spec"]!["replicas"]!.GetValue<int>());
        Assert.Contains(labels, result["metadata"]!["labels"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(annotationsTaken, result["metadata"]!["annotations"]!["deployment.kubernetes.io/revision"] is not null);
    }
}
