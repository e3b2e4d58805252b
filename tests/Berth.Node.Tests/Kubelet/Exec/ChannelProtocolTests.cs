using System.Net;
using System.Net.WebSockets;
using System.Text;
using Berth.Node.Kubelet.Exec;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Node.Tests.Kubelet.Exec;

public sealed class ChannelProtocolTests : IAsyncLifetime
{
    private const string Success = """{"metadata":{},"status":"Success"}""";
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _served = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Func<WebSocket, CancellationToken, Task> _handler = (_, _) => Task.CompletedTask;
    private WebApplication _app = null!;
    private ClientWebSocket _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.UseWebSockets();
        _app.Map("/exec", async (HttpContext http) =>
        {
            using var socket = await http.WebSockets.AcceptWebSocketAsync(ChannelProtocol.V5);
            try
            {
                await _handler(socket, http.RequestAborted);
                _served.TrySetResult();
            }
            catch (Exception e)
            {
                _served.TrySetException(e);
            }
        });
        await _app.StartAsync();
        _client = new ClientWebSocket();
        _client.Options.AddSubProtocol(ChannelProtocol.V5);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task RunAsync_Output_GoesOutOnChannels1And2ThenSuccessAndClose()
    {
        var process = new FakeExecProcess();
        await ConnectAsync(process);
        Assert.Equal(ChannelProtocol.V5, _client.SubProtocol);
        // Upstream's "streams are up" signal: an empty frame on the lowest writable channel.
        Assert.Equal("1:", await ReceiveAsync());

        await process.StdoutPipe.Writer.WriteAsync("out 1\n"u8.ToArray());
        Assert.Equal("1:out 1\n", await ReceiveAsync());
        await process.StderrPipe.Writer.WriteAsync("err 1\n"u8.ToArray());
        Assert.Equal("2:err 1\n", await ReceiveAsync());
        await process.StdoutPipe.Writer.WriteAsync("prompt> "u8.ToArray());
        Assert.Equal("1:prompt> ", await ReceiveAsync());

        process.Exit(0);
        Assert.Equal("3:" + Success, await ReceiveAsync());
        Assert.Null(await ReceiveAsync());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, _client.CloseStatus);
        await _served.Task.WaitAsync(s_wait);
        Assert.False(process.Killed.Task.IsCompleted);
    }

    [Fact]
    public async Task RunAsync_OutputAfterExit_DrainedBeforeStatus()
    {
        var process = new FakeExecProcess(stderr: false);
        await ConnectAsync(process);
        Assert.Equal("1:", await ReceiveAsync());
        var big = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 5000).Select(i => $"{i:D5}-6789012345678\n")));
        await process.StdoutPipe.Writer.WriteAsync(big);
        process.Exit(0);

        var received = new MemoryStream();
        string? frame;
        while ((frame = await ReceiveRawAsync(received)) is not null && frame.StartsWith("1:", StringComparison.Ordinal))
        {
        }
        Assert.Equal(big, received.ToArray());
        Assert.Equal("3:" + Success, frame);
    }

    [Fact]
    public async Task RunAsync_LargeOutput_FramesAtMost32KiB()
    {
        var process = new FakeExecProcess();
        await ConnectAsync(process);
        await ReceiveAsync();
        var big = new byte[100_000];
        Random.Shared.NextBytes(big);
        await process.StdoutPipe.Writer.WriteAsync(big);
        process.Exit(0);

        var received = new MemoryStream();
        var buffer = new byte[256 * 1024];
        while (true)
        {
            var r = await _client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(s_wait);
            Assert.True(r.EndOfMessage, "messages come unfragmented");
            Assert.InRange(r.Count, 1, 32 * 1024);
            if (buffer[0] != 1)
            {
                break;
            }
            received.Write(buffer, 1, r.Count - 1);
        }
        Assert.Equal(big, received.ToArray());
    }

    [Fact]
    public async Task RunAsync_Stdin_ForwardedAndClosedByCloseStream()
    {
        var process = new FakeExecProcess();
        await ConnectAsync(process);
        await ReceiveAsync();

        await SendAsync([0, .. "hello "u8.ToArray()]);
        await SendAsync([0, .. "world"u8.ToArray()]);
        // Channel 255 with the stdin channel: the client's stdin reached EOF.
        await SendAsync([255, 0]);

        using var stdin = new StreamReader(process.StdinPipe.Reader.AsStream());
        Assert.Equal("hello world", await stdin.ReadToEndAsync().WaitAsync(s_wait));
        process.Exit(0);
        Assert.Equal("3:" + Success, await ReceiveAsync());
    }

    [Fact]
    public async Task RunAsync_Resize_CallsResize()
    {
        var process = new FakeExecProcess(stderr: false);
        await ConnectAsync(process);
        await ReceiveAsync();

        await SendAsync([4, .. """{"Width":120,"Height":40}"""u8.ToArray()]);
        await process.Resized.Task.WaitAsync(s_wait);
        // Frames for channels a client may not write, and a malformed size, are ignored.
        await SendAsync([4, .. "not json"u8.ToArray()]);
        await SendAsync([9, 1, 2]);
        await SendAsync([4, .. """{"width":80,"height":24}"""u8.ToArray()]);
        await WaitUntilAsync(() => process.Resizes.Count == 2);

        Assert.Equal(new (ushort, ushort)[] { (120, 40), (80, 24) }, process.Resizes.ToArray());
        process.Exit(0);
        Assert.Equal("3:" + Success, await ReceiveAsync());
    }

    [Fact]
    public async Task RunAsync_NonZeroExit_FailureStatusWithExitCodeCause()
    {
        var process = new FakeExecProcess();
        await ConnectAsync(process, ["sh", "-c", "exit 3"]);
        await ReceiveAsync();
        process.Exit(3);

        Assert.Equal(
            "3:" + """{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}""",
            await ReceiveAsync());
        Assert.Null(await ReceiveAsync());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, _client.CloseStatus);
    }

    [Fact]
    public async Task RunAsync_ClientAborts_KillsCommand()
    {
        var process = new FakeExecProcess();
        await ConnectAsync(process);
        await ReceiveAsync();
        _client.Abort();
        await process.Killed.Task.WaitAsync(s_wait);
        await _served.Task.WaitAsync(s_wait);
    }

    [Fact]
    public async Task RunAsync_ClientClosesEarly_KillsCommand()
    {
        var process = new FakeExecProcess();
        await ConnectAsync(process);
        await ReceiveAsync();
        await _client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await process.Killed.Task.WaitAsync(s_wait);
        await _served.Task.WaitAsync(s_wait);
    }

    [Fact]
    public async Task RunAsync_BadCloseStreamFrame_EndsSessionAndKills()
    {
        var process = new FakeExecProcess();
        await ConnectAsync(process);
        await ReceiveAsync();
        // "Single channel byte should follow stream close signal."
        await SendAsync([255, 0, 1]);
        await process.Killed.Task.WaitAsync(s_wait);
    }

    [Fact]
    public async Task SendErrorAsync_StatusOnChannel3ThenClose()
    {
        _handler = (socket, ct) => ChannelProtocol.SendErrorAsync(socket, "exec: \"nope\": executable file not found in $PATH", ct);
        await _client.ConnectAsync(new Uri(_app.Urls.First().Replace("http", "ws", StringComparison.Ordinal) + "/exec"), CancellationToken.None);
        Assert.Equal(
            "3:" + """{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: exec: \"nope\": executable file not found in $PATH","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: exec: \"nope\": executable file not found in $PATH"}]},"code":500}""",
            await ReceiveAsync());
        Assert.Null(await ReceiveAsync());
    }

    public static TheoryData<byte[], string> Statuses => new()
    {
        { ChannelProtocol.SuccessStatus(), Success },
        {
            ChannelProtocol.ExitCodeStatus(1, ["ls", "/nope"]),
            """{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [ls /nope], exit code 1","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"1"}]}}"""
        },
        {
            ChannelProtocol.ExitCodeStatus(130),
            """{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [], exit code 130","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"130"}]}}"""
        },
        {
            ChannelProtocol.ErrorStatus("boom <&>"),
            """{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: boom <&>","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: boom <&>"}]},"code":500}"""
        },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public void Status_IsMetav1StatusAsTheKubeletWritesIt(byte[] status, string expected) =>
        Assert.Equal(expected, Encoding.UTF8.GetString(status));

    private async Task ConnectAsync(FakeExecProcess process, IReadOnlyList<string>? command = null)
    {
        _handler = (socket, ct) => ChannelProtocol.RunAsync(socket, process, command ?? ["cat"], ct);
        var uri = new Uri(_app.Urls.First().Replace("http", "ws", StringComparison.Ordinal) + "/exec");
        await _client.ConnectAsync(uri, CancellationToken.None).WaitAsync(s_wait);
    }

    private Task SendAsync(byte[] frame) =>
        _client.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).WaitAsync(s_wait);

    private Task<string?> ReceiveAsync() => ReceiveRawAsync(sink: null);

    // One whole message as "channel:text"; null for the server's close. Channel-1 payloads also go to sink.
    private async Task<string?> ReceiveRawAsync(MemoryStream? sink)
    {
        var message = new MemoryStream();
        var buffer = new byte[64 * 1024];
        WebSocketReceiveResult result;
        do
        {
            result = await _client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(s_wait);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                // Answer the close as kubectl's gorilla/websocket does, completing the handshake.
                await _client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return null;
            }
            Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        var bytes = message.ToArray();
        if (sink is not null && bytes[0] == 1)
        {
            sink.Write(bytes, 1, bytes.Length - 1);
        }
        return bytes[0] + ":" + Encoding.UTF8.GetString(bytes, 1, bytes.Length - 1);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}
