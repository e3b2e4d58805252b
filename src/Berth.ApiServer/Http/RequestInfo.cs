namespace Berth.ApiServer.Http;

/// <summary>
/// What a resource request addresses, parsed from the URL the way upstream's RequestInfoFactory does
/// (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go).
/// </summary>
public sealed record RequestInfo
{
    public required string Verb { get; init; }
    public required string Group { get; init; }
    public required string Version { get; init; }
    public required string Resource { get; init; }
    public string? Namespace { get; init; }
    public string? Name { get; init; }
    public string? Subresource { get; init; }

    /// <summary>Parses /api/v1/... and /apis/{group}/{version}/... resource paths; null for anything else.</summary>
    public static RequestInfo? Parse(string method, string path, bool watchQuery)
    {
        var parts = path.Trim('/').Split('/');
        int i;
        string group;
        if (parts.Length >= 3 && parts[0] == "api")
        {
            group = "";
            i = 1;
        }
        else if (parts.Length >= 4 && parts[0] == "apis")
        {
            group = parts[1];
            i = 2;
        }
        else
        {
            return null;
        }
        var version = parts[i++];
        var rest = parts.AsSpan(i);
        var watch = watchQuery;
        if (rest.Length > 0 && rest[0] == "watch")
        {
            // Deprecated /watch/ path prefix, still honoured upstream.
            watch = true;
            rest = rest[1..];
        }
        string? ns = null;
        string resource;
        string? name = null;
        string? sub = null;
        if (rest.Length >= 1 && rest[0] == "namespaces" && rest.Length >= 2)
        {
            // /namespaces/{name}, /namespaces/{name}/status|finalize address the namespace itself.
            if (rest.Length == 2 || rest[2] is "status" or "finalize")
            {
                resource = "namespaces";
                name = rest[1];
                sub = rest.Length >= 3 ? rest[2] : null;
                if (rest.Length > 3)
                {
                    return null;
                }
            }
            else
            {
                ns = rest[1];
                resource = rest[2];
                name = rest.Length >= 4 ? rest[3] : null;
                sub = rest.Length >= 5 ? rest[4] : null;
                if (rest.Length > 5)
                {
                    return null;
                }
            }
        }
        else if (rest.Length >= 1)
        {
            resource = rest[0];
            name = rest.Length >= 2 ? rest[1] : null;
            sub = rest.Length >= 3 ? rest[2] : null;
            if (rest.Length > 3)
            {
                return null;
            }
        }
        else
        {
            return null;
        }
        if (resource.Length == 0 || name is { Length: 0 })
        {
            return null;
        }

        var verb = method switch
        {
            "GET" or "HEAD" => name is null ? (watch ? "watch" : "list") : (watch ? "watch" : "get"),
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => name is null ? "deletecollection" : "delete",
            _ => method.ToLowerInvariant(),
        };
        return new RequestInfo
        {
            Verb = verb,
            Group = group,
            Version = version,
            Resource = resource,
            Namespace = ns,
            Name = name is null ? null : Uri.UnescapeDataString(name),
            Subresource = sub,
        };
    }
}
