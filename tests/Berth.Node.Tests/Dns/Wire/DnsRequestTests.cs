using Berth.Node.Dns.Wire;
using static Berth.Node.Tests.Dns.Wire.WirePackets;

namespace Berth.Node.Tests.Dns.Wire;

public sealed class DnsRequestTests
{
    [Fact]
    public void TryParse_HandBuiltQuery_ReadsEveryField()
    {
        // RFC 1035 4.1: ID 0xbeef, RD, one question example.com A IN; what `dig +noedns example.com` sends.
        var packet = Hex("beef 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001");
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        var result = DnsRequest.TryParse(packet, buffer, out var request);

        Assert.Equal(DnsParseResult.Ok, result);
        Assert.Equal(0xbeef, request.Id);
        Assert.True(request.RecursionDesired);
        Assert.False(request.CheckingDisabled);
        Assert.Equal("example.com", request.Name.ToString());
        Assert.Equal(DnsType.A, request.Type);
        Assert.Equal(1, request.Class);
        Assert.Equal(packet.AsSpan(12).ToArray(), request.QuestionBytes.ToArray());
        Assert.False(request.HasEdns);
        Assert.Equal(512, request.UdpPayloadSize);
    }

    [Fact]
    public void TryParse_MixedCase_NameLowerCasedQuestionBytesKeptAsSent()
    {
        var packet = DnsMessage.Query(7, "Svc1.NS.svc.Cluster.LOCAL", DnsType.SRV);
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(packet, buffer, out var request));

