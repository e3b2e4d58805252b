using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Api.OpenApi;
using Berth.ApiServer.Resources;

namespace Berth.ApiServer.OpenApi;

/// <summary>
/// The /openapi/v3 documents. kubectl uses them twice: `apply`/`create` look for a PATCH operation with the
/// object's x-kubernetes-group-version-kind and a `fieldValidation` parameter to switch to server-side
/// validation (kubectl-wire.md §2), and `kubectl explain` reads the component schemas. Built once at start.
/// </summary>
public sealed class OpenApiDocuments
{
    private readonly Dictionary<string, byte[]> _documents = new(StringComparer.Ordinal);

    public OpenApiDocuments(ResourceCatalog catalog)
    {
        var index = new JsonObject();
        foreach (var (group, version) in catalog.GroupVersions)
        {
            var key = group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";
            var doc = BuildGroupVersion(catalog, group, version);
            var bytes = Encoding.UTF8.GetBytes(doc.ToJsonString());
            _documents[key] = bytes;
            var hash = Convert.ToHexString(SHA512.HashData(bytes))[..32];
            index[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={hash}" };
        }
        Index = Encoding.UTF8.GetBytes(new JsonObject { ["paths"] = index }.ToJsonString());
    }

    public byte[] Index { get; }

    /// <summary>The document for "api/v1" or "apis/apps/v1", or null.</summary>
    public byte[]? Find(string groupVersionPath) => _documents.GetValueOrDefault(groupVersionPath.Trim('/'));

    private static JsonObject BuildGroupVersion(ResourceCatalog catalog, string group, string version)
    {
        var paths = new JsonObject();
        var definitions = new HashSet<string>(StringComparer.Ordinal)
        {
            "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        };
        var prefix = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
        foreach (var r in catalog.All.Where(r => r.Group == group && r.Version == version))
        {
            var definition = OpenApiComponents.DefinitionName(r.ModelType);
            var listDefinition = definition + "List";
            definitions.Add(definition);
            definitions.Add(listDefinition);
            var gvk = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind };
            var collection = r.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{r.Plural}" : $"{prefix}/{r.Plural}";
            var item = $"{collection}/{{name}}";

            var collectionOps = new JsonObject
            {
                ["get"] = Operation("list", r, gvk, listDefinition, write: false, body: null),
                ["post"] = Operation("post", r, gvk, definition, write: true, body: definition),
            };
            if (r.Plural != "namespaces")
            {
                collectionOps["delete"] = Operation("deletecollection", r, gvk, "io.k8s.apimachinery.pkg.apis.meta.v1.Status", write: true, body: null);
            }
            paths[collection] = collectionOps;
            paths[item] = new JsonObject
            {
                ["get"] = Operation("get", r, gvk, definition, write: false, body: null),
                ["put"] = Operation("put", r, gvk, definition, write: true, body: definition),
                ["patch"] = Operation("patch", r, gvk, definition, write: true, body: "patch"),
                ["delete"] = Operation("delete", r, gvk, definition, write: true, body: null),
                ["parameters"] = PathParameters(r.Namespaced, withName: true),
            };
            ((JsonObject)paths[collection]!)["parameters"] = PathParameters(r.Namespaced, withName: false);
            if (r.Namespaced)
            {
                paths[$"{prefix}/{r.Plural}"] = new JsonObject { ["get"] = Operation("list", r, gvk, listDefinition, write: false, body: null) };
            }
            // log and exec are connect operations with no object schema: nothing for kubectl to validate.
            foreach (var sub in r.Subresources.Where(s => s is not ("log" or "exec")))
            {
                var (subDefinition, subGvk) = sub switch
                {
                    "scale" => ("io.k8s.api.autoscaling.v1.Scale", new JsonObject { ["group"] = "autoscaling", ["version"] = "v1", ["kind"] = "Scale" }),
                    "binding" => ("io.k8s.api.core.v1.Binding", new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "Binding" }),
                    _ => (definition, gvk),
                };
                definitions.Add(subDefinition);
                var subPath = new JsonObject { ["parameters"] = PathParameters(r.Namespaced, withName: true) };
                if (sub == "binding")
                {
                    subPath["post"] = Operation("post", r, subGvk, subDefinition, write: true, body: subDefinition);
                }
                else if (sub == "finalize")
                {
                    subPath["put"] = Operation("put", r, subGvk, subDefinition, write: true, body: subDefinition);
                }
                else
                {
                    subPath["get"] = Operation("get", r, subGvk, subDefinition, write: false, body: null);
                    subPath["put"] = Operation("put", r, subGvk, subDefinition, write: true, body: subDefinition);
                    subPath["patch"] = Operation("patch", r, subGvk, subDefinition, write: true, body: "patch");
                }
                paths[$"{item}/{sub}"] = subPath;
            }
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = Closure(definitions) },
        };
    }

    private static JsonObject Operation(string action, ResourceDefinition r, JsonObject gvk, string responseDefinition, bool write, string? body)
    {
        var parameters = new JsonArray();
        if (write)
        {
            parameters.Add(QueryParameter("dryRun", "When present, indicates that modifications should not be persisted."));
            parameters.Add(QueryParameter("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."));
            // kubectl switches to server-side validation only when this parameter is advertised.
            parameters.Add(QueryParameter("fieldValidation",
                "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict."));
            if (action == "patch")
            {
                parameters.Add(new JsonObject { ["name"] = "force", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "boolean" } });
            }
        }
        else if (action == "list")
        {
            foreach (var name in new[] { "labelSelector", "fieldSelector", "resourceVersion", "limit", "continue", "watch", "timeoutSeconds", "allowWatchBookmarks" })
            {
                parameters.Add(QueryParameter(name, ""));
            }
        }
        var op = new JsonObject
        {
            ["tags"] = new JsonArray(r.Group.Length == 0 ? "core_v1" : $"{r.Group}_{r.Version}"),
            ["operationId"] = $"{action}{r.Kind}",
            ["parameters"] = parameters,
            ["responses"] = new JsonObject
            {
                ["200"] = new JsonObject { ["description"] = "OK", ["content"] = JsonContent(responseDefinition) },
                ["401"] = new JsonObject { ["description"] = "Unauthorized" },
            },
            ["x-kubernetes-action"] = action,
            ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
        };
        if (body == "patch")
        {
            var patchSchema = new JsonObject { ["type"] = "object" };
            op["requestBody"] = new JsonObject
            {
                ["content"] = new JsonObject
                {
                    ["application/apply-patch+yaml"] = new JsonObject { ["schema"] = patchSchema.DeepClone() },
                    ["application/json-patch+json"] = new JsonObject { ["schema"] = patchSchema.DeepClone() },
                    ["application/merge-patch+json"] = new JsonObject { ["schema"] = patchSchema.DeepClone() },
                    ["application/strategic-merge-patch+json"] = new JsonObject { ["schema"] = patchSchema },
                },
                ["required"] = true,
            };
        }
        else if (body is not null)
        {
            op["requestBody"] = new JsonObject { ["content"] = JsonContent(body), ["required"] = true };
        }
        return op;
    }

    private static JsonObject JsonContent(string definition) => new()
    {
        ["application/json"] = new JsonObject
        {
            ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{definition}" },
        },
    };

    private static JsonObject QueryParameter(string name, string description) => new()
    {
        ["name"] = name,
        ["in"] = "query",
        ["description"] = description,
        ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true },
    };

    private static JsonArray PathParameters(bool namespaced, bool withName)
    {
        var array = new JsonArray();
        if (withName)
        {
            array.Add(new JsonObject { ["name"] = "name", ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });
        }
        if (namespaced)
        {
            array.Add(new JsonObject { ["name"] = "namespace", ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });
        }
        return array;
    }

    /// <summary>The named schemas plus every schema they reference, transitively.</summary>
    private static JsonObject Closure(IEnumerable<string> roots)
    {
        var all = OpenApiComponents.Schemas;
        var result = new JsonObject();
        var pending = new Stack<string>(roots);
        while (pending.TryPop(out var name))
        {
            if (result.ContainsKey(name) || all[name] is not JsonObject schema)
            {
                continue;
            }
            result[name] = schema.DeepClone();
            foreach (var reference in References(schema))
            {
                pending.Push(reference);
            }
        }
        return result;
    }

    private static IEnumerable<string> References(JsonNode? node)
    {
        const string Prefix = "#/components/schemas/";
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "$ref" && value?.GetValue<string>() is { } target && target.StartsWith(Prefix, StringComparison.Ordinal))
                    {
                        yield return target[Prefix.Length..];
                    }
                    else
                    {
                        foreach (var r in References(value))
                        {
                            yield return r;
                        }
                    }
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    foreach (var r in References(item))
                    {
                        yield return r;
                    }
                }
                break;
        }
    }
}
