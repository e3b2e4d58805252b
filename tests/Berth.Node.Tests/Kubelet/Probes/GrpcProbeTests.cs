using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Berth.Api.Models;
using Berth.Node.Kubelet.Probes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Node.Tests.Kubelet.Probes;

// Cases from upstream pkg/probe/grpc/grpc_test.go, against a gRPC health service written by hand on h2c.
public sealed class GrpcProbeTests
{
    private static readonly ProbeTarget s_target = new("127.0.0.1", [], (_, _, _) => throw new InvalidOperationException("no exec"));

    private readonly ConcurrentQueue<(string Service, string ContentType, string TE, string UserAgent)> _requests = new();

    // The service name picks the answer: "" SERVING, "down" NOT_SERVING, "gone" NotFound,
    // "unimpl" Unimplemented, "slow" answers after 4s.
    private async Task HealthService(HttpContext context)
    {
        if (context.Request.Path != "/grpc.health.v1.Health/Check")
        {
            context.Response.StatusCode = 404;
            return;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        // HealthCheckRequest: 0x0A, length, service (short names only in these tests).
        var service = length == 0 ? "" : Encoding.UTF8.GetString(body, 7, body[6]);
        _requests.Enqueue((service, context.Request.ContentType ?? "", context.Request.Headers.TE.ToString(), context.Request.Headers.UserAgent.ToString()));

        context.Response.ContentType = "application/grpc";
        switch (service)
        {
            case "gone":
                context.Response.Headers["grpc-status"] = "5";
                context.Response.Headers["grpc-message"] = "unknown service";
                return;
            case "unimpl":
                context.Response.AppendTrailer("grpc-status", "12");
                context.Response.AppendTrailer("grpc-message", "method not found");
                return;
            case "slow":
                await Task.Delay(TimeSpan.FromSeconds(4), context.RequestAborted);
                break;
        }

        var status = service == "down" ? (byte)2 : (byte)1;
        await context.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 2, 0x08, status });
        context.Response.AppendTrailer("grpc-status", "0");
    }

    private static Probe GrpcProbe(int port, string? service, int timeoutSeconds = 1) =>
        new() { Grpc = new GRPCAction { Port = port, Service = service }, TimeoutSeconds = timeoutSeconds };

    public static TheoryData<string?, int, ProbeResult, string> Cases() => new()
    {
        { null, 5, ProbeResult.Success, "service healthy" },
        { "down", 5, ProbeResult.Failure, "service unhealthy (responded with \"NOT_SERVING\")" },
        { "gone", 5, ProbeResult.Failure, "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service" },
        { "unimpl", 5, ProbeResult.Failure, "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): method not found" },
        { "slow", 2, ProbeResult.Failure, "timeout: health rpc did not complete within 2s" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task RunAsync_HealthCheck_ResultAndOutputAsUpstream(string? service, int timeoutSeconds, ProbeResult result, string output)
    {
        await using var server = await ProbeTestServer.StartAsync(HealthService, HttpProtocols.Http2);
        using var prober = new Prober();

        var outcome = await prober.RunAsync(GrpcProbe(server.Port, service, timeoutSeconds), s_target, CancellationToken.None);

        Assert.Equal(new ProbeOutcome(result, output), outcome);
        var request = Assert.Single(_requests);
        Assert.Equal((service ?? "", "application/grpc", "trailers", "kube-probe/1.32"), request);
    }

    [Fact]
    public async Task RunAsync_NothingListening_TimesOutConnecting()
    {
        var port = ProbeTestServer.ClosedPort();
        using var prober = new Prober();

        var outcome = await prober.RunAsync(GrpcProbe(port, null), s_target, CancellationToken.None);

        Assert.Equal(new ProbeOutcome(ProbeResult.Failure, $"timeout: failed to connect service \"127.0.0.1:{port}\" within 1s: context deadline exceeded"), outcome);
    }

    [Fact]
    public async Task RunAsync_NotAGrpcServer_Fails()
    {
        await using var server = await ProbeTestServer.StartAsync(context => context.Response.WriteAsync("res"));
        using var prober = new Prober();

        var outcome = await prober.RunAsync(GrpcProbe(server.Port, null, timeoutSeconds: 5), s_target, CancellationToken.None);

        Assert.Equal(ProbeResult.Failure, outcome.Result);
        Assert.StartsWith("error: health rpc probe failed: rpc error: code = Unavailable desc = ", outcome.Output, StringComparison.Ordinal);
    }
}
