namespace Berth.Api.Selectors;

/// <summary>Label and annotation maps compared as upstream's apiequality.Semantic.DeepEqual compares them.</summary>
public static class StringMaps
{
    /// <summary>Same keys and values; a missing map equals an empty one (both mean "none" in the API).</summary>
    public static bool SemanticEqual(Dictionary<string, string>? a, Dictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a is null || a.All(e => b!.TryGetValue(e.Key, out var v) && v == e.Value));
}
