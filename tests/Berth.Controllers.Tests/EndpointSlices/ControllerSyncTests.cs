using System.Globalization;
using Berth.Api.Models;
using Berth.Client;
using Berth.Api.Serialization;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.EndpointSlices;
using Microsoft.Extensions.Time.Testing;
using static Berth.Controllers.Tests.EndpointSlices.ControllerHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.EndpointSlices;

// Upstream endpointslice_controller_test.go's syncService cases, against the real API server: the informers fill the
// caches (upstream adds to the stores by hand), the test calls the sync (no workers run) and reads the writes.
public sealed class ControllerSyncTests(SliceControllerApiFixture fixture) : IClassFixture<SliceControllerApiFixture>
{
    private static readonly Dictionary<string, string> s_fooBar = new() { ["foo"] = "bar" };

    // TestSyncServiceNoSelector
    [Fact]
    public async Task SyncService_NoSelector_WritesNothing()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        await h.CreateServiceAsync(NewService(ns, "testing-1", selector: null));

        await h.SyncAsync(ns, "testing-1");

        Assert.Empty(h.Writes.All);
        Assert.Empty((await h.Client.ListAsync<EndpointSlice>(ns)).Items);
    }

    public static TheoryData<string, Dictionary<string, string>?, bool> ExternalNameCases => new()
    {
        { "External name with selector and ports should not receive endpoint slices", s_fooBar, true },
        { "External name with ports should not receive endpoint slices", null, true },
        { "External name with selector should not receive endpoint slices", s_fooBar, false },
        { "External name without selector and ports should not receive endpoint slices", null, false },
    };

    // TestServiceExternalNameTypeSync
    [Theory]
    [MemberData(nameof(ExternalNameCases))]
    public async Task SyncService_ExternalName_WritesNothing(string desc, Dictionary<string, string>? selector, bool withPorts)
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var node = await h.CreateNodeAsync("n-" + ns);
        await h.RunPodAsync(NewPod(ns, "pod1", s_fooBar, node.Metadata!.Name!), "127.244.0.1");
        await h.CreateServiceAsync(new Service
        {
            Metadata = new ObjectMeta { Name = "testing-1", Namespace = ns },
            Spec = new ServiceSpec
            {
                Type = "ExternalName",
                ExternalName = "foo.example.com",
                Selector = selector,
                Ports = withPorts ? [new ServicePort { Port = 80, Protocol = "TCP" }] : null,
            },
        });

        await h.SyncAsync(ns, "testing-1");

        Assert.True(h.Writes.Count == 0, desc);
        Assert.Empty((await h.Client.ListAsync<EndpointSlice>(ns)).Items);
    }

    // TestSyncServicePendingDeletion: a Service being deleted gets no new slices (the garbage collector is coming).
    [Fact]
    public async Task SyncService_ServicePendingDeletion_CreatesNothing()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var service = NewService(ns, "testing-1", s_fooBar);
        service.Metadata!.Finalizers = ["test.berth.dev/hold"];
        await h.Client.CreateAsync(service);
        await h.Client.DeleteAsync<Service>(ns, "testing-1");
        var deleting = await h.Client.GetAsync<Service>(ns, "testing-1");
        Assert.NotNull(deleting.Metadata!.DeletionTimestamp);
        await h.SeenAsync(deleting);

        try
        {
            await h.SyncAsync(ns, "testing-1");

            Assert.Empty(h.Writes.All);
            Assert.Empty((await h.Client.ListAsync<EndpointSlice>(ns)).Items);
        }
        finally
        {
            await h.Client.PatchAsync<Service>(ns, "testing-1", PatchType.Merge, """{"metadata":{"finalizers":null}}""");
        }
    }

    // TestSyncServiceWithSelector: a selector with no pods still gets one (placeholder) slice.
    [Fact]
    public async Task SyncService_SelectorWithoutPods_CreatesOneEmptySlice()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        await h.CreateServiceAsync(NewService(ns, "testing-1", s_fooBar));

        await h.SyncAsync(ns, "testing-1");

        Assert.Equal([("create", h.Writes.All[0].Name)], h.Writes.All);
        var slice = Assert.Single((await h.Client.ListAsync<EndpointSlice>(ns)).Items);
        Assert.StartsWith("testing-1-", slice.Metadata!.Name, StringComparison.Ordinal);
        Assert.Equal("testing-1", slice.Metadata.Labels![EndpointSliceRules.ServiceNameLabel]);
        Assert.Equal(EndpointSliceRules.ControllerName, slice.Metadata.Labels[EndpointSliceRules.ManagedByLabel]);
        Assert.Empty(slice.Ports ?? []);
        Assert.Empty(slice.Endpoints ?? []);
        Assert.False(string.IsNullOrEmpty(slice.Metadata.Annotations?.GetValueOrDefault(PodEndpointRules.LastChangeTriggerTimeAnnotation)));
    }

    // TestSyncServiceMissing: a deleted Service's sync succeeds without writing, and forgets only that Service.
    [Fact]
    public async Task SyncService_ServiceMissing_ForgetsOnlyThatService()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        await h.CreateServiceAsync(NewService(ns, "stillthere", s_fooBar));
        var gone = await h.CreateServiceAsync(NewService(ns, "notthere", s_fooBar));
        await h.SyncAsync(ns, "stillthere");
        await h.SyncAsync(ns, "notthere");
        var stillSlice = Assert.Single(await h.SlicesAsync(ns, "stillthere"));
        var goneSlice = Assert.Single(await h.SlicesAsync(ns, "notthere"));
        Assert.True(h.Controller.Tracker.Has(goneSlice));
        await h.Client.DeleteAsync<Service>(ns, "notthere");
        await h.GoneAsync(gone);
        var writes = h.Writes.Count;

        await h.SyncAsync(ns, "notthere");

        Assert.Equal(writes, h.Writes.Count);
        Assert.False(h.Controller.Tracker.Has(goneSlice));
        Assert.True(h.Controller.Tracker.Has(stillSlice));
        Assert.Equal(stillSlice.Metadata!.ResourceVersion, Assert.Single(await h.SlicesAsync(ns, "stillthere")).Metadata!.ResourceVersion);
    }

    // TestSyncServicePodSelection
    [Fact]
    public async Task SyncService_PodSelection_OnlyMatchingPod()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        var pod1 = await h.RunPodAsync(NewPod(ns, "pod1", s_fooBar, node), "127.244.0.1");
        await h.RunPodAsync(NewPod(ns, "pod2", new() { ["foo"] = "boo" }, node), "127.244.0.2");
        await h.CreateServiceAsync(NewService(ns, "testing-1", s_fooBar));

        await h.SyncAsync(ns, "testing-1");

        Assert.Equal(["create"], h.Writes.All.Select(w => w.Verb));
        var slice = Assert.Single(await h.SlicesAsync(ns, "testing-1"));
        var endpoint = Assert.Single(slice.Endpoints!);
        Assert.Equal(("Pod", ns, "pod1", pod1.Metadata!.Uid),
            (endpoint.TargetRef!.Kind, endpoint.TargetRef.Namespace, endpoint.TargetRef.Name, endpoint.TargetRef.Uid));
        Assert.False(string.IsNullOrEmpty(slice.Metadata!.Annotations?.GetValueOrDefault(PodEndpointRules.LastChangeTriggerTimeAnnotation)));
    }

    // TestSyncServiceEndpointSlicePendingDeletion: a slice of ours on its way out is ignored, not fought over.
    [Fact]
    public async Task SyncService_SlicePendingDeletion_IsIgnored()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var service = await h.CreateServiceAsync(NewService(ns, "testing-1", s_fooBar));
        await h.SyncAsync(ns, "testing-1");
        var slice = OwnedSlice(service, "epslice-1", EndpointSliceRules.ControllerName);
        slice.Metadata!.Finalizers = ["test.berth.dev/hold"];
        await h.Client.CreateAsync(slice);
        await h.Client.DeleteAsync<EndpointSlice>(ns, "epslice-1");
        var deleting = await h.Client.GetAsync<EndpointSlice>(ns, "epslice-1");
        Assert.NotNull(deleting.Metadata!.DeletionTimestamp);
        await h.SeenAsync(deleting);
        var writes = h.Writes.Count;

        try
        {
            await h.SyncAsync(ns, "testing-1");

            Assert.Equal(writes, h.Writes.Count);
        }
        finally
        {
            await h.Client.PatchAsync<EndpointSlice>(ns, "epslice-1", PatchType.Merge, """{"metadata":{"finalizers":null}}""");
        }
    }

    // TestSyncServiceEndpointSliceLabelSelection: only the slices labelled for the Service and managed by this
    // controller are its slices; of the two (empty) ones, one is updated into the placeholder and one deleted.
    [Fact]
    public async Task SyncService_SliceLabelSelection_OnlyManagedSlicesOfTheService()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var service = await h.CreateServiceAsync(NewService(ns, "testing-1", s_fooBar));
        var partial = OwnedSlice(service, "partially-matching-1", managedBy: null);
        partial.Metadata!.OwnerReferences = null;
        var otherService = OwnedSlice(service, "not-matching-1", EndpointSliceRules.ControllerName);
        otherService.Metadata!.OwnerReferences = null;
        otherService.Metadata.Labels![EndpointSliceRules.ServiceNameLabel] = "something-else";
        var otherController = OwnedSlice(service, "not-matching-2", "something-else");
        otherController.Metadata!.OwnerReferences = null;
        List<EndpointSlice> created = [];
        foreach (var slice in new[]
        {
            OwnedSlice(service, "matching-1", EndpointSliceRules.ControllerName),
            OwnedSlice(service, "matching-2", EndpointSliceRules.ControllerName),
            partial, otherService, otherController,
        })
        {
            var written = await h.Client.CreateAsync(slice);
            await h.SeenAsync(written);
            created.Add(written);
        }

        await h.SyncAsync(ns, "testing-1");

        Assert.Equal(["update", "delete"], h.Writes.All.Select(w => w.Verb));
        Assert.All(h.Writes.All, w => Assert.StartsWith("matching-", w.Name, StringComparison.Ordinal));
        var after = (await h.Client.ListAsync<EndpointSlice>(ns)).Items.ToDictionary(s => s.Metadata!.Name!);
        foreach (var untouched in created.Skip(2))
        {
            Assert.Equal(untouched.Metadata!.ResourceVersion, after[untouched.Metadata.Name!].Metadata!.ResourceVersion);
        }
    }

    public static TheoryData<string, int, bool> StaleInformerCases => new()
    {
        { "informer cache outdated", 2, true },
        { "cache and tracker synced", 0, false },
        { "tracker outdated", -1, false },
    };

    // TestSyncServiceStaleInformer: the tracker remembers a newer generation of our slice than the cache shows.
    [Theory]
    [MemberData(nameof(StaleInformerCases))]
    public async Task SyncService_StaleInformer_RetriedWithError(string name, int trackerGenerationOffset, bool expectError)
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        await h.CreateServiceAsync(NewService(ns, "testing-1", s_fooBar));
        var slice = new EndpointSlice
        {
            Metadata = new ObjectMeta
            {
                Name = "matching-1",
                Namespace = ns,
                Labels = new()
                {
                    [EndpointSliceRules.ServiceNameLabel] = "testing-1",
                    [EndpointSliceRules.ManagedByLabel] = EndpointSliceRules.ControllerName,
                },
            },
            AddressType = "IPv4",
            Endpoints = [],
        };
        var cached = await h.Client.CreateAsync(slice);
        await h.SeenAsync(cached);
        var generation = cached.Metadata!.Generation ?? 0;
        Assert.True(generation >= 1, "the API server sets an EndpointSlice's generation");
        var tracked = KubeJson.Deserialize<EndpointSlice>(KubeJson.SerializeToUtf8Bytes(cached));
        tracked.Metadata!.Generation = generation + trackerGenerationOffset;
        h.Controller.Tracker.Update(tracked);

        if (expectError)
        {
            var e = await Assert.ThrowsAsync<StaleInformerCacheException>(() => h.SyncAsync(ns, "testing-1"));
            Assert.Equal("EndpointSlice informer cache is out of date", e.Message);
            Assert.Empty(h.Writes.All);
        }
        else
        {
            var error = await Record.ExceptionAsync(() => h.SyncAsync(ns, "testing-1"));
            Assert.True(error is null, $"{name}: {error}");
        }
    }

    // Beyond upstream: a sync that found the cache behind our own write is retried as soon as the informer shows the
    // slice, not after the failure back-off (1 s and up). The clock is fake and never advanced, so only that wake-up
    // can bring the retry.
    [Fact]
    public async Task SyncService_StaleInformer_RetriedWhenTheSliceEventArrives()
    {
        var ns = await fixture.NamespaceAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var h = await StartAsync(fixture.Client, run: true, time: clock);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "testing-1", s_fooBar));
        var placeholder = await h.OneSliceWithAsync(ns, "testing-1");
        // The tracker expects a generation of the slice that the cache has not shown yet.
        var tracked = KubeJson.Deserialize<EndpointSlice>(KubeJson.SerializeToUtf8Bytes(placeholder));
        tracked.Metadata!.Generation = placeholder.Metadata!.Generation + 1;
        h.Controller.Tracker.Update(tracked);

        await h.RunPodAsync(NewPod(ns, "pod-1", s_fooBar, node), "127.244.0.1");
        await UntilAsync(() => h.Controller.Queue.NumRequeues(ns + "/testing-1") > 0, "the stale sync to fail");
        Assert.Empty(PodsOf(Assert.Single(await h.SlicesAsync(ns, "testing-1"))));

        // Another writer's label change brings the slice to the generation the tracker expects.
        placeholder.Metadata.Labels!["touched"] = "yes";
        await h.Client.UpdateAsync(placeholder);

        await h.OneSliceWithAsync(ns, "testing-1", "pod-1");
    }

    public static TheoryData<string, SyncPodCase[], SyncEndpointCase[]> SyncServiceCases => new()
    {
        {
            "pods with multiple IPs and Service with ipFamilies=ipv4",
            [new("pod0", ["127.244.0.1"], Ready: true, Terminating: false), new("pod1", ["127.244.0.2", "fd08::5678:0:0:9abc:def0"], Ready: true, Terminating: false)],
            [new("pod0", "127.244.0.1", true, true, false), new("pod1", "127.244.0.2", true, true, false)]
        },
        {
            "Terminating pods",
            [new("pod0", ["127.244.0.1"], Ready: true, Terminating: false), new("pod1", ["127.244.0.2"], Ready: true, Terminating: true)],
            [new("pod0", "127.244.0.1", true, true, false), new("pod1", "127.244.0.2", false, true, true)]
        },
        {
            "Not ready terminating pods",
            [new("pod0", ["127.244.0.1"], Ready: true, Terminating: false), new("pod1", ["127.244.0.2"], Ready: false, Terminating: true)],
            [new("pod0", "127.244.0.1", true, true, false), new("pod1", "127.244.0.2", false, false, true)]
        },
        {
            "Ready and Complete pods with same IPs",
            [new("pod0", ["127.244.0.1"], Ready: true, Terminating: false), new("pod1", ["127.244.0.1"], Ready: false, Terminating: false)],
            [new("pod0", "127.244.0.1", true, true, false), new("pod1", "127.244.0.1", false, false, false)]
        },
        {
            // Clients of EndpointSlices deduplicate by address already; two ready pods with one IP is a fault further
            // up the stack that should not be hidden.
            "Two Ready pods with same IPs",
            [new("pod0", ["127.244.0.1"], Ready: true, Terminating: false), new("pod1", ["127.244.0.1"], Ready: true, Terminating: false)],
            [new("pod0", "127.244.0.1", true, true, false), new("pod1", "127.244.0.1", true, true, false)]
        },
    };

    // TestSyncService: the slice a first sync writes, ports and endpoints, with the Service's creation as trigger time.
    [Theory]
    [MemberData(nameof(SyncServiceCases))]
    public async Task SyncService_PodStates_SliceAsUpstream(string name, SyncPodCase[] pods, SyncEndpointCase[] expected)
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var node = (await h.CreateNodeAsync("n-" + ns)).Metadata!.Name!;
        var service = await h.CreateServiceAsync(NewService(ns, "foobar", s_fooBar,
            new ServicePort { Name = "tcp-example", Port = 80, TargetPort = 80, Protocol = "TCP" },
            new ServicePort { Name = "udp-example", Port = 161, TargetPort = 161, Protocol = "UDP" },
            new ServicePort { Name = "sctp-example", Port = 3456, TargetPort = 3456, Protocol = "SCTP" }));
        foreach (var pod in pods)
        {
            await h.CreatePodAsync(NewPod(ns, pod.Name, s_fooBar, node));
            var running = await h.SetStatusAsync(ns, pod.Name, pod.Ready, "Running", pod.Ips);
            if (pod.Terminating)
            {
                // A bound pod waits for its node agent: it stays, with a deletionTimestamp.
                await h.Client.DeleteAsync<Pod>(ns, pod.Name);
                var terminating = await h.Client.GetAsync<Pod>(ns, pod.Name);
                Assert.NotNull(terminating.Metadata!.DeletionTimestamp);
                await h.SeenAsync(terminating);
            }
        }

        await h.SyncAsync(ns, "foobar");

        Assert.Equal(["create"], h.Writes.All.Select(w => w.Verb));
        var slice = Assert.Single(await h.SlicesAsync(ns, "foobar"));
        Assert.Equal(GoRfc3339Nano(service.Metadata!.CreationTimestamp!.Value), slice.Metadata!.Annotations![PodEndpointRules.LastChangeTriggerTimeAnnotation]);
        Assert.Equal(
            ["sctp-example/SCTP/3456", "tcp-example/TCP/80", "udp-example/UDP/161"],
            slice.Ports!.Select(p => $"{p.Name}/{p.Protocol}/{p.Port}").Order(StringComparer.Ordinal));
        Assert.Equal(
            expected.Select(e => $"{e.Pod} {e.Address} ready={e.Ready} serving={e.Serving} terminating={e.Terminating} node={node}").Order(StringComparer.Ordinal),
            slice.Endpoints!.Select(e => $"{e.TargetRef!.Name} {string.Join(',', e.Addresses!)} ready={e.Conditions!.Ready} serving={e.Conditions.Serving} terminating={e.Conditions.Terminating} node={e.NodeName}")
                .Order(StringComparer.Ordinal));
        Assert.True(slice.Endpoints!.Count == expected.Length, name);
    }

    // TestSyncServiceFull, with what Berth adds to it: a named targetPort resolving to a different number on each pod
    // splits the endpoints into one slice per port set; the hostname is set only when the pod's subdomain is the
    // Service; the zone comes from the node.
    [Fact]
    public async Task SyncService_NamedPortsAndHostname_OneSlicePerPortSet()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var node = (await h.CreateNodeAsync("n-" + ns, zone: "zone-a")).Metadata!.Name!;
        await h.CreateServiceAsync(NewService(ns, "all-the-protocols", s_fooBar,
            new ServicePort { Name = "http", Port = 80, TargetPort = "http", Protocol = "TCP" },
            new ServicePort { Name = "dns", Port = 53, TargetPort = 5353, Protocol = "UDP" }));
        var podA = NewPod(ns, "pod-a", s_fooBar, node, new ContainerPort { Name = "http", ContainerPortNumber = 8080, Protocol = "TCP" });
        podA.Spec!.Hostname = "a";
        podA.Spec.Subdomain = "all-the-protocols";
        var podB = NewPod(ns, "pod-b", s_fooBar, node, new ContainerPort { Name = "http", ContainerPortNumber = 9090, Protocol = "TCP" });
        podB.Spec!.Hostname = "b";
        podB.Spec.Subdomain = "elsewhere";
        var a = await h.RunPodAsync(podA, "127.244.0.1");
        var b = await h.RunPodAsync(podB, "127.244.0.2");

        await h.SyncAsync(ns, "all-the-protocols");

        Assert.Equal(["create", "create"], h.Writes.All.Select(w => w.Verb));
        var slices = (await h.SlicesAsync(ns, "all-the-protocols"))
            .ToDictionary(s => string.Join(' ', s.Ports!.Select(p => $"{p.Name}/{p.Protocol}/{p.Port}").Order(StringComparer.Ordinal)));
        Assert.Equal(["dns/UDP/5353 http/TCP/8080", "dns/UDP/5353 http/TCP/9090"], slices.Keys.Order(StringComparer.Ordinal));
        var endpointA = Assert.Single(slices["dns/UDP/5353 http/TCP/8080"].Endpoints!);
        var endpointB = Assert.Single(slices["dns/UDP/5353 http/TCP/9090"].Endpoints!);
        Assert.Equal(("127.244.0.1", "a", node, "zone-a", "Pod", "pod-a", a.Metadata!.Uid),
            (string.Join(',', endpointA.Addresses!), endpointA.Hostname, endpointA.NodeName, endpointA.Zone, endpointA.TargetRef!.Kind, endpointA.TargetRef.Name, endpointA.TargetRef.Uid));
        Assert.Equal(("127.244.0.2", (string?)null, node, "zone-a", "Pod", "pod-b", b.Metadata!.Uid),
            (string.Join(',', endpointB.Addresses!), endpointB.Hostname, endpointB.NodeName, endpointB.Zone, endpointB.TargetRef!.Kind, endpointB.TargetRef.Name, endpointB.TargetRef.Uid));
        Assert.All(slices.Values, s => Assert.Equal("IPv4", s.AddressType));
    }

    // Upstream records FailedToUpdateEndpointSlices on the Service when the reconciler fails, and retries.
    [Fact]
    public async Task SyncService_WriteFails_WarningEventAndError()
    {
        var ns = await fixture.NamespaceAsync();
        await using var h = await StartAsync(fixture.Client, run: false);
        var service = await h.CreateServiceAsync(NewService(ns, "testing-1", s_fooBar));
        h.Writes.Fail = (verb, _) => verb == "create" ? new InvalidOperationException("boom") : null;

        var e = await Assert.ThrowsAnyAsync<Exception>(() => h.SyncAsync(ns, "testing-1"));

        Assert.Equal($"failed to create EndpointSlice for Service {ns}/testing-1: boom", e.Message);
        var events = await UntilAsync(() => h.EventsAsync(ns, EndpointSliceController.FailedToUpdateEndpointSlicesReason), ev => ev.Count == 1,
            "a FailedToUpdateEndpointSlices event");
        Assert.Equal(("Warning", $"Error updating Endpoint Slices for Service {ns}/testing-1: failed to create EndpointSlice for Service {ns}/testing-1: boom",
            "endpoint-slice-controller", "Service", "testing-1", service.Metadata!.Uid),
            (events[0].Type, events[0].Message, events[0].Source!.Component, events[0].InvolvedObject!.Kind, events[0].InvolvedObject!.Name, events[0].InvolvedObject!.Uid));
    }

    /// <summary>A slice of <paramref name="service"/> with its labels and controller owner reference, as upstream's tests build them.</summary>
    private static EndpointSlice OwnedSlice(Service service, string name, string? managedBy)
    {
        var labels = new Dictionary<string, string> { [EndpointSliceRules.ServiceNameLabel] = service.Metadata!.Name! };
        if (managedBy is not null)
        {
            labels[EndpointSliceRules.ManagedByLabel] = managedBy;
        }
        return new EndpointSlice
        {
            Metadata = new ObjectMeta
            {
                Name = name,
                Namespace = service.Metadata.Namespace,
                Labels = labels,
                OwnerReferences =
                [
                    new OwnerReference
                    {
                        ApiVersion = "v1", Kind = "Service", Name = service.Metadata.Name, Uid = service.Metadata.Uid,
                        Controller = true, BlockOwnerDeletion = true,
                    },
                ],
            },
            AddressType = "IPv4",
            Endpoints = [],
        };
    }

    // Go's time.RFC3339Nano for a UTC time: fractional seconds only when there are any, trailing zeros dropped.
    private static string GoRfc3339Nano(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        var fraction = utc.Ticks % TimeSpan.TicksPerSecond;
        var text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return fraction == 0 ? text + "Z" : text + "." + (fraction * 100).ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0') + "Z";
    }
}

public sealed record SyncPodCase(string Name, string[] Ips, bool Ready, bool Terminating);

public sealed record SyncEndpointCase(string Pod, string Address, bool Ready, bool Serving, bool Terminating);
