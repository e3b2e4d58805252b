namespace Berth.EndToEnd;

/// <summary>One berth server shared by the tests of a class (each test uses its own namespace).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public BerthServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await BerthServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
