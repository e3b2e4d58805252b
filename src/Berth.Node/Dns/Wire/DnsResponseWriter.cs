using System.Buffers.Binary;

namespace Berth.Node.Dns.Wire;

/// <summary>Writes responses: header, the question echoed, records with name compression, EDNS OPT, truncation.</summary>
public static class DnsResponseWriter
{
    /// <summary>Header flags, byte 2 and byte 3 (RFC 1035 4.1.1).</summary>
    private const byte Qr = 0x80;
    private const byte Aa = 0x04;
    private const byte Tc = 0x02;
    private const byte Rd = 0x01;
    private const byte Ra = 0x80;
    private const byte Cd = 0x10;

    /// <summary>An OPT record with no options: root name, type, class, TTL, RDLENGTH.</summary>
    private const int OptLength = 11;

    /// <summary>The EDNS payload size advertised by default: the DNS Flag Day 2020 value, which avoids IP fragmentation.</summary>
    public const ushort DefaultServerPayloadSize = 1232;

    /// <summary>RFC 1035 4.2.1: what every client takes over UDP.</summary>
    private const int MinMessageSize = 512;

    /// <summary>Enough for the question's suffixes and the owner names of a typical answer; a full table only means less compression.</summary>
    private const int CompressionTableSize = 32;

    /// <summary>
    /// Writes the response to <paramref name="request"/> into <paramref name="destination"/> and returns its length.
    /// Owner names equal to the question name are written as a pointer to it. If the whole message would exceed
    /// <paramref name="maxSize"/> (UDP: the client's payload size, 512 without EDNS; TCP: 65535), whole records are
    /// left off from the end, and TC is set when an answer or authority record was among them, as CoreDNS does. With
    /// EDNS in the request, an OPT record (payload size <paramref name="serverPayloadSize"/>) is added.
    /// </summary>
    /// <remarks>
    /// Truncation follows miekg/dns Msg.Truncate (msg_truncate.go): records are kept in order (answer, authority,
    /// additional) while they fit, the OPT record always fits, and TC is set only when an answer or authority record
    /// was left off: a resolver retries over TCP for those, not for missing glue. <paramref name="destination"/>
    /// must hold at least 512 bytes; the message never exceeds <c>min(maxSize, destination.Length)</c>, nor is
    /// smaller than 512 bytes allowed for (RFC 1035).
    /// </remarks>
    public static int Write(in DnsRequest request, DnsAnswer answer, Span<byte> destination, int maxSize, bool recursionAvailable = true, ushort serverPayloadSize = DefaultServerPayloadSize)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (destination.Length < MinMessageSize)
        {
            throw new ArgumentException($"The destination must hold at least {MinMessageSize} bytes.", nameof(destination));
        }

        var limit = Math.Clamp(maxSize, MinMessageSize, Math.Min(destination.Length, ushort.MaxValue));
        var message = destination[..limit];
        var rcode = (int)answer.Rcode;

        var question = request.QuestionBytes;
        WriteHeader(message, request.Id, 0, request.RecursionDesired, request.CheckingDisabled, rcode);
        message[2] |= answer.Authoritative ? Aa : (byte)0;
        message[3] |= recursionAvailable ? Ra : (byte)0;
        var position = DnsName.HeaderLength;
        if (!question.IsEmpty)
        {
            question.CopyTo(message[position..]);
            position += question.Length;
            BinaryPrimitives.WriteUInt16BigEndian(message[4..], 1);
        }

        Span<ushort> table = stackalloc ushort[CompressionTableSize];
        var tableCount = 0;
        if (!question.IsEmpty)
        {
            AddSuffixes(message, DnsName.HeaderLength, table, ref tableCount);
        }

        var budget = limit - (request.HasEdns ? OptLength : 0);
        var full = false;
        var answers = WriteSection(message, answer.Answers, ref position, budget, table, ref tableCount, ref full);
        var authority = WriteSection(message, answer.Authority, ref position, budget, table, ref tableCount, ref full);
        var truncated = answers < answer.Answers.Count || authority < answer.Authority.Count;
        var additional = WriteSection(message, answer.Additional, ref position, budget, table, ref tableCount, ref full);
        if (truncated)
        {
            message[2] |= Tc;
        }

        BinaryPrimitives.WriteUInt16BigEndian(message[6..], (ushort)answers);
        BinaryPrimitives.WriteUInt16BigEndian(message[8..], (ushort)authority);
        if (request.HasEdns)
        {
            position += WriteOpt(message[position..], serverPayloadSize, rcode, request.DnssecOk);
            additional++;
        }

