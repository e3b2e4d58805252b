using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Berth.Node.Kubelet.Probes;

// pkg/probe/grpc: one grpc.health.v1.Health/Check call, spoken by hand over HTTP/2 cleartext with prior
// knowledge (no gRPC library). Every problem is a failure, as upstream ("to mimic grpc_health_probe").
public sealed partial class Prober
{
    private const int GrpcUnimplemented = 12;
    private const int GrpcDeadlineExceeded = 4;
    private const int GrpcInternal = 13;
    private const int GrpcUnavailable = 14;
    private const int GrpcUnknown = 2;
    private const int ServingStatusServing = 1;

    private static readonly string[] s_grpcCodeNames =
    [
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
        "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
        "Internal", "Unavailable", "DataLoss", "Unauthenticated",
    ];

    private static readonly string[] s_servingStatusNames = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

    private static async Task<ProbeOutcome> GrpcAsync(string host, string service, int port, int timeoutSeconds, CancellationToken ct)
    {
        var address = GoText.JoinHostPort(host, port);
        var within = GoText.Seconds(timeoutSeconds);
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));

        Socket socket;
        try
        {
            socket = await ConnectWithBackoffAsync(host, port, timeoutCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new ProbeOutcome(ProbeResult.Failure, $"timeout: failed to connect service {GoText.Quote(address)} within {within}: context deadline exceeded");
        }
        catch (SocketException ex)
        {
            return new ProbeOutcome(ProbeResult.Failure, $"error: failed to connect service at {GoText.Quote(address)}: {DialErrorText(ex)}");
        }

        // A handler per probe over the socket just opened: upstream dials a fresh connection for each probe too.
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            ConnectCallback = (_, _) => ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: true)),
        };
        using var invoker = new HttpMessageInvoker(handler);
        using var request = CreateHealthCheckRequest(address, service, timeoutSeconds);
        try
        {
            using var response = await invoker.SendAsync(request, timeoutCts.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(timeoutCts.Token).ConfigureAwait(false);
            return HealthCheckOutcome(response, body, within);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return RpcFailure(GrpcDeadlineExceeded, "", within);
        }
        catch (HttpRequestException ex)
        {
            return RpcFailure(GrpcUnavailable, ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message, within);
        }
    }

    // grpc.WithBlock: a refused connection is retried with grpc-go's backoff (1s, x1.6) until the deadline.
    private static async Task<Socket> ConnectWithBackoffAsync(string host, int port, CancellationToken ct)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (true)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(host, port, ct).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is not (SocketError.HostNotFound or SocketError.NoData))
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            await Task.Delay(backoff, ct).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min((long)(backoff.Ticks * 1.6), TimeSpan.FromMinutes(2).Ticks));
        }
    }

    private static HttpRequestMessage CreateHealthCheckRequest(string address, string service, int timeoutSeconds)
    {
        // HealthCheckRequest { string service = 1; }: proto3 leaves an empty string out.
        var serviceBytes = Encoding.UTF8.GetBytes(service);
        using var message = new MemoryStream();
        if (serviceBytes.Length > 0)
        {
            message.WriteByte(0x0A);
            WriteVarint(message, (ulong)serviceBytes.Length);
            message.Write(serviceBytes);
        }

        // gRPC length-prefixed message: compressed flag 0, 4-byte big-endian length, the message.
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.ToArray().CopyTo(frame, 5);

        var request = new HttpRequestMessage(HttpMethod.Post, $"http://{address}/grpc.health.v1.Health/Check")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        request.Headers.TryAddWithoutValidation("grpc-timeout", string.Create(CultureInfo.InvariantCulture, $"{timeoutSeconds}S"));
        return request;
    }

    private static ProbeOutcome HealthCheckOutcome(HttpResponseMessage response, byte[] body, string within)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var status = (int)response.StatusCode;
            return RpcFailure(CodeForHttpStatus(status), string.Create(CultureInfo.InvariantCulture, $"unexpected HTTP status code received from server: {status} ({response.ReasonPhrase})"), within);
        }

        // A trailers-only answer carries grpc-status in the headers.
        var grpcStatus = HeaderValue(response.TrailingHeaders, "grpc-status") ?? HeaderValue(response.Headers, "grpc-status");
        if (grpcStatus is null)
        {
            return RpcFailure(GrpcInternal, "server closed the stream without sending trailers", within);
        }

        if (!int.TryParse(grpcStatus, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return RpcFailure(GrpcUnknown, $"invalid grpc-status {GoText.Quote(grpcStatus)}", within);
        }

        if (code != 0)
        {
            var grpcMessage = HeaderValue(response.TrailingHeaders, "grpc-message") ?? HeaderValue(response.Headers, "grpc-message") ?? "";
            return RpcFailure(code, Uri.UnescapeDataString(grpcMessage), within);
        }

        if (!TryReadServingStatus(body, out var servingStatus))
        {
            return RpcFailure(GrpcInternal, "grpc: failed to unmarshal the received message", within);
        }

        if (servingStatus != ServingStatusServing)
        {
            var name = servingStatus < (ulong)s_servingStatusNames.Length
                ? s_servingStatusNames[servingStatus]
                : servingStatus.ToString(CultureInfo.InvariantCulture);
            return new ProbeOutcome(ProbeResult.Failure, $"service unhealthy (responded with {GoText.Quote(name)})");
        }

        return new ProbeOutcome(ProbeResult.Success, "service healthy");
    }

    private static ProbeOutcome RpcFailure(int code, string message, string within) => code switch
    {
        GrpcUnimplemented => new ProbeOutcome(ProbeResult.Failure, $"error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {message}"),
        GrpcDeadlineExceeded => new ProbeOutcome(ProbeResult.Failure, $"timeout: health rpc did not complete within {within}"),
        _ => new ProbeOutcome(ProbeResult.Failure, $"error: health rpc probe failed: rpc error: code = {CodeName(code)} desc = {message}"),
    };

    private static string CodeName(int code) =>
        code >= 0 && code < s_grpcCodeNames.Length ? s_grpcCodeNames[code] : string.Create(CultureInfo.InvariantCulture, $"Code({code})");

    // grpc-go's HTTP-status-to-code table for answers that are not gRPC.
    private static int CodeForHttpStatus(int status) => status switch
    {
        400 => GrpcInternal,
        401 => 16,
        403 => 7,
        404 => GrpcUnimplemented,
        429 or 502 or 503 or 504 => GrpcUnavailable,
        _ => GrpcUnknown,
    };

    private static string? HeaderValue(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    // HealthCheckResponse { ServingStatus status = 1; } in the first length-prefixed message.
    private static bool TryReadServingStatus(ReadOnlySpan<byte> body, out ulong status)
    {
        status = 0;
        if (body.Length < 5 || body[0] != 0)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
        if (length > (uint)(body.Length - 5))
        {
            return false;
        }

        var message = body.Slice(5, (int)length);
        while (!message.IsEmpty)
        {
            if (!TryReadVarint(ref message, out var tag))
            {
                return false;
            }

            switch (tag & 7)
            {
                case 0:
                    if (!TryReadVarint(ref message, out var value))
                    {
                        return false;
                    }

                    if (tag >> 3 == 1)
                    {
                        status = value;
                    }

                    break;
                case 1 when message.Length >= 8:
                    message = message[8..];
                    break;
                case 2:
                    if (!TryReadVarint(ref message, out var size) || size > (ulong)message.Length)
                    {
                        return false;
                    }

                    message = message[(int)size..];
                    break;
                case 5 when message.Length >= 4:
                    message = message[4..];
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    private static bool TryReadVarint(ref ReadOnlySpan<byte> data, out ulong value)
    {
        value = 0;
        for (var i = 0; i < 10 && i < data.Length; i++)
        {
            value |= (ulong)(data[i] & 0x7F) << (7 * i);
            if ((data[i] & 0x80) == 0)
            {
                data = data[(i + 1)..];
                return true;
            }
        }

        return false;
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        stream.WriteByte((byte)value);
    }
}
