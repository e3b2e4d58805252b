using System.Net;
using Berth.Node.Dns.Wire;
using static Berth.Node.Tests.Dns.Wire.WirePackets;

namespace Berth.Node.Tests.Dns.Wire;

public sealed class DnsResponseWriterTests
{
    private static readonly DnsRecord s_soa = DnsRecord.Soa("cluster.local", "ns.dns.cluster.local", "hostmaster.cluster.local", 1700000000, 7200, 1800, 86400, 5, 5);

    private static DnsAnswer Answer(params DnsRecord[] answers) => new(DnsRcode.NoError, answers, [], []);

    [Fact]
    public void Write_ARecord_RoundTrips()
    {
        var query = DnsMessage.Query(0x0a0b, "Svc1.NS.svc.cluster.local", DnsType.A);
        var response = Respond(query, Answer(DnsRecord.A("svc1.ns.svc.cluster.local", IPAddress.Parse("10.96.0.12"), 5)));

        var message = Decode(response);

        Assert.Equal(0x0a0b, message.Id);
        Assert.True(message.IsResponse);
        Assert.True(message.Authoritative);
        Assert.True(message.RecursionDesired);
        Assert.True(message.RecursionAvailable);
        Assert.False(message.Truncated);
        Assert.Equal(DnsRcode.NoError, message.Rcode);
        Assert.Equal(new DnsQuestion("Svc1.NS.svc.cluster.local", DnsType.A, 1), Assert.Single(message.Questions));
        var answer = Assert.Single(message.Answers);
        Assert.Equal("svc1.ns.svc.cluster.local", answer.Name);
        Assert.Equal(DnsType.A, answer.Type);
        Assert.Equal(5u, answer.Ttl);
        Assert.Equal(IPAddress.Parse("10.96.0.12"), DnsRdata.Address(answer));
        Assert.Empty(message.Authority);
        Assert.Empty(message.Additional);
        Assert.Null(message.EdnsPayloadSize);

        // Header + question + (pointer 2 + fixed 10 + address 4): the owner is the pointer to the question.
        Assert.Equal(query.Length + 16, response.Length);
        Assert.Equal(Hex("c00c"), response[query.Length..(query.Length + 2)]);
    }

    [Fact]
    public void Write_HeaderBits_FromRequestAndAnswer()
    {
        var query = DnsMessage.Query(9, "example.com", DnsType.A);
        query[2] = 0x00;
        query[3] = 0x10;
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(query, buffer, out var request));
        var destination = new byte[512];

        var length = DnsResponseWriter.Write(request, new DnsAnswer(DnsRcode.NXDomain, [], [], [], authoritative: false), destination, 512, recursionAvailable: false);

