using System.Net.Http.Headers;
using Berth.ApiServer.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.ApiServer.Tests.Http;

/// <summary>The real API server (Kestrel, TLS, SQLite) in this process on a free loopback port.</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDir;

    private InProcessServer(WebApplication app, string dataDir, HttpClient client)
    {
        _app = app;
        _dataDir = dataDir;
        Client = client;
    }

    public HttpClient Client { get; }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public static async Task<InProcessServer> StartAsync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "berth-inproc-" + Guid.NewGuid().ToString("N"));
        var options = new ApiServerOptions { DataDir = dataDir, Port = 0 };
        var app = await ApiServerHost.BuildAsync(options, logging: _ => { });
        await app.StartAsync();
        var credentials = app.Services.GetRequiredService<ClusterCredentials>();
        var handler = new SocketsHttpHandler();
        // Loopback server with a test-generated CA: trust exactly that CA.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
            cert is not null && cert.Issuer == credentials.CaCertificate.Subject;
        var client = new HttpClient(handler) { BaseAddress = new Uri(ApiServerHost.ListeningUrl(app, options)) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credentials.Token);
        return new InProcessServer(app, dataDir, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp dir is unique to this test.
        }
    }
}
