using System.Text.Json.Nodes;

namespace Berth.ApiServer.Http;

/// <summary>A field-level cause of an Invalid (422) error, as kubectl prints it: "field: message".</summary>
public sealed record StatusCause(string Reason, string Message, string Field);

/// <summary>
/// An error answered as a metav1.Status. kubectl builds its message from these fields (kubectl-wire.md §5),
/// so reason, details.kind/name and causes must be exactly as upstream's apierrors produce them.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException(int code, string reason, string message, string? kind = null, string? name = null,
        string? group = null, IReadOnlyList<StatusCause>? causes = null, int? retryAfterSeconds = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Kind = kind;
        Name = name;
        Group = group;
        Causes = causes;
        RetryAfterSeconds = retryAfterSeconds;
    }

    public int Code { get; }
    public string Reason { get; }
    public string? Kind { get; }
    public string? Name { get; }
    public string? Group { get; }
    public IReadOnlyList<StatusCause>? Causes { get; }
    public int? RetryAfterSeconds { get; }

    public static ApiException NotFound(string qualifiedResource, string name) =>
        new(404, "NotFound", $"{qualifiedResource} \"{name}\" not found", KindOf(qualifiedResource), name, GroupOf(qualifiedResource));

    public static ApiException AlreadyExists(string qualifiedResource, string name) =>
        new(409, "AlreadyExists", $"{qualifiedResource} \"{name}\" already exists", KindOf(qualifiedResource), name, GroupOf(qualifiedResource));

    public static ApiException Conflict(string qualifiedResource, string name, string detail) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {qualifiedResource} \"{name}\": {detail}",
            KindOf(qualifiedResource), name, GroupOf(qualifiedResource));

    public static ApiException ModifiedConflict(string qualifiedResource, string name) =>
        Conflict(qualifiedResource, name, "the object has been modified; please apply your changes to the latest version and try again");

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiException Forbidden(string qualifiedResource, string name, string detail) =>
        new(403, "Forbidden", $"{qualifiedResource} \"{name}\" is forbidden: {detail}", KindOf(qualifiedResource), name, GroupOf(qualifiedResource));

    public static ApiException Gone(string message) => new(410, "Expired", message);

    public static ApiException UnsupportedMediaType(string contentType) =>
        new(415, "UnsupportedMediaType", $"the body of the request was in an unknown format ({contentType}) - accepted media types include: " +
            "application/json, application/yaml, application/vnd.kubernetes.protobuf");

    /// <summary>500 as upstream's NewInternalError: a server-side condition such as an exhausted range.</summary>
    public static ApiException Internal(string detail) =>
        new(500, "InternalError", $"Internal error occurred: {detail}", causes: [new StatusCause("", detail, "")]);

    /// <summary>422 for validation failures of an object of the core group.</summary>
    public static ApiException Invalid(string kind, string name, IEnumerable<Berth.Api.Validation.FieldError> errors) =>
        Invalid(kind, name, null, [.. errors.Select(e => new StatusCause(e.Reason, e.Message, e.Field))]);

    /// <summary>422 as upstream's NewInvalid: the message lists every cause, kubectl prints the causes.</summary>
    public static ApiException Invalid(string kind, string name, string? group, IReadOnlyList<StatusCause> causes)
    {
        // The message names the GroupKind as upstream prints it: "EndpointSlice.discovery.k8s.io", "Service".
        var qualified = group is { Length: > 0 } ? kind + "." + group : kind;
        var text = causes.Count switch
        {
            0 => $"{qualified} \"{name}\" is invalid",
            1 => $"{qualified} \"{name}\" is invalid: {causes[0].Field}: {causes[0].Message}",
            _ => $"{qualified} \"{name}\" is invalid: [{string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}"))}]",
        };
        return new ApiException(422, "Invalid", text, kind, name, group, causes);
    }

    public JsonObject ToStatus()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
            ["reason"] = Reason,
        };
        if (Kind is not null || Name is not null || Causes is not null || RetryAfterSeconds is not null)
        {
            var details = new JsonObject();
            if (Name is not null)
            {
                details["name"] = Name;
            }
            if (Group is not null)
            {
                details["group"] = Group;
            }
            if (Kind is not null)
            {
                details["kind"] = Kind;
            }
            if (Causes is { Count: > 0 })
            {
                var array = new JsonArray();
                foreach (var c in Causes)
                {
                    // Go's omitempty: an internal error's cause carries only its message.
                    var cause = new JsonObject();
                    if (c.Reason.Length > 0)
                    {
                        cause["reason"] = c.Reason;
                    }
                    cause["message"] = c.Message;
                    if (c.Field.Length > 0)
                    {
                        cause["field"] = c.Field;
                    }
                    array.Add(cause);
                }
                details["causes"] = array;
            }
            if (RetryAfterSeconds is { } retry)
            {
                details["retryAfterSeconds"] = retry;
            }
            status["details"] = details;
        }
        status["code"] = Code;
        return status;
    }

    // apierrors.NewNotFound(qualifiedResource, name) puts the plural resource in details.kind and the group in details.group.
    private static string KindOf(string qualifiedResource)
    {
        var dot = qualifiedResource.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? qualifiedResource : qualifiedResource[..dot];
    }

    private static string? GroupOf(string qualifiedResource)
    {
        var dot = qualifiedResource.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? null : qualifiedResource[(dot + 1)..];
    }
}
