// kiada: the example app of examples/kiada and examples/dns. One binary, four roles (the first argument):
// frontend, quote, quiz, hello. Every role listens on $POD_IP:$PORT, answers /healthz/live and /healthz/ready,
// can be made unready with POST /admin/unready (to watch it leave its Service's endpoints) and logs one line
// per request.
using System.Net;
using Kiada;

string[] roles = ["frontend", "quote", "quiz", "hello"];
if (args.Length != 1 || !roles.Contains(args[0]))
{
    await Console.Error.WriteLineAsync($"usage: kiada {string.Join('|', roles)}").ConfigureAwait(false);
    return 2;
}
var role = args[0];
var podName = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } n ? n : Environment.MachineName;
var podIp = Environment.GetEnvironmentVariable("POD_IP") is { Length: > 0 } ip ? ip : "127.0.0.1";
var portText = Environment.GetEnvironmentVariable("PORT") is { Length: > 0 } p ? p : "8080";
if (!IPAddress.TryParse(podIp, out var address))
{
    await Console.Error.WriteLineAsync($"kiada: POD_IP \"{podIp}\" is not an IP address").ConfigureAwait(false);
    return 2;
}
if (!int.TryParse(portText, out var port) || port is < 1 or > 65535)
{
    await Console.Error.WriteLineAsync($"kiada: PORT \"{portText}\" is not a port number").ConfigureAwait(false);
    return 2;
}

// The slim builder skips what a sample does not use (HTTPS, config files, the full logging stack): it starts
// faster and keeps the RSS lower.
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.ConfigureKestrel(k => k.Listen(address, port, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1));
// In-flight requests get 3 s after SIGTERM: below the manifests' terminationGracePeriodSeconds (5), so the
// kubelet never has to SIGKILL a pod that is draining.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
builder.Logging.SetMinimumLevel(LogLevel.Warning);
if (role == "frontend")
{
    builder.Services.AddSingleton(new Backends(podName));
}

var app = builder.Build();
var ready = true;

// One line per request, after it is answered; the probes are left out, they would drown the rest (one a second).
app.Use(async (context, next) =>
{
    await next(context).ConfigureAwait(false);
    if (!context.Request.Path.StartsWithSegments("/healthz", StringComparison.Ordinal))
    {
        Console.Out.WriteLine($"{role} {podName}: {context.Request.Method} {context.Request.Path} {context.Response.StatusCode}");
    }
});

app.MapGet("/healthz/live", () => "ok");
app.MapGet("/healthz/ready", () => ready ? Results.Text("ready") : Results.Text("not ready", statusCode: 503));
app.MapPost("/admin/unready", () =>
{
    ready = false;
    return "not ready";
});
app.MapPost("/admin/ready", () =>
{
    ready = true;
    return "ready";
});

switch (role)
{
    case "quote":
        app.MapGet("/", () => Texts.Quote(podName));
        app.MapGet("/quote", () => Texts.Quote(podName));
        break;
    case "quiz":
        app.MapGet("/", () => Texts.Question(podName));
        app.MapGet("/question", () => Texts.Question(podName));
        break;
    case "hello":
        var hostname = Environment.GetEnvironmentVariable("HOSTNAME") is { Length: > 0 } h ? h : Environment.MachineName;
        app.MapGet("/", () => $"hello from {podName}, hostname {hostname}\n");
        break;
    default:
        app.MapGet("/", (HttpContext context, Backends backends) => Frontend.RenderAsync(context, backends, podName));
        break;
}

await app.RunAsync().ConfigureAwait(false);
return 0;
