using System.Collections;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A pod process for the end-to-end tests: an HTTP server that binds the address it is given
// (normally $(POD_IP)) and whose readiness and liveness answers can be flipped over HTTP.
//   berth-testpod serve --address IP --port N [--udp-port N] [--ignore-sigterm]
// GET /          "pod NAME at IP:PORT"          GET /env       the environment, sorted, NAME=value lines
// GET /client    the peer as the pod sees it, "IP:PORT" (what a Service proxy preserved of the client)
// GET /ready     200 or 503                      GET /live      200 or 500
// POST /ready?ok=false|true, POST /live?ok=false|true          flip them
// With --udp-port, a UDP echo on the same address answers each datagram with "pod NAME: " and the datagram.
if (args.Length == 0 || args[0] != "serve")
{
    Console.Error.WriteLine("usage: berth-testpod serve --address IP --port N [--udp-port N] [--ignore-sigterm]");
    return 2;
}

var address = IPAddress.Loopback;
var port = 8080;
int? udpPort = null;
var ignoreSigterm = false;
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--address":
            address = IPAddress.Parse(args[++i]);
            break;
        case "--port":
            port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--udp-port":
            udpPort = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--ignore-sigterm":
            ignoreSigterm = true;
            break;
        default:
            Console.Error.WriteLine($"unknown flag {args[i]}");
            return 2;
    }
}

// Tests of the grace period need a process that outlives SIGTERM until SIGKILL.
using var termination = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    Console.WriteLine("received SIGTERM");
    context.Cancel = ignoreSigterm;
});

var ready = true;
var live = true;
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(address, port));
var app = builder.Build();
var podName = Environment.GetEnvironmentVariable("POD_NAME") ?? "?";
app.MapGet("/", () => $"pod {podName} at {address}:{port}\n");
app.MapGet("/client", (HttpContext context) => $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}\n");
app.MapGet("/env", () =>
{
    var lines = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
        .Select(e => $"{e.Key}={e.Value}").Order(StringComparer.Ordinal);
    return string.Join('\n', lines) + "\n";
});
app.MapGet("/ready", () => ready ? Results.Ok("ready\n") : Results.StatusCode(503));
app.MapGet("/live", () => live ? Results.Ok("live\n") : Results.StatusCode(500));
app.MapPost("/ready", (bool ok) => { ready = ok; Console.WriteLine($"ready={ok}"); });
app.MapPost("/live", (bool ok) => { live = ok; Console.WriteLine($"live={ok}"); });
using var udp = udpPort is { } u ? new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp) : null;
if (udp is not null)
{
    udp.Bind(new IPEndPoint(address, udpPort!.Value));
    _ = EchoAsync(udp, Encoding.UTF8.GetBytes($"pod {podName}: "));
}
await app.StartAsync();
Console.WriteLine($"listening on {address}:{port}" + (udp is null ? "" : $" and {address}:{udpPort}/UDP"));
Console.Out.Flush();
await app.WaitForShutdownAsync();
Console.WriteLine("stopped");
return 0;

// Replies to the sender of each datagram; ends when the socket is disposed at exit. A send that fails (the
// sender gone) loses that reply only.
static async Task EchoAsync(Socket socket, byte[] prefix)
{
    var buffer = new byte[65536];
    var reply = new byte[prefix.Length + buffer.Length];
    prefix.CopyTo(reply, 0);
    EndPoint any = new IPEndPoint(IPAddress.Any, 0);
    while (true)
    {
        try
        {
            var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any);
            buffer.AsSpan(0, received.ReceivedBytes).CopyTo(reply.AsSpan(prefix.Length));
            await socket.SendToAsync(reply.AsMemory(0, prefix.Length + received.ReceivedBytes), SocketFlags.None, received.RemoteEndPoint);
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        catch (SocketException e) when (e.SocketErrorCode != SocketError.OperationAborted)
        {
            Console.WriteLine($"udp: {e.SocketErrorCode}");
        }
        catch (SocketException)
        {
            return;
        }
    }
}
