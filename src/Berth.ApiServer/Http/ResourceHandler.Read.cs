using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Tables;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Http;

public sealed partial class ResourceHandler
{
    private const int FlushThreshold = 64 * 1024;

    private async Task GetAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var stored = await GetRequiredAsync(def, info.Namespace, info.Name!, ct).ConfigureAwait(false);
        if (WantsTable(http.Request))
        {
            var include = IncludeObject(http.Request);
            var buffer = new ArrayBufferWriter<byte>(4096);
            using (var writer = new Utf8JsonWriter(buffer, JsonBytes.WriterOptions))
            {
                WriteTable(writer, def, include, [stored.Object], stored.ModRevision, withColumns: true);
            }
            await Respond.BytesAsync(http, 200, buffer.WrittenMemory, MediaTypes.Table).ConfigureAwait(false);
            return;
        }
        await Respond.JsonAsync(http, 200, stored.Object).ConfigureAwait(false);
    }

    /// <summary>
    /// Lists stream straight into the response: JSON items from their stored bytes (only a selector needs them
    /// parsed), Tables row by row. Nothing holds the whole response in memory.
    /// `limit` is honoured by returning everything with no continue token, which clients accept (kubectl-wire.md §6).
    /// </summary>
    private async Task ListAsync(HttpContext http, ResourceDefinition def, RequestInfo info, CancellationToken ct)
    {
        var filter = ListFilter.FromQuery(def, http.Request.Query);
        var asTable = WantsTable(http.Request);
        var include = asTable ? IncludeObject(http.Request) : null;
        var list = await _objects.Store.ListAsync(def.StoragePrefix(info.Namespace), ct).ConfigureAwait(false);
        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = asTable ? MediaTypes.Table : MediaTypes.Json;
        var body = response.BodyWriter;
        if (asTable)
        {
            var objects = list.Items.Select(i => ObjectStore.Decode(i.Value, i.ModRevision).Object).Where(filter.Matches);
            await using var writer = new Utf8JsonWriter(body, JsonBytes.WriterOptions);
            await WriteTableAsync(writer, body, def, include!, objects, list.Revision, ct).ConfigureAwait(false);
            return;
        }
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
            if (body.UnflushedBytes > FlushThreshold)
            {
                await body.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        body.Write("]}"u8);
        await body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static bool WantsTable(HttpRequest request) =>
        MediaTypes.Accepts(request.Headers.Accept.ToString(), "Table", "meta.k8s.io", "v1") ||
        MediaTypes.Accepts(request.Headers.Accept.ToString(), "Table", "meta.k8s.io", "v1beta1");

    private static string IncludeObject(HttpRequest request) => request.Query["includeObject"].ToString() switch
    {
        "" or "Metadata" => "Metadata",
        "Object" => "Object",
        "None" => "None",
        var other => throw ApiException.BadRequest($"includeObject: Unsupported value: \"{other}\": supported values: \"None\", \"Metadata\", \"Object\""),
    };

    private async Task WriteTableAsync(Utf8JsonWriter writer, System.IO.Pipelines.PipeWriter body, ResourceDefinition def, string include,
        IEnumerable<JsonObject> objects, long revision, CancellationToken ct)
    {
        WriteTableStart(writer, def, revision, withColumns: true);
        var now = Now;
        foreach (var obj in objects)
        {
            WriteRow(writer, def, include, obj, now);
            if (writer.BytesPending > FlushThreshold)
            {
                writer.Flush();
                await body.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        await body.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A meta.k8s.io/v1 Table; rows carry the object's metadata (or the whole object) per includeObject.</summary>
    private void WriteTable(Utf8JsonWriter writer, ResourceDefinition def, string include, IEnumerable<JsonObject> objects, long revision, bool withColumns)
    {
        WriteTableStart(writer, def, revision, withColumns);
        var now = Now;
        foreach (var obj in objects)
        {
            WriteRow(writer, def, include, obj, now);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteTableStart(Utf8JsonWriter writer, ResourceDefinition def, long revision, bool withColumns)
    {
        writer.WriteStartObject();
        writer.WriteString("kind", "Table");
        writer.WriteString("apiVersion", "meta.k8s.io/v1");
        writer.WriteStartObject("metadata");
        writer.WriteString("resourceVersion", revision.ToString(CultureInfo.InvariantCulture));
        writer.WriteEndObject();
        if (withColumns)
        {
            writer.WritePropertyName("columnDefinitions");
            TablePrinters.ColumnDefinitions(def.QualifiedResource).WriteTo(writer);
        }
        writer.WriteStartArray("rows");
    }

    // Objects are only read here (watch events share them between watchers), never attached to another tree.
    private static void WriteRow(Utf8JsonWriter writer, ResourceDefinition def, string include, JsonObject obj, DateTimeOffset now)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("cells");
        TablePrinters.Cells(def.QualifiedResource, obj, now).WriteTo(writer);
        switch (include)
        {
            case "Object":
                writer.WritePropertyName("object");
                obj.WriteTo(writer);
                break;
            case "Metadata":
                writer.WriteStartObject("object");
                writer.WriteString("kind", "PartialObjectMetadata");
                writer.WriteString("apiVersion", "meta.k8s.io/v1");
                writer.WritePropertyName("metadata");
                (obj["metadata"] ?? new JsonObject()).WriteTo(writer);
                writer.WriteEndObject();
                break;
        }
        writer.WriteEndObject();
    }
}
