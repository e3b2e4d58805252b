using System.Text.Json.Nodes;
using Berth.ApiServer.Resources;

namespace Berth.ApiServer.Discovery;

/// <summary>
/// Aggregated (apidiscovery.k8s.io/v2) and legacy discovery documents. kubectl 1.32 asks for the aggregated
/// form first and only accepts it with the exact content type (kubectl-wire.md §1). Documents never change
/// while the server runs, so they are built once.
/// </summary>
public sealed class DiscoveryDocuments
{
    public const string AggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    public const string AggregatedBetaContentType = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

    private static readonly string[] s_allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    private readonly ResourceCatalog _catalog;

    private readonly Func<string> _serverAddress;

    /// <param name="serverAddress">host:port clients reach us at; asked per request because port 0 is bound late.</param>
    public DiscoveryDocuments(ResourceCatalog catalog, Func<string> serverAddress)
    {
        _serverAddress = serverAddress;
        _catalog = catalog;
        CoreAggregated = Aggregated(core: true);
        GroupsAggregated = Aggregated(core: false);
        var groups = new JsonArray();
        foreach (var group in catalog.GroupVersions.Where(gv => gv.Group.Length > 0).GroupBy(gv => gv.Group))
        {
            groups.Add(GroupObject(group.Key, [.. group.Select(g => g.Version)]));
        }
        GroupList = new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    public JsonObject CoreAggregated { get; }
    public JsonObject GroupsAggregated { get; }
    public JsonObject CoreVersions => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = _serverAddress() }),
    };
    public JsonObject GroupList { get; }

    public JsonObject? Group(string group)
    {
        var versions = _catalog.GroupVersions.Where(gv => gv.Group == group).Select(gv => gv.Version).ToArray();
        if (versions.Length == 0)
        {
            return null;
        }
        var obj = GroupObject(group, versions);
        obj["kind"] = "APIGroup";
        obj["apiVersion"] = "v1";
        return obj;
    }

    /// <summary>The legacy APIResourceList for one group version, or null if we serve none of it.</summary>
    public JsonObject? ResourceList(string group, string version)
    {
        var resources = _catalog.All.Where(r => r.Group == group && r.Version == version).ToList();
        if (resources.Count == 0)
        {
            return null;
        }
        var list = new JsonArray();
        foreach (var r in resources)
        {
            var entry = new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = Strings(Verbs(r)),
            };
            if (r.ShortNames.Count > 0)
            {
                entry["shortNames"] = Strings(r.ShortNames);
            }
            if (r.Categories.Count > 0)
            {
                entry["categories"] = Strings(r.Categories);
            }
            list.Add(entry);
            foreach (var sub in r.Subresources)
            {
                var (g, v, kind, verbs) = SubresourceShape(r, sub);
                var subEntry = new JsonObject
                {
                    ["name"] = $"{r.Plural}/{sub}",
                    ["singularName"] = "",
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = kind,
                    ["verbs"] = Strings(verbs),
                };
                if (g != r.Group || v != r.Version)
                {
                    subEntry["group"] = g;
                    subEntry["version"] = v;
                }
                list.Add(subEntry);
            }
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = list,
        };
    }

    private JsonObject Aggregated(bool core)
    {
        var items = new JsonArray();
        foreach (var group in _catalog.GroupVersions.Where(gv => (gv.Group.Length == 0) == core).GroupBy(gv => gv.Group))
        {
            var versions = new JsonArray();
            foreach (var (g, v) in group)
            {
                var resources = new JsonArray();
                foreach (var r in _catalog.All.Where(r => r.Group == g && r.Version == v))
                {
                    resources.Add(AggregatedResource(r));
                }
                versions.Add(new JsonObject { ["version"] = v, ["resources"] = resources, ["freshness"] = "Current" });
            }
            items.Add(new JsonObject { ["metadata"] = new JsonObject { ["name"] = group.Key }, ["versions"] = versions });
        }
        return new JsonObject
        {
            ["kind"] = "APIGroupDiscoveryList",
            ["apiVersion"] = "apidiscovery.k8s.io/v2",
            ["metadata"] = new JsonObject(),
            ["items"] = items,
        };
    }

    private static JsonObject AggregatedResource(ResourceDefinition r)
    {
        var entry = new JsonObject
        {
            ["resource"] = r.Plural,
            ["responseKind"] = Gvk(r.Group, r.Version, r.Kind),
            ["scope"] = r.Namespaced ? "Namespaced" : "Cluster",
            ["singularResource"] = r.Singular,
            ["verbs"] = Strings(Verbs(r)),
        };
        if (r.ShortNames.Count > 0)
        {
            entry["shortNames"] = Strings(r.ShortNames);
        }
        if (r.Categories.Count > 0)
        {
            entry["categories"] = Strings(r.Categories);
        }
        if (r.Subresources.Count > 0)
        {
            var subs = new JsonArray();
            foreach (var sub in r.Subresources)
            {
                var (g, v, kind, verbs) = SubresourceShape(r, sub);
                subs.Add(new JsonObject { ["subresource"] = sub, ["responseKind"] = Gvk(g, v, kind), ["verbs"] = Strings(verbs) });
            }
            entry["subresources"] = subs;
        }
        return entry;
    }

    private static (string Group, string Version, string Kind, string[] Verbs) SubresourceShape(ResourceDefinition r, string sub) => sub switch
    {
        "scale" => ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
        "binding" => ("", "v1", "Binding", ["create"]),
        "log" => ("", "v1", "Pod", ["get"]),
        "exec" => ("", "v1", "PodExecOptions", ["create", "get"]),
        "finalize" => (r.Group, r.Version, r.Kind, ["update"]),
        _ => (r.Group, r.Version, r.Kind, ["get", "patch", "update"]),
    };

    // Namespaces have no deletecollection upstream.
    private static IReadOnlyList<string> Verbs(ResourceDefinition r) =>
        r.Plural == "namespaces" ? [.. s_allVerbs.Where(v => v != "deletecollection")] : s_allVerbs;

    private static JsonObject GroupObject(string group, string[] versions)
    {
        var array = new JsonArray();
        foreach (var v in versions)
        {
            array.Add(new JsonObject { ["groupVersion"] = $"{group}/{v}", ["version"] = v });
        }
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = array,
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{group}/{versions[0]}", ["version"] = versions[0] },
        };
    }

    private static JsonObject Gvk(string group, string version, string kind) =>
        new() { ["group"] = group, ["version"] = version, ["kind"] = kind };

    private static JsonArray Strings(IEnumerable<string> values)
    {
        var array = new JsonArray();
        foreach (var v in values)
        {
            array.Add(v);
        }
        return array;
    }
}
