using System.Text.Json.Nodes;
using Berth.Api.Selectors;
using Berth.ApiServer.Http;
using Berth.ApiServer.Resources;
using Microsoft.AspNetCore.Http;

namespace Berth.ApiServer.Registry;

/// <summary>The labelSelector and fieldSelector of a list or watch, checked against objects as JSON.</summary>
public sealed class ListFilter
{
    private readonly LabelSelector? _labels;
    private readonly FieldSelector? _fields;
    private readonly ResourceDefinition _def;

    private ListFilter(ResourceDefinition def, LabelSelector? labels, FieldSelector? fields, string? name)
    {
        _def = def;
        _labels = labels;
        _fields = fields;
        Name = name;
    }

    /// <summary>True when nothing is filtered: every object matches.</summary>
    public bool IsEmpty => _labels is null && _fields is null;

    /// <summary>Set when the field selector pins metadata.name (informer-style watches of one object).</summary>
    public string? Name { get; }

    public static ListFilter FromQuery(ResourceDefinition def, IQueryCollection query)
    {
        LabelSelector? labels = null;
        var labelText = query["labelSelector"].ToString();
        if (labelText.Length > 0)
        {
            if (!LabelSelector.TryParse(labelText, out var parsed, out var error))
            {
                throw ApiException.BadRequest(error);
            }
            labels = parsed;
        }
        FieldSelector? fields = null;
        string? name = null;
        var fieldText = query["fieldSelector"].ToString();
        if (fieldText.Length > 0)
        {
            if (!FieldSelector.TryParse(fieldText, out var parsed, out var error))
            {
                throw ApiException.BadRequest($"invalid field selector: {error}");
            }
            if (!parsed.TryValidateFields(f => f is "metadata.name" or "metadata.namespace" || def.SelectableFields.Contains(f), out var unsupported))
            {
                throw ApiException.BadRequest(unsupported);
            }
            if (parsed.TryGetExactMatch("metadata.name", out var exact))
            {
                name = exact;
            }
            fields = parsed;
        }
        return new ListFilter(def, labels, fields, name);
    }

    public bool Matches(JsonObject obj)
    {
        if (_labels is not null && !_labels.Matches(Meta.Labels(obj)))
        {
            return false;
        }
        return _fields is null || _fields.Matches(field => FieldValue(obj, field));
    }

    private string? FieldValue(JsonObject obj, string field) => field switch
    {
        "metadata.name" => Meta.Name(obj) ?? "",
        "metadata.namespace" => Meta.Namespace(obj) ?? "",
        // Upstream event field labels: "source" is source.component.
        "source" when _def.Kind == "Event" => Meta.Field(obj, "source.component") ?? "",
        // Unset booleans and strings compare as their zero values, as upstream's field sets do.
        "spec.hostNetwork" or "spec.unschedulable" => Meta.Field(obj, field) ?? "false",
        _ => Meta.Field(obj, field) ?? "",
    };
}