        Assert.Equal("svc1.ns.svc.cluster.local", request.Name.ToString());
        Assert.Equal(DnsType.SRV, request.Type);
        Assert.Equal(Concat(Name("Svc1.NS.svc.Cluster.LOCAL"), U16(33), U16(1)), request.QuestionBytes.ToArray());
    }

    [Fact]
    public void TryParse_Root_EmptyName()
    {
        Assert.Equal(DnsParseResult.Ok, Parse(Concat(Header(), [0], U16((int)DnsType.SOA), U16(1)), out var name));
        Assert.Equal("", name);
    }

    [Fact]
    public void TryParse_CheckingDisabled_Read()
    {
        var packet = Query("a.b");
        packet[3] |= 0x10;
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(packet, buffer, out var request));
        Assert.True(request.CheckingDisabled);
    }

    [Fact]
    public void TryParse_LongestName_Accepted()
    {
        // 3 labels of 63 and one of 61: 4 * 1 + 250 + 1 = 255 octets on the wire, 253 characters of text.
        var name = string.Join('.', new string('a', 63), new string('b', 63), new string('c', 63), new string('d', 61));

        Assert.Equal(DnsParseResult.Ok, Parse(Query(name), out var parsed));
        Assert.Equal(253, parsed.Length);
        Assert.Equal(name, parsed);
    }

    [Fact]
    public void TryParse_CompressedRecordAfterQuestion_Skipped()
    {
        // A question alone can hold no legal pointer (a pointer to an earlier label of the same name loops); a record
        // after it can: www.<pointer to example.com>. Queries rarely carry one, but it must not be refused.
        var packet = Concat(Header(qd: 1, an: 1), Name("example.com"), U16(1), U16(1), Hex("03 777777 c00c"), U16(1), U16(1), U32(5), U16(4), [1, 2, 3, 4]);

        Assert.Equal(DnsParseResult.Ok, Parse(packet, out var name));
        Assert.Equal("example.com", name);
    }

    public static TheoryData<string, byte[], DnsParseResult> Malformed() => new()
    {
        { "empty", [], DnsParseResult.Drop },
        { "11 bytes", Header()[..11], DnsParseResult.Drop },
        { "QR set", Concat(Header(flags: 0x8100), Name("a.b"), U16(1), U16(1)), DnsParseResult.Drop },
        { "opcode STATUS", Concat(Header(flags: 0x1100), Name("a.b"), U16(1), U16(1)), DnsParseResult.NotImp },
        { "opcode NOTIFY, no question", Header(flags: 0x2000, qd: 0), DnsParseResult.NotImp },
        { "QDCOUNT 0", Header(qd: 0), DnsParseResult.FormErr },
        { "QDCOUNT 2", Concat(Header(qd: 2), Name("a.b"), U16(1), U16(1), Name("c.d"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "header only", Header(), DnsParseResult.FormErr },
        { "name without its end", Concat(Header(), Hex("03 616263 03 64")), DnsParseResult.FormErr },
        { "name without root label", Concat(Header(), Hex("03 616263")), DnsParseResult.FormErr },
        { "no type/class", Concat(Header(), Name("a.b")), DnsParseResult.FormErr },
        { "class cut short", Concat(Header(), Name("a.b"), U16(1), [0]), DnsParseResult.FormErr },
        { "label type 0x40", Concat(Header(), Hex("41 61 00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "label type 0x80", Concat(Header(), Hex("81 61 00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "pointer to itself", Concat(Header(), Hex("c00c"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "pointer loop backwards", Concat(Header(), Hex("01 61 c00c"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "forward pointer", Concat(Header(), Hex("c00e 01 61 00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "pointer into the header", Concat(Header(), Hex("01 61 c004"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "pointer cut short", Concat(Header(), Hex("c0")), DnsParseResult.FormErr },
        { "name of 256 octets", Concat(Header(), Concat([.. Enumerable.Range(0, 4).Select(_ => Concat([63], [.. Enumerable.Repeat((byte)'a', 63)]))]), Hex("00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "'.' inside a label", Concat(Header(), Hex("03 612e62 00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "NUL inside a label", Concat(Header(), Hex("03 610062 00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "space inside a label", Concat(Header(), Hex("03 612062 00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "byte above 0x7e", Concat(Header(), Hex("02 61ff 00"), U16(1), U16(1)), DnsParseResult.FormErr },
        { "ANCOUNT 1, no record", Query("a.b").Select((b, i) => i == 7 ? (byte)1 : b).ToArray(), DnsParseResult.FormErr },
        { "ARCOUNT 1, no record", Query("a.b", 1), DnsParseResult.FormErr },
        { "record RDLENGTH past the end", Query("a.b", 1, Concat([0], U16(1), U16(1), U32(0), U16(10), [1, 2])), DnsParseResult.FormErr },
        { "record cut in its fixed part", Query("a.b", 1, Concat([0], U16(1), U16(1))), DnsParseResult.FormErr },
        { "two OPT records", Query("a.b", 2, Opt(), Opt()), DnsParseResult.FormErr },
        { "OPT not owned by the root", Query("a.b", 1, Concat(Name("x"), Opt()[1..])), DnsParseResult.FormErr },
        { "OPT option cut short", Query("a.b", 1, Opt(options: Hex("000a 0008 0102"))), DnsParseResult.FormErr },
        { "OPT option header cut short", Query("a.b", 1, Opt(options: Hex("000a 00"))), DnsParseResult.FormErr },
        { "OPT version 1", Query("a.b", 1, Opt(version: 1)), DnsParseResult.BadVersion },
        { "OPT version 1 twice", Query("a.b", 2, Opt(version: 1), Opt(version: 1)), DnsParseResult.FormErr },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryParse_Malformed_Classified(string what, byte[] packet, DnsParseResult expected)
    {
        Assert.True(expected == Parse(packet, out _), what);
    }

    [Fact]
    public void TryParse_NotImp_IdAndOpcodeFilled()
    {
        var packet = Concat(Header(id: 0x4242, flags: 0x2100), Name("a.b"), U16(1), U16(1));
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        Assert.Equal(DnsParseResult.NotImp, DnsRequest.TryParse(packet, buffer, out var request));
        Assert.Equal(0x4242, request.Id);
        Assert.Equal(4, request.OpCode);
        Assert.True(request.RecursionDesired);
    }

    [Fact]
    public void TryParse_FormErrAfterQuestion_QuestionKeptForTheErrorResponse()
    {
        var packet = Query("a.b", 2, Opt(), Opt());
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        Assert.Equal(DnsParseResult.FormErr, DnsRequest.TryParse(packet, buffer, out var request));
        Assert.Equal(0x1234, request.Id);
        Assert.Equal(Concat(Name("a.b"), U16(1), U16(1)), request.QuestionBytes.ToArray());
    }

    [Fact]
    public void TryParse_NameBufferTooSmall_FormErr()
    {
        Span<char> buffer = stackalloc char[4];
        Assert.Equal(DnsParseResult.FormErr, DnsRequest.TryParse(Query("abc.de"), buffer, out _));
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(Query("ab.d"), buffer, out var request));
        Assert.Equal("ab.d", request.Name.ToString());
    }

    [Theory]
    [InlineData(4096, 4096)]
    [InlineData(1232, 1232)]
    [InlineData(512, 512)]
    [InlineData(100, 512)]
    [InlineData(0, 512)]
    public void TryParse_Edns_PayloadSizeAtLeast512(ushort advertised, ushort expected)
    {
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(Query("a.b", 1, Opt(advertised)), buffer, out var request));
        Assert.True(request.HasEdns);
        Assert.Equal(expected, request.UdpPayloadSize);
        Assert.False(request.DnssecOk);
    }

    [Fact]
    public void TryParse_EdnsWithDoAndOptions_Read()
    {
        // A cookie option (code 10, 8 bytes) as dig sends by default.
        var packet = DnsMessage.Query(1, "a.b", DnsType.A);
        packet = Concat(packet[..11], [1], packet[12..], Opt(4096, dnssecOk: true, options: Hex("000a 0008 0102030405060708")));
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(packet, buffer, out var request));
        Assert.True(request.HasEdns);
        Assert.True(request.DnssecOk);
        Assert.Equal(4096, request.UdpPayloadSize);
    }

    [Fact]
    public void TryParse_OptAfterOtherAdditionalRecord_Found()
    {
        var other = Concat(Name("x.y"), U16(1), U16(1), U32(5), U16(4), [1, 2, 3, 4]);
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];

        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(Query("a.b", 2, other, Opt(2048)), buffer, out var request));
        Assert.Equal(2048, request.UdpPayloadSize);
    }

    [Fact]
    public void TryParse_ValidQuery_AllocatesNothing()
    {
        var packet = Query("Svc1.NS.svc.cluster.local", 1, Opt(1232, options: Hex("000a 0008 0102030405060708")));
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        var length = 0;
        DnsRequest.TryParse(packet, buffer, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            DnsRequest.TryParse(packet, buffer, out var request);
            length += request.Name.Length;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(25_000, length);
    }
}
