using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Tables;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public sealed partial class ResourceHandler
{
    private async Task GetAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var stored = await GetRequiredAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false);
        if (WantsTable(http.Request))
        {
            await Respond.JsonAsync(http, 200, Table(http.Request, def, [stored.Object], stored.ModRevision, withColumns: true), MediaTypes.Table).ConfigureAwait(false);
            return;
        }
        await Respond.JsonAsync(http, 200, stored.Object).ConfigureAwait(false);
    }

    private async Task ListAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var filter = ListFilter.FromQuery(def, http.Request.Query);
        var (items, revision) = await _objects.ListAsync(def, info.Namespace, ct).ConfigureAwait(false);
        var matching = new List<JsonObject>(items.Count);
        foreach (var item in items)
        {
            if (filter.Matches(item.Object))
            {
                matching.Add(item.Object);
            }
        }
        var rv = revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (WantsTable(http.Request))
        {
            await Respond.JsonAsync(http, 200, Table(http.Request, def, matching, revision, withColumns: true), MediaTypes.Table).ConfigureAwait(false);
            return;
        }
        // `limit` is honoured by returning everything with no continue token, which clients accept (kubectl-wire.md §6).
        var array = new JsonArray();
        foreach (var obj in matching)
        {
            array.Add(obj);
        }
        var list = new JsonObject
        {
            ["kind"] = def.ListKind,
            ["apiVersion"] = def.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = rv },
            ["items"] = array,
        };
        await Respond.JsonAsync(http, 200, list).ConfigureAwait(false);
    }

    private static bool WantsTable(HttpRequest request) =>
        MediaTypes.Accepts(request.Headers.Accept.ToString(), "Table", "meta.k8s.io", "v1") ||
        MediaTypes.Accepts(request.Headers.Accept.ToString(), "Table", "meta.k8s.io", "v1beta1");

    /// <summary>A meta.k8s.io/v1 Table; rows carry the object's metadata (or the whole object) per includeObject.</summary>
    private JsonObject Table(HttpRequest request, ResourceDefinition def, IEnumerable<JsonObject> objects, long revision, bool withColumns)
    {
        var include = request.Query["includeObject"].ToString() switch
        {
            "" or "Metadata" => "Metadata",
            "Object" => "Object",
            "None" => "None",
            var other => throw ApiException.BadRequest($"includeObject: Unsupported value: \"{other}\": supported values: \"None\", \"Metadata\", \"Object\""),
        };
        var now = Now;
        var rows = new JsonArray();
        foreach (var obj in objects)
        {
            var row = new JsonObject { ["cells"] = TablePrinters.Cells(def.QualifiedResource, obj, now) };
            switch (include)
            {
                case "Object":
                    var full = (JsonObject)obj.DeepClone();
                    full["kind"] ??= def.Kind;
                    full["apiVersion"] ??= def.ApiVersion;
                    row["object"] = full;
                    break;
                case "Metadata":
                    row["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = "meta.k8s.io/v1",
                        ["metadata"] = Meta.Of(obj).DeepClone(),
                    };
                    break;
            }
            rows.Add(row);
        }
        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        if (withColumns)
        {
            table["columnDefinitions"] = TablePrinters.ColumnDefinitions(def.QualifiedResource);
        }
        table["rows"] = rows;
        return table;
    }
}
