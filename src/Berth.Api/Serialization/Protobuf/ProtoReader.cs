namespace Berth.Api.Serialization.Protobuf;

/// <summary>Protobuf wire-format reader over a span; every read reports failure instead of throwing.</summary>
internal ref struct ProtoReader
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireFixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly bool End => _position >= _data.Length;

    public readonly int Position => _position;

    public bool TryReadVarint(out ulong value)
    {
        value = 0;
        // A varint is at most 10 bytes (64 bits in 7-bit groups); anything longer is malformed.
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                return false;
            }

            var b = _data[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    public bool TryReadTag(out int fieldNumber, out int wireType)
    {
        fieldNumber = 0;
        wireType = 0;
        if (!TryReadVarint(out var tag) || tag > uint.MaxValue)
        {
            return false;
        }

        fieldNumber = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        return fieldNumber > 0;
    }

    public bool TryReadLengthDelimited(out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!TryReadVarint(out var length) || length > (ulong)(_data.Length - _position))
        {
            return false;
        }

        value = _data.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }

    /// <summary>Skips one field of an unknown number. Groups (wire types 3/4) are proto1 relics no Kubernetes type uses.</summary>
    public bool TrySkip(int wireType) => wireType switch
    {
        WireVarint => TryReadVarint(out _),
        WireFixed64 => TryAdvance(8),
        WireLengthDelimited => TryReadLengthDelimited(out _),
        WireFixed32 => TryAdvance(4),
        _ => false,
    };

    private bool TryAdvance(int count)
    {
        if (_data.Length - _position < count)
        {
            return false;
        }

        _position += count;
        return true;
    }
}
