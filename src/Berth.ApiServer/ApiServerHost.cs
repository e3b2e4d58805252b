using System.Net;
using Berth.ApiServer.Allocation;
using Berth.ApiServer.Discovery;
using Berth.ApiServer.Http;
using Berth.ApiServer.OpenApi;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Security;
using Berth.ApiServer.Services;
using Berth.Storage;
using Berth.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer;

/// <summary>Composes the API server: store, credentials, documents, handlers and Kestrel over TLS.</summary>
public static class ApiServerHost
{
    /// <summary>Opens the store, bootstraps the cluster and returns a started-ready app (call StartAsync/RunAsync).</summary>
    public static async Task<WebApplication> BuildAsync(ApiServerOptions options, Action<ILoggingBuilder>? logging = null, CancellationToken ct = default)
    {
        Directory.CreateDirectory(options.DataDir);
        if (options.Datastore != "sqlite")
        {
            throw new ArgumentException($"unsupported --datastore {options.Datastore}: only \"sqlite\" is available in this build");
        }
        var store = await SqliteStore.OpenAsync(options.StorePath, new SqliteStoreOptions(), ct).ConfigureAwait(false);
        var credentials = ClusterCredentials.LoadOrCreate(options.DataDir, [options.BindAddress.ToString()]);
        var network = new ServiceNetwork(store, options.ServiceCidr, options.NodePortRange, options.LoadBalancerPool);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        }
        else
        {
            logging(builder.Logging);
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = RequestBody.MaxBytes + 1;
            kestrel.Listen(options.BindAddress, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(credentials.ServerCertificate);
            });
        });
        var catalog = ResourceCatalog.Default;
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IStore>(store);
        builder.Services.AddSingleton(credentials);
        builder.Services.AddSingleton(catalog);
        builder.Services.AddSingleton<ObjectStore>();
        builder.Services.AddSingleton(network);
        builder.Services.AddSingleton<ServiceAllocator>();
        builder.Services.AddSingleton<ServiceRegistry>();
        builder.Services.AddSingleton<IObjectHooks>(sp => sp.GetRequiredService<ServiceRegistry>());
        builder.Services.AddSingleton<IObjectHooks, EndpointsHooks>();
        builder.Services.AddSingleton<IObjectHooks, EndpointSliceHooks>();
        builder.Services.AddSingleton<IObjectHooks, PodHooks>();
        builder.Services.AddSingleton<ObjectHooks>();
        builder.Services.AddSingleton<AllocationRepair>();
        builder.Services.AddSingleton<ObjectDeleter>();
        builder.Services.AddHostedService<NamespaceLifecycle>();
        builder.Services.AddSingleton<SystemServices>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SystemServices>());
        builder.Services.AddHostedService<ServiceLoadBalancer>();
        builder.Services.AddHostedService<EventExpiry>();
        builder.Services.AddSingleton<KubeletProxy>();
        builder.Services.AddSingleton<ResourceHandler>();
        builder.Services.AddSingleton(new OpenApiDocuments(catalog));
        builder.Services.AddSingleton(sp => new DiscoveryDocuments(catalog,
            () => new Uri(ListeningUrl(sp.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [], options)).Authority));
        builder.Services.AddSingleton<ApiRouter>();

        var app = builder.Build();
        var router = app.Services.GetRequiredService<ApiRouter>();
        // kubectl exec is a WebSocket upgrade (relayed to the pod's kubelet).
        app.UseWebSockets();
        app.Run(router.InvokeAsync);

        await Bootstrap.EnsureClusterObjectsAsync(app.Services.GetRequiredService<ObjectStore>(), catalog, TimeProvider.System, ct).ConfigureAwait(false);
        // The pools must match the stored Services before anything allocates. The repair runs while the listener
        // starts (its first typed decode is most of its cost); allocating waits for network.Ready.
        var repair = Task.Run(() => app.Services.GetRequiredService<AllocationRepair>().RunAsync(ct), ct);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var url = ListeningUrl(app, options);
            Kubeconfig.Write(options.KubeconfigPath, url, credentials.CaPem, credentials.Token);
            var caHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(credentials.CaCertificate.RawData));
            ClusterCredentials.WriteFile(options.NodeTokenPath, $"K10{caHash}::{credentials.Token}\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            // A repair that failed (an unreadable store) is reported here; allocating writes then fail with it too.
            repair.GetAwaiter().GetResult();
            // Synchronous on purpose: when StartAsync returns, default/kubernetes already points at this server.
            var uri = new Uri(url);
            app.Services.GetRequiredService<SystemServices>()
                .EnsureAsync(IPAddress.Parse(uri.Host), uri.Port, app.Lifetime.ApplicationStopping).GetAwaiter().GetResult();
        });
        app.Lifetime.ApplicationStopped.Register(() => store.DisposeAsync().AsTask().GetAwaiter().GetResult());
        return app;
    }

    /// <summary>The https URL clients use, with the port Kestrel actually bound (when asked for port 0).</summary>
    public static string ListeningUrl(WebApplication app, ApiServerOptions options) => ListeningUrl(app.Urls, options);

    private static string ListeningUrl(IEnumerable<string> addresses, ApiServerOptions options)
    {
        var address = addresses.FirstOrDefault() ?? $"https://{options.BindAddress}:{options.Port}";
        var uri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        var host = options.BindAddress.Equals(IPAddress.Any) ? "127.0.0.1" : options.BindAddress.ToString();
        return $"https://{host}:{uri.Port}";
    }
}
