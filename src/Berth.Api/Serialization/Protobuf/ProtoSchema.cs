namespace Berth.Api.Serialization.Protobuf;

/// <summary>How one protobuf field is read and rendered as JSON.</summary>
internal enum ProtoKind : byte
{
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Time,
    MicroTime,
    Quantity,
    IntOrString,
    RawJson,
    MapString,
    MapBytes,
    MapQuantity,
    Message,
    Inline,
}

/// <param name="Pointer">The Go field is a pointer, so gogo only writes it when set: keep its zero value
/// instead of treating zero as unset.</param>
internal sealed record ProtoField(int Number, string JsonName, ProtoKind Kind, bool Repeated, bool Pointer, string? MessageName)
{
    public ProtoMessage? Message { get; set; }
}

internal sealed class ProtoMessage(string name)
{
    private ProtoField?[] _byNumber = [];

    public string Name { get; } = name;

    public IEnumerable<ProtoField> Fields => _byNumber.OfType<ProtoField>();

    public ProtoField? Find(int number) => (uint)number < (uint)_byNumber.Length ? _byNumber[number] : null;

    public void Add(ProtoField field)
    {
        if (field.Number >= _byNumber.Length)
        {
            Array.Resize(ref _byNumber, field.Number + 1);
        }

        if (_byNumber[field.Number] is not null)
        {
            throw new InvalidOperationException($"protobuf table: {Name} declares field {field.Number} twice");
        }

        _byNumber[field.Number] = field;
    }
}

/// <summary>
/// The message tables, written in a compact text form transcribed from the upstream generated.proto files
/// (k8s.io/api core/v1, apps/v1, batch/v1; apimachinery meta/v1, util/intstr, api/resource).
/// Syntax per message: <c>Name: N jsonName type[*]; ...</c> where type is a scalar (string, bytes, bool, int32, int64),
/// a well-known wrapper (time, microtime, quantity, intstr, fieldsv1), a map (map&lt;string|bytes|quantity&gt;),
/// a message name, and a <c>[]</c> prefix for repeated. <c>N ^Message</c> (no JSON name) is a Go struct embedded with
/// <c>json:",inline"</c>, whose fields land in the parent object.
/// A trailing <c>*</c> marks Go pointer fields (zero is meaningful). Field numbers never change upstream, so newer
/// fields listed here are harmless for older clients.
/// </summary>
internal static partial class ProtoSchema
{
    private static readonly Dictionary<string, ProtoMessage> s_messages = Build();

    /// <summary>apiVersion/kind to the root message kubectl's typed clients send.</summary>
    private static readonly Dictionary<(string ApiVersion, string Kind), ProtoMessage> s_roots = new()
    {
        [("v1", "Namespace")] = s_messages["Namespace"],
        [("v1", "Service")] = s_messages["Service"],
        [("v1", "ConfigMap")] = s_messages["ConfigMap"],
        [("v1", "Secret")] = s_messages["Secret"],
        [("v1", "Pod")] = s_messages["Pod"],
        [("v1", "ServiceAccount")] = s_messages["ServiceAccount"],
        [("apps/v1", "Deployment")] = s_messages["Deployment"],
        [("apps/v1", "ReplicaSet")] = s_messages["ReplicaSet"],
        [("batch/v1", "Job")] = s_messages["Job"],
        [("batch/v1", "CronJob")] = s_messages["CronJob"],
    };

    public static ProtoMessage? FindRoot(string apiVersion, string kind) =>
        s_roots.TryGetValue((apiVersion, kind), out var message) ? message : null;

    private static Dictionary<string, ProtoMessage> Build()
    {
        var messages = new Dictionary<string, ProtoMessage>(StringComparer.Ordinal);
        foreach (var table in new[] { MetaTable, CoreTable, AppsTable, BatchTable })
        {
            foreach (var rawLine in table.Split('\n'))
            {
                var line = rawLine.Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var message = new ProtoMessage(line[..colon].Trim());
                if (!messages.TryAdd(message.Name, message))
                {
                    throw new InvalidOperationException($"protobuf table: {message.Name} declared twice");
                }

                foreach (var rawField in line[(colon + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    message.Add(ParseField(message.Name, rawField));
                }
            }
        }

        foreach (var message in messages.Values)
        {
            foreach (var field in message.Fields)
            {
                if (field.MessageName is { } target)
                {
                    field.Message = messages.TryGetValue(target, out var resolved)
                        ? resolved
                        : throw new InvalidOperationException($"protobuf table: {message.Name}.{field.JsonName} refers to unknown message {target}");
                }
            }
        }

        return messages;
    }

    private static ProtoField ParseField(string messageName, string text)
    {
        // "N jsonName type", or "N ^Message" for an inlined struct, which has no JSON name of its own.
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var inline = parts.Length == 2 && parts[1].StartsWith('^');
        if ((parts.Length != 3 && !inline) || !int.TryParse(parts[0], out var number) || number <= 0)
        {
            throw new InvalidOperationException($"protobuf table: bad field '{text}' in {messageName}");
        }

        var jsonName = inline ? "" : parts[1];
        var type = parts[^1];
        var pointer = type.EndsWith('*');
        if (pointer)
        {
            type = type[..^1];
        }

        var repeated = type.StartsWith("[]", StringComparison.Ordinal);
        if (repeated)
        {
            type = type[2..];
        }

        (ProtoKind kind, string? target) = type switch
        {
            "string" => (ProtoKind.String, null),
            "bytes" => (ProtoKind.Bytes, null),
            "bool" => (ProtoKind.Bool, null),
            "int32" => (ProtoKind.Int32, null),
            "int64" => (ProtoKind.Int64, null),
            "time" => (ProtoKind.Time, null),
            "microtime" => (ProtoKind.MicroTime, null),
            "quantity" => (ProtoKind.Quantity, null),
            "intstr" => (ProtoKind.IntOrString, null),
            "fieldsv1" => (ProtoKind.RawJson, null),
            "map<string>" => (ProtoKind.MapString, null),
            "map<bytes>" => (ProtoKind.MapBytes, null),
            "map<quantity>" => (ProtoKind.MapQuantity, null),
            _ when type.StartsWith('^') => (ProtoKind.Inline, type[1..]),
            _ => (ProtoKind.Message, (string?)type),
        };

        return new ProtoField(number, jsonName, kind, repeated, pointer, target);
    }
}
