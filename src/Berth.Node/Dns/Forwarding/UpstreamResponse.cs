using System.Buffers.Binary;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns.Forwarding;

/// <summary>
/// An upstream's response as the forwarder keeps it: the message bytes with the OPT record cut out (the client gets
/// its own, or none when it sent none), the offsets of every record's TTL so a reply from the cache can age them in
/// place, and how long it may be served. Kept as bytes rather than decoded records: a cache hit is one copy and a
/// few patches, and records the server does not know (DNSSEC, SVCB...) pass through untouched.
/// </summary>
internal sealed class UpstreamResponse
{
    /// <summary>CoreDNS's cap for positive answers (plugin/cache maxTTL).</summary>
    public static readonly TimeSpan MaxPositiveLifetime = TimeSpan.FromSeconds(3600);

    /// <summary>
    /// Negative answers (NXDOMAIN, NODATA) live min(SOA TTL, SOA minimum, this): RFC 2308 section 5 with a short cap
    /// (CoreDNS caps denials at 1800 s; Berth's upstreams are a host resolver that caches anyway, and a name that
    /// appears upstream should show up in pods within half a minute).
    /// </summary>
    public static readonly TimeSpan MaxNegativeLifetime = TimeSpan.FromSeconds(30);

    /// <summary>A response without any TTL to go by (no records at all): CoreDNS's MinimalDefaultTTL (plugin/pkg/dnsutil/ttl.go).</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(5);

    private const int HeaderLength = 12;
    private const ushort TypeOpt = 41;
    private const ushort TypeSoa = 6;

    private readonly int[] _ttlOffsets;

    private UpstreamResponse(byte[] message, int questionLength, int[] ttlOffsets, DnsRcode rcode, int answerCount, TimeSpan lifetime, long storedAt)
    {
        Message = message;
        QuestionLength = questionLength;
        _ttlOffsets = ttlOffsets;
        Rcode = rcode;
        AnswerCount = answerCount;
        Lifetime = lifetime;
        StoredAt = storedAt;
    }

    /// <summary>Header (ID 0) + question + answer, authority and additional records without OPT.</summary>
    public byte[] Message { get; }

    public int QuestionLength { get; }

    public DnsRcode Rcode { get; }

    public int AnswerCount { get; }

    /// <summary>How long it may be served from the cache; zero: never cached (only handed to the queries waiting for it).</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>When it arrived (<see cref="TimeProvider.GetTimestamp"/> of the forwarder's clock).</summary>
    public long StoredAt { get; }

