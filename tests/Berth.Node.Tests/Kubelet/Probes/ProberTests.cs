using System.Net;
using System.Net.Sockets;
using Berth.Api.Models;
using Berth.Node.Kubelet.Probes;

namespace Berth.Node.Tests.Kubelet.Probes;

// Cases from upstream pkg/probe/util_test.go, pkg/probe/tcp/tcp_test.go and pkg/probe/exec/exec_test.go.
public sealed class ProberTests
{
    private static readonly ContainerPort[] s_ports = [new() { Name = "foo", ContainerPortNumber = 8080 }, new() { Name = "huge", ContainerPortNumber = 70000 }];

    public static TheoryData<IntOrString, bool, int, string> PortCases() => new()
    {
        { 80, true, 80, "" },
        { "foo", true, 8080, "" },
        { "bar", false, 0, "port \"bar\" not found" },
        { "huge", false, 70000, "invalid port number: 70000" },
        { 0, false, 0, "invalid port number: 0" },
        { -1, false, -1, "invalid port number: -1" },
        { 65536, false, 65536, "invalid port number: 65536" },
    };

    [Theory]
    [MemberData(nameof(PortCases))]
    public void TryResolveContainerPort_NumberOrName_AsUpstream(IntOrString param, bool ok, int port, string error)
    {
        var resolved = Prober.TryResolveContainerPort(param, s_ports, out var actualPort, out var actualError);

        Assert.Equal((ok, port, error), (resolved, actualPort, actualError));
    }

    [Fact]
    public async Task RunAsync_MissingNamedPort_ErrorsAfterRetries()
    {
        using var prober = new Prober();
        var probe = new Probe { TcpSocket = new TCPSocketAction { Port = "bar" } };

        var outcome = await prober.RunAsync(probe, Target([]), CancellationToken.None);

        Assert.Equal(new ProbeOutcome(ProbeResult.Unknown, "port \"bar\" not found"), outcome);
    }

    [Fact]
    public async Task RunAsync_TcpListening_Succeeds()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var prober = new Prober();

        var byPodIP = await prober.RunAsync(new Probe { TcpSocket = new TCPSocketAction { Port = port } }, Target([]), CancellationToken.None);
        var byNameAndHost = await prober.RunAsync(
            new Probe { TcpSocket = new TCPSocketAction { Port = "tcp", Host = "127.0.0.1" } },
            Target([new ContainerPort { Name = "tcp", ContainerPortNumber = port }]) with { PodIP = "127.0.0.2" },
            CancellationToken.None);

        Assert.Equal(new ProbeOutcome(ProbeResult.Success, ""), byPodIP);
        Assert.Equal(new ProbeOutcome(ProbeResult.Success, ""), byNameAndHost);
    }

    [Fact]
    public async Task RunAsync_TcpNothingListening_FailsWithDialError()
    {
        var port = ProbeTestServer.ClosedPort();
        using var prober = new Prober();

        var outcome = await prober.RunAsync(new Probe { TcpSocket = new TCPSocketAction { Port = port } }, Target([]), CancellationToken.None);

        Assert.Equal(new ProbeOutcome(ProbeResult.Failure, $"dial tcp 127.0.0.1:{port}: connect: connection refused"), outcome);
    }

    public static TheoryData<ExecOutcome, ProbeResult, string> ExecCases() => new()
    {
        { new ExecOutcome(0, "OK", false), ProbeResult.Success, "OK" },
        { new ExecOutcome(1, "", false), ProbeResult.Failure, "" },
        { new ExecOutcome(2, "not ok", false), ProbeResult.Failure, "not ok" },
        { new ExecOutcome(0, new string('x', 10 * 1024 + 1), false), ProbeResult.Success, new string('x', 10 * 1024) },
        { new ExecOutcome(-1, "", true), ProbeResult.Failure, "command \"sh -c sleep 5\" timed out" },
    };

    [Theory]
    [MemberData(nameof(ExecCases))]
    public async Task RunAsync_Exec_ResultFromExitCodeOrTimeout(ExecOutcome exec, ProbeResult result, string output)
    {
        using var prober = new Prober();
        var calls = new List<(IReadOnlyList<string>, TimeSpan)>();
        var target = Target([]) with
        {
            Exec = (command, timeout, _) =>
            {
                calls.Add((command, timeout));
                return Task.FromResult(exec);
            },
        };
        var probe = new Probe { Exec = new ExecAction { Command = ["sh", "-c", "sleep 5"] }, TimeoutSeconds = 5 };

        var outcome = await prober.RunAsync(probe, target, CancellationToken.None);

        Assert.Equal(new ProbeOutcome(result, output), outcome);
        var call = Assert.Single(calls);
        Assert.Equal(["sh", "-c", "sleep 5"], call.Item1);
        Assert.Equal(TimeSpan.FromSeconds(5), call.Item2);
    }

    [Fact]
    public async Task RunAsync_ExecCannotRun_ErrorsAfterThreeTries()
    {
        using var prober = new Prober();
        var calls = 0;
        var target = Target([]) with
        {
            Exec = (_, timeout, _) =>
            {
                calls++;
                Assert.Equal(TimeSpan.FromSeconds(1), timeout);
                throw new InvalidOperationException("container not running");
            },
        };

        var outcome = await prober.RunAsync(new Probe { Exec = new ExecAction { Command = ["true"] } }, target, CancellationToken.None);

        Assert.Equal(new ProbeOutcome(ProbeResult.Unknown, "container not running"), outcome);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task RunAsync_NoHandler_Errors()
    {
        using var prober = new Prober();

        var outcome = await prober.RunAsync(new Probe(), Target([]), CancellationToken.None);

        Assert.Equal(new ProbeOutcome(ProbeResult.Unknown, "missing probe handler"), outcome);
    }

    private static ProbeTarget Target(IReadOnlyList<ContainerPort> ports) =>
        new("127.0.0.1", ports, (_, _, _) => throw new InvalidOperationException("no exec"));
}
