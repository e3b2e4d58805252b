using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Berth.Node.Proxy.HealthCheck;

namespace Berth.Node.Tests.Proxy.HealthCheck;

public class HealthCheckServersTests
{
    private static readonly IPAddress s_first = IPAddress.Parse("127.0.0.1");
    private static readonly IPAddress s_second = IPAddress.Parse("127.0.0.2");

    public static TheoryData<int, bool, int, string> Answers => new()
    {
        // local endpoints, proxy healthy → status, body (upstream's dedented template).
        { 2, true, 200, "{\n\t\"service\": {\n\t\t\"namespace\": \"shop\",\n\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 2,\n\t\"serviceProxyHealthy\": true\n}" },
        { 0, true, 503, "{\n\t\"service\": {\n\t\t\"namespace\": \"shop\",\n\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 0,\n\t\"serviceProxyHealthy\": true\n}" },
        { 1, false, 503, "{\n\t\"service\": {\n\t\t\"namespace\": \"shop\",\n\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 1,\n\t\"serviceProxyHealthy\": false\n}" },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Sync_ServedPort_AnswersEveryAddressAndPathAsUpstream(int localEndpoints, bool proxyHealthy, int status, string body)
    {
        var port = RawHttp.FreePort(s_first);
        await using var servers = new HealthCheckServers([s_first, s_second], () => new ProxyHealth(proxyHealthy, null, DateTimeOffset.UnixEpoch));

        Assert.Empty(servers.Sync(new Dictionary<int, (string, string, int)> { [port] = ("shop", "web", localEndpoints) }));

        foreach (var (address, path) in new[] { (s_first, "/"), (s_second, "/anything?at=all") })
        {
            var response = await RawHttp.GetAsync(new IPEndPoint(address, port), path);
            Assert.Equal(status, response.Status);
            Assert.Equal(body, response.Body);
            Assert.Equal("application/json", response.Headers["Content-Type"]);
            Assert.Equal("nosniff", response.Headers["X-Content-Type-Options"]);
            Assert.Equal("close", response.Headers["Connection"]);
        }
    }

    [Fact]
    public async Task Sync_CountChanged_SameListenerAnswersTheNewCount()
    {
        var port = RawHttp.FreePort(s_first);
        await using var servers = new HealthCheckServers([s_first]);
        servers.Sync(new Dictionary<int, (string, string, int)> { [port] = ("shop", "web", 1) });

        servers.Sync(new Dictionary<int, (string, string, int)> { [port] = ("shop", "web", 0) });

        var response = await RawHttp.GetAsync(new IPEndPoint(s_first, port), "/");
        Assert.Equal(503, response.Status);
        Assert.Contains("\"localEndpoints\": 0,", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sync_PortGone_ClosesItsListenersAtOnce()
    {
        var kept = RawHttp.FreePort(s_first);
        var removed = RawHttp.FreePort(s_first);
        await using var servers = new HealthCheckServers([s_first, s_second]);
        servers.Sync(new Dictionary<int, (string, string, int)> { [kept] = ("shop", "web", 1), [removed] = ("shop", "api", 1) });

        servers.Sync(new Dictionary<int, (string, string, int)> { [kept] = ("shop", "web", 1) });

        Assert.Equal([kept], servers.Ports);
        await RawHttp.AssertRefusedAsync(new IPEndPoint(s_first, removed));
        await RawHttp.AssertRefusedAsync(new IPEndPoint(s_second, removed));
        Assert.Equal(200, (await RawHttp.GetAsync(new IPEndPoint(s_first, kept), "/")).Status);
    }

    [Fact]
    public async Task Sync_PortTakenOnOneAddress_ReportedNotServedAnywhere_AndRetriedByTheNextSync()
    {
        var port = RawHttp.FreePort(s_first);
        var blocker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blocker.Bind(new IPEndPoint(s_second, port));
        blocker.Listen();
        await using var servers = new HealthCheckServers([s_first, s_second]);
        var wanted = new Dictionary<int, (string, string, int)> { [port] = ("shop", "web", 1) };

        var failures = servers.Sync(wanted);

        Assert.Equal([(port, "Address already in use")], failures);
        Assert.Empty(servers.Ports);
        // What did bind was closed again, so the port can change hands.
        await RawHttp.AssertRefusedAsync(new IPEndPoint(s_first, port));

        blocker.Dispose();
        Assert.Empty(servers.Sync(wanted));
        Assert.Equal(200, (await RawHttp.GetAsync(new IPEndPoint(s_second, port), "/")).Status);
    }

    [Fact]
    public async Task DisposeAsync_ClosesEverything_AndIsIdempotent()
    {
        var port = RawHttp.FreePort(s_first);
        var servers = new HealthCheckServers([s_first]);
        servers.Sync(new Dictionary<int, (string, string, int)> { [port] = ("shop", "web", 1) });

        await servers.DisposeAsync();
        await servers.DisposeAsync();

        await RawHttp.AssertRefusedAsync(new IPEndPoint(s_first, port));
        Assert.Throws<ObjectDisposedException>(() => servers.Sync(new Dictionary<int, (string, string, int)>()));
    }
}
