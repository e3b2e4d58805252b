using System.Diagnostics;
using Berth.Api.Models;
using Berth.Client;
using Berth.Client.Manifests;
using static Berth.CommandLine;

namespace Berth.Up;

/// <summary>
/// <c>berth up</c>: read the manifests, start a server as <c>berth server</c> does, apply them all or nothing,
/// wait until they are ready, print where every Service answers, and stay up until Ctrl+C / SIGTERM.
/// </summary>
internal static class UpCommand
{
    private const string FieldManager = "berth-up";

    public static async Task<int> RunAsync(string[] args)
    {
        var started = Stopwatch.GetTimestamp();
        var startedAt = DateTimeOffset.UtcNow;
        var flags = new ServerFlags();
        var paths = new List<string>();
        var waitTimeout = TimeSpan.FromMinutes(5);
        for (var i = 0; i < args.Length; i++)
        {
            if (flags.TryParse(args, ref i))
            {
                continue;
            }
            switch (args[i])
            {
                case "-f" or "--filename":
                    paths.Add(Value(args, ref i));
                    break;
                case "--wait-timeout":
                    waitTimeout = Duration(args, ref i);
                    break;
                default:
                    throw new UsageException($"unknown flag \"{args[i]}\"");
            }
        }

        // Every manifest is read before anything starts: a bad one costs no server start.
        IReadOnlyList<ManifestObject> objects;
        try
        {
            objects = ManifestLoader.Load(paths, Console.In);
        }
        catch (ManifestException e)
        {
            ConsoleView.Error($"berth: {e.Message}");
            return 1;
        }

        return await CommandLine.WithLocalServerAsync(flags, started, async server =>
        {
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
            server.BeforePodsStop = () =>
            {
                stopping.Cancel();
                ConsoleView.Live([]);
                AnnounceStop(server);
            };
            var code = await RunAsync(server, objects, flags, waitTimeout, started, startedAt, stopping.Token).ConfigureAwait(false);
            await server.WaitForShutdownAsync().ConfigureAwait(false);
            return code;
        }).ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(LocalServer server, IReadOnlyList<ManifestObject> objects, ServerFlags flags, TimeSpan waitTimeout, long started, DateTimeOffset startedAt, CancellationToken ct)
    {
        var applier = new ManifestApplier(server.Client, FieldManager);
        var progress = new UpProgress(server.Client, startedAt);
        await using (progress.ConfigureAwait(false))
        {
            try
            {
                var (plan, failures) = await applier.DryRunAsync(objects, ct).ConfigureAwait(false);
                if (failures.Count > 0)
                {
                    foreach (var failure in failures)
                    {
                        ConsoleView.Error($"berth: {failure}");
                    }
                    ConsoleView.Error("berth: nothing was applied");
                    server.Stop();
                    return 1;
                }
                var results = await applier.ApplyAsync(plan, r => ConsoleView.Line(r.Outcome is { } outcome
                    ? $"berth: {r.Planned.Key} {outcome.ToString().ToLowerInvariant()}"
                    : $"berth: {r.Planned.Object.Origin}: {r.Planned.Object.Kind} {r.Planned.Object.Name}: {r.Error}"), ct).ConfigureAwait(false);
                if (results.Any(r => r.Error is not null))
                {
                    // Something changed between the dry run and the apply: say exactly where things stand, keep running.
                    ConsoleView.Error($"berth: applied: {Keys(results.Where(r => r.Error is null))}");
                    ConsoleView.Error($"berth: not applied: {Keys(results.Where(r => r.Error is not null))}");
                }

                await progress.StartAsync(ct).ConfigureAwait(false);
                var tracked = UpProgress.Track(results.Where(r => r.Error is null).Select(r => r.Planned));
                if (await progress.WaitReadyAsync(tracked, waitTimeout, ct).ConfigureAwait(false))
                {
                    ConsoleView.Line($"berth: ready in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
                }
                var nodeAddresses = UpProgress.NodePortAddresses(flags.Node.NodePortAddresses, flags.Node.NodeIP);
                ConsoleView.Text(progress.Table(nodeAddresses, flags.Node.ClusterDomain) + $"export KUBECONFIG={server.KubeconfigPath}\n");
                await progress.ShowStatusAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C / SIGTERM: the server stops the pods and then itself.
            }
        }
        return 0;
    }

    private static string Keys(IEnumerable<ApplyResult> results)
    {
        var keys = string.Join(", ", results.Select(r => r.Planned.Key));
        return keys.Length == 0 ? "none" : keys;
    }

    /// <summary><c>berth: stopping N pods (grace up to Gs)</c>: this node's running pods and their longest grace period (nothing when none).</summary>
    private static void AnnounceStop(LocalServer server)
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var pods = server.Client.ListAsync<Pod>(null, new ListOptions(FieldSelector: $"spec.nodeName={server.NodeName}"), deadline.Token).GetAwaiter().GetResult().Items
                .Where(p => p.Status?.Phase is not ("Succeeded" or "Failed"))
                .ToList();
            if (pods.Count > 0)
            {
                ConsoleView.Line($"berth: stopping {pods.Count} pods (grace up to {pods.Max(p => p.Spec?.TerminationGracePeriodSeconds ?? 30)}s)");
            }
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or OperationCanceledException or TimeoutException)
        {
            ConsoleView.Line($"berth: stopping the pods (could not list them: {e.Message})");
        }
    }
}
