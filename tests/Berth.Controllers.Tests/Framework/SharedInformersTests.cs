using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Tests.Framework;

// client-go SharedInformerFactory: one informer per kind, all started and synced together.
public sealed class SharedInformersTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task For_SameKindTwice_IsTheSameInformer_WithTheFactoryResync()
    {
        using var client = new KubeClient(new KubeClientOptions { Server = new Uri("https://127.0.0.1:1"), Token = "t" });
        await using var informers = new SharedInformers(client, resync: TimeSpan.FromMinutes(3));

        var first = informers.For<ConfigMap>();

        Assert.Same(first, informers.For<ConfigMap>());
        Assert.NotSame((object)first, informers.For<Secret>());
        Assert.Equal(TimeSpan.FromMinutes(3), first.ResyncPeriod);
        Assert.Same(client, informers.Client);
    }

    [Fact]
    public async Task For_NewKindAfterStart_Throws_ExistingKindStillReturned()
    {
        using var client = new KubeClient(new KubeClientOptions { Server = new Uri("https://127.0.0.1:1"), Token = "t" });
        await using var informers = new SharedInformers(client);
        var maps = informers.For<ConfigMap>();

        await informers.StartAsync(CancellationToken.None);

        Assert.Same(maps, informers.For<ConfigMap>());
        Assert.Throws<InvalidOperationException>(() => informers.For<Secret>());
    }

    [Fact]
    public async Task StartAsync_SyncsEveryKind_AgainstTheApiServer()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(new ConfigMap { Metadata = new ObjectMeta { Name = "map", Namespace = "default" } });
        await client.CreateAsync(new Secret { Metadata = new ObjectMeta { Name = "secret", Namespace = "default" } });
        await using var informers = new SharedInformers(client);
        var maps = informers.For<ConfigMap>();
        var secrets = informers.For<Secret>();
        // Waiting may begin before the start: controllers wait in RunAsync while the manager starts the informers.
        var synced = informers.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);

        await informers.StartAsync(CancellationToken.None);
        await synced;

        Assert.True(maps.HasSynced);
        Assert.True(secrets.HasSynced);
        Assert.NotNull(maps.Get("default", "map"));
        Assert.NotNull(secrets.Get("default", "secret"));
    }
}
