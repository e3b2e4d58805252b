using System.Buffers;
using System.Globalization;
using System.Text;
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
        var list = await _objects.Store.ListAsync(def.StoragePrefix(info.Namespace), ct).ConfigureAwait(false);
        if (WantsTable(http.Request))
        {
            var objects = list.Items.Select(i => ObjectStore.Decode(i.Value, i.ModRevision).Object).Where(filter.Matches);
            await Respond.JsonAsync(http, 200, Table(http.Request, def, objects, list.Revision, withColumns: true), MediaTypes.Table).ConfigureAwait(false);
            return;
        }
        // The items are written from their stored bytes; only a selector needs them parsed.
        // `limit` is honoured by returning everything with no continue token, which clients accept (kubectl-wire.md §6).
        var body = new ArrayBufferWriter<byte>(64 * 1024);
        body.Write("{\"kind\":\""u8);
        body.Write(Encoding.UTF8.GetBytes(def.ListKind));
        body.Write("\",\"apiVersion\":\""u8);
        body.Write(Encoding.UTF8.GetBytes(def.ApiVersion));
        body.Write("\",\"metadata\":{\"resourceVersion\":\""u8);
        body.Write(Encoding.UTF8.GetBytes(list.Revision.ToString(CultureInfo.InvariantCulture)));
        body.Write("\"},\"items\":["u8);
        var first = true;
        foreach (var item in list.Items)
        {
            if (!filter.IsEmpty && !filter.Matches(ObjectStore.Decode(item.Value, item.ModRevision).Object))
            {
                continue;
            }
            if (!first)
            {
                body.Write(","u8);
            }
            first = false;
            ResourceVersionSplice.Write(body, item.Value.Span, item.ModRevision);
        }
        body.Write("]}"u8);
        await Respond.BytesAsync(http, 200, body.WrittenMemory).ConfigureAwait(false);
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
