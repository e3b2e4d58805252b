using System.Text;
using Berth.Api.Models;
using Berth.Node.Kubelet.Probes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Node.Tests.Kubelet.Probes;

// Cases from upstream pkg/probe/http/http_test.go and request_test.go.
public sealed class HttpProbeTests
{
    private static readonly ProbeTarget s_noExec = new("127.0.0.1", [], (_, _, _) => throw new InvalidOperationException("no exec"));

    private static async Task Route(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value ?? "/";
        switch (path)
        {
            case "/ok":
                await response.WriteAsync("ok body");
                return;
            case "/echo-headers":
                var builder = new StringBuilder();
                foreach (var header in request.Headers)
                {
                    foreach (var value in header.Value)
                    {
                        builder.Append(header.Key).Append(": ").Append(value).Append('\n');
                    }
                }

                await response.WriteAsync(builder.ToString());
                return;
            case "/echo-host":
                await response.WriteAsync(request.Host.Value ?? "");
                return;
            case "/sleep":
                await Task.Delay(TimeSpan.FromSeconds(3), context.RequestAborted);
                return;
            case "/redirect":
                response.Redirect(request.Query["loc"].ToString());
                return;
            case "/loop":
                response.Redirect("/loop");
                return;
            case "/success":
                return;
            case "/new":
                return;
            case "/host-redirect":
                response.Redirect("/host-success");
                return;
            case "/host-success":
                response.StatusCode = request.Host.Value == "www.success.com" ? 200 : 400;
                return;
            case "/big":
                await response.WriteAsync(new string('a', Prober.MaxOutputLength + 1));
                return;
            case "/normal":
                await response.WriteAsync(new string('a', Prober.MaxOutputLength - 1));
                return;
        }

        if (path.StartsWith("/status/", StringComparison.Ordinal))
        {
            response.StatusCode = int.Parse(path["/status/".Length..], System.Globalization.CultureInfo.InvariantCulture);
            await response.WriteAsync("fail body");
        }
        else if (path.StartsWith("/moved/", StringComparison.Ordinal) || path.StartsWith("/moved-bad/", StringComparison.Ordinal))
        {
            // upstream redirectHandler(code, bad): "/" redirects to "/new", which fails when bad.
            var bad = path.StartsWith("/moved-bad/", StringComparison.Ordinal);
            response.StatusCode = int.Parse(path[(path.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            response.Headers.Location = bad ? "/fail" : "/new";
        }
        else
        {
            response.StatusCode = 500;
        }
    }

    // 5s: a loaded test machine must not turn a slow first request into a timeout; the timeout test sets 1s.
    private static Probe HttpProbe(int port, string path, params (string Name, string Value)[] headers) => new()
    {
        TimeoutSeconds = 5,
        HttpGet = new HTTPGetAction
        {
            Port = port,
            Path = path,
            HttpHeaders = [.. headers.Select(h => new HTTPHeader { Name = h.Name, Value = h.Value })],
        },
    };

    private static async Task<ProbeOutcome> ProbeAsync(Probe probe, ProbeTarget? target = null)
    {
        using var prober = new Prober();
        return await prober.RunAsync(probe, target ?? s_noExec, CancellationToken.None);
    }

    public static TheoryData<string, ProbeResult, string> StatusCases() => new()
    {
        { "/ok", ProbeResult.Success, "ok body" },
        { "/status/500", ProbeResult.Failure, "HTTP probe failed with statuscode: 500" },
        { "/status/404", ProbeResult.Failure, "HTTP probe failed with statuscode: 404" },
        { "/status/204", ProbeResult.Success, "" },
        { "/status/399", ProbeResult.Warning, "Probe terminated redirects, Response body: fail body" },
        { "/moved/301", ProbeResult.Success, "" },
        { "/moved-bad/301", ProbeResult.Failure, "HTTP probe failed with statuscode: 500" },
        { "/moved/302", ProbeResult.Success, "" },
        { "/moved-bad/302", ProbeResult.Failure, "HTTP probe failed with statuscode: 500" },
        { "/moved/307", ProbeResult.Success, "" },
        { "/moved-bad/307", ProbeResult.Failure, "HTTP probe failed with statuscode: 500" },
        { "/moved/308", ProbeResult.Success, "" },
        { "/moved-bad/308", ProbeResult.Failure, "HTTP probe failed with statuscode: 500" },
    };

    [Theory]
    [MemberData(nameof(StatusCases))]
    public async Task RunAsync_HttpGetStatus_ResultAndOutputAsUpstream(string path, ProbeResult result, string output)
    {
        await using var server = await ProbeTestServer.StartAsync(Route);

        var outcome = await ProbeAsync(HttpProbe(server.Port, path));

        Assert.Equal(new ProbeOutcome(result, output), outcome);
    }

    public static TheoryData<(string, string)[], string?, string?> HeaderCases() => new()
    {
        { [("X-Muffins-Or-Cupcakes", "muffins")], "X-Muffins-Or-Cupcakes: muffins", null },
        { [("User-Agent", "foo/1.0")], "User-Agent: foo/1.0", "kube-probe" },
        { [("User-Agent", "")], null, "User-Agent" },
        { [], "User-Agent: kube-probe/1.32", null },
        { [], "Accept: */*", null },
        { [("Accept", "text/html")], "Accept: text/html", "*/*" },
        { [("Accept", "")], null, "Accept" },
        { [], "Connection: close", null },
    };

    [Theory]
    [MemberData(nameof(HeaderCases))]
    public async Task RunAsync_HttpGetHeaders_SentAsUpstream((string, string)[] headers, string? contains, string? notContains)
    {
        await using var server = await ProbeTestServer.StartAsync(Route);

        var outcome = await ProbeAsync(HttpProbe(server.Port, "/echo-headers", headers));

        Assert.Equal(ProbeResult.Success, outcome.Result);
        if (contains is not null)
        {
            Assert.Contains(contains + "\n", outcome.Output, StringComparison.Ordinal);
        }

        if (notContains is not null)
        {
            Assert.DoesNotContain(notContains, outcome.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RunAsync_HostHeader_SetsRequestHost()
    {
        await using var server = await ProbeTestServer.StartAsync(Route);

        var outcome = await ProbeAsync(HttpProbe(server.Port, "/echo-host", ("Host", "muffins.cupcakes.org")));

        Assert.Equal(new ProbeOutcome(ProbeResult.Success, "muffins.cupcakes.org"), outcome);
    }

    [Theory]
    [InlineData("www.success.com", ProbeResult.Success)]
    [InlineData("www.fail.com", ProbeResult.Failure)]
    public async Task RunAsync_HostHeader_PreservedAfterRedirect(string host, ProbeResult result)
    {
        await using var server = await ProbeTestServer.StartAsync(Route);

        var outcome = await ProbeAsync(HttpProbe(server.Port, "/host-redirect", ("Host", host)));

        Assert.Equal(result, outcome.Result);
    }

    public static TheoryData<string, ProbeResult> RedirectCases() => new()
    {
        { "local success", ProbeResult.Success },
        { "local fail", ProbeResult.Failure },
        { "newport success", ProbeResult.Success },
        { "newport fail", ProbeResult.Failure },
        { "bogus nonlocal", ProbeResult.Warning },
        { "redirect loop", ProbeResult.Failure },
    };

    // upstream TestHTTPProbeChecker_NonLocalRedirects, the kubelet's followNonLocalRedirects=false column.
    [Theory]
    [MemberData(nameof(RedirectCases))]
    public async Task RunAsync_Redirects_FollowedOnlyToTheSameHostname(string name, ProbeResult result)
    {
        await using var server = await ProbeTestServer.StartAsync(Route);
        await using var newport = await ProbeTestServer.StartAsync(Route);
        var location = name switch
        {
            "local success" => "/success",
            "local fail" => "/fail",
            "newport success" => $"http://127.0.0.1:{newport.Port}/success",
            "newport fail" => $"http://127.0.0.1:{newport.Port}/fail",
            "bogus nonlocal" => "http://0.0.0.0/fail",
            _ => "/loop",
        };

        var outcome = await ProbeAsync(HttpProbe(server.Port, "/redirect?loc=" + Uri.EscapeDataString(location)));

        Assert.Equal(result, outcome.Result);
        if (name == "redirect loop")
        {
            Assert.Equal($"Get \"http://127.0.0.1:{server.Port}/loop\": stopped after 10 redirects", outcome.Output);
        }
        else if (name == "bogus nonlocal")
        {
            Assert.Equal("Probe terminated redirects, Response body: ", outcome.Output);
        }
    }

    [Theory]
    [InlineData("/big")]
    [InlineData("/normal")]
    public async Task RunAsync_Body_TruncatedAt10KiB(string path)
    {
        await using var server = await ProbeTestServer.StartAsync(Route);

        var outcome = await ProbeAsync(HttpProbe(server.Port, path));

        Assert.Equal(ProbeResult.Success, outcome.Result);
        Assert.Equal(path == "/big" ? Prober.MaxOutputLength : Prober.MaxOutputLength - 1, outcome.Output.Length);
    }

    [Fact]
    public async Task RunAsync_SlowServer_FailsAfterDefaultTimeoutOfOneSecond()
    {
        await using var server = await ProbeTestServer.StartAsync(Route);

        var probe = HttpProbe(server.Port, "/sleep");
        probe.TimeoutSeconds = null;

        var outcome = await ProbeAsync(probe);

        Assert.Equal(
            new ProbeOutcome(ProbeResult.Failure, $"Get \"http://127.0.0.1:{server.Port}/sleep\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
            outcome);
    }

    [Fact]
    public async Task RunAsync_NothingListening_FailsWithDialError()
    {
        var port = ProbeTestServer.ClosedPort();

        var outcome = await ProbeAsync(HttpProbe(port, "/healthz"));

        Assert.Equal(
            new ProbeOutcome(ProbeResult.Failure, $"Get \"http://127.0.0.1:{port}/healthz\": dial tcp 127.0.0.1:{port}: connect: connection refused"),
            outcome);
    }

    [Fact]
    public async Task RunAsync_Https_SkipsCertificateVerification()
    {
        using var certificate = ProbeTestServer.SelfSignedCertificate();
        await using var server = await ProbeTestServer.StartAsync(Route, HttpProtocols.Http1, certificate);
        var probe = HttpProbe(server.Port, "/ok");
        probe.HttpGet!.Scheme = "HTTPS";

        var outcome = await ProbeAsync(probe);

        Assert.Equal(new ProbeOutcome(ProbeResult.Success, "ok body"), outcome);
    }

    [Fact]
    public async Task RunAsync_NamedPortAndHost_ResolvedFromContainerPortsAndPodIP()
    {
        await using var server = await ProbeTestServer.StartAsync(Route);
        var probe = new Probe { HttpGet = new HTTPGetAction { Port = "http", Path = "ok" } };
        var target = s_noExec with { Ports = [new ContainerPort { Name = "metrics", ContainerPortNumber = 1 }, new ContainerPort { Name = "http", ContainerPortNumber = server.Port }] };

        var outcome = await ProbeAsync(probe, target);

        Assert.Equal(new ProbeOutcome(ProbeResult.Success, "ok body"), outcome);
    }
}
