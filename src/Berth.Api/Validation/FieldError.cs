namespace Berth.Api.Validation;

/// <summary>
/// One validation failure, rendered like upstream's field.Error so kubectl prints the same text:
/// "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive".
/// </summary>
public sealed record FieldError(string Type, string Field, string Detail, string? BadValue = null)
{
    /// <summary>The StatusCause reason upstream uses for this error type.</summary>
    public string Reason => Type switch
    {
        "Required value" => "FieldValueRequired",
        "Invalid value" => "FieldValueInvalid",
        "Duplicate value" => "FieldValueDuplicate",
        "Unsupported value" => "FieldValueNotSupported",
        "Forbidden" => "FieldValueForbidden",
        "Too long" => "FieldValueTooLong",
        "Too many" => "FieldValueTooMany",
        _ => "FieldValueInvalid",
    };

    /// <summary>The message after "field: ", e.g. `Invalid value: "1abc": a DNS-1035 label ...`.</summary>
    public string Message => (BadValue, Detail.Length) switch
    {
        (null, 0) => Type,
        (null, _) => $"{Type}: {Detail}",
        (_, 0) => $"{Type}: {BadValue}",
        _ => $"{Type}: {BadValue}: {Detail}",
    };

    public static FieldError Required(string field, string detail = "") => new("Required value", field, detail);

    public static FieldError Invalid(string field, string value, string detail) => new("Invalid value", field, detail, Quote(value));

    public static FieldError Invalid(string field, long value, string detail) => new("Invalid value", field, detail, value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>An Invalid error for a value that is not a plain string or integer (a list, a nil pointer, a struct).</summary>
    public static FieldError Invalid(string field, GoValue value, string detail) => new("Invalid value", field, detail, value.Text);

    public static FieldError Forbidden(string field, string detail) => new("Forbidden", field, detail);

    public static FieldError Duplicate(string field, string value) => new("Duplicate value", field, "", Quote(value));

    public static FieldError Duplicate(string field, long value) => Duplicate(field, GoValue.Int(value));

    public static FieldError Duplicate(string field, GoValue value) => new("Duplicate value", field, "", value.Text);

    /// <summary>`Unsupported value: "X": supported values: "A", "B"`; upstream passes the supported values sorted.</summary>
    public static FieldError NotSupported(string field, string value, IEnumerable<string> supported)
    {
        var detail = string.Join(", ", supported.Select(Quote));
        return new("Unsupported value", field, detail.Length == 0 ? "" : "supported values: " + detail, Quote(value));
    }

    public static FieldError TooLong(string field, int max) => new("Too long", field, $"may not be more than {max} bytes");

    /// <summary>Go's %q rendering for the common case of printable strings.</summary>
    public static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
