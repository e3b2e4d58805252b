using System.Globalization;
using System.Net.WebSockets;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Berth.Node.Kubelet.Exec;

/// <summary>
/// The server side of `kubectl exec` over WebSocket (k8s.io/apimachinery wsstream with the v5.channel.k8s.io
/// protocol; the kubelet's cri/streaming/remotecommand ServeExec for the final status).
/// </summary>
public static class ChannelProtocol
{
    public const string V5 = "v5.channel.k8s.io";

    internal const byte StdinChannel = 0;
    internal const byte StdoutChannel = 1;
    internal const byte StderrChannel = 2;
    internal const byte ErrorChannel = 3;
    internal const byte ResizeChannel = 4;
    internal const byte CloseChannel = 255;

    private static readonly JsonWriterOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Streams <paramref name="process"/> over an accepted v5 WebSocket until it exits, then sends its status and
    /// closes. A client that goes away, or <paramref name="ct"/>, kills the command; the task then just completes.
    /// </summary>
    /// <param name="command">Named in the non-zero exit status message, as the container runtime does.</param>
    public static Task RunAsync(WebSocket socket, IExecProcess process, IReadOnlyList<string> command, CancellationToken ct) =>
        new ExecSession(socket, process, command).RunAsync(ct);

    /// <summary>Sends <see cref="ErrorStatus"/> on the error channel and closes normally: the command could not be started.</summary>
    public static async Task SendErrorAsync(WebSocket socket, string message, CancellationToken ct)
    {
        var status = ErrorStatus(message);
        var frame = new byte[status.Length + 1];
        frame[0] = ErrorChannel;
        status.CopyTo(frame, 1);
        await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, ct).ConfigureAwait(false);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct).ConfigureAwait(false);
    }

    public static byte[] SuccessStatus() => Status("Success", message: null, reason: null, causeReason: null, causeMessage: null, code: 0);

    /// <summary>What kubectl turns into "command terminated with exit code N" and its own exit code N.</summary>
    public static byte[] ExitCodeStatus(int code, IReadOnlyList<string>? command = null)
    {
        var text = code.ToString(CultureInfo.InvariantCulture);
        // containerd's CodeExitError text ("error executing command %v, exit code %d", a Go []string printed as [a b]).
        var exitError = $"error executing command [{string.Join(' ', command ?? [])}], exit code {text}";
        return Status("Failure", "command terminated with non-zero exit code: " + exitError, "NonZeroExitCode", "ExitCode", text, code: 0);
    }

    /// <summary>An internal error for a command that could not be run (upstream ServeExec's NewInternalError).</summary>
    public static byte[] ErrorStatus(string message)
    {
        var error = "error executing command in container: " + message;
        return Status("Failure", "Internal error occurred: " + error, "InternalError", causeReason: null, error, code: 500);
    }

    // metav1.Status as Go's encoding/json writes it: field order status, message, reason, details, code;
    // empty fields left out; no kind/apiVersion (the kubelet marshals the bare struct).
    private static byte[] Status(string status, string? message, string? reason, string? causeReason, string? causeMessage, int code)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteEndObject();
            json.WriteString("status", status);
            if (message is not null)
            {
                json.WriteString("message", message);
            }
            if (reason is not null)
            {
                json.WriteString("reason", reason);
            }
            if (causeMessage is not null)
            {
                json.WriteStartObject("details");
                json.WriteStartArray("causes");
                json.WriteStartObject();
                if (causeReason is not null)
                {
                    json.WriteString("reason", causeReason);
                }
                json.WriteString("message", causeMessage);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }
            if (code != 0)
            {
                json.WriteNumber("code", code);
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
