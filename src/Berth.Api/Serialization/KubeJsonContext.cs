using System.Text.Json.Serialization;

namespace Berth.Api.Serialization;

/// <summary>
/// Source-generated System.Text.Json metadata for every model type (the <c>[JsonSerializable]</c> list is
/// generated into <c>Generated/KubeJsonContext.g.cs</c>). Nulls are not written, so what a client sent
/// round-trips without fields appearing; names come from <c>[JsonPropertyName]</c> on each property.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict)]
public sealed partial class KubeJsonContext : JsonSerializerContext;
