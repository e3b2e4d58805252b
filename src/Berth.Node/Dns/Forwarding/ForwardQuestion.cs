using System.Buffers.Binary;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns.Forwarding;

/// <summary>
/// A question to resolve upstream: its wire form in lower case (what is sent, and what the response must echo) and
/// its cache key. The key is the lower-cased name followed by three chars (type, class, DO bit), so a cache probe
/// can build it on the stack and look it up without allocating.
/// </summary>
internal sealed class ForwardQuestion
{
    private ForwardQuestion(string key, byte[] wire, bool dnssecOk, bool checkingDisabled)
    {
        Key = key;
        Wire = wire;
        DnssecOk = dnssecOk;
        CheckingDisabled = checkingDisabled;
    }

    public string Key { get; }

    /// <summary>Name, type, class: the question section of the upstream query.</summary>
    public byte[] Wire { get; }

    public bool DnssecOk { get; }

    public bool CheckingDisabled { get; }

    /// <summary>Chars a key has beyond the name.</summary>
    public const int KeySuffixLength = 3;

    public static void WriteKey(ReadOnlySpan<char> name, DnsType type, ushort @class, bool dnssecOk, Span<char> destination)
    {
        name.CopyTo(destination);
        destination[name.Length] = (char)type;
        destination[name.Length + 1] = (char)@class;
        destination[name.Length + 2] = dnssecOk ? '1' : '0';
    }

    /// <summary>The client's own question, lower-cased (length bytes are at most 63, so never an upper-case letter).</summary>
    public static ForwardQuestion From(in DnsRequest request)
    {
        byte[] wire = request.QuestionBytes.ToArray();
        for (int i = 0; i < wire.Length - 4; i++)
        {
            if (wire[i] is >= (byte)'A' and <= (byte)'Z')
            {
                wire[i] |= 0x20;
            }
        }
        Span<char> key = stackalloc char[request.Name.Length + KeySuffixLength];
        WriteKey(request.Name, request.Type, request.Class, request.DnssecOk, key);
        return new ForwardQuestion(new string(key), wire, request.DnssecOk, request.CheckingDisabled);
    }

    /// <summary>
    /// A question for a name in text form (autopath's candidates): plain labels only. False for names with escapes
    /// or out-of-bounds labels, which autopath then leaves to the client's own search.
    /// </summary>
    public static bool TryCreate(string name, DnsType type, bool dnssecOk, bool checkingDisabled, out ForwardQuestion? question)
    {
        question = null;
        if (name.Contains('\\', StringComparison.Ordinal) || name.Length > DnsRequest.MaxNameChars)
        {
            return false;
        }
        var wire = new byte[name.Length + (name.Length == 0 ? 1 : 2) + 4];
        int position = 0;
        if (name.Length > 0)
        {
            foreach (Range range in name.AsSpan().Split('.'))
            {
                ReadOnlySpan<char> label = name.AsSpan()[range];
                if (label.Length is 0 or > 63)
                {
                    return false;
                }
                wire[position++] = (byte)label.Length;
                foreach (char c in label)
                {
                    if (c > 0x7F)
                    {
                        return false;
                    }
                    wire[position++] = (byte)char.ToLowerInvariant(c);
                }
            }
        }
        wire[position++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(wire.AsSpan(position), (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(wire.AsSpan(position + 2), 1);
        string lower = name.ToLowerInvariant();
        Span<char> key = stackalloc char[lower.Length + KeySuffixLength];
        WriteKey(lower, type, 1, dnssecOk, key);
        question = new ForwardQuestion(new string(key), wire, dnssecOk, checkingDisabled);
        return true;
    }

    /// <summary>The upstream query: a fresh ID, RD set, the client's CD bit, this question, an OPT advertising 1232 bytes with the client's DO bit.</summary>
    public byte[] Query(ushort id)
    {
        var query = new byte[12 + Wire.Length + UpstreamResponse.OptLength];
        BinaryPrimitives.WriteUInt16BigEndian(query, id);
        query[2] = 0x01;
        query[3] = (byte)(CheckingDisabled ? 0x10 : 0);
        query[5] = 1;
        query[11] = 1;
        Wire.CopyTo(query, 12);
        UpstreamResponse.WriteOpt(query.AsSpan(12 + Wire.Length), DnssecOk);
        return query;
    }

    /// <summary>A response answers this query when it is one (QR), carries the ID and echoes the question (letter case aside).</summary>
    public bool IsAnsweredBy(ReadOnlySpan<byte> response, ushort id)
    {
        if (response.Length < 12 + Wire.Length || BinaryPrimitives.ReadUInt16BigEndian(response) != id || (response[2] & 0x80) == 0
            || BinaryPrimitives.ReadUInt16BigEndian(response[4..]) != 1)
        {
            return false;
        }
        ReadOnlySpan<byte> echoed = response.Slice(12, Wire.Length);
        for (int i = 0; i < Wire.Length; i++)
        {
            byte b = echoed[i];
            if (i < Wire.Length - 4 && b is >= (byte)'A' and <= (byte)'Z')
            {
                b |= 0x20;
            }
            if (b != Wire[i])
            {
                return false;
            }
        }
        return true;
    }
}
