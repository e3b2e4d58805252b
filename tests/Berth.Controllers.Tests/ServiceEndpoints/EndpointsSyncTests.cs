using System.Globalization;
using Berth.Api.Models;
using Berth.Api.Services;
using Berth.Client;
using Berth.Controllers.ServiceEndpoints;
using static Berth.Controllers.Tests.ServiceEndpoints.EndpointsHarness;
using static Berth.Controllers.Tests.Eventually;

namespace Berth.Controllers.Tests.ServiceEndpoints;

// Ported from kubernetes pkg/controller/endpoint/endpoints_controller_test.go: one syncService at a time (no workers)
// against the real API server. Upstream's fake Services have no clusterIP, so its expected Endpoints all carry the
// headless label; here Services get a clusterIP as in a cluster, and only headless ones are labelled.
public sealed class EndpointsSyncTests(EndpointsApiFixture fixture) : IClassFixture<EndpointsApiFixture>
{
    private static readonly Dictionary<string, string> s_fooBar = new() { ["foo"] = "bar" };

    // TestSyncEndpointsItemsPreserveNoSelector
    [Fact]
    public async Task Sync_ServiceWithoutSelector_LeavesEndpointsAlone()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo", Foreign()));
        await harness.CreateServiceAsync(NewService(ns, "foo", selector: null, Port(80, 80)));

        await harness.SyncAsync(ns, "foo");

