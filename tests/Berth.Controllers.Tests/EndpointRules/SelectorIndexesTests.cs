using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Tests.EndpointRules;

public sealed class SelectorIndexesFixture() : ApiServerFixture("selidx-");

// Label-index lookups must answer exactly what upstream's scans answer (endpointutil getServicesForPod: nil selector
// selects nothing, {} everything in the namespace; pods by selector within one namespace), against real informers so
// the index follows label and selector updates.
public sealed class SelectorIndexesTests(SelectorIndexesFixture fixture) : IClassFixture<SelectorIndexesFixture>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private readonly KubeClient _client = fixture.Client;

    public static TheoryData<string, Dictionary<string, string>, string[]> PodSelectorCases => new()
    {
        { "single pair", new() { ["app"] = "web" }, ["web-back", "web-front", "web-front-2"] },
        { "two pairs: only pods with both", new() { ["app"] = "web", ["tier"] = "front" }, ["web-front", "web-front-2"] },
        { "three pairs, the rarest first", new() { ["canary"] = "true", ["app"] = "web", ["tier"] = "front" }, ["web-front-2"] },
        { "pair with another value", new() { ["app"] = "web", ["tier"] = "middle" }, [] },
        // The smallest candidate set (app=db) holds a pod without the other pair: the full match drops it.
        { "two pairs no pod has together", new() { ["app"] = "db", ["tier"] = "front" }, [] },
        { "key nobody has", new() { ["missing"] = "x" }, [] },
        { "empty selector: every pod of the namespace", new(), ["db", "unlabelled", "web-back", "web-front", "web-front-2"] },
    };

    [Theory]
    [MemberData(nameof(PodSelectorCases))]
    public async Task PodsSelectedBy_Table(string name, Dictionary<string, string> selector, string[] expected)
    {
        var (ns, other) = (await fixture.NamespaceAsync(), await fixture.NamespaceAsync());
        await CreatePodAsync(ns, "web-front", new() { ["app"] = "web", ["tier"] = "front" });
        await CreatePodAsync(ns, "web-front-2", new() { ["app"] = "web", ["tier"] = "front", ["canary"] = "true" });
        await CreatePodAsync(ns, "web-back", new() { ["app"] = "web", ["tier"] = "back" });
        await CreatePodAsync(ns, "db", new() { ["app"] = "db" });
        await CreatePodAsync(ns, "unlabelled", null);
        // The same labels in another namespace are never selected.
        await CreatePodAsync(other, "web-front", new() { ["app"] = "web", ["tier"] = "front", ["canary"] = "true" });
        await using var pods = await StartAsync<Pod>(SelectorIndexes.AddPodLabels);

        var selected = SelectorIndexes.PodsSelectedBy(pods, ns, selector);

        Assert.True(expected.SequenceEqual(Names(selected)), $"{name}: got {string.Join(",", Names(selected))}");
        Assert.All(selected, pod => Assert.Equal(ns, pod.Metadata!.Namespace));
    }

    [Fact]
    public async Task ServicesSelecting_NilSelectsNone_EmptySelectsAll_OtherNamespacesNever()
    {
        var (ns, other) = (await fixture.NamespaceAsync(), await fixture.NamespaceAsync());
        await CreateServiceAsync(ns, "app", new() { ["app"] = "web" });
        await CreateServiceAsync(ns, "both", new() { ["app"] = "web", ["tier"] = "front" });
        await CreateServiceAsync(ns, "wrong-tier", new() { ["app"] = "web", ["tier"] = "back" });
        await CreateServiceAsync(ns, "tier-only", new() { ["tier"] = "front" });
        await CreateServiceAsync(ns, "db", new() { ["app"] = "db" });
        await CreateServiceAsync(ns, "everything", []);
        await CreateServiceAsync(ns, "no-selector", null);
        await CreateServiceAsync(other, "app", new() { ["app"] = "web" });
        await CreateServiceAsync(other, "everything", []);
        await using var services = await StartAsync<Service>(SelectorIndexes.AddServiceSelectors);
        var pod = new Pod { Metadata = new ObjectMeta { Namespace = ns, Name = "p", Labels = new() { ["app"] = "web", ["tier"] = "front" } } };
        var unlabelled = new Pod { Metadata = new ObjectMeta { Namespace = ns, Name = "u" } };

        Assert.Equal(["app", "both", "everything", "tier-only"], Names(SelectorIndexes.ServicesSelecting(services, pod)));
        Assert.Equal(["everything"], Names(SelectorIndexes.ServicesSelecting(services, unlabelled)));
    }

    // Upstream TestGetPodServicesToUpdate: services app=test-0..2; pods app=test-0..4 (with another label too).
    [Fact]
    public async Task ServicesSelecting_UpstreamMemberships()
    {
        var ns = await fixture.NamespaceAsync();
        for (var i = 0; i < 3; i++)
        {
            await CreateServiceAsync(ns, $"service-{i}", new() { ["app"] = $"test-{i}" });
        }
        await using var services = await StartAsync<Service>(SelectorIndexes.AddServiceSelectors);

        for (var i = 0; i < 5; i++)
        {
            var pod = new Pod { Metadata = new ObjectMeta { Namespace = ns, Name = $"test-pod-{i}", Labels = new() { ["app"] = $"test-{i}", ["label"] = $"label-{i}" } } };
            Assert.Equal(i < 3 ? [$"service-{i}"] : [], Names(SelectorIndexes.ServicesSelecting(services, pod)));
        }
    }

    [Fact]
    public async Task PodLabelChange_MovesThePodInTheIndex()
    {
        var ns = await fixture.NamespaceAsync();
        var created = await CreatePodAsync(ns, "p", new() { ["app"] = "web" });
        await using var pods = await StartAsync<Pod>(SelectorIndexes.AddPodLabels);
        Assert.Equal(["p"], Names(SelectorIndexes.PodsSelectedBy(pods, ns, new Dictionary<string, string> { ["app"] = "web" })));

        var changed = KubeJson.DeepClone(created);
        changed.Metadata!.Labels = new() { ["app"] = "db" };
        var updated = await _client.UpdateAsync(changed);
        await WaitForAsync(() => pods.Get(ns, "p")?.Metadata?.ResourceVersion == updated.Metadata!.ResourceVersion);

        Assert.Empty(SelectorIndexes.PodsSelectedBy(pods, ns, new Dictionary<string, string> { ["app"] = "web" }));
        Assert.Equal(["p"], Names(SelectorIndexes.PodsSelectedBy(pods, ns, new Dictionary<string, string> { ["app"] = "db" })));
    }

    [Fact]
    public async Task ServiceSelectorChange_MovesTheServiceInTheIndex_DeletionRemovesIt()
    {
        var ns = await fixture.NamespaceAsync();
        var created = await CreateServiceAsync(ns, "s", new() { ["app"] = "web" });
        await using var services = await StartAsync<Service>(SelectorIndexes.AddServiceSelectors);
        var web = new Pod { Metadata = new ObjectMeta { Namespace = ns, Name = "w", Labels = new() { ["app"] = "web" } } };
        var db = new Pod { Metadata = new ObjectMeta { Namespace = ns, Name = "d", Labels = new() { ["app"] = "db" } } };
        Assert.Equal(["s"], Names(SelectorIndexes.ServicesSelecting(services, web)));

        var changed = KubeJson.DeepClone(created);
        changed.Spec!.Selector = new() { ["app"] = "db" };
        var updated = await _client.UpdateAsync(changed);
        await WaitForAsync(() => services.Get(ns, "s")?.Metadata?.ResourceVersion == updated.Metadata!.ResourceVersion);

        Assert.Empty(SelectorIndexes.ServicesSelecting(services, web));
        Assert.Equal(["s"], Names(SelectorIndexes.ServicesSelecting(services, db)));

        await _client.DeleteAsync<Service>(ns, "s");
        await WaitForAsync(() => services.Get(ns, "s") is null);

        Assert.Empty(SelectorIndexes.ServicesSelecting(services, db));
    }

    [Fact]
    public async Task AddIndexes_Twice_Idempotent()
    {
        var pods = new Informer<Pod>(_client);
        var services = new Informer<Service>(_client);
        await using (pods)
        await using (services)
        {
            SelectorIndexes.AddPodLabels(pods);
            SelectorIndexes.AddPodLabels(pods);
            SelectorIndexes.AddServiceSelectors(services);
            SelectorIndexes.AddServiceSelectors(services);
        }
    }

    private async Task<Informer<T>> StartAsync<T>(Action<Informer<T>> addIndex)
        where T : class, IKubernetesObject
    {
        var informer = new Informer<T>(_client);
        addIndex(informer);
        await informer.StartAsync(CancellationToken.None);
        await informer.WaitForSyncAsync(new CancellationTokenSource(s_wait).Token);
        return informer;
    }

    private Task<Pod> CreatePodAsync(string ns, string name, Dictionary<string, string>? labels) =>
        _client.CreateAsync(new Pod
        {
            Metadata = new ObjectMeta { Namespace = ns, Name = name, Labels = labels },
            Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
        });

    private Task<Service> CreateServiceAsync(string ns, string name, Dictionary<string, string>? selector) =>
        _client.CreateAsync(new Service
        {
            Metadata = new ObjectMeta { Namespace = ns, Name = name },
            Spec = new ServiceSpec { Selector = selector, Ports = [new ServicePort { Port = 80 }] },
        });

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the informer did not see the change");
            await Task.Delay(20);
        }
    }

    private static string[] Names(IEnumerable<IKubernetesObject> objects) =>
        [.. objects.Select(o => o.Metadata!.Name!).Order(StringComparer.Ordinal)];
}
