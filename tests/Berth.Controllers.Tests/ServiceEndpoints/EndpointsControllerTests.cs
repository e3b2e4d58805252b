using System.Collections.Concurrent;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Controllers.ServiceEndpoints;
using Microsoft.Extensions.Time.Testing;
using static Berth.Controllers.Tests.ServiceEndpoints.EndpointsHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.ServiceEndpoints;

// Ported from kubernetes pkg/controller/endpoint/endpoints_controller_test.go: the controller running (handlers,
// queue, workers) against the real API server; the tests play the kubelet. Batching runs on a fake clock, so "three
// changes within one batch period" is exact rather than a matter of sleeps.
public sealed class EndpointsControllerTests(EndpointsApiFixture fixture) : IClassFixture<EndpointsApiFixture>
{
    private static readonly Dictionary<string, string> s_fooBar = new() { ["foo"] = "bar" };

    // TestWaitsForAllInformersToBeSynced: a worker that ran before the caches were filled would find no Service and
    // delete its Endpoints (to recreate them later, under a new UID). One worker handles keys in order, so once a
    // Service created afterwards has its Endpoints, the first one has been synced.
    [Fact]
    public async Task Run_WaitsForCaches_ThenLeavesCorrectEndpointsAlone()
    {
        var ns = await fixture.NamespaceAsync();
        var pod = await AddPodDirectlyAsync(fixture.Client, ns);
        var existing = await fixture.Client.CreateAsync(NewEndpoints(ns, "foo", new EndpointSubset { Addresses = [Address(pod)], Ports = [Tcp(8080)] }));
        await fixture.Client.CreateAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));
        await using var harness = await StartAsync(fixture.Client, run: true, startInformers: false, workers: 1);
        harness.Controller.Queue.Add($"{ns}/foo");

        await harness.StartInformersAsync();
        await harness.Client.CreateAsync(NewService(ns, "bar", s_fooBar, Port(80, 8080)));
        await UntilAsync(() => harness.GetEndpointsAsync(ns, "bar"), e => e is not null, "the Endpoints of a later Service");

        var now = await harness.GetEndpointsAsync(ns, "foo");
        Assert.Equal((existing.Metadata!.Uid, existing.Metadata.ResourceVersion), (now?.Metadata?.Uid, now?.Metadata?.ResourceVersion));
    }

    // TestCheckLeftoverEndpoints: at start every Endpoints is queued (one without a Service gets deleted), except
    // leader-election locks, which never have a Service.
    [Fact]
    public async Task CheckLeftoverEndpoints_QueuesAllButLeaderElectionLocks()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo", Foreign()));
        var lockEndpoints = NewEndpoints(ns, "lock");
        lockEndpoints.Metadata!.Annotations = new() { [EndpointsController.LeaderElectionAnnotation] = "{\"holderIdentity\":\"a\"}" };
        await harness.CreateEndpointsAsync(lockEndpoints);
        await DrainAsync(harness);

        harness.Controller.CheckLeftoverEndpoints();

        var queued = await DrainAsync(harness);
        Assert.Contains($"{ns}/foo", queued);
        Assert.DoesNotContain($"{ns}/lock", queued);
    }

    [Fact]
    public async Task Run_EndpointsWithoutService_DeletedAtStart()
    {
        var ns = await fixture.NamespaceAsync();
        await fixture.Client.CreateAsync(NewEndpoints(ns, "orphan", Foreign()));
        var lockEndpoints = NewEndpoints(ns, "lock");
        lockEndpoints.Metadata!.Annotations = new() { [EndpointsController.LeaderElectionAnnotation] = "{}" };
        await fixture.Client.CreateAsync(lockEndpoints);

        await using var harness = await StartAsync(fixture.Client, run: true);

        await UntilAsync(() => harness.GetEndpointsAsync(ns, "orphan"), e => e is null, "the orphaned Endpoints to be deleted");
        Assert.NotNull(await harness.GetEndpointsAsync(ns, "lock"));
    }

    // TestEndpointsDeletionEvents: deleting a Service's Endpoints queues the Service, which writes them again.
    [Fact]
    public async Task EndpointsDeleted_WrittenAgain()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        await harness.AddPodsAsync(ns, 1, 1, 0);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));
        var first = await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e?.Subsets is { Count: 1 }, "the Endpoints");

        await harness.Client.DeleteAsync<Endpoints>(ns, "foo");

        var again = await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e is not null && e.Metadata!.Uid != first!.Metadata!.Uid,
            "the Endpoints to be written again");
        Assert.Equal(SubsetText.Of(first!.Subsets), SubsetText.Of(again!.Subsets));
    }

    // TestMultipleServiceChanges: created, deleted with the Service, created again with it.
    [Fact]
    public async Task ServiceDeletedAndRecreated_EndpointsFollow()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        var service = NewService(ns, "foo", s_fooBar);
        service.Spec!.ClusterIP = "None";
        await harness.Client.CreateAsync(service);
        await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e is not null, "the Endpoints");

        await harness.Client.DeleteAsync<Service>(ns, "foo");
        await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e is null, "the Endpoints to be deleted");
        await harness.Client.CreateAsync(service);

        var again = await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e is not null, "the Endpoints to be created again");
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])] }]), SubsetText.Of(again!.Subsets));
    }

    // TestMultiplePodChanges: Ready, NotReady, Ready in quick succession end with the pod ready, however the updates
    // and the informer's view of the controller's own writes interleave.
    [Fact]
    public async Task PodReadinessFlaps_EndsReady()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: true);
        var pod = await harness.AddPodAsync(ns, 0, 1, ready: true);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));
        await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e?.Subsets is [{ Addresses.Count: 1 }], "the ready address");

        pod = await SetReadyAsync(harness, pod, false);
        pod = await SetReadyAsync(harness, pod, true);
        pod = await SetReadyAsync(harness, pod, false);
        await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e?.Subsets is [{ NotReadyAddresses.Count: 1, Addresses: null or [] }], "the not ready address");
        await SetReadyAsync(harness, pod, true);

        var final = await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => e?.Subsets is [{ Addresses.Count: 1, NotReadyAddresses: null or [] }], "the ready address again");
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pod)], Ports = [Tcp(8080)] }]), SubsetText.Of(final!.Subsets));
    }

    // TestPodAddsBatching, TestPodUpdatesBatching, TestPodDeleteBatching: (batch period, before which of the three
    // changes the clock moves one batch period on) -> Endpoints writes. Without a period every change is a write; with
    // one, changes within a period are one write.
    public static TheoryData<string, string, int, int[], int> BatchingCases
    {
        get
        {
            var data = new TheoryData<string, string, int, int[], int>();
            foreach (var change in new[] { "add", "update", "delete" })
            {
                data.Add($"three {change}s with no batching", change, 0, [], 3);
                data.Add($"three {change}s in one batch", change, 1, [], 1);
                data.Add($"three {change}s in two batches", change, 1, [2], 2);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(BatchingCases))]
    public async Task PodChanges_BatchedByBatchPeriod(string name, string change, int batchSeconds, int[] advanceBefore, int wantWrites)
    {
        var ns = await fixture.NamespaceAsync();
        var batch = TimeSpan.FromSeconds(batchSeconds);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var podVersions = new ConcurrentDictionary<string, string?>();
        var writes = 0;
        string? lastWritten = null;
        await using var harness = await StartAsync(fixture.Client, run: true, batch, clock, informers =>
        {
            // Registered after the controller's handlers: once these saw an event, the controller has queued it.
            informers.For<Pod>().OnAdd(p => podVersions[p.Metadata!.Name!] = p.Metadata.ResourceVersion);
            informers.For<Pod>().OnUpdate((_, p) => podVersions[p.Metadata!.Name!] = p.Metadata.ResourceVersion);
            informers.For<Pod>().OnDelete(p => podVersions[p.Metadata!.Name!] = "deleted");
            informers.For<Endpoints>().OnUpdate((_, e) =>
            {
                if (e.Metadata!.Namespace == ns)
                {
                    Interlocked.Increment(ref writes);
                    Volatile.Write(ref lastWritten, e.Metadata.ResourceVersion);
                }
            });
        });
        var pods = change == "add" ? [] : await harness.AddPodsAsync(ns, 10, 1, 0);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));
        await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => Ips(e).Count == pods.Count, "the first Endpoints");
        Assert.Equal(0, Volatile.Read(ref writes));

        var expectedIps = pods.Select(p => p.Status!.PodIP!).ToHashSet();
        var writesSoFar = 0;
        for (var i = 0; i < 3; i++)
        {
            if (advanceBefore.Contains(i))
            {
                clock.Advance(batch);
                writesSoFar++;
                await UntilAsync(() => Volatile.Read(ref writes) == writesSoFar, $"write {writesSoFar}");
            }
            var (podName, version) = await ChangeAsync(harness, change, ns, i, expectedIps);
            await UntilAsync(() => podVersions.TryGetValue(podName, out var seen) && seen == version, $"the {change} of {podName} to be handled");
            if (batch == TimeSpan.Zero)
            {
                writesSoFar++;
                await UntilAsync(() => Volatile.Read(ref writes) == writesSoFar, $"write {writesSoFar}");
            }
        }
        clock.Advance(batch);

        var final = await UntilAsync(() => harness.GetEndpointsAsync(ns, "foo"), e => Ips(e).SetEquals(expectedIps), "the Endpoints to show every change");
        // The API server answers before the watch delivers: count the writes once the last one has been seen.
        await UntilAsync(() => Volatile.Read(ref lastWritten) == final!.Metadata!.ResourceVersion, "the informer to see the last write");
        Assert.True(wantWrites == Volatile.Read(ref writes), $"{name}: {Volatile.Read(ref writes)} writes, want {wantWrites}");
        Assert.Equal(expectedIps.Order(), Ips(final).Order());
    }

    // One pod change of the batching tests; returns the pod and the version (or "deleted") the informer will show.
    private static async Task<(string Name, string? Version)> ChangeAsync(EndpointsHarness harness, string change, string ns, int i, HashSet<string> expectedIps)
    {
        switch (change)
        {
            case "add":
                var added = await harness.AddPodAsync(ns, i, 1, ready: true);
                expectedIps.Add(added.Status!.PodIP!);
                return (added.Metadata!.Name!, added.Metadata.ResourceVersion);
            case "update":
                // A copy: the cached pod is the controller's view until the informer delivers the update.
                var pod = KubeJson.DeepClone(harness.Pods.Get(ns, $"pod{i}")!);
                expectedIps.Remove(pod.Status!.PodIP!);
                var ip = $"10.0.0.{i}";
                pod.Status.PodIP = ip;
                pod.Status.PodIPs = [new PodIP { Ip = ip }];
                var updated = await harness.Client.UpdateStatusAsync(pod);
                expectedIps.Add(ip);
                return ($"pod{i}", updated.Metadata!.ResourceVersion);
            default:
                expectedIps.Remove(harness.Pods.Get(ns, $"pod{i}")!.Status!.PodIP!);
                await harness.Client.DeleteAsync<Pod>(ns, $"pod{i}", new DeleteOptions { GracePeriodSeconds = 0 });
                return ($"pod{i}", "deleted");
        }
    }

    private static HashSet<string> Ips(Endpoints? endpoints) =>
        [.. (endpoints?.Subsets ?? []).SelectMany(s => (s.Addresses ?? []).Concat(s.NotReadyAddresses ?? [])).Select(a => a.Ip!)];

    private static async Task<Pod> SetReadyAsync(EndpointsHarness harness, Pod pod, bool ready)
    {
        pod.Status!.Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False" }];
        return await harness.Client.UpdateStatusAsync(pod);
    }

    // A ready pod0 written before any informer runs.
    private static async Task<Pod> AddPodDirectlyAsync(Berth.Client.KubeClient client, string ns)
    {
        var pod = await client.CreateAsync(new Pod
        {
            Metadata = new ObjectMeta { Name = "pod0", Namespace = ns, Labels = new(s_fooBar) },
            Spec = new PodSpec { NodeName = NodeName, Containers = [new Container { Name = "c", Image = "busybox" }] },
        });
        pod.Status ??= new PodStatus();
        pod.Status.Phase = "Running";
        pod.Status.PodIP = "1.2.3.4";
        pod.Status.PodIPs = [new PodIP { Ip = "1.2.3.4" }];
        pod.Status.Conditions = [new PodCondition { Type = "Ready", Status = "True" }];
        return await client.UpdateStatusAsync(pod);
    }

    // Takes every key queued so far (the harness runs no workers).
    private static async Task<List<string>> DrainAsync(EndpointsHarness harness)
    {
        var keys = new List<string>();
        while (harness.Controller.Queue.Count > 0)
        {
            var key = (await harness.Controller.Queue.GetAsync(CancellationToken.None))!;
            harness.Controller.Queue.Done(key);
            keys.Add(key);
        }
        return keys;
    }

    private static EndpointPort Tcp(int port) => new() { Port = port, Protocol = "TCP" };
}
