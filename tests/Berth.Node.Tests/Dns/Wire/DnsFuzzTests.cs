using System.Net;
using Berth.Node.Dns.Wire;
using static Berth.Node.Tests.Dns.Wire.WirePackets;

namespace Berth.Node.Tests.Dns.Wire;

public sealed class DnsFuzzTests
{
    /// <summary>Valid packets to mutate: queries of each shape the server sees, and responses with compression.</summary>
    private static byte[][] Seeds()
    {
        var srvQuery = DnsMessage.Query(1, "_http._tcp.headless.ns.svc.cluster.local", DnsType.SRV, 1232);
        var srvAnswer = new DnsAnswer(
            DnsRcode.NoError,
            [DnsRecord.Srv("_http._tcp.headless.ns.svc.cluster.local", 0, 50, 80, "p1.headless.ns.svc.cluster.local", 5)],
            [DnsRecord.Soa("cluster.local", "ns.dns.cluster.local", "hostmaster.cluster.local", 1, 7200, 1800, 86400, 5, 5)],
            [DnsRecord.A("p1.headless.ns.svc.cluster.local", IPAddress.Parse("10.0.0.1"), 5), DnsRecord.Aaaa("p1.headless.ns.svc.cluster.local", IPAddress.Parse("fd00::1"), 5)]);
        var cnameQuery = DnsMessage.Query(2, "Ext.NS.svc.cluster.local", DnsType.A);
        var cnameAnswer = new DnsAnswer(
            DnsRcode.NoError,
            [DnsRecord.Cname("ext.ns.svc.cluster.local", "www.example.com", 5), DnsRecord.A("www.example.com", IPAddress.Parse("192.0.2.1"), 5)],
            [],
            [],
            authoritative: false);
        return
        [
            Hex("beef 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001"),
            Query("a.b", 1, Opt(4096, dnssecOk: true, options: Hex("000a 0008 0102030405060708"))),
            srvQuery,
            cnameQuery,
            Respond(srvQuery, srvAnswer, maxSize: 1232),
            Respond(cnameQuery, cnameAnswer),
            Respond(DnsMessage.Query(3, "1.0.96.10.in-addr.arpa", DnsType.PTR), new DnsAnswer(DnsRcode.NoError, [DnsRecord.Ptr("1.0.96.10.in-addr.arpa", "svc.ns.svc.cluster.local", 5)], [], [])),
            Respond(DnsMessage.Query(4, "dns-version.cluster.local", DnsType.TXT), new DnsAnswer(DnsRcode.NoError, [DnsRecord.Txt("dns-version.cluster.local", ["1.1.0"], 5)], [], [])),
        ];
    }

    [Fact]
    public void RandomMutations_NeverThrow()
    {
        var random = new Random(20250108);
        var seeds = Seeds();
        Span<char> nameBuffer = stackalloc char[DnsRequest.MaxNameChars];
        var destination = new byte[65535];
        var answer = new DnsAnswer(DnsRcode.NoError, [DnsRecord.A("x.ns.svc.cluster.local", IPAddress.Parse("10.0.0.1"), 5)], [], []);
        var outcomes = new int[5];
        var messages = 0;
        for (var round = 0; round < 200_000; round++)
        {
            var packet = Mutate(seeds[random.Next(seeds.Length)], random);

            var result = DnsRequest.TryParse(packet, nameBuffer, out var request);
            outcomes[(int)result]++;
            switch (result)
            {
                case DnsParseResult.Ok:
                    Assert.True(request.Name.Length <= DnsRequest.MaxNameChars);
                    var length = DnsResponseWriter.Write(request, answer, destination, request.UdpPayloadSize);
                    Assert.True(length <= Math.Max((int)request.UdpPayloadSize, 512));
                    Assert.True(DnsMessage.TryParse(destination.AsSpan(0, length), out _), "a response to an accepted query decodes");
                    break;
                case DnsParseResult.FormErr or DnsParseResult.NotImp or DnsParseResult.BadVersion:
                    var errorLength = DnsResponseWriter.WriteError(packet, request, DnsRcode.FormErr, destination);
                    Assert.True(DnsMessage.TryParse(destination.AsSpan(0, errorLength), out _), "an error response decodes");
                    break;
            }

            if (DnsMessage.TryParse(packet, out var message))
            {
                messages++;
                Assert.NotNull(message);
            }
        }

        // The mutations reach every outcome, so the loop exercised more than the first check.
        Assert.All(outcomes, count => Assert.True(count > 100, string.Join(',', outcomes)));
        Assert.InRange(messages, 1000, 199_000);
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var packet = new List<byte>(seed);
        var mutations = random.Next(1, 5);
        for (var i = 0; i < mutations && packet.Count > 0; i++)
        {
            var at = random.Next(packet.Count);
            switch (random.Next(8))
            {
                case 0:
                    packet[at] = (byte)random.Next(256);
                    break;
                case 1:
                    packet[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 2:
                    // A pointer to anywhere: loops, forward, into the header.
                    packet[at] = (byte)(0xC0 | random.Next(2));
                    if (at + 1 < packet.Count)
                    {
                        packet[at + 1] = (byte)random.Next(256);
                    }

                    break;
                case 3:
                    packet.RemoveRange(at, packet.Count - at);
                    break;
                case 4:
                    packet.Insert(at, (byte)random.Next(256));
                    break;
                case 5:
                    packet.RemoveAt(at);
                    break;
                case 6:
                    // Section counts: the header's bytes 4..11.
                    if (packet.Count >= 12)
                    {
                        packet[4 + random.Next(8)] = (byte)random.Next(4);
                    }

                    break;
                default:
                    // Header flags: QR, opcode, rcode.
                    if (packet.Count >= 4)
                    {
                        packet[2 + random.Next(2)] ^= (byte)(1 << random.Next(8));
                    }

                    break;
            }
        }

        return [.. packet];
    }
}
