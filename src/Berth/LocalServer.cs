using System.Diagnostics;
using System.Net.Sockets;
using Berth.ApiServer;
using Berth.ApiServer.Security;
using Berth.Client;
using Berth.Controllers;
using Berth.Controllers.NodeLifecycle;
using Berth.Node;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Berth;

/// <summary>
/// What <c>berth server</c> runs, and <c>berth up</c> with it: the API server, the controllers and a node agent in
/// this process, started in that order with their ready lines. Ctrl+C / SIGTERM (the host's console lifetime) stops
/// the pods gracefully while the API still answers, then the rest.
/// </summary>
internal sealed class LocalServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ControllerManager _controllers;
    private readonly NodeAgent _agent;

    private LocalServer(WebApplication app, KubeClient client, ControllerManager controllers, NodeAgent agent, string url, string kubeconfigPath)
    {
        _app = app;
        Client = client;
        _controllers = controllers;
        _agent = agent;
        Url = url;
        KubeconfigPath = kubeconfigPath;
        // Registered last, so it runs first when stopping begins (cancellation callbacks run in reverse order):
        // the pods stop while the API and the controllers still answer.
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            BeforePodsStop?.Invoke();
            _agent.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });
    }

    /// <summary>An admin client of this server (the controllers' and the agent's).</summary>
    public KubeClient Client { get; }

    public string Url { get; }

    public string KubeconfigPath { get; }

    public string NodeName => _agent.NodeName;

    /// <summary>Cancelled when stopping begins (a signal, or <see cref="Stop"/>).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>Runs once when stopping begins, before the pods are stopped (on the thread that stops them).</summary>
    public Action? BeforePodsStop { get; set; }

    /// <summary>
    /// Starts everything and prints the ready lines (<c>berth: API server ready at URL in N ms</c>,
    /// <c>berth: export KUBECONFIG=...</c>, <c>berth: node NAME ready in N ms</c>), times counted from
    /// <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp). A start that cannot succeed is a <see cref="StartException"/>;
    /// one a signal interrupted, a <see cref="StoppedException"/>.
    /// </summary>
    public static async Task<LocalServer> StartAsync(ServerFlags flags, long started)
    {
        var options = flags.Api;
        options.DataDir = Path.GetFullPath(options.DataDir);
        var app = await ApiServerHost.BuildAsync(options).ConfigureAwait(false);
        KubeClient? client = null;
        ControllerManager? controllers = null;
        try
        {
            try
            {
                await app.StartAsync().ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                throw new StartException($"cannot listen on {options.BindAddress}:{options.Port}: the address is already in use (pick another with --api-port)");
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AccessDenied })
            {
                throw new StartException($"cannot listen on {options.BindAddress}:{options.Port}: permission denied (ports below 1024 need root)");
            }
            var url = ApiServerHost.ListeningUrl(app, options);
            ConsoleView.Line($"berth: API server ready at {url} in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
            ConsoleView.Line($"berth: export KUBECONFIG={options.KubeconfigPath}");

            // The controllers and the node agent talk to the API like any client would (and as a remote agent does).
            var credentials = app.Services.GetRequiredService<ClusterCredentials>();
            client = new KubeClient(new KubeClientOptions
            {
                Server = new Uri(url),
                Token = credentials.Token,
                CertificateAuthority = credentials.CaCertificate,
                UserAgent = "berth-server",
            });
            controllers = await ControllerManager.StartAsync(client, new ControllerOptions
            {
                ClusterCidr = flags.ClusterCidr,
                NodeLifecycle = new NodeLifecycleOptions { NodeMonitorGracePeriod = flags.NodeMonitorGracePeriod, NodeMonitorPeriod = flags.NodeMonitorPeriod },
                EndpointUpdatesBatchPeriod = flags.EndpointUpdatesBatchPeriod,
                Log = CommandLine.Log,
            }, app.Lifetime.ApplicationStopping).ConfigureAwait(false);
            NodeAgent agent;
            try
            {
                agent = await NodeAgent.StartAsync(flags.Node.Options(client, credentials.Token, Path.Combine(options.DataDir, "agent")), app.Lifetime.ApplicationStopping).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                throw new StartException(e.Message);
            }
            catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // Ctrl+C / SIGTERM before the node was ready: nothing runs yet that needs stopping gracefully.
                ConsoleView.Line("berth: stopped before the node was ready");
                throw new StoppedException();
            }
            ConsoleView.Line($"berth: node {agent.NodeName} ready in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
            return new LocalServer(app, client, controllers, agent, url, options.KubeconfigPath);
        }
        catch
        {
            if (controllers is not null)
            {
                await controllers.DisposeAsync().ConfigureAwait(false);
            }
            client?.Dispose();
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Completes once stopping has finished (the pods stopped, the API server closed).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Stops as a signal would.</summary>
    public void Stop() => _app.Lifetime.StopApplication();

    public async ValueTask DisposeAsync()
    {
        await _controllers.DisposeAsync().ConfigureAwait(false);
        Client.Dispose();
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The server could not start; the message says why, for the user.</summary>
    public sealed class StartException(string message) : Exception(message);

    /// <summary>A signal asked the server to stop while it was starting; it has stopped (not a failure).</summary>
    public sealed class StoppedException() : Exception("stopped while starting");
}
