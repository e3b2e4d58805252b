using System.Collections;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A pod process for the end-to-end tests: an HTTP server that binds the address it is given
// (normally $(POD_IP)) and whose readiness and liveness answers can be flipped over HTTP.
//   berth-testpod serve --address IP --port N [--ignore-sigterm]
// GET /          "pod NAME at IP:PORT"          GET /env       the environment, sorted, NAME=value lines
// GET /ready     200 or 503                      GET /live      200 or 500
// POST /ready?ok=false|true, POST /live?ok=false|true          flip them
if (args.Length == 0 || args[0] != "serve")
{
    Console.Error.WriteLine("usage: berth-testpod serve --address IP --port N [--ignore-sigterm]");
    return 2;
}

var address = IPAddress.Loopback;
var port = 8080;
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
await app.StartAsync();
Console.WriteLine($"listening on {address}:{port}");
Console.Out.Flush();
await app.WaitForShutdownAsync();
Console.WriteLine("stopped");
return 0;
