namespace Berth.EndToEnd;

/// <summary>One berth server shared by the tests of a class (each test uses its own namespace).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public BerthServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await BerthServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// A shared server on the default service CIDR and load-balancer pool (127.96.0.0/16, 127.100.0.0/16), for the tests
/// that check the defaults. Only one such server runs in a test run, so its proxy has these addresses to itself.
/// </summary>
public sealed class DefaultAddressingServerFixture : IAsyncLifetime
{
    public BerthServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await BerthServer.StartAsync(null, 0, "--service-cidr", "127.96.0.0/16", "--load-balancer-pool", "127.100.0.0/16");

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
