using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Api.Serialization.Protobuf;

/// <summary>
/// Turns an <c>application/vnd.kubernetes.protobuf</c> request body into the JSON object a JSON client would have sent.
/// kubectl's typed-client commands (<c>create deployment|service|namespace|configmap|secret|job|cronjob|serviceaccount</c>)
/// only speak protobuf and have no JSON fallback.
/// </summary>
public static class KubeProtobuf
{
    /// <summary>The media type kubectl sends and accepts.</summary>
    public const string MediaType = "application/vnd.kubernetes.protobuf";

    // Real objects nest about 15 levels deep (CronJob → … → container → env → valueFrom → key selector).
    private const int MaxDepth = 64;

    private static ReadOnlySpan<byte> Magic => "k8s\0"u8;

    /// <summary>
    /// Decodes the <c>k8s\0</c> envelope (a runtime.Unknown holding typeMeta and the raw object) and the object itself.
    /// Returns false with a human-readable <paramref name="error"/> for malformed bytes or a kind without a table; never throws.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> body, out JsonObject? obj, out string? error)
    {
        obj = null;
        if (body.Length < Magic.Length || !body[..Magic.Length].SequenceEqual(Magic))
        {
            error = "protobuf body does not start with the \"k8s\\0\" magic prefix";
            return false;
        }

        if (!TryReadEnvelope(body[Magic.Length..], out var apiVersion, out var kind, out var raw, out error))
        {
            return false;
        }

        if (ProtoSchema.FindRoot(apiVersion, kind) is not { } root)
        {
            error = $"protobuf decoding is not supported for apiVersion \"{apiVersion}\", kind \"{kind}\"";
            return false;
        }

        var result = new JsonObject
        {
            ["apiVersion"] = apiVersion,
            ["kind"] = kind,
        };
        if (!TryDecodeMessage(raw, root, result, depth: 0, out error))
        {
            return false;
        }

        obj = result;
        return true;
    }

