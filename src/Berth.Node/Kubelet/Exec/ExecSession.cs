using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;

namespace Berth.Node.Kubelet.Exec;

// One exec stream: process output out on channels 1/2 as it arrives, client stdin/resize/close-stream in,
// the final status on channel 3, then a normal close. A client that goes away before the command ends
// gets the command killed.
internal sealed class ExecSession(WebSocket socket, IExecProcess process, IReadOnlyList<string> command)
{
    // Frames stay within 32 KiB including the channel byte.
    private const int MaxFrame = 32 * 1024;

    // How long to wait for the client to answer our close before dropping the connection.
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private volatile bool _finished;
    private volatile bool _disconnected;

    public async Task RunAsync(CancellationToken ct)
    {
        using var stop = ct.Register(Disconnect);
        // Upstream sends an empty frame on the lowest writable channel to tell the client the streams are up.
        await SendAsync(new[] { ChannelProtocol.StdoutChannel }, ct).ConfigureAwait(false);
        var receive = ReceiveAsync(ct);
        var stdout = PumpAsync(process.Stdout, ChannelProtocol.StdoutChannel, ct);
        var stderr = process.Stderr is { } err ? PumpAsync(err, ChannelProtocol.StderrChannel, ct) : Task.CompletedTask;
        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        var code = await process.ExitCode.ConfigureAwait(false);
        _finished = true;
        if (_disconnected)
        {
            socket.Abort();
            await receive.ConfigureAwait(false);
            return;
        }
        var status = code == 0 ? ChannelProtocol.SuccessStatus() : ChannelProtocol.ExitCodeStatus(code, command);
        var frame = new byte[status.Length + 1];
        frame[0] = ChannelProtocol.ErrorChannel;
        status.CopyTo(frame, 1);
        if (await SendAsync(frame, ct).ConfigureAwait(false))
        {
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                socket.Abort();
            }
        }
        // The receive loop ends on the client's answering close; don't wait for a silent client forever.
        if (await Task.WhenAny(receive, Task.Delay(s_closeTimeout, ct)).ConfigureAwait(false) != receive)
        {
            socket.Abort();
        }
        await receive.ConfigureAwait(false);
    }

    private async Task PumpAsync(Stream source, byte channel, CancellationToken ct)
    {
        var frame = ArrayPool<byte>.Shared.Rent(MaxFrame);
        try
        {
            frame[0] = channel;
            while (true)
            {
                int n;
                try
                {
                    // Not cancelled by ct: a stopped session kills the process, which ends its output.
                    n = await source.ReadAsync(frame.AsMemory(1, MaxFrame - 1), CancellationToken.None).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    return;
                }
                if (n == 0)
                {
                    return;
                }
                // Once the client is gone the output is still read (and dropped) so the process never blocks on a full pipe.
                if (!_disconnected)
                {
                    await SendAsync(frame.AsMemory(0, n + 1), ct).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private async Task<bool> SendAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        try
        {
            await _sendLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, ct).ConfigureAwait(false);
                return true;
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            Disconnect();
            return false;
        }
    }

    private async Task ReceiveAsync(CancellationToken ct)
    {
        var message = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(message.GetMemory(4096), ct).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                message.Advance(result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }
                var keepGoing = await DispatchAsync(message.WrittenMemory).ConfigureAwait(false);
                message.ResetWrittenCount();
                if (!keepGoing)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        if (!_finished)
        {
            Disconnect();
        }
    }

    // Returns false on a protocol error, which ends the connection as upstream's wsstream does.
    private async Task<bool> DispatchAsync(ReadOnlyMemory<byte> message)
    {
        if (message.IsEmpty)
        {
            return true;
        }
        var data = message[1..];
        switch (message.Span[0])
        {
            case ChannelProtocol.StdinChannel:
                await WriteStdinAsync(data).ConfigureAwait(false);
                return true;
            case ChannelProtocol.ResizeChannel:
                if (TryParseSize(data.Span, out var width, out var height))
                {
                    process.Resize(width, height);
                }
                return true;
            case ChannelProtocol.CloseChannel:
                // "Single channel byte should follow stream close signal."
                if (data.Length != 1)
                {
                    return false;
                }
                if (data.Span[0] == ChannelProtocol.StdinChannel)
                {
                    await CloseStdinAsync().ConfigureAwait(false);
                }
                return true;
            default:
                // Frames for channels the client may not write are ignored, as upstream does.
                return true;
        }
    }

    private async Task WriteStdinAsync(ReadOnlyMemory<byte> data)
    {
        if (process.Stdin is not { CanWrite: true } stdin || data.IsEmpty)
        {
            return;
        }
        try
        {
            await stdin.WriteAsync(data).ConfigureAwait(false);
            await stdin.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The command stopped reading stdin (exited or closed it); the rest of the input has nowhere to go.
        }
    }

    private async Task CloseStdinAsync()
    {
        if (process.Stdin is not { } stdin)
        {
            return;
        }
        try
        {
            await stdin.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Closing a pipe the command already closed: it has its EOF either way.
        }
    }

    // remotecommand.TerminalSize {"Width":80,"Height":24}; Go's decoder matches field names case-insensitively.
    private static bool TryParseSize(ReadOnlySpan<byte> json, out ushort width, out ushort height)
    {
        width = height = 0;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                if (!reader.Read())
                {
                    return false;
                }
                if (string.Equals(name, "Width", StringComparison.OrdinalIgnoreCase) && reader.TryGetUInt16(out var w))
                {
                    width = w;
                }
                else if (string.Equals(name, "Height", StringComparison.OrdinalIgnoreCase) && reader.TryGetUInt16(out var h))
                {
                    height = h;
                }
                else
                {
                    reader.Skip();
                }
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private void Disconnect()
    {
        if (_finished)
        {
            return;
        }
        _disconnected = true;
        process.Kill();
    }
}
