using System.Text.Json.Nodes;

namespace Berth.Client.Manifests;

/// <summary>
/// One object of a manifest set, with where it came from: the file as the user named it (<c>-</c> for stdin) and
/// its 1-based document number in that file (items of a <c>kind: List</c> share their document's number).
/// </summary>
public sealed record ManifestObject(string Source, int Document, JsonObject Object)
{
    public string ApiVersion => (string)Object["apiVersion"]!;

    public string Kind => (string)Object["kind"]!;

    public string Name => (string)Object["metadata"]!["name"]!;

    /// <summary>metadata.namespace as written, null when left out.</summary>
    public string? Namespace => Object["metadata"]?["namespace"]?.GetValue<string>();

    /// <summary>The group of <see cref="ApiVersion"/>: "" for the core group (<c>v1</c>).</summary>
    public string Group => ApiVersion.Contains('/', StringComparison.Ordinal) ? ApiVersion[..ApiVersion.IndexOf('/', StringComparison.Ordinal)] : "";

    /// <summary><c>FILE: document N</c>, the prefix of every message about this object.</summary>
    public string Origin => $"{Source}: document {Document}";
}

/// <summary>A manifest that cannot be used: unreadable, not YAML/JSON, or an object without apiVersion, kind or name.</summary>
public sealed class ManifestException(string source, int? document, string message)
    : Exception(document is null ? $"{source}: {message}" : $"{source}: document {document}: {message}")
{
    public string File { get; } = source;

    public int? Document { get; } = document;
}