    // runtime.Unknown: 1 typeMeta{1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType
    // (k8s.io/apimachinery/pkg/runtime/generated.proto; runtime.TypeMeta numbers differ from metav1.TypeMeta's).
    private static bool TryReadEnvelope(ReadOnlySpan<byte> data, out string apiVersion, out string kind, out ReadOnlySpan<byte> raw, out string? error)
    {
        apiVersion = "";
        kind = "";
        raw = default;
        var contentEncoding = "";
        var contentType = "";
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out var number, out var wire))
            {
                error = "malformed protobuf envelope: bad field tag";
                return false;
            }

            if (number is < 1 or > 4)
            {
                if (!reader.TrySkip(wire))
                {
                    error = $"malformed protobuf envelope: field {number} is truncated or uses an unsupported wire type";
                    return false;
                }

                continue;
            }

            if (wire != ProtoReader.WireLengthDelimited || !reader.TryReadLengthDelimited(out var value))
            {
                error = $"malformed protobuf envelope: field {number} is truncated or has the wrong wire type";
                return false;
            }

            switch (number)
            {
                case 1:
                    if (!TryReadTypeMeta(value, ref apiVersion, ref kind))
                    {
                        error = "malformed protobuf envelope: bad typeMeta";
                        return false;
                    }

                    break;
                case 2:
                    raw = value;
                    break;
                case 3:
                    contentEncoding = Encoding.UTF8.GetString(value);
                    break;
                default:
                    contentType = Encoding.UTF8.GetString(value);
                    break;
            }
        }

        if (contentEncoding.Length != 0)
        {
            error = $"unsupported protobuf contentEncoding \"{contentEncoding}\"";
            return false;
        }

        if (contentType.Length != 0 && contentType != MediaType)
        {
            error = $"unsupported protobuf contentType \"{contentType}\"";
            return false;
        }

        error = null;
        return true;
    }

    private static bool TryReadTypeMeta(ReadOnlySpan<byte> data, ref string apiVersion, ref string kind)
    {
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out var number, out var wire))
            {
                return false;
            }

            if (number is 1 or 2 && wire == ProtoReader.WireLengthDelimited)
            {
                if (!reader.TryReadLengthDelimited(out var value))
                {
                    return false;
                }

                if (number == 1)
                {
                    apiVersion = Encoding.UTF8.GetString(value);
                }
                else
                {
                    kind = Encoding.UTF8.GetString(value);
                }
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryDecodeMessage(ReadOnlySpan<byte> data, ProtoMessage message, JsonObject target, int depth, out string? error)
    {
        if (depth > MaxDepth)
        {
            error = $"protobuf message nesting exceeds {MaxDepth} levels";
            return false;
        }

        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var at = reader.Position;
            if (!reader.TryReadTag(out var number, out var wire))
            {
                error = $"malformed protobuf in {message.Name}: bad field tag at byte {at}";
                return false;
            }

            if (message.Find(number) is not { } field)
            {
                // Unknown field numbers come from newer clients; upstream's gogo decoders skip them too.
                if (!reader.TrySkip(wire))
                {
                    error = $"malformed protobuf in {message.Name}: unknown field {number} is truncated or uses an unsupported wire type";
                    return false;
                }

                continue;
            }

            if (!TryDecodeField(ref reader, wire, field, message, target, depth, out error))
            {
                return false;
            }
        }

        error = null;
        return true;
    }

    private static bool TryDecodeField(ref ProtoReader reader, int wire, ProtoField field, ProtoMessage owner, JsonObject target, int depth, out string? error)
    {
        if (field.Kind is ProtoKind.Bool or ProtoKind.Int32 or ProtoKind.Int64)
        {
            return TryDecodeScalar(ref reader, wire, field, owner, target, out error);
        }

        if (wire != ProtoReader.WireLengthDelimited)
        {
            error = WrongWireType(owner, field, wire);
            return false;
        }

        if (!reader.TryReadLengthDelimited(out var value))
        {
            error = Truncated(owner, field);
            return false;
        }

        JsonNode? node;
        switch (field.Kind)
        {
            case ProtoKind.String:
                var text = Encoding.UTF8.GetString(value);
                if (text.Length == 0 && !field.Pointer && !field.Repeated)
                {
                    // gogo writes every non-pointer string, so "" means unset (JSON's omitempty).
                    target.Remove(field.JsonName);
                    error = null;
                    return true;
                }

                node = JsonValue.Create(text);
                break;

            case ProtoKind.Bytes:
                node = JsonValue.Create(Convert.ToBase64String(value));
                break;

            case ProtoKind.Inline:
                return TryDecodeMessage(value, field.Message!, target, depth + 1, out error);

            case ProtoKind.Message when field.Repeated:
                var element = new JsonObject();
                if (!TryDecodeMessage(value, field.Message!, element, depth + 1, out error))
                {
                    return false;
                }

                node = element;
                break;

            case ProtoKind.Message:
                // A message on the wire means the Go field was set (pointers) or is a struct encoding/json always
                // writes: either way a JSON client sends it too, even as {} ("resources":{}, "emptyDir":{}, "status":{}).
                if (target[field.JsonName] is not JsonObject existing)
                {
                    existing = new JsonObject();
                    target[field.JsonName] = existing;
                }

                return TryDecodeMessage(value, field.Message!, existing, depth + 1, out error);

            case ProtoKind.MapString:
            case ProtoKind.MapBytes:
            case ProtoKind.MapQuantity:
                return TryDecodeMapEntry(value, field, owner, target, out error);

            case ProtoKind.Time:
            case ProtoKind.MicroTime:
                if (!TryDecodeTime(value, field.Kind == ProtoKind.MicroTime, out node))
                {
                    error = $"malformed or out-of-range timestamp in {owner.Name}.{field.JsonName}";
                    return false;
                }

                break;

            case ProtoKind.Quantity:
                if (!TryDecodeQuantity(value, out var quantity))
                {
                    error = $"invalid quantity in {owner.Name}.{field.JsonName}";
                    return false;
                }

                node = JsonValue.Create(quantity);
                break;

            case ProtoKind.IntOrString:
                if (!TryDecodeIntOrString(value, out node, out var isZero))
                {
                    error = Truncated(owner, field);
                    return false;
                }

                if (isZero && !field.Pointer && !field.Repeated)
                {
                    // A non-pointer IntOrString is always written; 0 / "" is what upstream defaulting treats as unset.
                    target.Remove(field.JsonName);
                    error = null;
                    return true;
                }

                break;

            case ProtoKind.RawJson:
                if (!TryDecodeRawJson(value, out node))
                {
                    error = $"invalid JSON in {owner.Name}.{field.JsonName}";
                    return false;
                }

                break;

            default:
                error = $"unsupported field kind {field.Kind} in {owner.Name}.{field.JsonName}";
                return false;
        }

        if (field.Repeated)
        {
            ArrayFor(target, field.JsonName).Add(node);
        }
        else
        {
            target[field.JsonName] = node;
        }

        error = null;
        return true;
    }

    private static bool TryDecodeScalar(ref ProtoReader reader, int wire, ProtoField field, ProtoMessage owner, JsonObject target, out string? error)
    {
        if (wire == ProtoReader.WireVarint)
        {
            if (!reader.TryReadVarint(out var raw))
            {
                error = Truncated(owner, field);
                return false;
            }

            SetScalar(target, field, raw);
            error = null;
            return true;
        }

        if (wire != ProtoReader.WireLengthDelimited || !field.Repeated)
        {
            error = WrongWireType(owner, field, wire);
            return false;
        }

        // Packed repeated scalars: a run of varints inside one length-delimited field.
        if (!reader.TryReadLengthDelimited(out var packed))
        {
            error = Truncated(owner, field);
            return false;
        }

        var inner = new ProtoReader(packed);
        while (!inner.End)
        {
            if (!inner.TryReadVarint(out var raw))
            {
                error = Truncated(owner, field);
                return false;
            }

            SetScalar(target, field, raw);
        }

        if (packed.IsEmpty)
        {
            ArrayFor(target, field.JsonName);
        }

        error = null;
        return true;
    }

    private static void SetScalar(JsonObject target, ProtoField field, ulong raw)
    {
        JsonNode node;
        bool zero;
        switch (field.Kind)
        {
            case ProtoKind.Bool:
                zero = raw == 0;
                node = JsonValue.Create(raw != 0);
                break;
            case ProtoKind.Int32:
                // int32 travels as a sign-extended varint; keep the low 32 bits like Go's decoder does.
                var i32 = unchecked((int)raw);
                zero = i32 == 0;
                node = JsonValue.Create(i32);
                break;
            default:
                var i64 = unchecked((long)raw);
                zero = i64 == 0;
                node = JsonValue.Create(i64);
                break;
        }

        if (field.Repeated)
        {
            ArrayFor(target, field.JsonName).Add(node);
        }
        else if (zero && !field.Pointer)
        {
            // gogo writes every non-pointer scalar, so zero means unset (JSON's omitempty).
            target.Remove(field.JsonName);
        }
        else
        {
            target[field.JsonName] = node;
        }
    }

    private static JsonArray ArrayFor(JsonObject target, string name)
    {
        if (target[name] is not JsonArray array)
        {
            array = [];
            target[name] = array;
        }

        return array;
    }

    // Map entries are messages {1: key, 2: value}; a missing key or value is the zero value, as in Go.
    private static bool TryDecodeMapEntry(ReadOnlySpan<byte> entry, ProtoField field, ProtoMessage owner, JsonObject target, out string? error)
    {
        var key = "";
        JsonNode value = JsonValue.Create("");
        var sawValue = false;
        var reader = new ProtoReader(entry);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out var number, out var wire))
            {
                error = Truncated(owner, field);
                return false;
            }

            if (number is not (1 or 2))
            {
                if (!reader.TrySkip(wire))
                {
                    error = Truncated(owner, field);
                    return false;
                }

                continue;
            }

            if (wire != ProtoReader.WireLengthDelimited)
            {
                error = WrongWireType(owner, field, wire);
                return false;
            }

            if (!reader.TryReadLengthDelimited(out var bytes))
            {
                error = Truncated(owner, field);
                return false;
            }

            if (number == 1)
            {
                key = Encoding.UTF8.GetString(bytes);
                continue;
            }

            sawValue = true;
            switch (field.Kind)
            {
                case ProtoKind.MapString:
                    value = JsonValue.Create(Encoding.UTF8.GetString(bytes));
                    break;
                case ProtoKind.MapBytes:
                    value = JsonValue.Create(Convert.ToBase64String(bytes));
                    break;
                default:
                    if (!TryDecodeQuantity(bytes, out var quantity))
                    {
                        error = $"invalid quantity in {owner.Name}.{field.JsonName}";
                        return false;
                    }

                    value = JsonValue.Create(quantity);
                    break;
            }
        }

        if (!sawValue && field.Kind == ProtoKind.MapQuantity)
        {
            error = $"invalid quantity in {owner.Name}.{field.JsonName}";
            return false;
        }

        if (target[field.JsonName] is not JsonObject map)
        {
            map = [];
            target[field.JsonName] = map;
        }

        map[key] = value;
        error = null;
        return true;
    }

    // metav1.Time / MicroTime: {1: seconds, 2: nanos}. An empty message is the zero time, which Go marshals to JSON as
    // null (time_proto.go writes nothing for it). Time renders with second precision, MicroTime with microseconds.
    private static bool TryDecodeTime(ReadOnlySpan<byte> data, bool micro, out JsonNode? node)
    {
        node = null;
        if (data.IsEmpty)
        {
            return true;
        }

        long seconds = 0;
        long nanos = 0;
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out var number, out var wire))
            {
                return false;
            }

            if (number is 1 or 2 && wire == ProtoReader.WireVarint)
            {
                if (!reader.TryReadVarint(out var raw))
                {
                    return false;
                }

                if (number == 1)
                {
                    seconds = unchecked((long)raw);
                }
                else
                {
                    nanos = unchecked((int)raw);
                }
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        // The range protobuf's Timestamp allows (0001-01-01 to 9999-12-31), which is also DateTimeOffset's.
        if (seconds is < -62135596800L or > 253402300799L || nanos is < 0 or > 999_999_999)
        {
            return false;
        }

        var time = DateTimeOffset.FromUnixTimeSeconds(seconds);
        node = JsonValue.Create(micro
            ? time.AddTicks(nanos / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)
            : time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        return true;
    }

    // resource.Quantity is a message {1: string}; upstream rejects one that does not parse, and "" never does.
    private static bool TryDecodeQuantity(ReadOnlySpan<byte> data, out string quantity)
    {
        quantity = "";
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out var number, out var wire))
            {
                return false;
            }

            if (number == 1 && wire == ProtoReader.WireLengthDelimited)
            {
                if (!reader.TryReadLengthDelimited(out var text))
                {
                    return false;
                }

                quantity = Encoding.UTF8.GetString(text);
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        return quantity.Length != 0;
    }

    // intstr.IntOrString: {1: type (0 int, 1 string), 2: intVal, 3: strVal}.
    private static bool TryDecodeIntOrString(ReadOnlySpan<byte> data, out JsonNode? node, out bool isZero)
    {
        node = null;
        isZero = false;
        long type = 0;
        var intVal = 0;
        var strVal = "";
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out var number, out var wire))
            {
                return false;
            }

            if (number is 1 or 2 && wire == ProtoReader.WireVarint)
            {
                if (!reader.TryReadVarint(out var raw))
                {
                    return false;
                }

                if (number == 1)
                {
                    type = unchecked((long)raw);
                }
                else
                {
                    intVal = unchecked((int)raw);
                }
            }
            else if (number == 3 && wire == ProtoReader.WireLengthDelimited)
            {
                if (!reader.TryReadLengthDelimited(out var text))
                {
                    return false;
                }

                strVal = Encoding.UTF8.GetString(text);
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        if (type == 1)
        {
            node = JsonValue.Create(strVal);
            isZero = strVal.Length == 0;
        }
        else
        {
            node = JsonValue.Create(intVal);
            isZero = intVal == 0;
        }

        return true;
    }

    // metav1.FieldsV1: {1: raw JSON bytes}. Only managedFields carry it, and clients rarely send those.
    private static bool TryDecodeRawJson(ReadOnlySpan<byte> data, out JsonNode? node)
    {
        node = null;
        ReadOnlySpan<byte> raw = default;
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out var number, out var wire))
            {
                return false;
            }

            if (number == 1 && wire == ProtoReader.WireLengthDelimited)
            {
                if (!reader.TryReadLengthDelimited(out raw))
                {
                    return false;
                }
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        if (raw.IsEmpty)
        {
            return true;
        }

        try
        {
            node = JsonNode.Parse(raw);
            return true;
        }
        catch (JsonException)
        {
            // Cold path: System.Text.Json has no non-throwing validator, and this never escapes TryDecode.
            return false;
        }
    }

    private static string Truncated(ProtoMessage owner, ProtoField field) =>
        $"malformed protobuf in {owner.Name}: field {field.Number} ({field.JsonName}) is truncated";

    private static string WrongWireType(ProtoMessage owner, ProtoField field, int wire) =>
        $"malformed protobuf in {owner.Name}: field {field.Number} ({field.JsonName}) has unexpected wire type {wire}";
}
