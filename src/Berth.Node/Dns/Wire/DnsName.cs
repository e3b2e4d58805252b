using System.Text;

namespace Berth.Node.Dns.Wire;

/// <summary>
/// Domain names in wire form (RFC 1035 3.1, 4.1.4): reading them out of a message (following compression pointers),
/// converting between the uncompressed wire form and text, and comparing. Text form is without the trailing dot;
/// the root is "". Bytes that text cannot show plainly are escaped as miekg/dns does ("\DDD", "\." inside a label).
/// </summary>
internal static class DnsName
{
    /// <summary>RFC 1035 2.3.4: a name is at most 255 octets on the wire, the terminating root label included.</summary>
    public const int MaxWireLength = 255;

    public const int MaxLabelLength = 63;

    /// <summary>
    /// A valid name never needs more pointers than this (miekg/dns msg.go maxCompressionPointers); pointers must also
    /// point backwards, which alone rules out loops, but the bound keeps a chain of pointers to pointers short.
    /// </summary>
    public const int MaxPointers = (MaxWireLength + 1) / 2 - 2;

    /// <summary>The header is 12 bytes; a name never starts inside it, so no pointer may point there.</summary>
    public const int HeaderLength = 12;

    /// <summary>
    /// Expands the (possibly compressed) name at <paramref name="offset"/> of <paramref name="message"/> into its
    /// uncompressed wire form in <paramref name="destination"/> (at least <see cref="MaxWireLength"/> bytes).
    /// <paramref name="end"/> is the offset just past the name where it occurs (after the first pointer, if any).
    /// False for anything malformed: truncation, reserved label types (0x40, 0x80), forward or self pointers, pointers
    /// into the header, too many pointers, or more than 255 octets.
    /// </summary>
    public static bool TryExpand(ReadOnlySpan<byte> message, int offset, Span<byte> destination, out int length, out int end)
    {
        length = 0;
        end = -1;
        var position = offset;
        var pointers = 0;
        while (true)
        {
            if ((uint)position >= (uint)message.Length)
            {
                return false;
            }

            var labelLength = message[position];
            switch (labelLength & 0xC0)
            {
                case 0x00:
                    if (length + 1 + labelLength > MaxWireLength || position + 1 + labelLength > message.Length)
                    {
                        return false;
                    }

                    destination[length++] = labelLength;
                    if (labelLength == 0)
                    {
                        if (end < 0)
                        {
                            end = position + 1;
                        }

                        return true;
                    }

                    message.Slice(position + 1, labelLength).CopyTo(destination[length..]);
                    length += labelLength;
                    position += 1 + labelLength;
                    break;
                case 0xC0:
                    if (position + 1 >= message.Length || ++pointers > MaxPointers)
                    {
                        return false;
                    }

                    var target = ((labelLength & 0x3F) << 8) | message[position + 1];
                    if (target >= position || target < HeaderLength)
                    {
                        return false;
                    }

                    if (end < 0)
                    {
                        end = position + 2;
                    }

                    position = target;
                    break;
                default:
                    // 0x40 (RFC 6891 extended label types, never deployed) and 0x80 are reserved.
                    return false;
            }
        }
    }

    /// <summary>
    /// The length of the uncompressed name at the start of <paramref name="data"/> (RDATA standing alone, where a
    /// pointer would have nothing to point to); false for pointers, reserved label types, truncation, over 255 octets.
    /// </summary>
    public static bool TryMeasureUncompressed(ReadOnlySpan<byte> data, out int length)
    {
        length = 0;
        while (length < data.Length && length < MaxWireLength)
        {
            var labelLength = data[length];
            if (labelLength == 0)
            {
                length++;
                return true;
            }

            if (labelLength > MaxLabelLength)
            {
                return false;
            }

            length += 1 + labelLength;
        }

        return false;
    }

    /// <summary>Skips the name at <paramref name="offset"/> after checking it is well formed.</summary>
    public static bool TrySkip(ReadOnlySpan<byte> message, int offset, out int end)
    {
        Span<byte> scratch = stackalloc byte[MaxWireLength];
        return TryExpand(message, offset, scratch, out _, out end);
    }

    /// <summary>
    /// Text to uncompressed wire form. Accepts a trailing dot, "\DDD" and "\X" escapes; labels must be 1-63 octets and
    /// the whole at most 255. Letter case is kept.
    /// </summary>
    public static bool TryEncode(ReadOnlySpan<char> name, Span<byte> destination, out int length)
    {
        length = 0;
        if (name.Length == 0 || name is ".")
        {
            destination[0] = 0;
            length = 1;
            return true;
        }

        var labelStart = 0;
        var i = 0;
        var written = 1;
        while (i < name.Length)
        {
            var c = name[i++];
            var decimalEscape = false;
            int value;
            if (c == '.')
            {
                if (!CloseLabel(destination, labelStart, written))
                {
                    return false;
                }

                if (i == name.Length)
                {
                    // The trailing dot of a fully qualified name: the root label below ends it.
                    destination[written] = 0;
                    length = written + 1;
                    return true;
                }

                labelStart = written;
                written++;
                continue;
            }

            if (c == '\\')
            {
                if (i >= name.Length)
                {
                    return false;
                }

                if (char.IsAsciiDigit(name[i]))
                {
                    if (i + 3 > name.Length || !char.IsAsciiDigit(name[i + 1]) || !char.IsAsciiDigit(name[i + 2]))
                    {
                        return false;
                    }

                    value = (name[i] - '0') * 100 + (name[i + 1] - '0') * 10 + (name[i + 2] - '0');
                    i += 3;
                    decimalEscape = true;
                    if (value > 255)
                    {
                        return false;
                    }
                }
                else
                {
                    value = name[i++];
                }
            }
            else
            {
                value = c;
            }

            if (value > 0x7F && !decimalEscape)
            {
                // Non-ASCII characters must be written as "\DDD": no IDNA here.
                return false;
            }

            if (written >= MaxWireLength - 1)
            {
                return false;
            }

            destination[written++] = (byte)value;
        }

        if (!CloseLabel(destination, labelStart, written) || written + 1 > MaxWireLength)
        {
            return false;
        }

        destination[written] = 0;
        length = written + 1;
        return true;
    }

