using System.Text.Json.Nodes;
using Berth.ApiServer.Resources;
using Berth.Storage;

namespace Berth.ApiServer.Registry;

/// <summary>Objects every cluster has from its first start (upstream's system namespaces controller).</summary>
public static class Bootstrap
{
    public static readonly string[] SystemNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

    public static async Task EnsureClusterObjectsAsync(ObjectStore objects, ResourceCatalog catalog, TimeProvider time, CancellationToken ct)
    {
        var nsDef = catalog.Get("", "namespaces");
        foreach (var name in SystemNamespaces)
        {
            if (await objects.GetAsync(nsDef, null, name, ct).ConfigureAwait(false) is not null)
            {
                continue;
            }
            var ns = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Namespace",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["labels"] = new JsonObject { ["kubernetes.io/metadata.name"] = name },
                },
            };
            Strategy.PrepareForCreate(nsDef, ns, time.GetUtcNow());
            try
            {
                await objects.CreateAsync(nsDef, ns, ct).ConfigureAwait(false);
            }
            catch (KeyExistsException)
            {
                // Created concurrently: fine.
            }
        }
    }
}
