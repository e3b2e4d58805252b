using System.Net;
using System.Security.Authentication;
using Berth.Api.Models;
using Berth.ApiServer.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Berth.Client.Tests;

/// <summary>
/// TLS trust against a k3s-shaped server: cluster credentials as Berth makes them, an unauthenticated <c>/cacerts</c>
/// bundle, and one authenticated API path.
/// </summary>
public sealed class ServerTrustTests : IAsyncLifetime
{
    private const string Secret = "node-secret";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "berth-trust-" + Guid.NewGuid().ToString("N"));
    private ClusterCredentials _credentials = null!;
    private ClusterCredentials _otherCluster = null!;
    private WebApplication _app = null!;
    private Uri _url = null!;

    public async Task InitializeAsync()
    {
        _credentials = ClusterCredentials.LoadOrCreate(Path.Combine(_dir, "a"), []);
        _otherCluster = ClusterCredentials.LoadOrCreate(Path.Combine(_dir, "b"), []);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(_credentials.ServerCertificate)));
        _app = builder.Build();
        _app.MapGet("/cacerts", () => Results.Text(_credentials.CaPem));
        _app.MapGet("/api/v1/namespaces/default", (HttpRequest request) =>
            request.Headers.Authorization == "Bearer " + Secret
                ? Results.Text("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}""", "application/json")
                : Results.StatusCode(401));
        await _app.StartAsync();
        _url = new Uri(_app.Urls.First());
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _credentials.Dispose();
        _otherCluster.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task JoinToken_RightCaHash_TrustsServerAndSendsSecret()
    {
        var token = JoinToken.Format(JoinToken.CaHash(_credentials.CaCertificate.RawData), Secret);
        using var client = new KubeClient(new KubeClientOptions { Server = _url, Token = token });

        var ns = await client.GetAsync<Namespace>(null, "default");

        Assert.Equal("default", ns.Metadata!.Name);
    }

    [Fact]
    public async Task JoinToken_WrongCaHash_RejectsServer()
    {
        var token = JoinToken.Format(JoinToken.CaHash(_otherCluster.CaCertificate.RawData), Secret);
        using var client = new KubeClient(new KubeClientOptions { Server = _url, Token = token });

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync<Namespace>(null, "default"));

        Assert.IsType<AuthenticationException>(e.InnerException);
    }

    [Fact]
    public async Task CertificateAuthority_OtherClustersCa_RejectsServer()
    {
        using var client = new KubeClient(new KubeClientOptions { Server = _url, Token = Secret, CertificateAuthority = _otherCluster.CaCertificate });

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync<Namespace>(null, "default"));

        Assert.IsType<AuthenticationException>(e.InnerException);
    }

    [Fact]
    public async Task PlainToken_NoCa_UsesSystemTrustAndRejectsPrivateCa()
    {
        using var client = new KubeClient(new KubeClientOptions { Server = _url, Token = Secret });

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync<Namespace>(null, "default"));

        Assert.IsType<AuthenticationException>(e.InnerException);
    }
}