        await AssertNotWrittenAsync(harness, existing);
    }

    // TestSyncEndpointsExistingNilSubsets, TestSyncEndpointsExistingEmptySubsets
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sync_NoPodsAndNoSubsets_NoWrite(bool emptySubsets)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var endpoints = NewEndpoints(ns, "foo");
        endpoints.Subsets = emptySubsets ? [] : null;
        var existing = await harness.CreateEndpointsAsync(endpoints);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 80)));

        await harness.SyncAsync(ns, "foo");

        await AssertNotWrittenAsync(harness, existing);
    }

    // TestSyncEndpointsWithPodResourceVersionUpdateOnly: targetRefs naming older pod versions are not a change.
    [Fact]
    public async Task Sync_OnlyPodResourceVersionsDiffer_NoWrite()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var pod0 = await harness.AddPodAsync(ns, 0, 1, ready: true);
        var pod1 = await harness.AddPodAsync(ns, 1, 1, ready: false);
        var ready = Address(pod0);
        ready.TargetRef!.ResourceVersion = "1";
        var notReady = Address(pod1);
        notReady.TargetRef!.ResourceVersion = "2";
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo",
            new EndpointSubset { Addresses = [ready], NotReadyAddresses = [notReady], Ports = [EndpointPort(8080)] }));
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));

        await harness.SyncAsync(ns, "foo");

        await AssertNotWrittenAsync(harness, existing);
    }

    // TestSyncEndpointsNewNoSubsets
    [Fact]
    public async Task Sync_NoEndpointsYet_CreatesThemEmpty()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var service = await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 80)));

        await harness.SyncAsync(ns, "foo");

        var created = await harness.GetEndpointsAsync(ns, "foo");
        Assert.NotNull(created);
        Assert.Equal("[]", SubsetText.Of(created.Subsets));
        Assert.Null(created.Metadata!.Labels);
        // The first sync of a Service publishes its creation.
        Assert.Equal(new Dictionary<string, string> { [PodEndpointRules.LastChangeTriggerTimeAnnotation] = PodEndpointRules.FormatRfc3339Nano(service.Metadata!.CreationTimestamp!.Value) },
            created.Metadata.Annotations);
    }

    // TestSyncEndpointsProtocolTCP, TestSyncEndpointsProtocolUDP, TestSyncEndpointsProtocolSCTP
    [Theory]
    [InlineData("TCP")]
    [InlineData("UDP")]
    [InlineData("SCTP")]
    public async Task Sync_ForeignAddresses_ReplacedByThePodsWithTheServiceProtocol(string protocol)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo", Foreign(protocol)));
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080, protocol)));

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, existing);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080, protocol)] }]),
            SubsetText.Of(updated.Subsets));
        Assert.Null(updated.Metadata!.Labels);
    }

    // TestSyncEndpointsHeadlessServiceLabel: the headless label is not compared, so it alone causes no write.
    [Fact]
    public async Task Sync_HeadlessLabelAlreadySet_NoWrite()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var endpoints = NewEndpoints(ns, "foo");
        endpoints.Metadata!.Labels = new() { [ServiceRules.HeadlessLabel] = "" };
        var existing = await harness.CreateEndpointsAsync(endpoints);
        var service = NewService(ns, "foo", s_fooBar, Port(80, 80));
        service.Spec!.ClusterIP = ServiceRules.ClusterIPNone;
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "foo");

        await AssertNotWrittenAsync(harness, existing);
    }

    // TestSyncServiceExternalNameType
    [Theory]
    [InlineData("External name with selector and ports should not receive endpoints", true, true)]
    [InlineData("External name with ports should not receive endpoints", false, true)]
    [InlineData("External name with selector should not receive endpoints", true, false)]
    [InlineData("External name without selector and ports should not receive endpoints", false, false)]
    public async Task Sync_ExternalName_NoEndpoints(string description, bool selector, bool ports)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        await harness.AddPodsAsync(ns, 1, 1, 0);
        var service = NewService(ns, "testing-1", selector ? s_fooBar : null, ports ? [Port(80, 80)] : []);
        service.Spec!.Type = ServiceRules.TypeExternalName;
        service.Spec.ExternalName = "foo.example.com";
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "testing-1");

        Assert.True(await harness.GetEndpointsAsync(ns, "testing-1") is null, description);
    }

    // TestSyncEndpointsItemsEmptySelectorSelectsAll, ...NotReady, ...Mixed: a selector of {} picks every pod of the
    // namespace, ready ones as addresses, the others as notReadyAddresses.
    [Theory]
    [InlineData(1, 0)]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    public async Task Sync_EmptySelector_SelectsEveryPod(int nReady, int nNotReady)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo"));
        var pods = await harness.AddPodsAsync(ns, nReady, 1, nNotReady);
        var service = await harness.CreateServiceAsync(NewService(ns, "foo", [], Port(80, 8080)));
        Assert.Empty(service.Spec!.Selector!);

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, existing);
        var expected = new EndpointSubset
        {
            Addresses = [.. pods.Take(nReady).Select(Address)],
            NotReadyAddresses = [.. pods.Skip(nReady).Select(Address)],
            Ports = [EndpointPort(8080)],
        };
        Assert.Equal(SubsetText.Of([expected]), SubsetText.Of(updated.Subsets));
    }

    // TestSyncEndpointsItemsPreexisting
    [Fact]
    public async Task Sync_Preexisting_ReplacedByTheSelectedPods()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo", Foreign()));
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, existing);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080)] }]), SubsetText.Of(updated.Subsets));
    }

    // TestSyncEndpointsItemsPreexistingIdentical
    [Fact]
    public async Task Sync_PreexistingIdentical_NoWrite()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo",
            new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080)] }));
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));

        await harness.SyncAsync(ns, "foo");

        await AssertNotWrittenAsync(harness, existing);
    }

    // TestSyncEndpointsItems, TestSyncEndpointsItemsWithLabels: several ports, pods of other namespaces left out.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sync_MultiplePorts_OneSubsetWithEveryPodAndPort(bool serviceLabels)
    {
        var ns = await fixture.NamespaceAsync();
        var other = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var pods = await harness.AddPodsAsync(ns, 3, 2, 0);
        await harness.AddPodsAsync(other, 5, 2, 0);
        var service = NewService(ns, "foo", s_fooBar, Port(80, 8080, name: "port0"), Port(88, 8088, name: "port1"));
        if (serviceLabels)
        {
            service.Metadata!.Labels = new(s_fooBar);
        }
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "foo");

        var created = await harness.GetEndpointsAsync(ns, "foo");
        Assert.NotNull(created);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [.. pods.Select(Address)], Ports = [EndpointPort(8080, name: "port0"), EndpointPort(8088, name: "port1")] }]),
            SubsetText.Of(created.Subsets));
        Assert.Equal(serviceLabels ? s_fooBar : null, created.Metadata!.Labels);
    }

    // TestSyncEndpointsItemsPreexistingLabelsChange
    [Fact]
    public async Task Sync_ServiceLabelsChanged_EndpointsTakeThem()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var endpoints = NewEndpoints(ns, "foo", Foreign());
        endpoints.Metadata!.Labels = new(s_fooBar);
        var existing = await harness.CreateEndpointsAsync(endpoints);
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        var service = NewService(ns, "foo", s_fooBar, Port(80, 8080));
        service.Metadata!.Labels = new() { ["baz"] = "blah" };
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, existing);
        Assert.Equal(new Dictionary<string, string> { ["baz"] = "blah" }, updated.Metadata!.Labels);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080)] }]), SubsetText.Of(updated.Subsets));
    }

    // TestSyncEndpointsItemsPreexistingLabelsChange's other half: labels alone are a change.
    [Fact]
    public async Task Sync_OnlyLabelsDiffer_Written()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo",
            new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080)] }));
        var service = NewService(ns, "foo", s_fooBar, Port(80, 8080));
        service.Metadata!.Labels = new() { ["baz"] = "blah" };
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, existing);
        Assert.Equal(new Dictionary<string, string> { ["baz"] = "blah" }, updated.Metadata!.Labels);
    }

    // TestSyncEndpointsHeadlessService: no ports, the Service's labels plus the headless label.
    [Fact]
    public async Task Sync_HeadlessServiceWithoutPorts_AddressesWithoutPortsAndHeadlessLabel()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var existing = await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo", Foreign()));
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        var service = NewService(ns, "foo", s_fooBar);
        service.Metadata!.Labels = new() { ["a"] = "b" };
        service.Spec!.ClusterIP = ServiceRules.ClusterIPNone;
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, existing);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "b", [ServiceRules.HeadlessLabel] = "" }, updated.Metadata!.Labels);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])] }]), SubsetText.Of(updated.Subsets));
        // Syncing must not have changed the Service itself.
        Assert.Equal(new Dictionary<string, string> { ["a"] = "b" }, harness.Services.Get(ns, "foo")!.Metadata!.Labels);
    }

    // TestSyncEndpointsHeadlessWithoutPort: created with the pods' addresses and no ports.
    [Fact]
    public async Task Sync_HeadlessWithoutPort_Created()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var service = NewService(ns, "foo", s_fooBar);
        service.Spec!.ClusterIP = ServiceRules.ClusterIPNone;
        service.Spec.Ports = null;
        await harness.CreateServiceAsync(service);
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);

        await harness.SyncAsync(ns, "foo");

        var created = await harness.GetEndpointsAsync(ns, "foo");
        Assert.NotNull(created);
        Assert.Equal(new Dictionary<string, string> { [ServiceRules.HeadlessLabel] = "" }, created.Metadata!.Labels);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])] }]), SubsetText.Of(created.Subsets));
    }

    // TestSyncEndpointsItemsExcludeNotReadyPodsWithRestartPolicyNeverAndPhaseFailed, ...NeverAndPhaseSucceeded,
    // ...OnFailureAndPhaseSucceeded: terminal pods are no endpoints, not even not-ready ones.
    [Theory]
    [InlineData("Never", "Failed")]
    [InlineData("Never", "Succeeded")]
    [InlineData("OnFailure", "Succeeded")]
    public async Task Sync_TerminalPods_Excluded(string restartPolicy, string phase)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var endpoints = NewEndpoints(ns, "foo");
        endpoints.Metadata!.Labels = new(s_fooBar);
        var existing = await harness.CreateEndpointsAsync(endpoints);
        await harness.AddPodAsync(ns, 0, 1, ready: false, spec: p => p.Spec!.RestartPolicy = restartPolicy, status: s => s.Phase = phase);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));

        await harness.SyncAsync(ns, "foo");

        // Written for the labels (the Service has none); still without subsets.
        var updated = await AssertUpdatedAsync(harness, existing);
        Assert.Null(updated.Metadata!.Labels);
        Assert.Equal("[]", SubsetText.Of(updated.Subsets));
    }

    // Upstream podutil.FindPort: a named targetPort resolves per pod; a pod without it is left out of that port.
    [Fact]
    public async Task Sync_NamedTargetPort_PodsWithoutItLeftOut()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var withPort = await harness.AddPodAsync(ns, 0, 2, ready: true);
        await harness.AddPodAsync(ns, 1, 1, ready: true);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar,
            new ServicePort { Name = "http", Port = 80, TargetPort = "port1", Protocol = "TCP", AppProtocol = "http" }));

        await harness.SyncAsync(ns, "foo");

        var created = await harness.GetEndpointsAsync(ns, "foo");
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(withPort)], Ports = [EndpointPort(8081, name: "http", appProtocol: "http")] }]),
            SubsetText.Of(created!.Subsets));
    }

    // Upstream ShouldSetHostname: the pod's hostname only when its subdomain names this Service.
    [Fact]
    public async Task Sync_PodSubdomainIsTheService_HostnameSet()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var inSubdomain = await harness.AddPodAsync(ns, 0, 1, ready: true, spec: p => (p.Spec!.Hostname, p.Spec.Subdomain) = ("web-0", "foo"));
        var elsewhere = await harness.AddPodAsync(ns, 1, 1, ready: true, spec: p => (p.Spec!.Hostname, p.Spec.Subdomain) = ("web-1", "other"));
        var service = NewService(ns, "foo", s_fooBar, Port(80, 8080));
        service.Spec!.ClusterIP = ServiceRules.ClusterIPNone;
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "foo");

        var created = await harness.GetEndpointsAsync(ns, "foo");
        var named = Address(inSubdomain);
        named.Hostname = "web-0";
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [named, Address(elsewhere)], Ports = [EndpointPort(8080)] }]),
            SubsetText.Of(created!.Subsets));
    }

    // TestSyncServiceAddresses: (phase, ready, terminating, publishNotReadyAddresses) -> (ready, not ready) addresses.
    [Theory]
    [InlineData("pod running phase", "Running", true, false, false, 1, 0)]
    [InlineData("pod running phase being deleted", "Running", true, true, false, 0, 0)]
    [InlineData("pod unknown phase container ready", "Unknown", true, false, false, 1, 0)]
    [InlineData("pod unknown phase container ready being deleted", "Unknown", true, true, false, 0, 0)]
    [InlineData("pod pending phase container ready", "Pending", true, false, false, 1, 0)]
    [InlineData("pod pending phase container ready being deleted", "Pending", true, true, false, 0, 0)]
    [InlineData("pod unknown phase container not ready", "Unknown", false, false, false, 0, 1)]
    [InlineData("pod pending phase container not ready", "Pending", false, false, false, 0, 1)]
    [InlineData("pod failed phase", "Failed", false, false, false, 0, 0)]
    [InlineData("pod succeeded phase", "Succeeded", false, false, false, 0, 0)]
    [InlineData("pod running phase and tolerate unready", "Running", false, false, true, 1, 0)]
    [InlineData("pod running phase and tolerate unready being deleted", "Running", false, true, true, 1, 0)]
    [InlineData("pod unknown phase and tolerate unready", "Unknown", false, false, true, 1, 0)]
    [InlineData("pod unknown phase and tolerate unready being deleted", "Unknown", false, true, true, 1, 0)]
    [InlineData("pod pending phase and tolerate unready", "Pending", false, false, true, 1, 0)]
    [InlineData("pod pending phase and tolerate unready being deleted", "Pending", false, true, true, 1, 0)]
    [InlineData("pod failed phase and tolerate unready", "Failed", false, false, true, 0, 0)]
    [InlineData("pod succeeded phase and tolerate unready endpoints", "Succeeded", false, false, true, 0, 0)]
    public async Task Sync_PhaseReadinessTermination_ReadyAndNotReadyCounts(string name, string phase, bool ready, bool terminating,
        bool publishNotReady, int expectedReady, int expectedNotReady)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var pod = await harness.AddPodAsync(ns, 0, 1, ready, status: s => s.Phase = phase);
        if (terminating)
        {
            // Bound to a node: the deletion waits for the (absent) kubelet, with a deletionTimestamp.
            await harness.Client.DeleteAsync<Pod>(ns, pod.Metadata!.Name!);
            await UntilAsync(() => harness.Pods.Get(ns, pod.Metadata.Name!)?.Metadata?.DeletionTimestamp is not null, "the pod to be terminating");
        }
        var service = NewService(ns, "foo", s_fooBar, Port(80, 8080));
        service.Spec!.PublishNotReadyAddresses = publishNotReady;
        await harness.CreateServiceAsync(service);

        await harness.SyncAsync(ns, "foo");

        var endpoints = await harness.GetEndpointsAsync(ns, "foo");
        var subsets = endpoints!.Subsets ?? [];
        Assert.True((expectedReady, expectedNotReady) == (subsets.Sum(s => s.Addresses?.Count ?? 0), subsets.Sum(s => s.NotReadyAddresses?.Count ?? 0)),
            $"{name}: expected {expectedReady} ready, {expectedNotReady} not ready, got {SubsetText.Of(subsets)}");
    }

    // TestLastTriggerChangeTimeAnnotation, ..._AnnotationOverridden: the Service's creation, over an older value.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sync_FirstSyncOfService_TriggerTimeIsItsCreation(bool olderAnnotation)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        var service = await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));
        var created = service.Metadata!.CreationTimestamp!.Value;
        var endpoints = NewEndpoints(ns, "foo", Foreign());
        if (olderAnnotation)
        {
            endpoints.Metadata!.Annotations = new() { [PodEndpointRules.LastChangeTriggerTimeAnnotation] = PodEndpointRules.FormatRfc3339Nano(created.AddHours(-1)) };
        }
        var existing = await harness.CreateEndpointsAsync(endpoints);

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, existing);
        Assert.Equal(new Dictionary<string, string> { [PodEndpointRules.LastChangeTriggerTimeAnnotation] = PodEndpointRules.FormatRfc3339Nano(created) }, updated.Metadata!.Annotations);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080)] }]), SubsetText.Of(updated.Subsets));
    }

    // TestLastTriggerChangeTimeAnnotation_AnnotationCleared, and the trigger time alone never causes a write: the
    // first sync finds the Endpoints right and leaves the old annotation; once something else changes, the write
    // drops it (nothing new triggered it).
    [Fact]
    public async Task Sync_NoNewTriggerTime_AnnotationClearedWithTheNextChange()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        var pods = await harness.AddPodsAsync(ns, 1, 1, 0);
        var old = PodEndpointRules.FormatRfc3339Nano(DateTimeOffset.UtcNow.AddHours(-1));
        var endpoints = NewEndpoints(ns, "foo", new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080)] });
        endpoints.Metadata!.Annotations = new() { [PodEndpointRules.LastChangeTriggerTimeAnnotation] = old };
        var existing = await harness.CreateEndpointsAsync(endpoints);
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));
        await harness.SyncAsync(ns, "foo");
        await AssertNotWrittenAsync(harness, existing);
        existing.Subsets!.Add(Foreign());
        var changed = await harness.Client.UpdateAsync(existing);
        await CachedAsync(harness.EndpointsCache, changed);

        await harness.SyncAsync(ns, "foo");

        var updated = await AssertUpdatedAsync(harness, changed);
        Assert.Null(updated.Metadata!.Annotations);
        Assert.Equal(SubsetText.Of([new EndpointSubset { Addresses = [Address(pods[0])], Ports = [EndpointPort(8080)] }]), SubsetText.Of(updated.Subsets));
    }

    // TestSyncEndpointsServiceNotFound: the Service is gone, so are its Endpoints.
    [Fact]
    public async Task Sync_ServiceNotFound_EndpointsDeleted()
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo", Foreign()));

        await harness.SyncAsync(ns, "foo");

        Assert.Null(await harness.GetEndpointsAsync(ns, "foo"));
        // Nothing left to delete is no error either.
        await harness.SyncAsync(ns, "foo");
    }

    // The write fails (the API server refuses a link-local address, which a pod may well have): a Warning Event
    // on the Endpoints, and the error for the queue to retry with back-off.
    [Theory]
    [InlineData(false, "FailedToCreateEndpoint", "Failed to create endpoint for service {0}/foo: {1}")]
    [InlineData(true, "FailedToUpdateEndpoint", "Failed to update endpoint {0}/foo: {1}")]
    public async Task Sync_WriteRefused_WarningEventAndError(bool preexisting, string reason, string format)
    {
        var ns = await fixture.NamespaceAsync();
        await using var harness = await StartAsync(fixture.Client, run: false);
        if (preexisting)
        {
            await harness.CreateEndpointsAsync(NewEndpoints(ns, "foo", Foreign()));
        }
        await harness.AddPodAsync(ns, 0, 1, ready: true, status: s => (s.PodIP, s.PodIPs) = ("169.254.1.1", [new PodIP { Ip = "169.254.1.1" }]));
        await harness.CreateServiceAsync(NewService(ns, "foo", s_fooBar, Port(80, 8080)));

        var error = await Assert.ThrowsAsync<KubeApiException>(() => harness.SyncAsync(ns, "foo"));

        Assert.Equal(422, error.StatusCode);
        Assert.Contains("may not be in the link-local range", error.Message, StringComparison.Ordinal);
        var warning = Assert.Single(await harness.EventsAsync(ns, reason));
        Assert.Equal(("Warning", EndpointsController.ComponentName, "Endpoints", "foo", string.Format(CultureInfo.InvariantCulture, format, ns, error.Message)),
            (warning.Type, warning.Source!.Component, warning.InvolvedObject!.Kind, warning.InvolvedObject.Name, warning.Message));
    }

    private static async Task AssertNotWrittenAsync(EndpointsHarness harness, Endpoints existing)
    {
        var now = await harness.GetEndpointsAsync(existing.Metadata!.Namespace!, existing.Metadata.Name!);
        Assert.Equal(existing.Metadata.ResourceVersion, now?.Metadata?.ResourceVersion);
    }

    private static async Task<Endpoints> AssertUpdatedAsync(EndpointsHarness harness, Endpoints existing)
    {
        var now = await harness.GetEndpointsAsync(existing.Metadata!.Namespace!, existing.Metadata.Name!);
        Assert.NotNull(now);
        Assert.Equal(existing.Metadata.Uid, now.Metadata!.Uid);
        Assert.NotEqual(existing.Metadata.ResourceVersion, now.Metadata.ResourceVersion);
        return now;
    }

    private static EndpointPort EndpointPort(int port, string protocol = "TCP", string? name = null, string? appProtocol = null) =>
        new() { Name = name, Port = port, Protocol = protocol, AppProtocol = appProtocol };
}
