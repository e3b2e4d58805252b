using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Node.Proxy.HealthCheck;

/// <summary>A response of <see cref="TinyHttpServer"/>: always sent with Content-Length and <c>Connection: close</c>.</summary>
internal readonly record struct TinyHttpResponse(int Status, string ContentType, string Body);

/// <summary>
/// The smallest HTTP/1.1 server the proxy's probes need (health-check node ports, /metrics, /healthz): one listening
/// socket, an async accept loop, one request per connection (request line parsed, headers read and ignored, at most
/// <see cref="MaxRequestBytes"/>), then <c>Connection: close</c>. Kestrel would be a whole host per port for this.
/// </summary>
internal sealed class TinyHttpServer : IAsyncDisposable
{
    public const int MaxRequestBytes = 8 * 1024;

    // A client that has not sent its request by then is dropped, so idle connections cannot pile up.
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(10);

    private static readonly byte[] s_endOfHeaders = "\r\n\r\n"u8.ToArray();

    private readonly Socket _listener;
    private readonly Func<string, string, TinyHttpResponse> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    private TinyHttpServer(Socket listener, Func<string, string, TinyHttpResponse> handler)
    {
        _listener = listener;
        _handler = handler;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>
    /// Binds <paramref name="address"/> and serves each request with <paramref name="handler"/>(method, path without
    /// query). Throws <see cref="SocketException"/> when the address cannot be bound.
    /// </summary>
    public static TinyHttpServer Listen(IPEndPoint address, Func<string, string, TinyHttpResponse> handler)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(address);
            listener.Listen(128);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new TinyHttpServer(listener, handler);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Synchronous up to here, so the port is free (and refuses connections) as soon as this returns its task.
        _listener.Dispose();
        _stop.Cancel();
        await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The client gave up before we accepted it.
                continue;
            }
            catch (SocketException)
            {
                // Out of descriptors or memory: back off instead of spinning, and keep serving once it clears.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            _ = ServeAsync(client, stop);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stop)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxRequestBytes);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(s_requestTimeout);
        try
        {
            if (await ReadRequestAsync(client, buffer, timeout.Token).ConfigureAwait(false) is { } request)
            {
                await WriteAsync(client, request.Response, request.HeadOnly, timeout.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or was too slow; nothing to answer.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            client.Dispose();
        }
    }

    /// <summary>The response to the request on <paramref name="client"/>, or null when it closed before sending one.</summary>
    private async Task<(TinyHttpResponse Response, bool HeadOnly)?> ReadRequestAsync(Socket client, byte[] buffer, CancellationToken ct)
    {
        var length = 0;
        while (true)
        {
            // Read the whole header block, not just the request line: closing with unread data would send the client
            // a reset that can overtake the response.
            var end = buffer.AsSpan(0, length).IndexOf(s_endOfHeaders);
            if (end >= 0)
            {
                return Parse(buffer.AsSpan(0, end));
            }
            if (length == MaxRequestBytes)
            {
                return (new TinyHttpResponse(431, "text/plain; charset=utf-8", "431 Request Header Fields Too Large"), false);
            }
            var read = await client.ReceiveAsync(buffer.AsMemory(length, MaxRequestBytes - length), SocketFlags.None, ct).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }
            length += read;
        }
    }

    private (TinyHttpResponse Response, bool HeadOnly) Parse(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var line = lineEnd >= 0 ? head[..lineEnd] : head;
        var firstSpace = line.IndexOf((byte)' ');
        var rest = firstSpace > 0 ? line[(firstSpace + 1)..] : default;
        var secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0 || rest[0] != (byte)'/' || !rest[(secondSpace + 1)..].StartsWith("HTTP/1."u8))
        {
            return (new TinyHttpResponse(400, "text/plain; charset=utf-8", "400 Bad Request"), false);
        }
        var method = Encoding.ASCII.GetString(line[..firstSpace]);
        var target = rest[..secondSpace];
        var query = target.IndexOf((byte)'?');
        var path = Encoding.ASCII.GetString(query >= 0 ? target[..query] : target);
        return (_handler(method, path), method == "HEAD");
    }

    private static async Task WriteAsync(Socket client, TinyHttpResponse response, bool headOnly, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes(response.Body);
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {response.Status} {ReasonPhrase(response.Status)}\r\n" +
            $"Content-Type: {response.ContentType}\r\n" +
            "X-Content-Type-Options: nosniff\r\n" +
            $"Content-Length: {body.Length}\r\n" +
            "Connection: close\r\n\r\n");
        await SendAllAsync(client, head, ct).ConfigureAwait(false);
        if (!headOnly)
        {
            await SendAllAsync(client, body, ct).ConfigureAwait(false);
        }
    }

    private static async Task SendAllAsync(Socket client, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            data = data[await client.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false)..];
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    };
}