    private static bool CloseLabel(Span<byte> destination, int labelStart, int written)
    {
        var labelLength = written - labelStart - 1;
        if (labelLength is < 1 or > MaxLabelLength)
        {
            return false;
        }

        destination[labelStart] = (byte)labelLength;
        return true;
    }

    /// <summary>Text to wire form; throws <see cref="ArgumentException"/> for what is not a valid name.</summary>
    public static byte[] Encode(string name, string parameterName)
    {
        Span<byte> buffer = stackalloc byte[MaxWireLength];
        if (!TryEncode(name, buffer, out var length))
        {
            throw new ArgumentException($"'{name}' is not a valid domain name (labels of 1-63 octets, at most 255 octets in all).", parameterName);
        }

        return buffer[..length].ToArray();
    }

    /// <summary>Uncompressed wire form to text (escaped where needed), without the trailing dot.</summary>
    public static string ToText(ReadOnlySpan<byte> wire)
    {
        var text = new StringBuilder(wire.Length);
        var position = 0;
        while (position < wire.Length && wire[position] != 0)
        {
            var labelLength = wire[position];
            if (text.Length > 0)
            {
                text.Append('.');
            }

            foreach (var b in wire.Slice(position + 1, labelLength))
            {
                if (b is (byte)'.' or (byte)'\\')
                {
                    text.Append('\\').Append((char)b);
                }
                else if (b is < 0x21 or > 0x7E)
                {
                    text.Append('\\').Append((char)('0' + b / 100)).Append((char)('0' + b / 10 % 10)).Append((char)('0' + b % 10));
                }
                else
                {
                    text.Append((char)b);
                }
            }

            position += 1 + labelLength;
        }

        return text.ToString();
    }

    /// <summary>
    /// Decodes an uncompressed wire name into lower-case text for the question path: no escapes, so a label holding a
    /// '.' or a byte outside printable ASCII fails (the caller answers FORMERR, which RFC 1035 allows for names no
    /// cluster record or sane resolver uses). False also when <paramref name="destination"/> is too small.
    /// </summary>
    public static bool TryToLowerText(ReadOnlySpan<byte> wire, Span<char> destination, out int length)
    {
        length = 0;
        var position = 0;
        while (wire[position] != 0)
        {
            var labelLength = wire[position];
            if (length > 0)
            {
                if (length >= destination.Length)
                {
                    return false;
                }

                destination[length++] = '.';
            }

            if (length + labelLength > destination.Length)
            {
                return false;
            }

            foreach (var b in wire.Slice(position + 1, labelLength))
            {
                if (b is < 0x21 or > 0x7E or (byte)'.')
                {
                    return false;
                }

                destination[length++] = (char)(b is >= (byte)'A' and <= (byte)'Z' ? b | 0x20 : b);
            }

            position += 1 + labelLength;
        }

        return true;
    }

    /// <summary>
    /// Whether the name at <paramref name="offset"/> of a message being written (pointers only to earlier, well-formed
    /// names) equals the uncompressed <paramref name="wire"/>, ignoring ASCII letter case.
    /// </summary>
    public static bool EqualsAt(ReadOnlySpan<byte> message, int offset, ReadOnlySpan<byte> wire)
    {
        var position = offset;
        var index = 0;
        var pointers = 0;
        while (true)
        {
            var labelLength = message[position];
            if ((labelLength & 0xC0) == 0xC0)
            {
                if (++pointers > MaxPointers)
                {
                    return false;
                }

                position = ((labelLength & 0x3F) << 8) | message[position + 1];
                continue;
            }

            if (labelLength != wire[index])
            {
                return false;
            }

            if (labelLength == 0)
            {
                return true;
            }

            for (var i = 1; i <= labelLength; i++)
            {
                if (AsciiLower(message[position + i]) != AsciiLower(wire[index + i]))
                {
                    return false;
                }
            }

            position += 1 + labelLength;
            index += 1 + labelLength;
        }
    }

    public static byte AsciiLower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    /// <summary>Lower-cases ASCII letters of an uncompressed wire name in place.</summary>
    public static void AsciiLowerInPlace(Span<byte> wire)
    {
        var position = 0;
        while (position < wire.Length && wire[position] != 0)
        {
            var labelLength = wire[position];
            for (var i = position + 1; i <= position + labelLength; i++)
            {
                wire[i] = AsciiLower(wire[i]);
            }

            position += 1 + labelLength;
        }
    }
}
