using Berth.ApiServer;
using Berth.ApiServer.Security;
using Berth.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests.Shared;

/// <summary>The real API server (Kestrel, TLS, SQLite) in this process on a free loopback port (linked into the Client and Controllers tests).</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessServer(WebApplication app, ApiServerOptions options)
    {
        _app = app;
        Options = options;
        Credentials = app.Services.GetRequiredService<ClusterCredentials>();
        Url = new Uri(ApiServerHost.ListeningUrl(app, options));
    }

    public ApiServerOptions Options { get; }

    public ClusterCredentials Credentials { get; }

    public Uri Url { get; }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public static async Task<InProcessServer> StartAsync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "berth-inproc-" + Guid.NewGuid().ToString("N"));
        var options = new ApiServerOptions { DataDir = dataDir, Port = 0 };
        var app = await ApiServerHost.BuildAsync(options, logging: _ => { });
        await app.StartAsync();
        return new InProcessServer(app, options);
    }

    /// <summary>A client that trusts exactly this server's CA.</summary>
    public KubeClient NewClient() => new(new KubeClientOptions
    {
        Server = Url,
        Token = Credentials.Token,
        CertificateAuthority = Credentials.CaCertificate,
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(Options.DataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp dir is unique to this test.
        }
    }
}
