using System.Text.Json.Nodes;
using Berth.Client.Manifests;

namespace Berth.Client.Tests.Manifests;

public sealed class InstallOrderTests
{
    [Fact]
    public void Sort_ByHelmsKindOrder_StableWithinAKind_UnknownKindsLastByName()
    {
        var objects = new[]
        {
            Obj("Deployment", "d1"), Obj("Widget", "w"), Obj("Service", "s1"), Obj("Gadget", "g"),
            Obj("Namespace", "n"), Obj("Deployment", "d2"), Obj("Pod", "p"), Obj("ConfigMap", "c"), Obj("Service", "s2"),
        };

        var sorted = InstallOrder.Sort(objects);

        Assert.Equal(["n", "c", "s1", "s2", "p", "d1", "d2", "g", "w"], sorted.Select(o => o.Name));
    }

    private static ManifestObject Obj(string kind, string name) =>
        new("f.yaml", 1, new JsonObject { ["apiVersion"] = "v1", ["kind"] = kind, ["metadata"] = new JsonObject { ["name"] = name } });
}
