using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Tests.Serialization;
using Berth.Tests;

namespace Berth.Api.Tests.Models;

/// <summary>
/// Every document of the book's chapter 11 manifests must decode to its kind with no unknown field
/// and encode back to the same JSON: nothing lost, nothing added (kubectl apply, then get -o yaml).
/// </summary>
public sealed class ManifestRoundTripTests
{
    // Independent of KubeKinds on purpose, so a wrong row there cannot hide here.
    private static readonly Dictionary<(string, string), Type> s_kinds = new()
    {
        [("v1", "Pod")] = typeof(Pod),
        [("v1", "Service")] = typeof(Service),
        [("v1", "Endpoints")] = typeof(Endpoints),
        [("v1", "ConfigMap")] = typeof(ConfigMap),
        [("v1", "Secret")] = typeof(Secret),
        [("v1", "PersistentVolumeClaim")] = typeof(PersistentVolumeClaim),
        [("apps/v1", "Deployment")] = typeof(Deployment),
        [("discovery.k8s.io/v1", "EndpointSlice")] = typeof(EndpointSlice),
    };

    public static TheoryData<string, int> Documents()
    {
        var data = new TheoryData<string, int>();
        var root = SharedTestData.Path("kia-ch11");
        foreach (var file in Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var count = YamlJson.ParseDocuments(File.ReadAllText(file)).Count;
            for (var i = 0; i < count; i++)
            {
                data.Add(Path.GetRelativePath(root, file), i);
            }
        }

        return data;
    }

    [Fact]
    public void Documents_TestData_FindsManyDocuments()
    {
        Assert.True(Documents().Count >= 40, $"expected the chapter 11 manifests, found {Documents().Count} documents");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void RoundTrip_KiaManifest_NothingLostNothingAdded(string file, int index)
    {
        var input = YamlJson.ParseDocuments(File.ReadAllText(SharedTestData.Path("kia-ch11", file)))[index];
        var type = s_kinds[((string)input["apiVersion"]!, (string)input["kind"]!)];

        var model = KubeJson.Deserialize(input, type);
        Assert.IsType(type, model);
        var output = JsonNode.Parse(KubeJson.SerializeToUtf8Bytes(model, type));

        // A null in the input is "not set": upstream omits it too (creationTimestamp: null).
        Assert.Equal(JsonCompare.Canonical(input, dropNulls: true), JsonCompare.Canonical(output, dropNulls: false));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void FindUnknownFields_KiaManifest_None(string file, int index)
    {
        var input = YamlJson.ParseDocuments(File.ReadAllText(SharedTestData.Path("kia-ch11", file)))[index];
        var type = s_kinds[((string)input["apiVersion"]!, (string)input["kind"]!)];

        Assert.Empty(UnknownFieldDetector.FindUnknownFields(input, type));
        Assert.Empty(UnknownFieldDetector.FindStrictErrors(System.Text.Encoding.UTF8.GetBytes(input.ToJsonString()), type));
    }
}
