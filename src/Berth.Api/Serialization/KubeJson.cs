using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Berth.Api.Serialization;

/// <summary>
/// JSON for the model types, through the source-generated <see cref="KubeJsonContext"/> only (no
/// reflection). Types outside the context throw <see cref="NotSupportedException"/>.
/// </summary>
public static class KubeJson
{
    /// <summary>The options of <see cref="KubeJsonContext.Default"/> (read-only).</summary>
    public static JsonSerializerOptions Options => KubeJsonContext.Default.Options;

    /// <summary>The source-generated metadata for <typeparamref name="T"/>.</summary>
    public static JsonTypeInfo<T> TypeInfo<T>() => TypeInfoCache<T>.Value ?? throw NotInContext(typeof(T));

    /// <summary>The source-generated metadata for <paramref name="type"/>.</summary>
    public static JsonTypeInfo TypeInfo(Type type) =>
        KubeJsonContext.Default.GetTypeInfo(type) ?? throw NotInContext(type);

    /// <summary>Deserialises UTF-8 JSON; throws <see cref="JsonException"/> for invalid JSON, a wrong shape or a bare <c>null</c>.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, TypeInfo<T>()) ?? throw NullDocument();

    /// <summary>Deserialises a JSON node; throws <see cref="JsonException"/> for a wrong shape or a <c>null</c> node.</summary>
    public static T Deserialize<T>(JsonNode node) =>
        JsonSerializer.Deserialize(node, TypeInfo<T>()) ?? throw NullDocument();

    /// <summary>Deserialises a JSON node into <paramref name="type"/>.</summary>
    public static object Deserialize(JsonNode node, Type type) =>
        JsonSerializer.Deserialize(node, TypeInfo(type)) ?? throw NullDocument();

    /// <summary>Deserialises UTF-8 JSON into <paramref name="type"/>.</summary>
    public static object Deserialize(ReadOnlySpan<byte> utf8, Type type) =>
        JsonSerializer.Deserialize(utf8, TypeInfo(type)) ?? throw NullDocument();

    /// <summary>Serialises to UTF-8 JSON (nulls left out).</summary>
    public static byte[] SerializeToUtf8Bytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, TypeInfo<T>());

    /// <summary>Serialises a value of runtime type <paramref name="type"/> to UTF-8 JSON.</summary>
    public static byte[] SerializeToUtf8Bytes(object value, Type type) => JsonSerializer.SerializeToUtf8Bytes(value, TypeInfo(type));

    /// <summary>Serialises to a writer (for streaming responses).</summary>
    public static void Serialize<T>(Utf8JsonWriter writer, T value) => JsonSerializer.Serialize(writer, value, TypeInfo<T>());

    /// <summary>Serialises to a mutable JSON node.</summary>
    public static JsonNode ToNode<T>(T value) =>
        JsonSerializer.SerializeToNode(value, TypeInfo<T>()) ?? throw new ArgumentNullException(nameof(value));

    /// <summary>
    /// A deep copy through JSON: controllers copy before mutating, as upstream <c>DeepCopy()</c>.
    /// </summary>
    public static T DeepClone<T>(T value)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(value);
        var info = TypeInfo<T>();
        return JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(value, info), info)!;
    }

    private static NotSupportedException NotInContext(Type type) =>
        new($"{type} is not a Berth.Api model type (not in {nameof(KubeJsonContext)}).");

    private static JsonException NullDocument() => new("expected a JSON object, got null");

    private static class TypeInfoCache<T>
    {
        public static readonly JsonTypeInfo<T>? Value = KubeJsonContext.Default.GetTypeInfo(typeof(T)) as JsonTypeInfo<T>;
    }
}
