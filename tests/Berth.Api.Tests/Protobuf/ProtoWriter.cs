using System.Text;

namespace Berth.Api.Tests.Protobuf;

/// <summary>A tiny protobuf encoder for building test bodies the way gogo/protobuf lays them out.</summary>
internal sealed class ProtoWriter
{
    private readonly List<byte> _bytes = [];

    public static byte[] Envelope(string apiVersion, string kind, byte[] raw, string contentEncoding = "", string contentType = "")
    {
        var unknown = new ProtoWriter()
            .Message(1, t => t.String(1, apiVersion).String(2, kind))
            .Bytes(2, raw)
            .String(3, contentEncoding)
            .String(4, contentType)
            .ToArray();
        return [.. "k8s\0"u8.ToArray(), .. unknown];
    }

    public ProtoWriter Varint(int field, long value)
    {
        Tag(field, 0);
        WriteVarint(unchecked((ulong)value));
        return this;
    }

    public ProtoWriter Bool(int field, bool value) => Varint(field, value ? 1 : 0);

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Bytes(int field, byte[] value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _bytes.AddRange(value);
        return this;
    }

    public ProtoWriter Message(int field, Action<ProtoWriter> build)
    {
        var inner = new ProtoWriter();
        build(inner);
        return Bytes(field, inner.ToArray());
    }

    public ProtoWriter Entry(int field, string key, string value) => Message(field, e => e.String(1, key).String(2, value));

    public ProtoWriter QuantityEntry(int field, string key, string quantity) =>
        Message(field, e => e.String(1, key).Message(2, q => q.String(1, quantity)));

    public ProtoWriter IntOrString(int field, int value) => Message(field, v => v.Varint(1, 0).Varint(2, value).String(3, ""));

    public ProtoWriter IntOrString(int field, string value) => Message(field, v => v.Varint(1, 1).Varint(2, 0).String(3, value));

    public ProtoWriter Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    private void Tag(int field, int wire) => WriteVarint((ulong)((field << 3) | wire));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        _bytes.Add((byte)value);
    }
}
