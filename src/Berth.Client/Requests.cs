using Berth.Api.Models;

namespace Berth.Client;

/// <summary>Query parameters of list and watch requests.</summary>
public sealed record ListOptions(
    string? LabelSelector = null,
    string? FieldSelector = null,
    string? ResourceVersion = null,
    int? TimeoutSeconds = null,
    bool AllowWatchBookmarks = false);

/// <summary>A list answer: the items and the resourceVersion to watch from.</summary>
public sealed record KubeList<T>(string ResourceVersion, IReadOnlyList<T> Items);

public enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

/// <summary>One line of a watch stream: the object, or the Status of an ERROR event.</summary>
public sealed record WatchEvent<T>(WatchEventType Type, T? Object, Status? Error);

public enum PatchType
{
    /// <summary>application/merge-patch+json (RFC 7386).</summary>
    Merge,

    /// <summary>application/strategic-merge-patch+json.</summary>
    StrategicMerge,

    /// <summary>application/json-patch+json (RFC 6902).</summary>
    Json,
}
