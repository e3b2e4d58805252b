using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Berth.ApiServer.Security;

namespace Berth.ApiServer.Tests.Security;

public sealed class ClusterCredentialsTests : IDisposable
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "berth-creds-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    [Fact]
    public void LoadOrCreate_FirstStart_WritesPkiAndTokenWithPrivateModes()
    {
        using var credentials = ClusterCredentials.LoadOrCreate(_dataDir, ["berth.example"], new ManualTime(s_start));

        foreach (var file in new[] { "pki/ca.crt", "pki/ca.key", "pki/server.crt", "pki/server.key", "token" })
        {
            Assert.True(File.Exists(Path.Combine(_dataDir, file)), file);
        }

        Assert.Equal(43, credentials.Token.Length); // 32 random bytes, base64url without padding
        Assert.DoesNotContain('=', credentials.Token);
        Assert.Equal(credentials.Token, File.ReadAllText(Path.Combine(_dataDir, "token")).Trim());
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", credentials.CaPem, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(_dataDir, "pki/ca.key")));
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(_dataDir, "pki/server.key")));
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(_dataDir, "token")));
        }
    }

    [Fact]
    public void LoadOrCreate_SecondStart_ReusesCaServerCertificateAndToken()
    {
        var time = new ManualTime(s_start);
        using var first = ClusterCredentials.LoadOrCreate(_dataDir, ["127.0.0.1"], time);
        time.Now = s_start.AddDays(100);

        using var second = ClusterCredentials.LoadOrCreate(_dataDir, ["localhost"], time);

        Assert.Equal(first.CaCertificate.Thumbprint, second.CaCertificate.Thumbprint);
        Assert.Equal(first.ServerCertificate.Thumbprint, second.ServerCertificate.Thumbprint);
        Assert.Equal(first.CaPem, second.CaPem);
        Assert.Equal(first.Token, second.Token);
    }

    [Fact]
    public void LoadOrCreate_ServerCertificate_ChainsToCaWithServerAuthAndAllNames()
    {
        using var credentials = ClusterCredentials.LoadOrCreate(_dataDir, ["berth.example", "10.1.2.3", " "], new ManualTime(s_start));
        var server = credentials.ServerCertificate;

        Assert.True(server.HasPrivateKey);
        Assert.True(Chains(server, credentials.CaCertificate, s_start.AddDays(1)));
        Assert.Equal("CN=berth-ca", credentials.CaCertificate.Subject);
        Assert.Contains(credentials.CaCertificate.Extensions.OfType<X509BasicConstraintsExtension>(), b => b.CertificateAuthority && b.Critical);
        Assert.InRange((credentials.CaCertificate.NotAfter.ToUniversalTime() - s_start.UtcDateTime).TotalDays, 3649, 3651);
        Assert.InRange((server.NotAfter.ToUniversalTime() - s_start.UtcDateTime).TotalDays, 364, 366);
        Assert.Contains(server.Extensions.OfType<X509EnhancedKeyUsageExtension>().SelectMany(e => e.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()), o => o.Value == "1.3.6.1.5.5.7.3.1");

        var (dns, ips) = SubjectAltNames(server);
        Assert.Equal(["berth.example", "localhost"], dns.Order(StringComparer.Ordinal));
        Assert.Equal(["10.1.2.3", "127.0.0.1", "::1"], ips.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LoadOrCreate_NewServerName_ReissuesServerCertificateFromSameCa()
    {
        var time = new ManualTime(s_start);
        using var first = ClusterCredentials.LoadOrCreate(_dataDir, [], time);

        using var second = ClusterCredentials.LoadOrCreate(_dataDir, ["node-2.example"], time);

        Assert.Equal(first.CaCertificate.Thumbprint, second.CaCertificate.Thumbprint);
        Assert.NotEqual(first.ServerCertificate.Thumbprint, second.ServerCertificate.Thumbprint);
        Assert.Contains("node-2.example", SubjectAltNames(second.ServerCertificate).Dns);
        Assert.True(Chains(second.ServerCertificate, second.CaCertificate, s_start.AddDays(1)));
    }

    [Fact]
    public void LoadOrCreate_ServerCertificateExpiring_ReissuesItAndKeepsCaAndToken()
    {
        var time = new ManualTime(s_start);
        using var first = ClusterCredentials.LoadOrCreate(_dataDir, [], time);
        time.Now = s_start.AddDays(400);

        using var second = ClusterCredentials.LoadOrCreate(_dataDir, [], time);

        Assert.Equal(first.CaCertificate.Thumbprint, second.CaCertificate.Thumbprint);
        Assert.Equal(first.Token, second.Token);
        Assert.NotEqual(first.ServerCertificate.Thumbprint, second.ServerCertificate.Thumbprint);
        Assert.True(Chains(second.ServerCertificate, second.CaCertificate, s_start.AddDays(401)));
    }

    [Fact]
    public void LoadOrCreate_DamagedServerKey_ReissuesServerCertificate()
    {
        var time = new ManualTime(s_start);
        using var first = ClusterCredentials.LoadOrCreate(_dataDir, [], time);
        File.WriteAllText(Path.Combine(_dataDir, "pki/server.key"), "not a key");

        using var second = ClusterCredentials.LoadOrCreate(_dataDir, [], time);

        Assert.Equal(first.CaCertificate.Thumbprint, second.CaCertificate.Thumbprint);
        Assert.NotEqual(first.ServerCertificate.Thumbprint, second.ServerCertificate.Thumbprint);
        Assert.True(second.ServerCertificate.HasPrivateKey);
    }

    [Fact]
    public async Task ServerCertificate_TlsHandshake_ClientTrustingOnlyTheCaSucceeds()
    {
        using var credentials = ClusterCredentials.LoadOrCreate(_dataDir, [], TimeProvider.System);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var serverTask = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(credentials.ServerCertificate);
            await tls.WriteAsync("ok"u8.ToArray());
        });

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var clientTls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
            certificate is not null && Chains(new X509Certificate2(certificate), credentials.CaCertificate, DateTimeOffset.UtcNow));
        await clientTls.AuthenticateAsClientAsync("127.0.0.1");
        var buffer = new byte[2];
        await clientTls.ReadExactlyAsync(buffer);
        await serverTask;

        Assert.Equal("ok"u8.ToArray(), buffer);
    }

    [Theory]
    [InlineData("Bearer s3cret", "s3cret", true)]
    [InlineData("bearer s3cret", "s3cret", true)]
    [InlineData("Bearer  s3cret ", "s3cret", true)]
    [InlineData("Bearer s3cret2", "s3cret", false)]
    [InlineData("Bearer s3cre", "s3cret", false)]
    [InlineData("Basic s3cret", "s3cret", false)]
    [InlineData("s3cret", "s3cret", false)]
    [InlineData("Bearer", "s3cret", false)]
    [InlineData("Bearer ", "", false)]
    [InlineData(null, "s3cret", false)]
    public void TokenMatches_AuthorizationHeader_ComparesBearerToken(string? header, string token, bool expected)
    {
        Assert.Equal(expected, ClusterCredentials.TokenMatches(header, token));
    }

    private static bool Chains(X509Certificate2 certificate, X509Certificate2 ca, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        return chain.Build(certificate);
    }

    private static (List<string> Dns, List<string> Ips) SubjectAltNames(X509Certificate2 certificate)
    {
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        return ([.. san.EnumerateDnsNames()], [.. san.EnumerateIPAddresses().Select(ip => ip.ToString())]);
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
