using System.Text.Json.Nodes;

namespace Berth.Client.Manifests;

/// <summary>Where objects of one apiVersion + kind live: the REST collection and whether it is per namespace.</summary>
public sealed record ResourceMapping(string ApiVersion, string Kind, string Plural, bool Namespaced)
{
    /// <summary>The object's path (no leading slash), as client-go's REST mapper builds it.</summary>
    public string ObjectPath(string? ns, string name)
    {
        var prefix = ApiVersion.Contains('/', StringComparison.Ordinal) ? "apis/" + ApiVersion : "api/" + ApiVersion;
        return Namespaced
            ? $"{prefix}/namespaces/{Uri.EscapeDataString(ns ?? "default")}/{Plural}/{Uri.EscapeDataString(name)}"
            : $"{prefix}/{Plural}/{Uri.EscapeDataString(name)}";
    }
}

/// <summary>
/// Maps apiVersion + kind to a resource through the server's discovery documents (<c>/api/v1</c>,
/// <c>/apis/GROUP/VERSION</c>), as kubectl's REST mapper does; one GET per group version, cached.
/// </summary>
public sealed class ResourceDiscovery(KubeClient client)
{
    private readonly Dictionary<string, IReadOnlyDictionary<string, ResourceMapping>?> _byApiVersion = new(StringComparer.Ordinal);

    /// <summary>The mapping, or an error message in kubectl's words when the server serves no such kind.</summary>
    public async Task<(ResourceMapping? Mapping, string? Error)> FindAsync(string apiVersion, string kind, CancellationToken ct)
    {
        if (!_byApiVersion.TryGetValue(apiVersion, out var kinds))
        {
            kinds = await FetchAsync(apiVersion, ct).ConfigureAwait(false);
            _byApiVersion[apiVersion] = kinds;
        }
        return kinds is not null && kinds.TryGetValue(kind, out var mapping)
            ? (mapping, null)
            : (null, $"no matches for kind \"{kind}\" in version \"{apiVersion}\" (the server does not serve it)");
    }

    private async Task<IReadOnlyDictionary<string, ResourceMapping>?> FetchAsync(string apiVersion, CancellationToken ct)
    {
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        if (apiVersion.Length == 0 || slash != apiVersion.LastIndexOf('/') || slash == 0 || slash == apiVersion.Length - 1)
        {
            return null;
        }
        JsonNode list;
        try
        {
            list = await client.GetRawAsync(slash < 0 ? "api/" + apiVersion : "apis/" + apiVersion, ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            return null;
        }
        return Parse(apiVersion, list);
    }

    /// <summary>The kinds of an APIResourceList; subresources (<c>pods/status</c>) are not kinds of their own.</summary>
    internal static IReadOnlyDictionary<string, ResourceMapping> Parse(string apiVersion, JsonNode list)
    {
        var kinds = new Dictionary<string, ResourceMapping>(StringComparer.Ordinal);
        foreach (var resource in list["resources"]?.AsArray() ?? [])
        {
            var name = resource?["name"]?.GetValue<string>();
            var kind = resource?["kind"]?.GetValue<string>();
            if (name is null || kind is null || name.Contains('/', StringComparison.Ordinal))
            {
                continue;
            }
            kinds.TryAdd(kind, new ResourceMapping(apiVersion, kind, name, resource?["namespaced"]?.GetValue<bool>() == true));
        }
        return kinds;
    }
}
