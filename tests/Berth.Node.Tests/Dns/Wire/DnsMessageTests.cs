using System.Net;
using Berth.Node.Dns.Wire;
using static Berth.Node.Tests.Dns.Wire.WirePackets;

namespace Berth.Node.Tests.Dns.Wire;

public sealed class DnsMessageTests
{
    [Fact]
    public void Query_NoEdns_KnownBytes()
    {
        // RFC 1035 4.1: what `dig +noedns example.com` sends (with its random ID).
        Assert.Equal(Hex("beef 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001"), DnsMessage.Query(0xbeef, "example.com", DnsType.A));
    }

    [Fact]
    public void Query_Edns_KnownBytes()
    {
        // `dig +nocookie example.com AAAA`: ARCOUNT 1 and OPT root, type 41, class 1232, TTL 0, RDLENGTH 0.
        Assert.Equal(
            Hex("0001 0100 0001 0000 0000 0001 07 6578616d706c65 03 636f6d 00 001c 0001 00 0029 04d0 00000000 0000"),
            DnsMessage.Query(1, "example.com.", DnsType.AAAA, 1232));
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("a\\")]
    [InlineData("caf\u00e9.example")]
    public void Query_InvalidName_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => DnsMessage.Query(1, name, DnsType.A));
    }

    [Fact]
    public void Query_LabelOf64_Throws()
    {
        Assert.Throws<ArgumentException>(() => DnsMessage.Query(1, new string('a', 64) + ".b", DnsType.A));
    }

    [Fact]
    public void TryParse_UpstreamResponseWithCompressedRdata_NamesExpanded()
    {
        // A response as a recursive resolver writes it: CNAME target, MX, SRV, NS and SOA names all compressed.
        var packet = Concat(
            Header(flags: 0x8180, qd: 1, an: 4, ns: 1, ar: 2),
            Name("www.example.com"), U16(1), U16(1),                                          // 12: www(12) example(16) com(24)
            Hex("c00c"), U16(5), U16(1), U32(300), U16(6), Hex("03 63646e c010"),                // CNAME cdn.example.com
            Hex("c010"), U16(15), U16(1), U32(300), U16(7), U16(10), Hex("02 6d78 c010"),      // MX 10 mx.example.com
            Hex("c010"), U16(33), U16(1), U32(300), U16(8), U16(1), U16(2), U16(3), Hex("c010"), // SRV 1 2 3 example.com
            Hex("c010"), U16(99), U16(1), U32(300), U16(3), Hex("c0 10 ff"),                   // unknown type: raw
            Hex("c010"), U16(6), U16(1), U32(60), U16(27), Hex("02 6e73 c010 c010"), U32(1), U32(2), U32(3), U32(4), U32(5),
            Hex("c010"), U16(2), U16(1), U32(60), U16(2), Hex("c018"),                         // NS com
            Opt(4096));

        var message = Decode(packet);

        Assert.True(message.IsResponse);
        Assert.True(message.RecursionAvailable);
        Assert.Equal("cdn.example.com", DnsRdata.Name(message.Answers[0]));
        Assert.Equal(Concat(U16(10), Name("mx.example.com")), message.Answers[1].Data);
        Assert.Equal(new DnsSrv(1, 2, 3, "example.com"), DnsRdata.Srv(message.Answers[2]));
        Assert.Equal(Hex("c010ff"), message.Answers[3].Data);
        Assert.Equal((DnsType)99, message.Answers[3].Type);
        Assert.Equal(new DnsSoa("ns.example.com", "example.com", 1, 2, 3, 4, 5), DnsRdata.Soa(Assert.Single(message.Authority)));
        Assert.Equal("com", DnsRdata.Name(Assert.Single(message.Additional)));
        Assert.Equal((ushort)4096, message.EdnsPayloadSize);
    }

    [Fact]
    public void TryParse_ExtendedRcode_Combined()
    {
        var packet = Concat(Header(flags: 0x8003, qd: 0, ar: 1), [0], U16(41), U16(512), [1, 0, 0, 0], U16(0));

        // Upper 8 bits 1, lower 4 bits 3: rcode 19.
        Assert.Equal((DnsRcode)19, Decode(packet).Rcode);
    }

    [Fact]
    public void TryParse_EscapesOddBytesInNames()
    {
        var packet = Concat(Header(flags: 0x8000, qd: 1), Hex("04 612e5c20 02 ff41 00"), U16(1), U16(1));

        var question = Assert.Single(Decode(packet).Questions);

        Assert.Equal("a\\.\\\\\\032.\\255A", question.Name);
        // The escaped text encodes back to the same bytes.
        Assert.Equal(packet[12..^4], DnsMessage.Query(0, question.Name, DnsType.A)[12..^4]);
    }

    [Fact]
    public void TryParse_RecordOwnerLowerCasedQuestionCaseKept()
    {
        var packet = Concat(Header(flags: 0x8000, qd: 1, an: 1), Name("WwW.Example.com"), U16(1), U16(1), Hex("c00c"), U16(1), U16(1), U32(5), U16(4), [192, 0, 2, 1]);

        var message = Decode(packet);

        Assert.Equal("WwW.Example.com", message.Questions[0].Name);
        Assert.Equal("www.example.com", message.Answers[0].Name);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), DnsRdata.Address(message.Answers[0]));
    }

    public static TheoryData<string, byte[]> Malformed() => new()
    {
        { "short header", Header()[..11] },
        { "question missing", Header(qd: 1) },
        { "question type cut", Concat(Header(qd: 1), Name("a"), [0, 1]) },
        { "answer missing", Concat(Header(qd: 0, an: 1)) },
        { "answer fixed part cut", Concat(Header(qd: 0, an: 1), [0], U16(1), U16(1), U32(5)) },
        { "answer RDATA cut", Concat(Header(qd: 0, an: 1), [0], U16(1), U16(1), U32(5), U16(4), [1, 2, 3]) },
        { "A of 5 bytes", Concat(Header(qd: 0, an: 1), [0], U16(1), U16(1), U32(5), U16(5), [1, 2, 3, 4, 5]) },
        { "AAAA of 4 bytes", Concat(Header(qd: 0, an: 1), [0], U16(28), U16(1), U32(5), U16(4), [1, 2, 3, 4]) },
        { "CNAME running past RDATA", Concat(Header(qd: 0, an: 1), [0], U16(5), U16(1), U32(5), U16(2), Name("abc.d")) },
        { "CNAME with bytes after the name", Concat(Header(qd: 0, an: 1), [0], U16(5), U16(1), U32(5), U16(4), Name("a"), [9]) },
        { "SOA numbers short", Concat(Header(qd: 0, an: 1), [0], U16(6), U16(1), U32(5), U16(6), [0, 0], U32(1)) },
        { "SRV without target", Concat(Header(qd: 0, an: 1), [0], U16(33), U16(1), U32(5), U16(6), U16(1), U16(2), U16(3)) },
        { "TXT string past RDATA", Concat(Header(qd: 0, an: 1), [0], U16(16), U16(1), U32(5), U16(3), [5, 0x61, 0x62]) },
        { "TXT empty", Concat(Header(qd: 0, an: 1), [0], U16(16), U16(1), U32(5), U16(0)) },
        { "OPT in answer section", Concat(Header(qd: 0, an: 1), Opt()) },
        { "two OPT", Concat(Header(qd: 0, ar: 2), Opt(), Opt()) },
        { "OPT owned by a name", Concat(Header(qd: 0, ar: 1), Name("a"), Opt()[1..]) },
        { "pointer loop in owner", Concat(Header(qd: 0, an: 1), Hex("01 61 c00c"), U16(1), U16(1), U32(5), U16(4), [1, 2, 3, 4]) },
        { "forward pointer in RDATA", Concat(Header(qd: 0, an: 1), [0], U16(5), U16(1), U32(5), U16(2), Hex("c0ff")) },
        { "pointer chain longer than a name", PointerChain(200) },
    };

    /// <summary>
    /// Two records: the first's RDATA (at offset 23) holds the name "a" then <paramref name="length"/> pointers, each to
    /// the one before it; the second's owner is a pointer to the last. Backwards all along, but far more jumps than any
    /// real name needs once <paramref name="length"/> is large.
    /// </summary>
    private static byte[] PointerChain(int length)
    {
        var rdata = new List<byte> { 1, (byte)'a', 0 };
        for (var i = 0; i < length; i++)
        {
            rdata.AddRange(U16(0xC000 | (i == 0 ? 23 : 26 + 2 * (i - 1))));
        }

        return Concat(
            Header(qd: 0, an: 2),
            [0], U16(99), U16(1), U32(5), U16(rdata.Count), [.. rdata],
            U16(0xC000 | (26 + 2 * (length - 1))), U16(99), U16(1), U32(5), U16(0));
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryParse_Malformed_False(string what, byte[] packet)
    {
        Assert.False(DnsMessage.TryParse(packet, out var message), what);
        Assert.Null(message);
    }

    [Fact]
    public void TryParse_PointerChainOfTen_Accepted()
    {
        Assert.True(DnsMessage.TryParse(PointerChain(10), out var message));
        Assert.Equal("a", message!.Answers[1].Name);
    }
}
