using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Node.Proxy.HealthCheck;
using Berth.Node.Proxy.Metrics;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Tests.Proxy.HealthCheck;

public class ProxyHttpServerTests
{
    private static readonly DateTimeOffset s_now = new(2024, 5, 1, 10, 0, 0, 500, TimeSpan.Zero);

    [Fact]
    public async Task Metrics_ServesThePrometheusText()
    {
        var metrics = new ProxyMetrics();
        metrics.For(new ServicePortName("ns", "web", "http", TransportProtocol.Tcp)).Connections = 3;
        await using var server = await StartAsync(metrics, new ProxyHealth(true, s_now, s_now));
        var expected = new StringBuilder();
        metrics.WriteTo(expected);

        var response = await RawHttp.GetAsync(server.EndPoint, "/metrics");

        Assert.NotEqual(0, server.EndPoint.Port);
        Assert.Equal(200, response.Status);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Headers["Content-Type"]);
        Assert.Equal(expected.ToString(), response.Body);
        Assert.Contains("berth_proxy_connections_total{namespace=\"ns\",service=\"web\",port=\"http\",protocol=\"TCP\"} 3\n", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ReadableByARealHttpClient()
    {
        await using var server = await StartAsync(new ProxyMetrics(), new ProxyHealth(true, s_now, s_now));
        using var client = new HttpClient();

        using var response = await client.GetAsync(new Uri($"http://{server.EndPoint}/metrics"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.ConnectionClose);
        Assert.Contains("# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public static TheoryData<string, bool, DateTimeOffset?, int, string> HealthAnswers => new()
    {
        // Healthy: lastUpdated is reported as now (upstream keeps older releases' meaning).
        { "/healthz", true, s_now.AddSeconds(-20), 200, "{\"lastUpdated\": \"2024-05-01 10:00:00.5 +0000 UTC\",\"currentTime\": \"2024-05-01 10:00:00.5 +0000 UTC\", \"nodeEligible\": true}" },
        { "/healthz", false, new DateTimeOffset(2024, 5, 1, 9, 0, 0, TimeSpan.Zero), 503, "{\"lastUpdated\": \"2024-05-01 09:00:00 +0000 UTC\",\"currentTime\": \"2024-05-01 10:00:00.5 +0000 UTC\", \"nodeEligible\": true}" },
        { "/healthz?verbose", false, null, 503, "{\"lastUpdated\": \"0001-01-01 00:00:00 +0000 UTC\",\"currentTime\": \"2024-05-01 10:00:00.5 +0000 UTC\", \"nodeEligible\": true}" },
        { "/livez", true, null, 200, "{\"lastUpdated\": \"2024-05-01 10:00:00.5 +0000 UTC\",\"currentTime\": \"2024-05-01 10:00:00.5 +0000 UTC\"}" },
        { "/livez", false, new DateTimeOffset(2024, 5, 1, 9, 59, 1, 250, TimeSpan.Zero), 503, "{\"lastUpdated\": \"2024-05-01 09:59:01.25 +0000 UTC\",\"currentTime\": \"2024-05-01 10:00:00.5 +0000 UTC\"}" },
    };

    [Theory]
    [MemberData(nameof(HealthAnswers))]
    public async Task Health_AnswersAsUpstreamProxyHealthServer(string path, bool healthy, DateTimeOffset? lastUpdated, int status, string body)
    {
        await using var server = await StartAsync(new ProxyMetrics(), new ProxyHealth(healthy, lastUpdated, s_now));

        var response = await RawHttp.GetAsync(server.EndPoint, path);

        Assert.Equal(status, response.Status);
        Assert.Equal(body, response.Body);
        Assert.Equal("application/json", response.Headers["Content-Type"]);
        Assert.Equal("nosniff", response.Headers["X-Content-Type-Options"]);
        Assert.Equal("close", response.Headers["Connection"]);
    }

    [Fact]
    public async Task Health_AskedAgain_ReflectsTheCurrentState()
    {
        var health = new ProxyHealth(true, s_now, s_now);
        await using var server = new ProxyHttpServer(new IPEndPoint(IPAddress.Loopback, 0), new ProxyMetrics(), () => health);
        await server.StartAsync(CancellationToken.None);
        Assert.Equal(200, (await RawHttp.GetAsync(server.EndPoint, "/healthz")).Status);

        health = health with { Healthy = false };

        Assert.Equal(503, (await RawHttp.GetAsync(server.EndPoint, "/healthz")).Status);
    }

    public static TheoryData<string, int, string> OtherRequests => new()
    {
        { "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "404 page not found\n" },
        { "GET /metricsz HTTP/1.0\r\n\r\n", 404, "404 page not found\n" },
        { "HEAD /livez HTTP/1.1\r\nHost: x\r\n\r\n", 200, "" },
        { "nonsense\r\n\r\n", 400, "400 Bad Request" },
        { "GET nope HTTP/1.1\r\n\r\n", 400, "400 Bad Request" },
        { "GET /healthz SPDY/3\r\n\r\n", 400, "400 Bad Request" },
        // Exactly the limit, with no end of headers in it.
        { "GET / HTTP/1.1\r\nX-Long: ".PadRight(TinyHttpServer.MaxRequestBytes, 'a'), 431, "431 Request Header Fields Too Large" },
    };

    [Theory]
    [MemberData(nameof(OtherRequests))]
    public async Task OtherRequests_AnsweredAndClosed(string request, int status, string body)
    {
        await using var server = await StartAsync(new ProxyMetrics(), new ProxyHealth(true, s_now, s_now));

        var response = await RawHttp.SendAsync(server.EndPoint, Encoding.ASCII.GetBytes(request));

        Assert.Equal(status, response.Status);
        Assert.Equal(body, response.Body);
        Assert.Equal("close", response.Headers["Connection"]);
    }

    [Fact]
    public async Task Head_SendsTheHeadersOfTheGetWithoutItsBody()
    {
        await using var server = await StartAsync(new ProxyMetrics(), new ProxyHealth(true, s_now, s_now));

        var get = await RawHttp.GetAsync(server.EndPoint, "/livez");
        var head = await RawHttp.GetAsync(server.EndPoint, "/livez", "HEAD");

        Assert.Equal("", head.Body);
        Assert.Equal(get.Headers["Content-Length"], head.Headers["Content-Length"]);
        Assert.Equal(get.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Headers["Content-Length"]);
    }

    [Fact]
    public async Task StartAsync_AddressTaken_Throws()
    {
        await using var first = await StartAsync(new ProxyMetrics(), new ProxyHealth(true, s_now, s_now));
        await using var second = new ProxyHttpServer(first.EndPoint, new ProxyMetrics(), () => new ProxyHealth(true, s_now, s_now));

        var e = await Assert.ThrowsAsync<SocketException>(() => second.StartAsync(CancellationToken.None));

        Assert.Equal(SocketError.AddressAlreadyInUse, e.SocketErrorCode);
    }

    [Fact]
    public async Task DisposeAsync_StopsServing_AndIsIdempotent()
    {
        var server = await StartAsync(new ProxyMetrics(), new ProxyHealth(true, s_now, s_now));
        var endPoint = server.EndPoint;

        await server.DisposeAsync();
        await server.DisposeAsync();

        await RawHttp.AssertRefusedAsync(endPoint);
    }

    [Fact]
    public async Task DisposeAsync_ConnectionOpenWithoutARequest_DoesNotWaitForIt()
    {
        var server = await StartAsync(new ProxyMetrics(), new ProxyHealth(true, s_now, s_now));
        using var idle = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await idle.ConnectAsync(server.EndPoint);

        await server.DisposeAsync();

        // The idle connection was closed by the server without an answer.
        Assert.Equal(0, await idle.ReceiveAsync(new byte[16], SocketFlags.None));
    }

    public static TheoryData<DateTimeOffset?, string> GoTimes => new()
    {
        { new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero), "2024-05-01 10:00:00 +0000 UTC" },
        { new DateTimeOffset(2024, 5, 1, 12, 0, 0, 120, TimeSpan.FromHours(2)), "2024-05-01 10:00:00.12 +0000 UTC" },
        { new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1234567), "2024-05-01 10:00:00.1234567 +0000 UTC" },
        { null, "0001-01-01 00:00:00 +0000 UTC" },
    };

    [Theory]
    [MemberData(nameof(GoTimes))]
    public void GoTime_FormatsAsGosTimeString(DateTimeOffset? time, string expected) => Assert.Equal(expected, ProxyHttpServer.GoTime(time));

    private static async Task<ProxyHttpServer> StartAsync(ProxyMetrics metrics, ProxyHealth health)
    {
        var server = new ProxyHttpServer(new IPEndPoint(IPAddress.Loopback, 0), metrics, () => health);
        await server.StartAsync(CancellationToken.None);
        return server;
    }
}
