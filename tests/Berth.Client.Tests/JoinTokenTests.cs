namespace Berth.Client.Tests;

public sealed class JoinTokenTests
{
    private const string Hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public static TheoryData<string, bool, string, string?> Tokens => new()
    {
        { "plain-secret", true, "plain-secret", null },
        { "K10" + Hash + "::server:abc", true, "server:abc", Hash },
        { "K10" + Hash.ToUpperInvariant() + "::s", true, "s", Hash },
        { "K10" + Hash + "::", false, "", Hash },
        { "K10" + Hash[..63] + "::s", false, "K10" + Hash[..63] + "::s", null },
        { "K10" + Hash[..63] + "g::s", false, "K10" + Hash[..63] + "g::s", null },
        { "K10" + Hash, false, "K10" + Hash, null },
        { "", false, "", null },
    };

    [Theory]
    [MemberData(nameof(Tokens))]
    public void TryParse_Table(string token, bool ok, string secret, string? hash)
    {
        Assert.Equal(ok, JoinToken.TryParse(token, out var parsedSecret, out var parsedHash));
        Assert.Equal(secret, parsedSecret);
        Assert.Equal(hash, parsedHash);
    }

    [Fact]
    public void Format_RoundTripsThroughTryParse()
    {
        var token = JoinToken.Format(Hash.ToUpperInvariant(), "secret");

        Assert.Equal("K10" + Hash + "::secret", token);
        Assert.True(JoinToken.TryParse(token, out var secret, out var hash));
        Assert.Equal("secret", secret);
        Assert.Equal(Hash, hash);
    }

    [Fact]
    public void Format_NotAHash_Throws() =>
        Assert.Throws<ArgumentException>(() => JoinToken.Format("abc", "secret"));
}