        BinaryPrimitives.WriteUInt16BigEndian(message[10..], (ushort)additional);
        return position;
    }

    /// <summary>A response carrying only an rcode (FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS) and, when it was read, the question.</summary>
    /// <remarks>
    /// ID, opcode, RD and CD come from <paramref name="packet"/>'s header when it has one (so NOTIMP echoes the
    /// opcode it refuses), else from <paramref name="request"/>. An OPT record is added when the request had one; it
    /// carries the upper bits of an extended rcode such as BADVERS (RFC 6891 6.1.3).
    /// </remarks>
    public static int WriteError(ReadOnlySpan<byte> packet, in DnsRequest request, DnsRcode rcode, Span<byte> destination)
    {
        if (destination.Length < MinMessageSize)
        {
            throw new ArgumentException($"The destination must hold at least {MinMessageSize} bytes.", nameof(destination));
        }

        var id = request.Id;
        var opCode = request.OpCode;
        var recursionDesired = request.RecursionDesired;
        var checkingDisabled = request.CheckingDisabled;
        if (packet.Length >= DnsName.HeaderLength)
        {
            id = BinaryPrimitives.ReadUInt16BigEndian(packet);
            opCode = (ushort)((packet[2] >> 3) & 0x0F);
            recursionDesired = (packet[2] & Rd) != 0;
            checkingDisabled = (packet[3] & Cd) != 0;
        }

        WriteHeader(destination, id, opCode, recursionDesired, checkingDisabled, (int)rcode);
        var position = DnsName.HeaderLength;
        var question = request.QuestionBytes;
        if (!question.IsEmpty)
        {
            question.CopyTo(destination[position..]);
            position += question.Length;
            BinaryPrimitives.WriteUInt16BigEndian(destination[4..], 1);
        }

        if (request.HasEdns)
        {
            position += WriteOpt(destination[position..], DefaultServerPayloadSize, (int)rcode, request.DnssecOk);
            BinaryPrimitives.WriteUInt16BigEndian(destination[10..], 1);
        }

        return position;
    }

    private static void WriteHeader(Span<byte> message, ushort id, ushort opCode, bool recursionDesired, bool checkingDisabled, int rcode)
    {
        message[..DnsName.HeaderLength].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(message, id);
        message[2] = (byte)(Qr | ((opCode & 0x0F) << 3) | (recursionDesired ? Rd : 0));
        message[3] = (byte)((checkingDisabled ? Cd : 0) | (rcode & 0x0F));
    }

    /// <summary>RFC 6891 6.1.2-6.1.3: class = payload size, TTL = extended rcode (upper 8 bits), version 0, DO.</summary>
    private static int WriteOpt(Span<byte> destination, ushort payloadSize, int rcode, bool dnssecOk)
    {
        destination[0] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], (ushort)DnsType.OPT);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], Math.Max(payloadSize, DnsRequest.MinUdpPayloadSize));

        // RFC 3225 3: the DO bit of the query is copied into the response.
        var ttl = ((uint)(rcode >> 4) & 0xFF) << 24 | (dnssecOk ? 0x8000u : 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], ttl);
        BinaryPrimitives.WriteUInt16BigEndian(destination[9..], 0);
        return OptLength;
    }

    /// <summary>Writes records while they fit in <paramref name="budget"/>; returns how many were written.</summary>
    private static int WriteSection(Span<byte> message, IReadOnlyList<DnsRecord> records, ref int position, int budget, Span<ushort> table, ref int tableCount, ref bool full)
    {
        var written = 0;
        for (var i = 0; i < records.Count && !full; i++)
        {
            var tableBefore = tableCount;
            if (TryWriteRecord(message, records[i], position, budget, table, ref tableCount, out var end))
            {
                position = end;
                written++;
            }
            else
            {
                // Names this record added to the table point into bytes that are now discarded.
                tableCount = tableBefore;
                full = true;
            }
        }

        return written;
    }

    private static bool TryWriteRecord(Span<byte> message, DnsRecord record, int position, int budget, Span<ushort> table, ref int tableCount, out int end)
    {
        end = position;
        var owner = record.OwnerWire;

        // The longest suffix of the owner name already in the message (the whole name, for answers to the question).
        var prefixLength = owner.Length - 1;
        var pointer = -1;
        for (var start = 0; start < owner.Length - 1; start += 1 + owner[start])
        {
            var suffix = owner.AsSpan(start);
            for (var i = 0; i < tableCount; i++)
            {
                if (DnsName.EqualsAt(message, table[i], suffix))
                {
                    prefixLength = start;
                    pointer = table[i];
                    break;
                }
            }

            if (pointer >= 0)
            {
                break;
            }
        }

        var nameLength = prefixLength + (pointer >= 0 ? 2 : 1);
        var length = nameLength + 10 + record.Data.Length;
        if (position + length > budget)
        {
            return false;
        }

        var span = message[position..];
        owner.AsSpan(0, prefixLength).CopyTo(span);
        if (pointer >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[prefixLength..], (ushort)(0xC000 | pointer));
        }
        else
        {
            span[prefixLength] = 0;
        }

        // The labels written out in full can be pointed to by later owner names.
        for (var start = 0; start < prefixLength && tableCount < table.Length && position + start <= 0x3FFF; start += 1 + owner[start])
        {
            table[tableCount++] = (ushort)(position + start);
        }

        var fixedPart = span[nameLength..];
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart, (ushort)record.Type);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart[2..], 1);
        BinaryPrimitives.WriteUInt32BigEndian(fixedPart[4..], record.Ttl);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart[8..], (ushort)record.Data.Length);
        record.Data.CopyTo(fixedPart[10..]);
        end = position + length;
        return true;
    }

    /// <summary>Adds the offset of every label of the (well-formed, received) name at <paramref name="offset"/> up to its first pointer.</summary>
    private static void AddSuffixes(ReadOnlySpan<byte> message, int offset, Span<ushort> table, ref int tableCount)
    {
        var position = offset;
        while (tableCount < table.Length)
        {
            var labelLength = message[position];
            if (labelLength == 0)
            {
                return;
            }

            if ((labelLength & 0xC0) == 0xC0)
            {
                // The rest of the name is somewhere earlier in the question: no pointers to pointers.
                return;
            }

            table[tableCount++] = (ushort)position;
            position += 1 + labelLength;
        }
    }
}
