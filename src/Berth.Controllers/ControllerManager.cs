using Berth.Client;
using Berth.Controllers.Deployments;
using Berth.Controllers.EndpointSliceMirroring;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.Framework;
using Berth.Controllers.GarbageCollector;
using Berth.Controllers.NodeIpam;
using Berth.Controllers.NodeLifecycle;
using Berth.Controllers.ReplicaSets;
using Berth.Controllers.Scheduler;

namespace Berth.Controllers;

/// <summary>What the controllers of one cluster need to know.</summary>
public sealed class ControllerOptions
{
    /// <summary>The pod network, split into one subnet per node (<see cref="NodeCidrMaskSize"/>).</summary>
    public required string ClusterCidr { get; init; }

    public int NodeCidrMaskSize { get; init; } = 24;

    /// <summary>Workers per controller queue (upstream's --concurrent-*-syncs default to 5; the GC's to 20).</summary>
    public int Workers { get; init; } = 5;

    public NodeLifecycleOptions NodeLifecycle { get; init; } = new();

    /// <summary>
    /// Upstream --endpoint-updates-batch-period (also used for mirroring): a pod change reaches its Services'
    /// EndpointSlices and Endpoints after this delay, so a burst of changes (a rollout) costs one write per Service.
    /// Upstream's default, 0, still folds changes that arrive while a Service waits or syncs into one more sync, and
    /// measured a third of the 10 ms setting's p99 (docs/benchmarks.md, "Endpoints (issue 6)").
    /// </summary>
    public TimeSpan EndpointUpdatesBatchPeriod { get; init; } = DefaultEndpointUpdatesBatchPeriod;

    public static TimeSpan DefaultEndpointUpdatesBatchPeriod { get; } = TimeSpan.Zero;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public Action<string> Log { get; init; } = _ => { };
}

/// <summary>
/// The cluster's controllers, as kube-controller-manager and kube-scheduler run them: one set of shared informers
/// (one list+watch per kind for all of them), and per controller its own work queue and workers. They reach the API
/// only through <see cref="KubeClient"/>, so they run the same inside <c>berth server</c> and against a remote one.
/// </summary>
public sealed class ControllerManager : IAsyncDisposable
{
    private readonly SharedInformers _informers;
    private readonly List<IAsyncDisposable> _controllers = [];
    private readonly List<Task> _running = [];
    private readonly CancellationTokenSource _stop = new();

    private ControllerManager(SharedInformers informers) => _informers = informers;

    /// <summary>Creates every controller, starts the informers, and runs the controllers in the background.</summary>
    public static async Task<ControllerManager> StartAsync(KubeClient client, ControllerOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        var log = options.Log;
        var time = options.Time;
        var manager = new ControllerManager(new SharedInformers(client, log));
        var informers = manager._informers;
        var token = manager._stop.Token;

        // Every controller registers its handlers before the informers start: an informer hands its first list to
        // the handlers it has when it starts.
        _ = new NodeIpamController(informers, options.ClusterCidr, options.NodeCidrMaskSize, log);
        var scheduler = manager.Add(new PodScheduler(informers, time, log));
        var replicaSets = manager.Add(new ReplicaSetController(informers, time, log));
        var deployments = manager.Add(new DeploymentController(informers, time, log));
        var garbage = manager.Add(new GarbageCollector.GarbageCollector(informers, time, log));
        var lifecycle = manager.Add(new NodeLifecycleController(informers, options.NodeLifecycle, time, log));
        var eviction = manager.Add(new TaintEvictionController(informers, time, log));
        var podGc = manager.Add(new PodGarbageCollector(informers, options.NodeLifecycle, time, log));
        var batch = options.EndpointUpdatesBatchPeriod;
        var slices = manager.Add(new EndpointSliceController(informers, batch, time, log));
        var endpoints = manager.Add(new EndpointsController(informers, batch, time, log));
        var mirroring = manager.Add(new EndpointSliceMirroringController(informers, batch, time, log));
        var diagnosis = manager.Add(new ServiceDiagnosis.ServiceDiagnosisController(informers, time, log));

        await informers.StartAsync(ct).ConfigureAwait(false);
        manager._running.AddRange(
        [
            scheduler.RunAsync(token),
            replicaSets.RunAsync(options.Workers, token),
            deployments.RunAsync(options.Workers, token),
            garbage.RunAsync(options.Workers * 4, token),
            lifecycle.RunAsync(token),
            eviction.RunAsync(options.Workers, token),
            podGc.RunAsync(token),
            slices.RunAsync(options.Workers, token),
            endpoints.RunAsync(options.Workers, token),
            mirroring.RunAsync(options.Workers, token),
            diagnosis.RunAsync(options.Workers, token),
        ]);
        return manager;
    }

    /// <summary>Waits until every informer has its first list (tests and benchmarks; the controllers wait by themselves).</summary>
    public Task WaitForSyncAsync(CancellationToken ct) => _informers.WaitForSyncAsync(ct);

    private T Add<T>(T controller)
        where T : IAsyncDisposable
    {
        _controllers.Add(controller);
        return controller;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_running).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is the point.
        }
        foreach (var controller in _controllers)
        {
            await controller.DisposeAsync().ConfigureAwait(false);
        }
        await _informers.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
