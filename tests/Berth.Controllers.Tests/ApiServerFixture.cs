using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.Tests;

/// <summary>
/// One in-process API server and client per test class (an xunit class fixture); every test works in a namespace of
/// its own, named with <paramref name="namespacePrefix"/> so the objects of a failing test are easy to find.
/// </summary>
public abstract class ApiServerFixture(string namespacePrefix) : IAsyncLifetime
{
    private InProcessServer _server = null!;

    public KubeClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessServer.StartAsync();
        Client = _server.NewClient();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await _server.DisposeAsync();
    }

    public async Task<string> NamespaceAsync()
    {
        var name = namespacePrefix + Guid.NewGuid().ToString("N")[..8];
        await Client.CreateAsync(new Namespace { Metadata = new ObjectMeta { Name = name } });
        return name;
    }
}