    /// <summary>
    /// Reads a response; false for anything malformed (it is then treated like no response). Only NOERROR and
    /// NXDOMAIN are cached; SERVFAIL, REFUSED and the rest are passed on once and asked again next time (CoreDNS
    /// caches SERVFAIL 5 s; the forwarder coalesces identical queries in flight instead, which bounds the upstream load).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> packet, long now, out UpstreamResponse? response)
    {
        response = null;
        if (packet.Length < HeaderLength)
        {
            return false;
        }
        int qd = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        int an = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        int ns = BinaryPrimitives.ReadUInt16BigEndian(packet[8..]);
        int ar = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        if (qd != 1 || !TrySkipName(packet, HeaderLength, out int position) || position + 4 > packet.Length)
        {
            return false;
        }
        position += 4;
        int questionLength = position - HeaderLength;

        var ttls = new int[an + ns + ar];
        int ttlCount = 0;
        int optStart = -1, optEnd = -1;
        uint minTtl = uint.MaxValue;
        uint? soaNegative = null;
        for (int i = 0; i < an + ns + ar; i++)
        {
            int start = position;
            if (!TrySkipName(packet, position, out position) || position + 10 > packet.Length)
            {
                return false;
            }
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(packet[position..]);
            uint ttl = BinaryPrimitives.ReadUInt32BigEndian(packet[(position + 4)..]);
            int rdLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(position + 8)..]);
            int ttlOffset = position + 4;
            position += 10 + rdLength;
            if (position > packet.Length)
            {
                return false;
            }
            if (type == TypeOpt)
            {
                if (i < an + ns || optStart >= 0)
                {
                    return false;
                }
                optStart = start;
                optEnd = position;
                continue;
            }
            // RFC 2181 8: a TTL with the top bit set is read as zero.
            ttl = ttl > int.MaxValue ? 0 : ttl;
            ttls[ttlCount++] = ttlOffset;
            minTtl = Math.Min(minTtl, ttl);
            if (type == TypeSoa && i >= an && i < an + ns && rdLength >= 20)
            {
                // The SOA MINIMUM is RDATA's last 4 bytes whatever the (possibly compressed) names before it.
                uint minimum = BinaryPrimitives.ReadUInt32BigEndian(packet[(position - 4)..]);
                soaNegative = Math.Min(ttl, minimum);
            }
        }
        if (position != packet.Length)
        {
            return false;
        }

        var rcode = (DnsRcode)(packet[3] & 0x0F);
        byte[] message;
        if (optStart >= 0)
        {
            // Cut the OPT out (it is the server's, not part of the answer) and fix ARCOUNT and the offsets after it.
            message = new byte[packet.Length - (optEnd - optStart)];
            packet[..optStart].CopyTo(message);
            packet[optEnd..].CopyTo(message.AsSpan(optStart));
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(10), (ushort)(ar - 1));
            for (int i = 0; i < ttlCount; i++)
            {
                if (ttls[i] > optStart)
                {
                    ttls[i] -= optEnd - optStart;
                }
            }
        }
        else
        {
            message = packet.ToArray();
        }
        message[0] = 0;
        message[1] = 0;

        response = new UpstreamResponse(message, questionLength, ttls[..ttlCount], rcode, an, CacheLifetime(rcode, an, minTtl, soaNegative), now);
        return true;
    }

    /// <summary>
    /// The cache lifetime: positive answers the smallest TTL of all their records (CoreDNS MinimalTTL, capped at
    /// <see cref="MaxPositiveLifetime"/>); NXDOMAIN and NODATA min(SOA TTL, SOA minimum) capped at <see cref="MaxNegativeLifetime"/>.
    /// </summary>
    private static TimeSpan CacheLifetime(DnsRcode rcode, int answers, uint minTtl, uint? soaNegative)
    {
        if (rcode is not (DnsRcode.NoError or DnsRcode.NXDomain))
        {
            return TimeSpan.Zero;
        }
        bool negative = rcode == DnsRcode.NXDomain || answers == 0;
        if (negative)
        {
            return soaNegative is uint soa ? Min(TimeSpan.FromSeconds(soa), MaxNegativeLifetime) : Min(DefaultLifetime, MaxNegativeLifetime);
        }
        return minTtl == uint.MaxValue ? DefaultLifetime : Min(TimeSpan.FromSeconds(minTtl), MaxPositiveLifetime);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Seconds this response has left in the cache at <paramref name="age"/>; 0 or less: expired.</summary>
    public long Remaining(TimeSpan age) => (long)(Lifetime - age).TotalSeconds;

    /// <summary>
    /// Writes the reply to one client: its ID, RD and CD bits and question bytes (same name, its letter case), every
    /// TTL aged by <paramref name="age"/> and never above what is left of the cache lifetime (as CoreDNS's cache
    /// does), an OPT record when the client sent one. Larger than <paramref name="maxSize"/>: header and question
    /// only with TC set, so the client asks again over TCP (RFC 2181 9).
    /// </summary>
    public int WriteReply(in ForwardClient client, ReadOnlySpan<byte> clientQuestion, TimeSpan age, Span<byte> destination, int maxSize)
    {
        int optLength = client.HasEdns ? OptLength : 0;
        maxSize = Math.Min(maxSize, destination.Length);
        bool truncate = Message.Length + optLength > maxSize;
        int length = truncate ? HeaderLength + QuestionLength : Message.Length;
        if (length + optLength > maxSize || clientQuestion.Length != QuestionLength)
        {
            return 0;
        }
        Message.AsSpan(0, length).CopyTo(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination, client.Id);
        clientQuestion.CopyTo(destination[HeaderLength..]);
        // QR stays; AA is cleared (this server is not the authority, CoreDNS's cache does the same); RD and CD are the client's.
        destination[2] = (byte)((destination[2] & ~0x05) | (client.RecursionDesired ? 0x01 : 0));
        destination[3] = (byte)((destination[3] & ~0x10) | (client.CheckingDisabled ? 0x10 : 0));
        if (truncate)
        {
            destination[2] |= 0x02;
            destination[6..12].Clear();
        }
        else
        {
            long ageSeconds = (long)age.TotalSeconds;
            long remaining = Lifetime > TimeSpan.Zero ? Math.Max(0, Remaining(age)) : long.MaxValue;
            foreach (int offset in _ttlOffsets)
            {
                long ttl = BinaryPrimitives.ReadUInt32BigEndian(Message.AsSpan(offset));
                ttl = ttl > int.MaxValue ? 0 : Math.Max(0, ttl - ageSeconds);
                BinaryPrimitives.WriteUInt32BigEndian(destination[offset..], (uint)Math.Min(ttl, remaining));
            }
        }
        if (client.HasEdns)
        {
            WriteOpt(destination[length..], client.DnssecOk);
            ushort arCount = BinaryPrimitives.ReadUInt16BigEndian(destination[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)(arCount + 1));
        }
        return length + optLength;
    }

    /// <summary>Root name, type OPT, payload size, extended rcode 0, version 0, DO echoed (RFC 3225 3), no options.</summary>
    public const int OptLength = 11;

    /// <summary>The payload size this server advertises (DNS flag day 2020).</summary>
    public const ushort ServerPayloadSize = 1232;

    public static void WriteOpt(Span<byte> destination, bool dnssecOk)
    {
        destination[0] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], TypeOpt);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], ServerPayloadSize);
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], dnssecOk ? 0x8000u : 0u);
        BinaryPrimitives.WriteUInt16BigEndian(destination[9..], 0);
    }

    /// <summary>Skips a (possibly compressed) name; a pointer ends it. Bounds only: the names themselves are the client's problem.</summary>
    public static bool TrySkipName(ReadOnlySpan<byte> packet, int position, out int end)
    {
        end = -1;
        for (int labels = 0; labels < 128; labels++)
        {
            if (position >= packet.Length)
            {
                return false;
            }
            byte length = packet[position];
            if (length == 0)
            {
                end = position + 1;
                return true;
            }
            if ((length & 0xC0) == 0xC0)
            {
                end = position + 2;
                return end <= packet.Length;
            }
            if ((length & 0xC0) != 0)
            {
                return false;
            }
            position += 1 + length;
        }
        return false;
    }
}

/// <summary>What a reply needs to know about the client's query (its ID, flags, EDNS) once the packet itself is gone.</summary>
internal readonly record struct ForwardClient(ushort Id, bool RecursionDesired, bool CheckingDisabled, bool HasEdns, bool DnssecOk)
{
    public static ForwardClient From(in DnsRequest request) =>
        new(request.Id, request.RecursionDesired, request.CheckingDisabled, request.HasEdns, request.DnssecOk);
}