        // QR, opcode 0, no AA/TC/RD; no RA, CD copied, rcode 3.
        Assert.Equal(0x80, destination[2]);
        Assert.Equal(0x13, destination[3]);
        var message = Decode(destination[..length]);
        Assert.Equal(DnsRcode.NXDomain, message.Rcode);
        Assert.False(message.Authoritative);
        Assert.True(message.CheckingDisabled);
    }

    [Fact]
    public void Write_SoaOwnerSuffixOfQuestion_PointsIntoQuestion()
    {
        var query = DnsMessage.Query(1, "nope.NS.svc.Cluster.local", DnsType.A);
        var response = Respond(query, new DnsAnswer(DnsRcode.NXDomain, [], [s_soa], []));

        // "cluster" starts at 12 + (1+4) + (1+2) + (1+3) = 24 in the question.
        Assert.Equal(Hex("c018"), response[query.Length..(query.Length + 2)]);
        var message = Decode(response);
        var soa = DnsRdata.Soa(Assert.Single(message.Authority));
        Assert.Equal("cluster.local", message.Authority[0].Name);
        Assert.Equal(new DnsSoa("ns.dns.cluster.local", "hostmaster.cluster.local", 1700000000, 7200, 1800, 86400, 5), soa);
    }

    [Fact]
    public void Write_SrvWithAdditional_CompressesAgainstQuestionAndEarlierOwners()
    {
        const string Question = "_http._tcp.headless.ns.svc.cluster.local";
        var query = DnsMessage.Query(1, Question, DnsType.SRV);
        var answer = new DnsAnswer(
            DnsRcode.NoError,
            [DnsRecord.Srv(Question, 0, 50, 80, "pod-a.headless.ns.svc.cluster.local", 5), DnsRecord.Srv(Question, 0, 50, 80, "pod-b.headless.ns.svc.cluster.local", 5)],
            [],
            [
                DnsRecord.A("pod-a.headless.ns.svc.cluster.local", IPAddress.Parse("10.0.0.1"), 5),
                DnsRecord.A("pod-b.headless.ns.svc.cluster.local", IPAddress.Parse("10.0.0.2"), 5),
                DnsRecord.A("pod-a.headless.ns.svc.cluster.local", IPAddress.Parse("10.0.0.3"), 5),
                DnsRecord.A("other.zone", IPAddress.Parse("10.0.0.4"), 5),
            ]);

        var response = Respond(query, answer);
        var message = Decode(response);

        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"], message.Additional.Select(r => DnsRdata.Address(r).ToString()));
        Assert.Equal(["pod-a.headless.ns.svc.cluster.local", "pod-b.headless.ns.svc.cluster.local", "pod-a.headless.ns.svc.cluster.local", "other.zone"], message.Additional.Select(r => r.Name));
        Assert.Equal(["pod-a.headless.ns.svc.cluster.local", "pod-b.headless.ns.svc.cluster.local"], message.Answers.Select(r => DnsRdata.Srv(r).Target));

        // The first additional owner is "pod-a" + a pointer to "headless" in the question (offset 12 + 6 + 5 = 23).
        var firstAdditional = query.Length + 2 * (2 + 10 + answer.Answers[0].Data.Length);
        Assert.Equal(Concat(Hex("05"), "pod-a"u8.ToArray(), Hex("c017")), response[firstAdditional..(firstAdditional + 8)]);

        // The third repeats the first owner: a bare pointer to it.
        var third = firstAdditional + 2 * (8 + 10 + 4);
        Assert.Equal(Concat([0xc0], [(byte)firstAdditional]), response[third..(third + 2)]);
    }

    [Fact]
    public void Write_ManyDistinctOwners_TableFullStillDecodes()
    {
        var query = DnsMessage.Query(1, "q.example", DnsType.A);
        var records = Enumerable.Range(0, 100).Select(i => DnsRecord.A($"host{i}.sub{i % 7}.example", IPAddress.Parse($"10.1.0.{i}"), 5)).ToArray();

        var message = Decode(Respond(query, Answer(records), maxSize: 65535));

        Assert.Equal(records.Select(r => r.Name), message.Answers.Select(r => r.Name));
        Assert.Equal(records.Select(r => DnsRdata.Address(r)), message.Answers.Select(r => DnsRdata.Address(r)));
    }

    [Fact]
    public void Write_CnameChain_TargetsDecompressedAndOwnersCompressed()
    {
        var query = DnsMessage.Query(1, "ext.ns.svc.cluster.local", DnsType.A);
        var answer = Answer(
            DnsRecord.Cname("ext.ns.svc.cluster.local", "Target.Example.COM", 5),
            DnsRecord.A("target.example.com", IPAddress.Parse("192.0.2.1"), 30));

        var message = Decode(Respond(query, answer));

        Assert.Equal("Target.Example.COM", DnsRdata.Name(message.Answers[0]));
        Assert.Equal("target.example.com", message.Answers[1].Name);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), DnsRdata.Address(message.Answers[1]));
    }

    [Fact]
    public void Write_HeadlessTooBigForUdp_TruncatedWithTc()
    {
        var query = DnsMessage.Query(1, "headless.ns.svc.cluster.local", DnsType.A);
        var records = Enumerable.Range(1, 100).Select(i => DnsRecord.A("headless.ns.svc.cluster.local", IPAddress.Parse($"10.0.0.{i}"), 5)).ToArray();

        var response = Respond(query, Answer(records));
        var message = Decode(response);

        Assert.True(response.Length <= 512);
        Assert.True(message.Truncated);
        // (512 - header 12 - question 35) / 16 per compressed A record = 29.
        Assert.Equal(29, message.Answers.Count);
        Assert.Equal(records.Take(29).Select(DnsRdata.Address), message.Answers.Select(DnsRdata.Address));
    }

    [Fact]
    public void Write_Tcp_EverythingFitsNoTc()
    {
        var query = DnsMessage.Query(1, "headless.ns.svc.cluster.local", DnsType.A);
        var records = Enumerable.Range(1, 100).Select(i => DnsRecord.A("headless.ns.svc.cluster.local", IPAddress.Parse($"10.0.0.{i}"), 5)).ToArray();

        var message = Decode(Respond(query, Answer(records), maxSize: 65535));

        Assert.False(message.Truncated);
        Assert.Equal(100, message.Answers.Count);
    }

    [Fact]
    public void Write_OnlyAdditionalLeftOff_NoTc()
    {
        var query = DnsMessage.Query(1, "_http._tcp.h.ns.svc.cluster.local", DnsType.SRV);
        var srv = DnsRecord.Srv("_http._tcp.h.ns.svc.cluster.local", 0, 100, 80, "p.h.ns.svc.cluster.local", 5);
        var glue = Enumerable.Range(1, 60).Select(i => DnsRecord.A("p.h.ns.svc.cluster.local", IPAddress.Parse($"10.0.1.{i}"), 5)).ToArray();

        var response = Respond(query, new DnsAnswer(DnsRcode.NoError, [srv], [], glue));
        var message = Decode(response);

        Assert.True(response.Length <= 512);
        Assert.False(message.Truncated);
        Assert.Single(message.Answers);
        Assert.InRange(message.Additional.Count, 1, 59);
    }

    [Fact]
    public void Write_AuthorityLeftOff_Tc()
    {
        var query = DnsMessage.Query(1, "h.ns.svc.cluster.local", DnsType.A);
        var records = Enumerable.Range(1, 29).Select(i => DnsRecord.A("h.ns.svc.cluster.local", IPAddress.Parse($"10.0.0.{i}"), 5)).ToArray();

        // 12 + 28 + 29 * 16 = 504: the answers fit, the SOA (2 + 10 + 68) does not.
        var message = Decode(Respond(query, new DnsAnswer(DnsRcode.NoError, records, [s_soa], [])));

        Assert.Equal(29, message.Answers.Count);
        Assert.Empty(message.Authority);
        Assert.True(message.Truncated);
    }

    [Fact]
    public void Write_Edns_OptAddedAndReservedInBudget()
    {
        var query = Concat(Header(ar: 1), Name("headless.ns.svc.cluster.local"), U16(1), U16(1), Opt(1232, dnssecOk: true));
        var records = Enumerable.Range(1, 200).Select(i => DnsRecord.A("headless.ns.svc.cluster.local", IPAddress.Parse($"10.0.{i / 250}.{i % 250}"), 5)).ToArray();
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(query, buffer, out var request));
        var destination = new byte[65535];

        var length = DnsResponseWriter.Write(request, Answer(records), destination, request.UdpPayloadSize);
        var message = Decode(destination[..length]);

        Assert.True(length <= 1232);
        Assert.True(message.Truncated);
        // (1232 - 12 - 35 - 11) / 16 = 73.
        Assert.Equal(73, message.Answers.Count);
        Assert.Equal((ushort)1232, message.EdnsPayloadSize);
        Assert.Equal((byte)0, message.EdnsVersion);
        Assert.True(message.DnssecOk);
        Assert.Empty(message.Additional);
    }

    [Fact]
    public void Write_ServerPayloadSize_Advertised()
    {
        var query = Concat(Header(ar: 1), Name("a.b"), U16(1), U16(1), Opt(4096));
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(query, buffer, out var request));
        var destination = new byte[512];

        var length = DnsResponseWriter.Write(request, Answer(), destination, 512, serverPayloadSize: 4000);

        Assert.Equal((ushort)4000, Decode(destination[..length]).EdnsPayloadSize);
    }

    [Fact]
    public void Write_MaxSizeAboveDestination_ClampedToDestination()
    {
        var query = DnsMessage.Query(1, "h.ns.svc.cluster.local", DnsType.A);
        var records = Enumerable.Range(1, 100).Select(i => DnsRecord.A("h.ns.svc.cluster.local", IPAddress.Parse($"10.0.0.{i}"), 5)).ToArray();

        var response = Respond(query, Answer(records), maxSize: 65535, destinationSize: 600);

        Assert.True(response.Length <= 600);
        Assert.True(Decode(response).Truncated);
    }

    [Fact]
    public void Write_DestinationBelow512_Throws()
    {
        var query = DnsMessage.Query(1, "a.b", DnsType.A);
        var destination = new byte[511];
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(query, buffer, out var request));
        var thrown = false;
        try
        {
            DnsResponseWriter.Write(request, Answer(), destination, 512);
        }
        catch (ArgumentException)
        {
            thrown = true;
        }

        Assert.True(thrown);
    }

    [Fact]
    public void Write_AllocatesNothing()
    {
        var query = Concat(Header(ar: 1), Name("_http._tcp.headless.ns.svc.cluster.local"), U16(33), U16(1), Opt(1232));
        var answer = new DnsAnswer(
            DnsRcode.NoError,
            [.. Enumerable.Range(1, 3).Select(i => DnsRecord.Srv("_http._tcp.headless.ns.svc.cluster.local", 0, 33, 80, $"p{i}.headless.ns.svc.cluster.local", 5))],
            [s_soa],
            [.. Enumerable.Range(1, 3).Select(i => DnsRecord.A($"p{i}.headless.ns.svc.cluster.local", IPAddress.Parse($"10.0.0.{i}"), 5))]);
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Span<byte> destination = stackalloc byte[1232];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(query, buffer, out var request));
        var length = DnsResponseWriter.Write(request, answer, destination, 1232);
        var total = 0;

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            total += DnsResponseWriter.Write(request, answer, destination, 1232);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(1000 * length, total);
        var message = Decode(destination[..length].ToArray());
        Assert.Equal((3, 1, 3), (message.Answers.Count, message.Authority.Count, message.Additional.Count));
    }

    [Fact]
    public void WriteError_FormErr_EchoesQuestionAndOpt()
    {
        var packet = Query("A.b", 3, Opt(), Opt(), Opt());
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.FormErr, DnsRequest.TryParse(packet, buffer, out var request));
        var destination = new byte[512];

        var length = DnsResponseWriter.WriteError(packet, request, DnsRcode.FormErr, destination);
        var message = Decode(destination[..length]);

        Assert.Equal(0x1234, message.Id);
        Assert.True(message.IsResponse);
        Assert.True(message.RecursionDesired);
        Assert.Equal(DnsRcode.FormErr, message.Rcode);
        Assert.Equal(new DnsQuestion("A.b", DnsType.A, 1), Assert.Single(message.Questions));
        Assert.Empty(message.Answers);

        // The first OPT was read before the second made the query malformed: the error still speaks EDNS.
        Assert.Equal((ushort)1232, message.EdnsPayloadSize);
    }

    [Fact]
    public void WriteError_QdCountZero_HeaderOnly()
    {
        var packet = Header(id: 77, qd: 0);
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.FormErr, DnsRequest.TryParse(packet, buffer, out var request));
        var destination = new byte[512];

        var length = DnsResponseWriter.WriteError(packet, request, DnsRcode.FormErr, destination);

        Assert.Equal(Hex("004d 8101 0000 0000 0000 0000"), destination[..length]);
    }

    [Fact]
    public void WriteError_NotImp_EchoesOpcode()
    {
        var packet = Concat(Header(id: 5, flags: 0x2800), Name("a.b"), U16(6), U16(1));
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.NotImp, DnsRequest.TryParse(packet, buffer, out var request));
        var destination = new byte[512];

        var length = DnsResponseWriter.WriteError(packet, request, DnsRcode.NotImp, destination);
        var message = Decode(destination[..length]);

        Assert.Equal(5, message.OpCode);
        Assert.Equal(DnsRcode.NotImp, message.Rcode);
        Assert.False(message.RecursionDesired);
    }

    [Fact]
    public void WriteError_BadVersion_ExtendedRcodeInOpt()
    {
        var packet = Query("a.b", 1, Opt(4096, version: 1, dnssecOk: true));
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.BadVersion, DnsRequest.TryParse(packet, buffer, out var request));
        var destination = new byte[512];

        var length = DnsResponseWriter.WriteError(packet, request, DnsRcode.BadVers, destination);
        var response = destination[..length];
        var message = Decode(response);

        // RFC 6891 6.1.3: BADVERS (16) is 0 in the header and 1 in the OPT TTL's upper byte; version 0 is ours.
        Assert.Equal(0, response[3] & 0x0F);
        Assert.Equal(Concat(Opt(1232, dnssecOk: true)[..5], [1, 0, 0x80, 0], U16(0)), response[^11..]);
        Assert.Equal(DnsRcode.BadVers, message.Rcode);
        Assert.Equal((byte)0, message.EdnsVersion);
        Assert.Single(message.Questions);
    }

    [Fact]
    public void WriteError_ServFailForParsedQuery_EchoesQuestion()
    {
        var packet = DnsMessage.Query(3, "Slow.Example", DnsType.AAAA, 1232);
        Span<char> buffer = stackalloc char[DnsRequest.MaxNameChars];
        Assert.Equal(DnsParseResult.Ok, DnsRequest.TryParse(packet, buffer, out var request));
        var destination = new byte[512];

        var length = DnsResponseWriter.WriteError(packet, request, DnsRcode.ServFail, destination);
        var message = Decode(destination[..length]);

        Assert.Equal(DnsRcode.ServFail, message.Rcode);
        Assert.Equal(new DnsQuestion("Slow.Example", DnsType.AAAA, 1), Assert.Single(message.Questions));
        Assert.Equal((ushort)1232, message.EdnsPayloadSize);
    }
}
