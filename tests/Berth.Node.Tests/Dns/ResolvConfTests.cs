using Berth.Node.Dns;

namespace Berth.Node.Tests.Dns;

public sealed class ResolvConfTests
{
    // pkg/kubelet/network/dns/dns_test.go TestParseResolvConf. The cases upstream marks as errors (a nameserver
    // line without an address) parse here with that line skipped.
    public static TheoryData<string, string[], string[], string[]> ParseCases => new()
    {
        { "", [], [], [] },
        { " ", [], [], [] },
        { "\n", [], [], [] },
        { "\t\n\t", [], [], [] },
        { "#comment\n", [], [], [] },
        { " #comment\n", [], [], [] },
        { "#comment\n#comment", [], [], [] },
        { "#comment\nnameserver", [], [], [] },
        { "#comment\nnameserver\nsearch", [], [], [] },
        { "#comment\nnameserver 1.2.3.4\nsearch", ["1.2.3.4"], [], [] },
        { "nameserver 1.2.3.4", ["1.2.3.4"], [], [] },
        { " nameserver 1.2.3.4", ["1.2.3.4"], [], [] },
        { "\tnameserver 1.2.3.4", ["1.2.3.4"], [], [] },
        { "nameserver\t1.2.3.4", ["1.2.3.4"], [], [] },
        { "nameserver \t 1.2.3.4", ["1.2.3.4"], [], [] },
        { "nameserver 1.2.3.4\nnameserver 5.6.7.8", ["1.2.3.4", "5.6.7.8"], [], [] },
        { "nameserver 1.2.3.4 #comment", ["1.2.3.4"], [], [] },
        { "search ", [], [], [] },
        { "search foo", [], ["foo"], [] },
        { "search foo bar", [], ["foo", "bar"], [] },
        { "search foo. bar", [], ["foo", "bar"], [] },
        { "search foo bar bat\n", [], ["foo", "bar", "bat"], [] },
        { "search foo\nsearch bar", [], ["bar"], [] },
        { "nameserver 1.2.3.4\nsearch foo bar", ["1.2.3.4"], ["foo", "bar"], [] },
        { "nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar", ["1.2.3.4", "5.6.7.8"], ["bar"], [] },
        { "#comment\nnameserver 1.2.3.4\n#comment\nsearch foo\ncomment", ["1.2.3.4"], ["foo"], [] },
        { "options ", [], [], [] },
        { "options ndots:5 attempts:2", [], [], ["ndots:5", "attempts:2"] },
        { "options ndots:1\noptions ndots:5 attempts:3", [], [], ["ndots:5", "attempts:3"] },
        { "nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar\noptions ndots:5 attempts:4", ["1.2.3.4", "5.6.7.8"], ["bar"], ["ndots:5", "attempts:4"] },
        // Beyond upstream's table: glibc's ';' comments, domain as a one-entry search list, CRLF line ends.
        { "; comment\nnameserver 9.9.9.9", ["9.9.9.9"], [], [] },
        { "search a b\ndomain c.example d", [], ["c.example"], [] },
        { "nameserver 1.2.3.4\r\nsearch foo\r\n", ["1.2.3.4"], ["foo"], [] },
    };

    [Theory]
    [MemberData(nameof(ParseCases))]
    public void Parse_UpstreamCases_NameserversSearchesOptions(string text, string[] nameservers, string[] searches, string[] options)
    {
        var conf = ResolvConf.Parse(text);

        Assert.Equal(nameservers, conf.Nameservers);
        Assert.Equal(searches, conf.Searches);
        Assert.Equal(options, conf.Options);
    }

    [Fact]
    public void Format_AllParts_SearchNameserversOptionsAsTheRuntimeWritesThem()
    {
        var conf = new ResolvConf(["127.96.0.10", "10.0.0.11"], ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], ["ndots:5"]);

        Assert.Equal(
            "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.96.0.10\nnameserver 10.0.0.11\noptions ndots:5\n",
            conf.Format());
    }

    [Fact]
    public void Format_EmptyParts_LeftOut()
    {
        Assert.Equal("", ResolvConf.Empty.Format());
        Assert.Equal("nameserver 1.1.1.1\n", new ResolvConf(["1.1.1.1"], [], []).Format());
    }

    [Fact]
    public void Format_ThenParse_RoundTrips()
    {
        var conf = new ResolvConf(["203.0.113.1"], ["my.domain", "second.domain"], ["ndots:3", "debug"]);

        var parsed = ResolvConf.Parse(conf.Format());

        Assert.Equal(conf.Nameservers, parsed.Nameservers);
        Assert.Equal(conf.Searches, parsed.Searches);
        Assert.Equal(conf.Options, parsed.Options);
    }

    [Fact]
    public void Read_MissingFile_Empty()
    {
        var conf = ResolvConf.Read(Path.Combine(Path.GetTempPath(), "berth-no-such-dir-" + Guid.NewGuid().ToString("N"), "resolv.conf"));

        Assert.Same(ResolvConf.Empty, conf);
    }

    [Fact]
    public void Read_File_Parsed()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "nameserver 8.8.8.8\nsearch host.domain\n");

            var conf = ResolvConf.Read(path);

            Assert.Equal(["8.8.8.8"], conf.Nameservers);
            Assert.Equal(["host.domain"], conf.Searches);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
