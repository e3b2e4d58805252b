namespace Berth.ApiServer.Http;

/// <summary>Media types on the wire and the Accept parameters kubectl uses (kubectl-wire.md §1, §3, §4).</summary>
public static class MediaTypes
{
    public const string Json = "application/json";
    public const string Yaml = "application/yaml";
    public const string Protobuf = "application/vnd.kubernetes.protobuf";
    public const string JsonPatch = "application/json-patch+json";
    public const string MergePatch = "application/merge-patch+json";
    public const string StrategicMergePatch = "application/strategic-merge-patch+json";
    public const string ApplyPatch = "application/apply-patch+yaml";
    public const string Table = "application/json;as=Table;v=v1;g=meta.k8s.io";

    /// <summary>The media type without parameters, lower-cased: "application/json".</summary>
    public static string Essence(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return "";
        }
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().ToLowerInvariant();
    }

    /// <summary>True when an Accept header asks for the given "as=" conversion (Table, APIGroupDiscoveryList).</summary>
    public static bool Accepts(string? accept, string asKind, string? group = null, string? version = null)
    {
        if (string.IsNullOrEmpty(accept))
        {
            return false;
        }
        foreach (var range in accept.Split(','))
        {
            string? @as = null, g = null, v = null;
            foreach (var part in range.Split(';').Skip(1))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    continue;
                }
                var key = part[..eq].Trim();
                var value = part[(eq + 1)..].Trim();
                switch (key)
                {
                    case "as":
                        @as = value;
                        break;
                    case "g":
                        g = value;
                        break;
                    case "v":
                        v = value;
                        break;
                }
            }
            if (@as == asKind && (group is null || g == group) && (version is null || v == version))
            {
                return true;
            }
        }
        return false;
    }
}
