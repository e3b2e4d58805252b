using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.Node.Kubelet.Exec;
using Berth.Node.Kubelet.Logs;
using Berth.Node.Kubelet.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Node.Kubelet;

/// <summary>
/// The kubelet API the API server proxies <c>kubectl logs</c> and <c>kubectl exec</c> to (upstream's paths:
/// /containerLogs/{ns}/{pod}/{container} and /exec/{ns}/{pod}/{container}). HTTPS with a certificate made at
/// start (the API server does not verify it, as upstream without --kubelet-certificate-authority), and the
/// cluster's bearer token required on every request.
/// </summary>
internal sealed class KubeletServer : IAsyncDisposable
{
    private readonly string _token;
    private readonly string _address;
    private readonly int _requestedPort;
    private readonly Func<string, string, PodWorker?> _findPod;
    private readonly Action<string> _log;
    private WebApplication? _app;

    public KubeletServer(string token, string address, int port, Func<string, string, PodWorker?> findPod, Action<string> log)
    {
        _token = token;
        _address = address;
        _requestedPort = port;
        _findPod = findPod;
        _log = log;
    }

    public int Port { get; private set; }

    public async Task StartAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        using var certificate = SelfSignedCertificate(_address);
        var pfx = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(_address), _requestedPort, l => l.UseHttps(pfx)));
        _app = builder.Build();
        _app.UseWebSockets();
        _app.Run(HandleAsync);
        try
        {
            await _app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"the kubelet API cannot listen on {_address}:{_requestedPort}: {e.Message} (pick another port with --kubelet-port)", e);
        }
        var address = _app.Services.GetService(typeof(IServer)) is IServer server
            ? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() : null;
        Port = address is null ? _requestedPort : new Uri(address).Port;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "";
        if (path == "/healthz")
        {
            await http.Response.WriteAsync("ok", http.RequestAborted).ConfigureAwait(false);
            return;
        }
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(authorization), Encoding.UTF8.GetBytes("Bearer " + _token)))
        {
            await ErrorAsync(http, 401, "Unauthorized").ConfigureAwait(false);
            return;
        }
        var parts = path.Trim('/').Split('/');
        if (parts is not [var kind, var ns, var podName, var containerName] || kind is not ("containerLogs" or "exec"))
        {
            await ErrorAsync(http, 404, "not found").ConfigureAwait(false);
            return;
        }
        var pod = _findPod(ns, podName);
        var container = pod?.FindContainer(containerName);
        if (pod is null || container is null)
        {
            await ErrorAsync(http, 404, $"container \"{containerName}\" in pod \"{podName}\" is not running on this node").ConfigureAwait(false);
            return;
        }
        if (kind == "containerLogs")
        {
            await LogsAsync(http, pod, container).ConfigureAwait(false);
        }
        else
        {
            await ExecAsync(http, pod, container).ConfigureAwait(false);
        }
    }

    private static async Task LogsAsync(HttpContext http, PodWorker pod, ContainerSlot container)
    {
        var query = http.Request.Query;
        var previous = Bool(query["previous"]);
        var restart = container.RestartCount;
        if (previous)
        {
            if (!container.EverStarted || (restart == 0 && (container.IsRunning || container.Exited is null)))
            {
                await ErrorAsync(http, 400, $"previous terminated container \"{container.Name}\" in pod \"{pod.Name}\" not found").ConfigureAwait(false);
                return;
            }
            restart = container.IsRunning || container.Exited is null ? restart - 1 : restart;
        }
        else if (!container.EverStarted)
        {
            var reason = container.Waiting?.Reason ?? "ContainerCreating";
            await ErrorAsync(http, 400, $"container \"{container.Name}\" in pod \"{pod.Name}\" is waiting to start: {reason}").ConfigureAwait(false);
            return;
        }
        var logPath = LogPaths.ContainerLog(pod.LogRoot, pod.Namespace, pod.Name, pod.Uid, container.Name, restart);
        if (!File.Exists(logPath))
        {
            await ErrorAsync(http, 400, previous
                ? $"previous terminated container \"{container.Name}\" in pod \"{pod.Name}\" not found"
                : $"container \"{container.Name}\" in pod \"{pod.Name}\" has no log yet").ConfigureAwait(false);
            return;
        }
        var options = new LogOptions(
            Follow: Bool(query["follow"]) && !previous,
            TailLines: long.TryParse(query["tailLines"], NumberStyles.None, CultureInfo.InvariantCulture, out var tail) ? tail : null,
            Timestamps: Bool(query["timestamps"]),
            SinceTime: DateTimeOffset.TryParse(query["sinceTime"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since) ? since
                : long.TryParse(query["sinceSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? DateTimeOffset.UtcNow.AddSeconds(-seconds) : null,
            LimitBytes: long.TryParse(query["limitBytes"], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) ? limit : null);
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/plain";
        var instance = container.Process;
        await http.Response.StartAsync(http.RequestAborted).ConfigureAwait(false);
        try
        {
            // Following ends once the instance whose log this is has stopped and its log is drained.
            await ContainerLogReader.ReadAsync(logPath, options, http.Response.Body,
                () => instance is not null && container.Process == instance, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // kubectl went away (Ctrl+C on logs -f).
        }
    }

    private async Task ExecAsync(HttpContext http, PodWorker pod, ContainerSlot container)
    {
        if (!http.WebSockets.IsWebSocketRequest || !http.WebSockets.WebSocketRequestedProtocols.Contains(ChannelProtocol.V5))
        {
            await ErrorAsync(http, 400, "Upgrade request required").ConfigureAwait(false);
            return;
        }
        var query = http.Request.Query;
        var command = query["command"].Where(c => c is not null).Select(c => c!).ToList();
        if (!container.IsRunning || container.Environment is null)
        {
            await ErrorAsync(http, 400, $"unable to upgrade connection: container not found (\"{container.Name}\")").ConfigureAwait(false);
            return;
        }
        using var socket = await http.WebSockets.AcceptWebSocketAsync(ChannelProtocol.V5).ConfigureAwait(false);
        var env = container.Environment;
        var path = env.LastOrDefault(v => v.Key == "PATH").Value;
        var executable = "";
        var error = "you must specify at least one command for the container";
        if (command.Count == 0 || !ExecutableLookup.TryResolve(command[0], path, container.WorkingDirectory, out executable, out error))
        {
            await ChannelProtocol.SendErrorAsync(socket, error, http.RequestAborted).ConfigureAwait(false);
            return;
        }
        var tty = Bool(query["tty"]);
        HostProcess process;
        try
        {
            process = HostProcess.Start(new ProcessSpec(executable, [.. command.Skip(1)], env, container.WorkingDirectory, Tty: tty, Stdin: Bool(query["stdin"]), MountNamespace: pod.MountNamespace));
        }
        catch (ProcessStartException e)
        {
            await ChannelProtocol.SendErrorAsync(socket, e.Message, http.RequestAborted).ConfigureAwait(false);
            return;
        }
        pod.TrackExec(container, process);
        _log($"kubelet: exec in {pod.Namespace}/{pod.Name}/{container.Name}: {string.Join(' ', command)} (pid {process.Pid})");
        await using (process.ConfigureAwait(false))
        {
            await ChannelProtocol.RunAsync(socket, new HostExecProcess(process), command, http.RequestAborted).ConfigureAwait(false);
        }
        pod.UntrackExec(container, process);
    }

    private static bool Bool(Microsoft.Extensions.Primitives.StringValues value) => value.ToString() is "true" or "1";

    private static async Task ErrorAsync(HttpContext http, int code, string message)
    {
        http.Response.StatusCode = code;
        http.Response.ContentType = "application/json";
        var status = new Api.Models.Status
        {
            ApiVersion = "v1",
            Kind = "Status",
            Metadata = new Api.Models.ListMeta(),
            StatusValue = "Failure",
            Message = message,
            Reason = code switch { 400 => "BadRequest", 401 => "Unauthorized", 404 => "NotFound", _ => "InternalError" },
            Code = code,
        };
        await http.Response.Body.WriteAsync(Api.Serialization.KubeJson.SerializeToUtf8Bytes(status), http.RequestAborted).ConfigureAwait(false);
    }

    private static X509Certificate2 SelfSignedCertificate(string address)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={address}@kubelet", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Parse(address));
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The runtime's process as the exec stream protocol sees it.</summary>
    private sealed class HostExecProcess(HostProcess process) : IExecProcess
    {
        public Stream? Stdin => process.Stdin;

        public Stream Stdout => process.Stdout;

        public Stream? Stderr => process.Stderr;

        public Task<int> ExitCode => process.Exited.ContinueWith(t => t.Result.ExitCode, TaskScheduler.Default);

        public void Resize(ushort columns, ushort rows) => process.Resize(columns, rows);

        public void Kill() => _ = process.StopAsync(TimeSpan.Zero);
    }
}
