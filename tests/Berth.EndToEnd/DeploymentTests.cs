using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static Berth.EndToEnd.NodeAgentCluster;
using static Berth.EndToEnd.Workloads;

namespace Berth.EndToEnd;

/// <summary>
/// Deployments through the real kubectl against `berth server`'s controllers and node agent: rollout, self-healing,
/// scaling, rolling updates and rollbacks, and the garbage collector's cascading deletion.
/// </summary>
public sealed partial class DeploymentTests : IClassFixture<NodeAgentFixture>, IDisposable
{
    // upstream rand.SafeEncodeString's alphabet: pod-template-hash values and generateName suffixes.
    private const string SafeChars = "[bcdfghjklmnpqrstvwxz2456789]";

    private readonly NodeAgentCluster _cluster;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    public DeploymentTests(NodeAgentFixture fixture, ITestOutputHelper output)
    {
        _cluster = fixture.Cluster;
        _output = output;
    }

    private Kubectl Kubectl => _cluster.Kubectl;

    [Fact]
    public async Task Deployment_ThreeReplicas_RollsOutThroughOneReplicaSetNamedByTemplateHash()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, Manifest("web", 3, marker));
        await RolloutStatusAsync(_cluster, ns, "web");

        var deployment = await GetAsync(Kubectl, $"deployment web -n {ns}");
        var rs = Assert.Single(await ReplicaSetsAsync(Kubectl, ns));
        var hash = Str(rs["metadata"]!["labels"]!["pod-template-hash"]);
        Assert.Matches($"^{SafeChars}{{1,10}}$", hash);
        Assert.Equal($"web-{hash}", Name(rs));
        Assert.Equal("web", Str(rs["metadata"]!["labels"]!["app"]));
        Assert.Equal(hash, Str(rs["spec"]!["selector"]!["matchLabels"]!["pod-template-hash"]));
        Assert.Equal(hash, Str(rs["spec"]!["template"]!["metadata"]!["labels"]!["pod-template-hash"]));
        Assert.Equal("1", Annotation(rs, RevisionAnnotation));
        Assert.Equal("3", Annotation(rs, "deployment.kubernetes.io/desired-replicas"));
        // 3 + maxSurge (25% of 3, rounded up).
        Assert.Equal("4", Annotation(rs, "deployment.kubernetes.io/max-replicas"));
        AssertControllerRef(rs, "apps/v1", "Deployment", deployment);
        Assert.Equal(3, Int(rs["spec"]!["replicas"]));
        foreach (var field in new[] { "replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas" })
        {
            Assert.True(Int(rs["status"]![field]) == 3, $"ReplicaSet status.{field}: {rs["status"]}");
        }
        Assert.Equal(Int(rs["metadata"]!["generation"]), Int(rs["status"]!["observedGeneration"]));

        var pods = await PodsAsync(Kubectl, ns, "web");
        Assert.Equal(3, pods.Count);
        foreach (var pod in pods)
        {
            Assert.True(IsRunningAndReady(pod) && !IsTerminating(pod), $"pod {Name(pod)}: {pod["status"]}");
            Assert.Matches($"^web-{hash}-{SafeChars}{{5}}$", Name(pod));
            Assert.Equal(hash, Str(pod["metadata"]!["labels"]!["pod-template-hash"]));
            AssertControllerRef(pod, "apps/v1", "ReplicaSet", rs);
        }

        Assert.Equal("1", Annotation(deployment, RevisionAnnotation));
        var status = deployment["status"]!;
        foreach (var field in new[] { "replicas", "updatedReplicas", "readyReplicas", "availableReplicas" })
        {
            Assert.True(Int(status[field]) == 3, $"Deployment status.{field}: {status}");
        }
        Assert.Null(status["unavailableReplicas"]);
        Assert.Equal(Int(deployment["metadata"]!["generation"]), Int(status["observedGeneration"]));
        AssertCondition(deployment, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.");
        AssertCondition(deployment, "Progressing", "True", "NewReplicaSetAvailable", $"ReplicaSet \"web-{hash}\" has successfully progressed.");

        await WaitForEventsAsync(ns, [("web", "ScalingReplicaSet", $"Scaled up replica set web-{hash} from 0 to 3"),
            .. pods.Select(p => (Name(rs), "SuccessfulCreate", $"Created pod: {Name(p)}"))]);
    }

    [Fact]
    public async Task Deployment_PodDeletedOrItsProcessKilled_ReplacedByTheReplicaSetOrRestartedByTheKubelet()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, Manifest("heal", 3, marker));
        await RolloutStatusAsync(_cluster, ns, "heal");
        var rs = Assert.Single(await ReplicaSetsAsync(Kubectl, ns));
        var before = (await PodsAsync(Kubectl, ns, "heal")).Select(Name).ToHashSet();
        var victim = before.First();

        await Kubectl.OkAsync($"delete pod {victim} -n {ns} --timeout=60s");
        var after = await WaitForActivePodsAsync(_cluster, ns, "heal", pods => pods.Count == 3 && pods.All(IsRunningAndReady),
            $"3 Running and Ready pods after deleting {victim}");
        var names = after.Select(Name).ToHashSet();
        Assert.DoesNotContain(victim, names);
        var replacement = Assert.Single(names.Except(before));
        Assert.Equal(before.Count - 1, names.Intersect(before).Count());
        Assert.All(after, p => AssertControllerRef(p, "apps/v1", "ReplicaSet", rs));
        Assert.Single(await ReplicaSetsAsync(Kubectl, ns));
        await WaitForEventsAsync(ns, [(Name(rs), "SuccessfulCreate", $"Created pod: {replacement}")]);

        // SIGKILL of the process is the kubelet's to repair: the same pod restarts its container, nothing is replaced.
        var target = names.Order(StringComparer.Ordinal).First();
        var pid = PodProcess(marker, target);
        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
        }
        var restarted = await _cluster.WaitForPodAsync(ns, target, p => RestartCount(p, "app") == 1 && Condition(p, "Ready") == "True", "restartCount 1 and Ready");
        Assert.Equal("Running", Phase(restarted));
        Assert.NotEqual(pid, PodProcess(marker, target));
        var healed = await WaitForActivePodsAsync(_cluster, ns, "heal", pods => pods.Count == 3 && pods.All(IsRunningAndReady), "3 Running and Ready pods after the kill");
        Assert.Equal(names, healed.Select(Name).ToHashSet());
        await WaitForAsync(async () => Int((await GetAsync(Kubectl, $"deployment heal -n {ns}"))["status"]!["readyReplicas"]) == 3,
            () => "the Deployment's readyReplicas back at 3", 30);
        Assert.Equal(3, Int((await GetAsync(Kubectl, $"rs {Name(rs)} -n {ns}"))["status"]!["replicas"]));
    }

    [Fact]
    public async Task Deployment_ScaledUpThenDown_PodCountFollowsAndNoLeftovers()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, Manifest("scale", 3, marker));
        await RolloutStatusAsync(_cluster, ns, "scale");
        var rsName = Name(Assert.Single(await ReplicaSetsAsync(Kubectl, ns)));

        Assert.Equal("deployment.apps/scale scaled\n", await Kubectl.OkAsync($"scale deployment/scale --replicas=5 -n {ns}"));
        await RolloutStatusAsync(_cluster, ns, "scale");
        var five = await WaitForActivePodsAsync(_cluster, ns, "scale", pods => pods.Count == 5 && pods.All(IsRunningAndReady), "5 Running and Ready pods");
        var rs = Assert.Single(await ReplicaSetsAsync(Kubectl, ns));
        Assert.Equal(rsName, Name(rs));
        Assert.Equal(5, Int(rs["spec"]!["replicas"]));
        Assert.Equal("5", Annotation(rs, "deployment.kubernetes.io/desired-replicas"));
        Assert.Equal("7", Annotation(rs, "deployment.kubernetes.io/max-replicas"));
        Assert.Equal("1", Annotation(rs, RevisionAnnotation));

        Assert.Equal("deployment.apps/scale scaled\n", await Kubectl.OkAsync($"scale deployment/scale --replicas=1 -n {ns}"));
        List<JsonNode> all = [];
        await WaitForAsync(async () => (all = await PodsAsync(Kubectl, ns, "scale")).Count == 1 && !IsTerminating(all[0]) && IsRunningAndReady(all[0]),
            () => $"exactly one pod, Ready, none terminating; got {string.Join(", ", all.Select(p => $"{Name(p)} {(IsTerminating(p) ? "terminating" : Phase(p))}"))}", 60);
        Assert.Contains(Name(all[0]), five.Select(Name));
        await WaitForAsync(async () =>
        {
            rs = await GetAsync(Kubectl, $"rs {rsName} -n {ns}");
            return Int(rs["status"]!["replicas"]) == 1;
        }, () => $"ReplicaSet status.replicas 1: {rs["status"]}", 30);
        Assert.Equal(1, Int(rs["spec"]!["replicas"]));
        Assert.Equal(1, Int(rs["status"]!["readyReplicas"]));
        await RolloutStatusAsync(_cluster, ns, "scale");
        await AssertProcessCountAsync(marker, 1);

        var deleted = five.Select(Name).Where(n => n != Name(all[0]));
        await WaitForEventsAsync(ns, [
            ("scale", "ScalingReplicaSet", $"Scaled up replica set {rsName} to 5 from 3"),
            ("scale", "ScalingReplicaSet", $"Scaled down replica set {rsName} to 1 from 5"),
            .. deleted.Select(n => (rsName, "SuccessfulDelete", $"Deleted pod: {n}"))]);
    }

    [Fact]
    public async Task Deployment_SetEnvUndoRestartSetImage_EachRollsOutANewRevision()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, Manifest("roll", 3, marker));
        await RolloutStatusAsync(_cluster, ns, "roll");
        var first = Name(Assert.Single(await ReplicaSetsAsync(Kubectl, ns)));

        Assert.Equal("deployment.apps/roll env updated\n", await Kubectl.OkAsync($"set env deployment/roll FOO=bar -n {ns}"));
        await RolloutStatusAsync(_cluster, ns, "roll");
        var second = await AssertRevisionAsync(ns, "roll", 2, 3, [first]);
        var rs1 = await GetAsync(Kubectl, $"rs {first} -n {ns}");
        Assert.Equal(0, Int(rs1["spec"]!["replicas"]));
        Assert.Equal(0, Int(rs1["status"]!["replicas"]));
        foreach (var pod in await ActivePodsOfAsync(ns, "roll", second))
        {
            Assert.Equal("bar", (await PodEnvAsync(pod)).GetValueOrDefault("FOO"));
        }
        Assert.Equal(new[] { "1", "2" }, HistoryRevisions(await Kubectl.OkAsync($"rollout history deployment/roll -n {ns}")));

        // Undo goes back to revision 1's template: its ReplicaSet is reused and becomes revision 3.
        Assert.Equal("deployment.apps/roll rolled back\n", await Kubectl.OkAsync($"rollout undo deployment/roll -n {ns}"));
        await RolloutStatusAsync(_cluster, ns, "roll");
        var undone = await AssertRevisionAsync(ns, "roll", 3, 3, [second]);
        Assert.Equal(first, undone);
        Assert.Equal("1", Annotation(await GetAsync(Kubectl, $"rs {first} -n {ns}"), "deployment.kubernetes.io/revision-history"));
        Assert.Equal(2, (await ReplicaSetsAsync(Kubectl, ns)).Count);
        var undonePods = await ActivePodsOfAsync(ns, "roll", first);
        foreach (var pod in undonePods)
        {
            Assert.False((await PodEnvAsync(pod)).ContainsKey("FOO"), $"pod {Name(pod)} still has FOO after the undo");
        }
        Assert.Equal(new[] { "2", "3" }, HistoryRevisions(await Kubectl.OkAsync($"rollout history deployment/roll -n {ns}")));

        Assert.Equal("deployment.apps/roll restarted\n", await Kubectl.OkAsync($"rollout restart deployment/roll -n {ns}"));
        await RolloutStatusAsync(_cluster, ns, "roll");
        var restarted = await AssertRevisionAsync(ns, "roll", 4, 3, [first, second]);
        var restartedPods = await ActivePodsOfAsync(ns, "roll", restarted);
        Assert.Empty(restartedPods.Select(Name).Intersect(undonePods.Select(Name)));
        Assert.All(restartedPods, p => Assert.NotNull(p["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"]));

        // Process pods ignore the image, but it is part of the template: a new ReplicaSet rolls out with it.
        Assert.Equal("deployment.apps/roll image updated\n", await Kubectl.OkAsync($"set image deployment/roll app=other -n {ns}"));
        await RolloutStatusAsync(_cluster, ns, "roll");
        var imaged = await AssertRevisionAsync(ns, "roll", 5, 3, [first, second, restarted]);
        Assert.Equal("other", Str((await GetAsync(Kubectl, $"rs {imaged} -n {ns}"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]));
        foreach (var pod in await ActivePodsOfAsync(ns, "roll", imaged))
        {
            Assert.Equal("other", Str(pod["spec"]!["containers"]![0]!["image"]));
            Assert.Equal("other", Str(ContainerStatus(pod, "app")!["image"]));
        }
        Assert.Equal(new[] { "2", "3", "4", "5" }, HistoryRevisions(await Kubectl.OkAsync($"rollout history deployment/roll -n {ns}")));
    }

    [Fact]
    public async Task Deployment_RollingUpdateMaxSurge1MaxUnavailable0_NeverBelowThreeReadyOrAboveFourPods()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, Manifest("surge", 3, marker, spec: """
              strategy:
                type: RollingUpdate
                rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
            """));
        await RolloutStatusAsync(_cluster, ns, "surge");

        var observations = new List<(int Ready, int Active, int Terminating, int Desired, string Pods)>();
        using var stop = new CancellationTokenSource();
        var observer = Task.Run(async () =>
        {
            // One list of pods is one consistent snapshot; the ReplicaSets come from a second list.
            while (!stop.IsCancellationRequested)
            {
                var items = await ItemsAsync(Kubectl, $"rs,pods -n {ns}");
                var pods = items.Where(i => Str(i["kind"]) == "Pod" && Str(i["metadata"]!["labels"]?["app"]) == "surge").ToList();
                var active = pods.Where(p => !IsTerminating(p)).ToList();
                var desired = items.Where(i => Str(i["kind"]) == "ReplicaSet").Sum(r => Int(r["spec"]!["replicas"]));
                lock (observations)
                {
                    observations.Add((active.Count(IsRunningAndReady), active.Count, pods.Count - active.Count, desired,
                        string.Join(", ", pods.Select(p => $"{Name(p)} {(IsTerminating(p) ? "terminating" : IsRunningAndReady(p) ? "ready" : Phase(p))}"))));
                }
                await Task.Delay(200);
            }
        });
        await Kubectl.OkAsync($"set env deployment/surge FOO=bar -n {ns}");
        await RolloutStatusAsync(_cluster, ns, "surge");
        await stop.CancelAsync();
        await observer;

        Assert.True(observations.Count >= 5, $"only {observations.Count} observations");
        foreach (var o in observations)
        {
            Assert.True(o.Ready >= 3 && o.Active <= 4 && o.Desired <= 4, $"observed {o.Ready} ready of {o.Active} pods (+{o.Terminating} terminating), ReplicaSets want {o.Desired}: {o.Pods}");
        }
        Assert.Contains(observations, o => o.Active == 4);
        await AssertRevisionAsync(ns, "surge", 2, 3, [.. (await ReplicaSetsAsync(Kubectl, ns)).Where(r => Annotation(r, RevisionAnnotation) == "1").Select(Name)]);
    }

    [Fact]
    public async Task DeleteDeployment_DefaultCascade_RemovesReplicaSetsPodsAndProcesses()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, Manifest("gone", 2, marker));
        await RolloutStatusAsync(_cluster, ns, "gone");
        Assert.Equal(2, ProcessesWith(marker).Count);

        Assert.Equal("deployment.apps \"gone\" deleted\n", await Kubectl.OkAsync($"delete deployment gone -n {ns}"));
        var left = new KubectlResult(0, "", "");
        await WaitForAsync(async () => (left = await Kubectl.RunAsync($"get rs,pods -n {ns}")).Stdout == "",
            () => $"no ReplicaSets or pods left; kubectl get rs,pods: {left}\nserver log tail:\n{Tail(_cluster.Server.Output, 40)}", 60);
        Assert.Equal($"No resources found in {ns} namespace.\n", left.Stderr);
        await AssertNoProcessesAsync(marker);
    }

    [Fact]
    public async Task DeleteReplicaSet_CascadeOrphan_PodsStayWithoutOwnerReferences()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        await _cluster.ApplyAsync(ns, Manifest("orphans", 2, marker, kind: "ReplicaSet"));
        var pods = await WaitForActivePodsAsync(_cluster, ns, "orphans", p => p.Count == 2 && p.All(IsRunningAndReady), "2 Running and Ready pods of the ReplicaSet");
        var rs = await GetAsync(Kubectl, $"rs orphans -n {ns}");
        Assert.All(pods, p => AssertControllerRef(p, "apps/v1", "ReplicaSet", rs));

        Assert.Equal("replicaset.apps \"orphans\" deleted\n", await Kubectl.OkAsync($"delete rs orphans --cascade=orphan -n {ns}"));
        var gone = await Kubectl.RunAsync($"get rs orphans -n {ns}");
        Assert.Contains("NotFound", gone.Stderr, StringComparison.Ordinal);
        // Long enough for a controller or the garbage collector that wrongly acted on them to have done so.
        await Task.Delay(2000);
        var after = await PodsAsync(Kubectl, ns, "orphans");
        Assert.Equal(pods.Select(Name).Order(), after.Select(Name).Order());
        foreach (var pod in after)
        {
            Assert.False(IsTerminating(pod), $"orphaned pod {Name(pod)} is being deleted");
            Assert.True(IsRunningAndReady(pod), $"orphaned pod {Name(pod)}: {pod["status"]}");
            Assert.True(pod["metadata"]!["ownerReferences"] is null || pod["metadata"]!["ownerReferences"]!.AsArray().Count == 0,
                $"orphaned pod {Name(pod)} still has ownerReferences {pod["metadata"]!["ownerReferences"]}");
        }
        Assert.Equal(2, ProcessesWith(marker).Count);

        await Kubectl.OkAsync($"delete pods -l app=orphans -n {ns} --timeout=60s");
        await AssertNoProcessesAsync(marker);
    }

    [Fact]
    public async Task DeleteDeployment_CascadeForeground_DeploymentWaitsWithFinalizerUntilPodsAreGone()
    {
        var ns = await _cluster.NamespaceAsync();
        var marker = _cluster.NewMarker();
        // A 2 s preStop keeps the pods terminating long enough to watch the Deployment wait for them.
        await _cluster.ApplyAsync(ns, Manifest("fg", 2, marker, container: """
                    lifecycle:
                      preStop:
                        exec: {command: [sh, -c, "sleep 2"]}
            """));
        await RolloutStatusAsync(_cluster, ns, "fg");

        Assert.Equal("deployment.apps \"fg\" deleted\n", await Kubectl.OkAsync($"delete deployment fg --cascade=foreground --wait=false -n {ns}"));
        var waitedWithPods = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var result = await Kubectl.RunAsync($"get deployment fg -n {ns} -o json");
            if (result.ExitCode != 0)
            {
                Assert.Contains("NotFound", result.Stderr, StringComparison.Ordinal);
                break;
            }
            var deployment = JsonNode.Parse(result.Stdout)!;
            Assert.NotNull(deployment["metadata"]!["deletionTimestamp"]);
            Assert.Contains("foregroundDeletion", deployment["metadata"]!["finalizers"]?.AsArray().Select(f => Str(f)) ?? []);
            if ((await PodsAsync(Kubectl, ns, "fg")).Count > 0)
            {
                waitedWithPods++;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the Deployment is still there after 60 s:\n{deployment}\n{await Summary(Kubectl, ns)}\nserver log tail:\n{Tail(_cluster.Server.Output, 40)}");
            await Task.Delay(200);
        }
        Assert.True(waitedWithPods > 0, "never saw the Deployment waiting while its pods existed");
        // Foreground: the owner goes last, so nothing of it can be left once it is gone.
        Assert.Empty(await PodsAsync(Kubectl, ns, "fg"));
        Assert.Empty(await ReplicaSetsAsync(Kubectl, ns));
        await AssertNoProcessesAsync(marker);
    }

    /// <summary>
    /// Asserts the Deployment's newest ReplicaSet has the revision and all replicas (Ready), that the listed older
    /// ones are scaled to 0, and returns the newest's name.
    /// </summary>
    private async Task<string> AssertRevisionAsync(string ns, string deployment, int revision, int replicas, string[] older)
    {
        var rss = await ReplicaSetsAsync(Kubectl, ns);
        var current = rss.Where(r => Annotation(r, RevisionAnnotation) == revision.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(current.Count == 1, $"expected one ReplicaSet with revision {revision}: {await Summary(Kubectl, ns)}");
        var rs = current[0];
        Assert.Equal(replicas, Int(rs["spec"]!["replicas"]));
        Assert.Equal(replicas, Int(rs["status"]!["readyReplicas"]));
        Assert.Equal(revision.ToString(System.Globalization.CultureInfo.InvariantCulture), Annotation(await GetAsync(Kubectl, $"deployment {deployment} -n {ns}"), RevisionAnnotation));
        foreach (var old in older.Where(o => o != Name(rs)))
        {
            var oldRs = rss.Single(r => Name(r) == old);
            Assert.True(Int(oldRs["spec"]!["replicas"]) == 0 && Int(oldRs["status"]!["replicas"]) == 0, $"old ReplicaSet {old}: spec {oldRs["spec"]!["replicas"]}, status {oldRs["status"]}");
        }
        return Name(rs);
    }

    /// <summary>The Deployment's pods not terminating, all of which must belong to the ReplicaSet and be Ready.</summary>
    private async Task<List<JsonNode>> ActivePodsOfAsync(string ns, string app, string rsName)
    {
        var rs = await GetAsync(Kubectl, $"rs {rsName} -n {ns}");
        var active = (await PodsAsync(Kubectl, ns, app)).Where(p => !IsTerminating(p)).ToList();
        Assert.True(active.Count == Int(rs["spec"]!["replicas"]), $"{active.Count} active pods for ReplicaSet {rsName}: {await Summary(Kubectl, ns)}");
        foreach (var pod in active)
        {
            AssertControllerRef(pod, "apps/v1", "ReplicaSet", rs);
            Assert.True(IsRunningAndReady(pod), $"pod {Name(pod)}: {pod["status"]}");
        }
        return active;
    }

    private static void AssertControllerRef(JsonNode obj, string apiVersion, string kind, JsonNode owner)
    {
        var refs = obj["metadata"]!["ownerReferences"]?.AsArray();
        Assert.True(refs is { Count: 1 }, $"{Name(obj)}: ownerReferences {refs}");
        var owned = refs![0]!;
        Assert.Equal(apiVersion, Str(owned["apiVersion"]));
        Assert.Equal(kind, Str(owned["kind"]));
        Assert.Equal(Name(owner), Str(owned["name"]));
        Assert.Equal(Str(owner["metadata"]!["uid"]), Str(owned["uid"]));
        Assert.True(owned["controller"]?.GetValue<bool>() == true && owned["blockOwnerDeletion"]?.GetValue<bool>() == true, $"{Name(obj)}: ownerReference {owned}");
    }

    private static void AssertCondition(JsonNode obj, string type, string status, string reason, string message)
    {
        var condition = obj["status"]?["conditions"]?.AsArray().FirstOrDefault(c => Str(c!["type"]) == type);
        Assert.True(condition is not null, $"no {type} condition: {obj["status"]}");
        Assert.Equal((type, status, reason, message), (type, Str(condition!["status"]), Str(condition["reason"]), Str(condition["message"])));
    }

    private async Task WaitForEventsAsync(string ns, (string Object, string Reason, string Message)[] expected)
    {
        List<(string Type, string Reason, string Object, string Message, string FieldPath)> events = [];
        await WaitForAsync(async () =>
        {
            events = await _cluster.EventsAsync(ns);
            return expected.All(x => events.Any(e => e.Object == x.Object && e.Reason == x.Reason && e.Message == x.Message));
        }, () => $"events {string.Join("; ", expected.Where(x => !events.Any(e => e.Object == x.Object && e.Reason == x.Reason && e.Message == x.Message)))}; have:\n{string.Join('\n', events)}", 15);
    }

    private static async Task AssertProcessCountAsync(string marker, int count)
    {
        List<int> pids = [];
        await WaitForAsync(() => Task.FromResult((pids = ProcessesWith(marker)).Count == count),
            () => $"{count} processes with marker {marker}; have {string.Join(", ", pids.Select(Describe))}", 15);
    }

    /// <summary>The revision numbers `kubectl rollout history` lists.</summary>
    private static string[] HistoryRevisions(string output) => [.. HistoryLine().Matches(output).Select(m => m.Groups[1].Value)];

    [GeneratedRegex(@"^(\d+)\s+<none>\s*$", RegexOptions.Multiline)]
    private static partial Regex HistoryLine();

    public void Dispose() => _output.WriteLine($"wall time {_watch.Elapsed.TotalSeconds:F1} s");
}
